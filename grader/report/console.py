"""The console report: one table per task, problems, models, and a verdict line readable at a glance."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table

from grader.display import shown
from grader.report.lines import holds, line_text, shown_margin
from grader.report.ordering import FILE, WORST, deciding_metric, ordered
from grader.report.problems import group_problems
from grader.result import GradeResult, MetricResult, SubjectResult, Verdict, meets

_STYLE = {
    Verdict.PASS: "bold green",
    Verdict.FAIL: "bold red",
    Verdict.INCOMPLETE: "bold yellow",
    Verdict.NOT_GRADED: "bold yellow",
    Verdict.UNCALIBRATED: "bold cyan",
    Verdict.SCORED: "bold blue",
}


def number_text(value: float | None, signed: bool = False, digits: int = 2) -> str:
    """A number as every view of a result writes it: ``-`` for none, ``digits`` decimals, a sign when asked."""
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def digits(result: GradeResult, metric: str) -> int:
    """Decimals for ``metric`` in every view of ``result``: counts need none; distances near 1 need more digits
    than scores near 50."""
    first = _first(result)
    if first and metric in first.metrics and first.metrics[metric].is_count:
        return 0
    values = [abs(i.scores[metric]) for i in result.images if metric in i.scores]
    return 4 if values and max(values) < 10 else 2


def _metric_cells(m: MetricResult, digits: int) -> list[str]:
    threshold = line_text(m)
    if threshold == "uncalibrated":
        threshold = "[cyan]uncalibrated[/]"
    margin = number_text(shown_margin(m), signed=True, digits=digits)
    if holds(m) is not None:
        margin = f"[{'green' if holds(m) else 'red'}]{margin}[/]"
    interval = m.margin_interval
    if interval and not m.is_count:
        low, high = (number_text(v, signed=True, digits=digits) for v in interval)
        margin += f"\n[dim]\\[{low}, {high}][/]"
    return [number_text(m.value, digits=digits), threshold, margin]


def chance_cell(s: SubjectResult) -> str:
    """The subject's pass probability over bootstrap resamples, flagged when a line falls inside an interval."""
    if s.pass_probability is None:
        return "-"
    text = f"{100 * s.pass_probability:.0f}%"
    if any(m.borderline for m in s.metrics.values()):
        text += " [yellow]borderline[/]"
    return text


def _first(result: GradeResult) -> SubjectResult | None:
    return result.subjects[0] if result.subjects else None


def _has_lines(result: GradeResult) -> bool:
    return any(line_text(m) != "-" for s in result.subjects for m in s.metrics.values())


def subjects_table(result: GradeResult, console: Console | None = None) -> Table:
    """The verdict table; on a console too narrow for it, the line and image-count columns give way so the
    margin (what a student reads first) is never cut."""
    table = _subjects_table(result, compact=False)
    if (
        console is not None
        and Measurement.get(console, console.options.update_width(10_000), table).maximum > console.width
    ):
        table = _subjects_table(result, compact=True)
    return table


def _subjects_table(result: GradeResult, compact: bool) -> Table:
    lines = _has_lines(result)
    title = shown(f"{result.title} - tier '{result.tier}'" if result.tier else f"{result.title} - scores only")
    box_style = box.SIMPLE_HEAD if compact else box.HEAVY_HEAD
    table = Table(title=title, title_justify="left", box=box_style, pad_edge=not compact, leading=int(compact))
    table.add_column("subject", no_wrap=True)
    if not compact:
        table.add_column("images", justify="right", no_wrap=True)
    first = _first(result)
    # Per metric: its score, then (with lines) the line and the margin; a compact table stacks the three in one
    # column ("91.32 >= 68" over the margin) so that neither the line nor the margin is what gives way.
    for m in first.metrics.values() if first else []:
        label = shown(m.label)
        table.add_column(f"{label}\nline, margin" if lines and compact else label, justify="right", no_wrap=True)
        if lines and not compact:
            table.add_column("line", justify="right", style="dim", no_wrap=True)
            table.add_column("margin", justify="right", no_wrap=True)
    # The pass probability has its own column, or shares the verdict's in a compact table.
    chances = any(s.pass_probability is not None for s in result.subjects)
    table.add_column("verdict P(pass)" if chances and compact else "verdict", no_wrap=True)
    chances = chances and not compact
    if chances:
        table.add_column("P(pass)", justify="right")
    lead = 1 if compact else 2
    for s in result.subjects:
        cells = [shown(s.subject), f"{s.n_images}/{s.expected_images}"][:lead]
        for name, m in s.metrics.items():
            score, line, margin_cell = _metric_cells(m, digits(result, name))
            if not lines:
                cells.append(score)
            elif compact:
                cells.append(f"{score if line == '-' else f'{score} [dim]{line}[/]'}\n{margin_cell}")
            else:
                cells += [score, line, margin_cell]
        verdict = f"[{_STYLE[s.verdict]}]{s.verdict.value}[/]"
        if compact and s.pass_probability is not None:
            verdict += " " + chance_cell(s).replace(" [yellow]", "\n[yellow]", 1)
        table.add_row(*cells, verdict, *([chance_cell(s)] if chances else []))
    blanks = [""] * (2 if lines and not compact else 0)
    tail = ["", *([""] if chances else [])]
    names = list(first.metrics) if first else []
    if result.overall:
        cells = [f"[bold]{result.overall_label}[/]", ""][:lead]
        for name in names:
            cells += [number_text(result.overall.get(name), digits=digits(result, name)), *blanks]
        table.add_row(*cells, *tail, end_section=not result.published)
    for method, values in result.published.items():
        cells = [f"[dim italic]{shown(method)}[/]", ""][:lead]
        for name in names:
            number = values.get(name)
            cells += [f"[dim italic]{number_text(number, digits=digits(result, name))}[/]", *blanks]
        table.add_row(*cells, "[dim italic]published[/]", *tail[1:])
    return table


