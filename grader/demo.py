"""The embedded default: the ml2025-hw10 task on the bundled synthetic submission with tiny test models."""

from __future__ import annotations

from rich.console import Console

from grader.errors import ExitCode
from grader.paths import cache_dir, fixtures_dir
from grader.progress import rich_progress
from grader.report import render
from grader.runner import GradeOptions, grade
from grader.tasks import load_task


def run_demo(out: Console, err: Console) -> ExitCode:
    from grader.testing.tiny_models import build_tiny_models

    task = load_task("ml2025-hw10")
    models = cache_dir() / "test-models"
    out.print(
        "[bold magenta]Demo on test models:[/] tiny random-weight stand-ins for "
        f"{', '.join(e.model for e in task.encoders())}, built in {models}.\n"
        "Real grading needs the real models (see `grader models --task ml2025-hw10`). "
        "These scores carry no meaning.",
        highlight=False,
    )
    build_tiny_models(models, [e.model for e in task.encoders()])
    fixture = fixtures_dir() / "ml2025-hw10"
    with rich_progress(err) as progress:
        result = grade(task, fixture / "submission", fixture / "data", GradeOptions(models_dir=models), progress)
    render(result, out)
    out.print(
        f"[dim]Demo finished: `grader check` would exit {int(result.exit_code)} on this result; "
        "the demo itself exits 0 because the verdict of random models means nothing.[/]",
        highlight=False,
    )
    return ExitCode.PASSED
