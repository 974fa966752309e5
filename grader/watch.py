"""``grader watch``: grade once, keep the models loaded, re-grade when images change, print what changed.

The loop students run while they tune a LoRA scale or an IP-Adapter weight in another window. Changes come from
watchfiles (debounced); each re-grade reuses the loaded encoders and the embedding cache, so only the changed
images are encoded.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from rich.console import Console

from grader.display import shown
from grader.errors import GraderError
from grader.grading import GradeOptions, Resources, grade
from grader.progress import ProgressReporter, SilentProgress
from grader.report import render
from grader.report.console import digits, number_text, verdict_sentence
from grader.result import GradeResult
from grader.specs import FileRule
from grader.tasks.schema import Task


def _scores(result: GradeResult) -> dict[tuple[str, str], dict[str, float]]:
    return {(i.subject, i.file): i.scores for i in result.images}


def _same(a: dict[str, float] | None, b: dict[str, float]) -> bool:
    """Scores equal but for float rounding (a re-encoded batch may differ in the last bits)."""
    return a is not None and a.keys() == b.keys() and all(math.isclose(a[k], b[k], abs_tol=1e-6) for k in a)


def describe_changes(before: GradeResult, after: GradeResult) -> list[str]:
    """What a re-grade changed, in lines a person reads: images re-scored (with their subject and any flag, e.g. a
    copied reference), means moved, lines crossed, and the verdict with why it changed. Numbers are written with
    the decimals of the console report."""
    lines = []
    old, new = _scores(before), _scores(after)
    labels = {name: m.label for s in after.subjects for name, m in s.metrics.items()}
    flags = {(i.subject, i.file): i.flags for i in after.images}
    problems = {p.file: p.message for p in after.all_problems if p.severity == "error"}

    def number(metric: str, value: float, signed: bool = False) -> str:
        return number_text(value, signed, digits(after, metric))

    for key in sorted(set(old) | set(new)):
        name = _image_name(*key)
        if key not in new:
            why = next((m for f, m in problems.items() if f == key[1] or f.endswith(f"/{key[1]}")), "")
            lines.append(f"{name}: left out ({why})" if why else f"{name}: gone")
        elif not _same(old.get(key), new[key]):
            scores = ", ".join(f"{labels.get(m, m)} {number(m, v)}" for m, v in new[key].items())
            flagged = f" - {', '.join(flags[key])}" if flags.get(key) else ""
            lines.append(f"{name}: {'re-scored' if key in old else 'new'} ({scores}){flagged}")
    previous = {s.subject: s for s in before.subjects}
    for subject in after.subjects:
        was = previous.get(subject.subject)
        for metric, m in subject.metrics.items():
            p = was.metrics.get(metric) if was else None
            if p is not None and p.value == m.value and p.passed == m.passed:
                continue
            moved = f"{number(metric, p.value)} -> " if p is not None and p.value is not None else ""
            value = "-" if m.value is None else number(metric, m.value)
            margin = "" if m.margin is None else f" (margin {number(metric, m.margin, signed=True)})"
            crossed = ""
            if p is not None and p.passed is not None and m.passed is not None and p.passed != m.passed:
                crossed = f"  now {'above' if m.passed else 'below'} the line {m.threshold:g}"
            lines.append(f"{subject.subject} {m.label}: {moved}{value}{margin}{crossed}")
    head, _ = verdict_sentence(after)
    changed = f"{before.verdict.value} -> " if before.verdict != after.verdict else ""
    reason = head.split(" - ", 1)[1] if " - " in head else ""
    errors = [f"{p.file}: {p.message}" for p in after.all_problems if p.severity == "error"]
    if errors:
        reason = "; ".join(errors[:2]) + (" ..." if len(errors) > 2 else "")
    because = f": {reason}" if changed and reason else ""
    lines.append(f"verdict: {changed}{after.verdict.value}{because} (exit code {int(after.exit_code)})")
    return lines


def _image_name(subject: str, file: str) -> str:
    """An image as the user finds it: with its subject's folder, unless its path already starts with it."""
    return file if file.startswith(f"{subject}/") else f"{subject}/{file}"


def _relevant(changes: set, files: FileRule, root: Path) -> list[str]:
    """The changed image files, as paths inside the submission (``object-1/0.jpg``, not ``0.jpg``)."""
    found = set()
    for _, path in changes:
        if files.takes(Path(path).name):
            try:
                found.add(Path(path).resolve().relative_to(root.resolve()).as_posix())
            except ValueError:
                found.add(Path(path).name)
    return sorted(found)


def watch(
    task: Task,
    submission: Path,
    data: Path,
    options: GradeOptions,
    out: Console,
    progress: Callable[[], AbstractContextManager[ProgressReporter]] | None = None,
    stop: threading.Event | None = None,
    changes: Iterable[set] | None = None,
    resources: Resources | None = None,
) -> GradeResult:
    """Grade, then re-grade on every change until ``stop`` is set (or Ctrl-C); returns the last result.
    ``progress`` opens the bars of one grade: they are drawn while it runs and stop with it, so nothing redraws
    while the watcher waits."""
    from watchfiles import watch as watch_files

    bars = progress or (lambda: nullcontext(SilentProgress()))
    kept = (resources or Resources()).keeping_models()
    with bars() as reporter:
        result = grade(task, submission, data, options, reporter, kept)
    render(result, out)
    watching = f"[bold]watching {shown(submission)}[/] for changed images (Ctrl-C to stop)"
    files = task.layout.files
    if changes is not None:
        out.print(watching, highlight=False)
        stream = changes
    else:
        # An empty batch after each quiet second: the first one says the watcher runs, so "watching" is printed
        # only once a change would be seen (a change made before that is the first batch, and seen as well).
        # watchfiles' default filter drops every path with a .git, .venv, .tox... folder in it, wherever the
        # submission lies: a submission inside one would never be seen to change. Only the image names matter.
        stream = watch_files(
            submission,
            watch_filter=lambda change, path: files.takes(Path(path).name),
            stop_event=stop,
            debounce=800,
            yield_on_timeout=True,
            rust_timeout=1000,
        )
    announced = changes is not None
    try:
        for batch in stream:
            if not announced:
                out.print(watching, highlight=False)
                announced = True
            names = _relevant(batch, files, submission)
            if not names:
                continue
            out.rule(shown(f"changed: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}"))
            try:
                with bars() as reporter:
                    latest = grade(task, submission, data, options, reporter, kept)
            except GraderError as exc:
                out.print(f"[red]could not grade:[/] {shown(exc)}", highlight=False)
                continue
            for line in describe_changes(result, latest):
                out.print(f"  {shown(line)}", highlight=False, soft_wrap=True)
            result = latest
    except KeyboardInterrupt:
        out.print("stopped watching", highlight=False)
    return result
