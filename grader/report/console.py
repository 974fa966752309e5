"""The console report: one table per task, problems, models, and a verdict line readable at a glance."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from grader.result import GradeResult, MetricResult, Verdict

_STYLE = {
    Verdict.PASS: "bold green",
    Verdict.FAIL: "bold red",
    Verdict.INCOMPLETE: "bold yellow",
    Verdict.NOT_GRADED: "bold yellow",
}


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def _metric_cells(m: MetricResult) -> list[str]:
    op = ">=" if m.higher_is_better else "<="
    threshold = f"{op} {m.threshold:g}" if m.threshold is not None else "-"
    margin = _fmt(m.margin, signed=True)
    if m.passed is not None:
        margin = f"[{'green' if m.passed else 'red'}]{margin}[/]"
    return [_fmt(m.value), threshold, margin]


def subjects_table(result: GradeResult) -> Table:
    table = Table(title=f"{result.title} - tier '{result.tier}'", title_justify="left")
    table.add_column("subject", no_wrap=True)
    table.add_column("images", justify="right", no_wrap=True)
    labels = [m.label for m in result.subjects[0].metrics.values()] if result.subjects else []
    for label in labels:
        table.add_column(label, justify="right")
        table.add_column("line", justify="right", style="dim")
        table.add_column("margin", justify="right")
    table.add_column("verdict", no_wrap=True)
    for s in result.subjects:
        cells = [s.subject, f"{s.n_images}/{s.expected_images}"]
        for m in s.metrics.values():
            cells += _metric_cells(m)
        cells.append(f"[{_STYLE[s.verdict]}]{s.verdict.value}[/]")
        table.add_row(*cells)
    return table


def images_table(result: GradeResult) -> Table:
    metrics = list(result.subjects[0].metrics.values()) if result.subjects else []
    table = Table(title="Per image", title_justify="left")
    for column in ["subject", "file", *(m.label for m in metrics)]:
        table.add_column(column, justify="left" if column in ("subject", "file") else "right")
    for item in result.images:
        table.add_row(item.subject, item.file, *(_fmt(item.scores.get(m.metric)) for m in metrics))
    return table


def verdict_line(result: GradeResult) -> str:
    counts = {v: sum(s.verdict is v for s in result.subjects) for v in Verdict}
    summary = ", ".join(f"{n} {v.value.lower()}" for v, n in counts.items() if n)
    text = {
        Verdict.PASS: f"PASS - every subject meets the '{result.tier}' line",
        Verdict.FAIL: f"FAIL - below the '{result.tier}' line",
        Verdict.INCOMPLETE: "INCOMPLETE - the submission has problems (listed above); this is not a valid grade",
    }[result.verdict]
    return f"[{_STYLE[result.verdict]}]{text}[/] ({summary}; exit code {int(result.exit_code)})"


def render(result: GradeResult, console: Console, per_image: bool = False) -> None:
    if result.uses_test_models:
        console.print(
            Panel(
                "TEST MODELS: tiny random-weight stand-ins built by t2i-grader. "
                "The scores below exercise the grading code; they carry no meaning.",
                style="bold magenta",
            )
        )
    console.print(subjects_table(result))
    if per_image:
        console.print(images_table(result))
    problems = result.all_problems
    if problems:
        console.print(f"[bold]Problems ({len(problems)})[/]")
        for p in problems:
            colour = "red" if p.severity == "error" else "yellow"
            console.print(f"  [{colour}]{p.severity}[/] {p.file}: {p.message}", highlight=False, soft_wrap=True)
    for note in result.notes:
        console.print(f"  [yellow]note[/] {note}", highlight=False)
    for m in result.models:
        flag = " [magenta](test model)[/]" if m.is_test_model else ""
        console.print(f"[dim]{'/'.join(m.metric_labels)}: {m.model_id} from {m.source}{flag}[/]", highlight=False)
    templates = result.settings.get("text_templates") or {}
    if templates:
        console.print(f"[dim]text: {', '.join(f'{k} = {v!r}' for k, v in templates.items())}[/]", highlight=False)
    console.print(verdict_line(result))