def classification_tables(result: GradeResult) -> list[Table]:
    tables = []
    for key, summary in result.extras.items():
        metric, subject = key.split(":", 1)
        table = Table(title=shown(f"{subject}: accuracy {summary['accuracy']:.2f} % ({metric})"), title_justify="left")
        for column in ("class", "accuracy %"):
            table.add_column(column, justify="left" if column == "class" else "right")
        names = summary.get("label_names", {})
        for label, accuracy in summary["per_class_accuracy"].items():
            table.add_row(shown(f"{label} {names[label]}" if label in names else label), number_text(accuracy))
        tables.append(table)
        cases = Table(title=shown(f"{subject}: most and least confident cases"), title_justify="left")
        for column in ("", "file", "label", "predicted", "p(label)"):
            cases.add_column(column)
        for kind in ("best", "worst"):
            for case in summary[kind]:
                row = (case["file"], case["label"], case["predicted"])
                cases.add_row(kind, *map(shown, row), f"{case['p_true']:.3f}")
        tables.append(cases)
    return tables


def images_table(result: GradeResult, sort_by: str = WORST) -> Table:
    """One row per image, each subject's worst first (``grader.report.ordering``); a score on the failing side of
    its subject's line is red."""
    first = _first(result)
    metrics = [m for m in first.metrics.values() if not m.is_count] if first else []
    lines = {(s.subject, n): m for s in result.subjects for n, m in s.metrics.items()}
    title = "Per image, each subject's images worst first" if sort_by != FILE else "Per image, in file order"
    if sort_by not in (WORST, FILE) and first and sort_by in first.metrics:
        title = f"Per image, each subject's images worst first by {first.metrics[sort_by].label}"
    table = Table(title=shown(title), title_justify="left")
    for column in ["subject", "file", *(shown(m.label) for m in metrics), "note"]:
        table.add_column(column, justify="left" if column in ("subject", "file", "note") else "right")
    by_subject = {s.subject: s for s in result.subjects}
    images = [
        image
        for name in dict.fromkeys(i.subject for i in result.images)
        for image in ordered(
            [i for i in result.images if i.subject == name],
            deciding_metric(by_subject[name], sort_by) if name in by_subject else None,
        )
    ]
    for item in images:
        cells, notes = [shown(item.subject), shown(item.file)], list(item.flags)
        for m in metrics:
            value = item.scores.get(m.metric)
            text = number_text(value, digits=digits(result, m.metric))
            line = lines[(item.subject, m.metric)]
            if value is not None and line.threshold is not None:
                ok = meets(value, line.threshold, line.higher_is_better)
                text = f"[{'green' if ok else 'red'}]{text}[/]"
            cells.append(text)
        if "predicted" in item.details:
            notes.append(f"predicted {item.details.get('predicted_name', item.details['predicted'])}")
        cells.append(shown(", ".join(notes)))
        table.add_row(*cells)
    return table


def verdict_line(result: GradeResult) -> str:
    head, rest = verdict_sentence(result)
    return f"[{_STYLE[result.verdict]}]{shown(head)}[/] ({shown(rest)})"


def _fail_text(result: GradeResult) -> str:
    """What failed: a line of the tier, or only gates (which zero the grade whatever the tier)."""
    failing = [s for s in result.subjects if s.verdict is Verdict.FAIL]
    below = any(m.passed is False for s in failing for m in s.metrics.values())
    return f"FAIL - below the '{result.tier}' line" if below else "FAIL - a gate of the task is not met"


