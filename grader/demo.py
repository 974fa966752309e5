"""The embedded default: grading a bundled example submission offline, for every task.

``face-identity`` runs real face models that ship on PyPI. Every other task grades its course fixture
(``fixtures/courses/<task>``, or the synthetic ``fixtures/ml2025-hw10``) on tiny random-weight stand-ins for its
models, built once into the cache's ``test-models`` folder (and real offline face models where the course's do
not ship on PyPI), so their scores carry no meaning and every report says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console

from grader.cache import EmbeddingCache
from grader.encoders import ENCODERS
from grader.errors import ExitCode, UsageError
from grader.grading import GradeOptions, Resources, grade
from grader.paths import cache_dir, fixtures_dir
from grader.progress import rich_progress
from grader.report import render
from grader.tasks import load_task
from grader.tasks.schema import Task


@dataclass
class Demo:
    """A bundled example: what to grade, how, and which models are random stand-ins (none: the scores are real)."""

    task: Task
    submission: Path
    data: Path
    options: GradeOptions
    stand_ins: list[str] = field(default_factory=list)
    intro: str = ""


def _face_identity(out: Console) -> Demo:
    from grader.testing.faces import build_face_identity

    work = cache_dir() / "demo" / "face-identity"
    training, generated = build_face_identity(work)
    intro = (
        "[bold]Demo: face identity with real models[/] (dlib ResNet embeddings, CenterFace detection; both ship "
        f"on PyPI).\nTraining photos: {training}\nGenerated images: {generated} - six variants of the same "
        "person, one photo of another person (other_person.png), one image with no face (no_face.png)."
    )
    return Demo(load_task("face-identity"), generated, training, GradeOptions(tier="same-person"), intro=intro)


def _test_models_dir() -> Path:
    """Where the demos build their test models, once: inside the grader's cache."""
    return cache_dir() / "test-models"


def _test_models(task: Task, options: GradeOptions) -> tuple[GradeOptions, list[str]]:
    """``options`` pointing at the task's tiny test models (built once into the cache), and what they stand for."""
    from grader.testing.tiny_models import build_tiny_models

    models = _test_models_dir()
    hub = sorted({e.model for e in task.encoders() if ENCODERS.get(e.kind).hub_model})
    if not hub:
        return options, []
    build_tiny_models(models, hub)
    return replace(options, models_dir=models), [f"{', '.join(hub)} (tiny random weights, in {models})"]


def _ml2025(out: Console) -> Demo:
    task = load_task("ml2025-hw10")
    fixture = fixtures_dir() / "ml2025-hw10"
    options, stand_ins = _test_models(task, GradeOptions())
    return Demo(task, fixture / "submission", fixture / "data", options, stand_ins)


def _course(name: str) -> Callable[[Console], Demo]:
    """The demo of a task on its course fixture: the course's own file and folder names, tiny images."""

    def demo(out: Console) -> Demo:
        from grader.testing.courses import FIXTURE_OF, OFFLINE_FACES, SHIPPED, build_test_classifiers

        task = load_task(name)
        fixture = FIXTURE_OF.get(name, name)
        submission, data = SHIPPED[fixture]
        root = fixtures_dir() / "courses" / fixture
        options, stand_ins = _test_models(task, GradeOptions())
        if any(e.kind == "deepface" for e in task.encoders()):  # the course's face weights are not on PyPI
            face_model, detector = OFFLINE_FACES["face_model"], OFFLINE_FACES["face_detector"]
            options = replace(options, face_model=face_model, face_detector=detector)
        if any(e.kind == "lpips" for e in task.encoders()):  # torchvision's AlexNet weights are not on PyPI
            from grader.encoders.lpips import build_test_weights

            build_test_weights(_test_models_dir())
            options = replace(options, models_dir=_test_models_dir())
            stand_ins.append(f"LPIPS's AlexNet and linear layers (random weights, in {_test_models_dir()})")
        if any(e.kind == "classifier" for e in task.encoders()):
            classifiers = build_test_classifiers(_test_models_dir() / "classifiers")
            options = replace(options, classifiers=classifiers)
            stand_ins.append(f"the digit classifiers (random LeNet-5 weights, in {classifiers['mnistm'].parent})")
        intro = f"[bold]Demo: {task.title}[/] on its course example ({root})."
        if not stand_ins:
            intro += " This task reads pixels only, with no model: its scores are real."
        return Demo(task, root / submission, root / data, options, stand_ins, intro)

    return demo


def demos() -> dict[str, Callable[[Console], Demo]]:
    """Every demo by task name: the face example, ml2025-hw10's synthetic submission, each course fixture."""
    from grader.testing.courses import FIXTURE_OF, SHIPPED

    found: dict[str, Callable[[Console], Demo]] = {"face-identity": _face_identity, "ml2025-hw10": _ml2025}
    for name in [*SHIPPED, *FIXTURE_OF]:
        found.setdefault(name, _course(name))
    return found


def run_demo(name: str, out: Console, err: Console, html: Path | None = None) -> ExitCode:
    available = demos()
    if name not in available:
        raise UsageError(f"no demo for {name!r}; demos: {', '.join(available)}")
    demo = available[name](out)
    if demo.intro:
        out.print(demo.intro, highlight=False)
    if demo.stand_ins:
        out.print(
            f"[bold magenta]Demo on test models:[/] stand-ins for {'; '.join(demo.stand_ins)}. These scores carry "
            f"no meaning: real grading needs the real models (see `grader models --task {demo.task.name}`).",
            highlight=False,
        )
    if demo.options.face_model:
        out.print(
            f"[dim]Faces by {demo.options.face_model} + {demo.options.face_detector}, real models from PyPI, in place "
            "of the course's (which do not ship there).[/]",
            highlight=False,
        )
    with rich_progress(err) as progress:
        result = grade(demo.task, demo.submission, demo.data, demo.options, progress, Resources(EmbeddingCache()))
    render(result, out, per_image=True)
    if html is not None:
        from grader.report.html import write_html

        write_html(result, html, demo.submission)
        out.print(f"[dim]HTML report written to {html} (open it in a browser)[/]", highlight=False)
    if demo.stand_ins:
        out.print(
            f"[dim]`grader check` would exit {int(result.exit_code)} on this result; the demo exits 0 because the "
            "verdict of random models means nothing.[/]",
            highlight=False,
        )
        return ExitCode.PASSED
    return result.exit_code
