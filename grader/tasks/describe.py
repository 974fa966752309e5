"""What a task grades and how, in sections of plain lines: what ``grader tasks NAME`` prints and what the
documentation's page of the task shows, from the task file alone."""

from __future__ import annotations

from grader.tasks.schema import Task, Tier


def describe(task: Task) -> list[tuple[str, list[str]]]:
    """(section, lines) in reading order; sections without lines are left out."""
    metrics = []
    for key, metric in task.metrics.items():  # model ids whole: users copy them
        encoder = metric.encoder
        how = getattr(encoder, "preprocessing", "") or getattr(encoder, "detector", "")
        text = f"; text {metric.text_template}" if metric.text_template else ""
        better = "higher" if metric.higher_is_better else "lower"
        metrics.append(
            f"{metric.label} ({key}): {metric.rule} with {encoder.model} ({how}){text}; {metric.aggregation}, "
            f"{better} is better"
        )
    layout, files = task.layout, task.layout.files
    reads = f"{', '.join(files.extensions)} ({'case as written' if files.exact_case else 'any case'}"
    reads += ", hidden names too" if files.hidden else ""
    reads += "; unreadable files skipped)" if files.skip_unreadable else ")"
    data = [f"--data: {task.data_folder}"] if task.data_folder else []
    data += [f"submission: {task.submission_folder}"] if task.submission_folder else []
    data += [f"layout {layout.kind}; images {reads}"]
    rules = []
    if task.selection:
        weights = " + ".join(f"{w:g} x {m}" for m, w in task.selection.weights.items())
        rules.append(f"selection: the {task.selection.k} images with the highest {weights}")
    rules += [f"gate {name} {gate.op} {gate.value:g}: {gate.description}" for name, gate in task.gates.items()]
    for name, tier in task.tiers.items():
        rules.append(f"tier {name}: {_tier_text(task, tier)}")
        rules += [
            f"tier {name}, {subject}: " + ", ".join(f"{m} {_op(task, m)} {v:g}" for m, v in lines.items())
            for subject, lines in tier.per_subject.items()
        ]
    if task.benchmark:
        images = f", {task.benchmark.images} images" if task.benchmark.images else ""
        rules.append(
            f"the full benchmark: {task.benchmark.subjects} subjects{images} (smaller runs are marked partial)"
        )
    sections = [
        ("Metrics", metrics),
        ("Data", data),
        ("Lines", rules),
        ("Assumed", list(task.assumptions)),
        ("Provenance", list(task.provenance)),
        ("Published rows", list(task.published)),
    ]
    return [(title, lines) for title, lines in sections if lines]


def _op(task: Task, metric: str) -> str:
    return ">=" if metric not in task.metrics or task.metrics[metric].higher_is_better else "<="


def _tier_text(task: Task, tier: Tier) -> str:
    lines = ", ".join(f"{metric} {_op(task, metric)} {value:g}" for metric, value in tier.all_subjects.items())
    per_subject = f"a line per subject for {len(tier.per_subject)} subjects" if tier.per_subject else ""
    data = "lines from the data" if tier.from_data else ""
    points = (
        f"{tier.points:g} points" if tier.points is not None and f"{tier.points:g} points" != tier.description else ""
    )
    detail = "; ".join(part for part in (lines, per_subject, data, points) if part)
    return f"{tier.description}" + (f" ({detail})" if detail else "")