def verdict_sentence(result: GradeResult) -> tuple[str, str]:
    """The verdict in words, and its tally: what every view of a result says first."""
    counts = {v: sum(s.verdict is v for s in result.subjects) for v in Verdict}
    summary = ", ".join(f"{n} {v.value.lower()}" for v, n in counts.items() if n)
    text = {
        Verdict.PASS: f"PASS - every subject meets the '{result.tier}' line",
        Verdict.FAIL: _fail_text(result),
        Verdict.INCOMPLETE: "INCOMPLETE - the submission has problems (see Problems); this is not a valid grade",
        Verdict.UNCALIBRATED: f"UNCALIBRATED - no '{result.tier}' threshold exists for the model used; scores only",
        Verdict.SCORED: "SCORED - no line to compare with (set one with --threshold METRIC=VALUE)",
    }[result.verdict]
    passed, total = result.passed_count
    tally = f"passed {passed}/{total}; " if result.tier and total > 1 else ""
    partial = result.settings.get("partial")
    if partial:  # a verdict on the images so far, and the odds of the completed submission
        text = text.replace(" - ", " so far - ", 1)
        chance = partial["pass_probability"]
        odds = "" if chance is None else f", the completed submission passes with probability {100 * chance:.0f}%"
        tally = f"partial: {partial['images']} of {partial['expected_images']} images{odds}; {tally}"
    return text, f"{tally}{summary}; exit code {int(result.exit_code)}"


def render(result: GradeResult, console: Console, per_image: bool = False, sort_by: str = WORST) -> None:
    if result.uses_test_models:
        console.print(
            Panel(
                "TEST MODELS: tiny random-weight stand-ins built by t2i-grader. "
                "The scores below exercise the grading code; they carry no meaning.",
                style="bold magenta",
            )
        )
    console.print(subjects_table(result, console))
    ceilings = [
        shown(f"{s.subject}: {m.label} {number_text(m.ceiling, digits=digits(result, n))}")
        for s in result.subjects
        for n, m in s.metrics.items()
        if m.ceiling is not None
    ]
    if ceilings:
        console.print(
            f"[dim]real-image ceiling (references against each other): {', '.join(ceilings)}[/]",
            highlight=False,
            soft_wrap=True,
        )
    if result.pooled:
        first = _first(result)
        labels = {n: m.label for n, m in first.metrics.items()} if first else {}
        pooled = ", ".join(f"{labels.get(n, n)} {v:.4f}" for n, v in result.pooled.items())
        console.print(
            f"[dim]over the whole submission at once (every generated image against every reference): {pooled}[/]",
            highlight=False,
            soft_wrap=True,
        )
    for table in classification_tables(result):
        console.print(table)
    if per_image:
        console.print(images_table(result, sort_by))
    for s in result.subjects:
        for failure in s.failures:
            console.print(f"  [red]fail[/] {shown(s.subject)}: {shown(failure)}", highlight=False, soft_wrap=True)
    problems = result.all_problems
    if problems:
        console.print(f"[bold]Problems ({len(problems)})[/]")
        for line in group_problems(problems):
            colour = "red" if line.severity == "error" else "yellow"
            console.print(f"  [{colour}]{line.severity}[/] {shown(line.text)}", highlight=False, soft_wrap=True)
    for note in result.notes:
        console.print(f"  [yellow]note[/] {shown(note)}", highlight=False)  # wrapped at the width, words whole
    for m in result.models:
        flag = " [magenta](test model)[/]" if m.is_test_model else ""
        used = shown(f"{'/'.join(m.metric_labels)}: {m.model_id} from {m.source}")
        console.print(f"[dim]{used}{flag}[/]", highlight=False)
    manifest = result.settings.get("manifest")
    if manifest:
        settings = ", ".join(f"{k}={v}" for k, v in (manifest.get("settings") or {}).items() if v not in (None, {}, ""))
        generation = manifest.get("generation") or {}
        keys = ("seed", "steps", "guidance", "scheduler", "eta")
        run = ", ".join(f"{k}={generation[k]}" for k in keys if generation.get(k) is not None)
        made = shown(f"generated with {manifest.get('adapter')} on {manifest.get('base')}: {settings}; {run}")
        console.print(
            f"[dim]{made}[/]",
            highlight=False,
            soft_wrap=True,
        )
    templates = result.settings.get("text_templates") or {}
    if templates:
        text = shown(f"text: {', '.join(f'{k} = {v!r}' for k, v in templates.items())}")
        console.print(f"[dim]{text}[/]", highlight=False)
    if result.max_points is not None:
        points = "- (thresholds do not apply to this model)" if result.points is None else f"{result.points:g}"
        console.print(f"[bold]Course points: {points} / {result.max_points:g}[/]")
        if result.points_probability:
            odds = ", ".join(f"{k}: {100 * v:.0f}%" for k, v in reversed(result.points_probability.items()))
            console.print(f"[dim]points over bootstrap resamples of the images: {odds}[/]", highlight=False)
    console.print(verdict_line(result))
