"""The grading options every grading command offers (``check``, ``watch``, ``batch``, ``generate sweep``), defined
once. ``@grading_options`` adds them to a command's signature (typer needs each in it) and hands the command one
``GradingArgs`` instead, which builds ``GradeOptions`` the way every front end does."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from grader.cli.common import ModelsOption
from grader.faces.names import FACE_DETECTORS, FACE_MODELS

Dtype = Literal["fp32", "bf16"]
if TYPE_CHECKING:  # choices from deepface's names, built at run time; a checker sees their type
    FaceModel = str
    FaceDetector = str
else:
    FaceModel = Literal[FACE_MODELS]
    FaceDetector = Literal[FACE_DETECTORS]

BaselineOption = Annotated[
    str | None, typer.Option(help="Tier to compare with (default: the task's first, e.g. boss).")
]
TextTemplateOption = Annotated[
    str | None, typer.Option(help="Override the task's CLIP text, e.g. 'a {name} {text_cond}'.")
]
FaceModelOption = Annotated[
    FaceModel | None,
    typer.Option(
        metavar="MODEL",
        help=f"deepface model instead of the task's; its tiers may not apply. One of: {', '.join(FACE_MODELS)}.",
    ),
]
FaceDetectorOption = Annotated[
    FaceDetector | None,
    typer.Option(
        metavar="DETECTOR", help=f"deepface detector instead of the task's. One of: {', '.join(FACE_DETECTORS)}."
    ),
]
ClassifierOption = Annotated[
    list[str] | None,
    typer.Option(metavar="SUBJECT=PATH", help="SUBJECT=PATH: the classifier checkpoint for a subject (repeatable)."),
]
ThresholdOption = Annotated[
    list[str] | None,
    typer.Option(metavar="METRIC=VALUE", help="METRIC=VALUE: a line for every subject (repeatable); tier 'custom'."),
]
DtypeOption = Annotated[
    Dtype, typer.Option(help="fp32 (as the courses) or bf16 (faster on CPUs with bf16; moves scores).")
]
DeviceOption = Annotated[
    str | None,
    typer.Option(
        metavar="DEVICE", help="Torch device for the encoders, e.g. cuda:0 (default: cuda if present, else cpu)."
    ),
]
BatchSizeOption = Annotated[
    int | None,
    typer.Option(min=1, metavar="N", help="Images per forward pass (default: 32 on a GPU, 1 on a CPU, 4 in bf16)."),
]
StrictCopiesOption = Annotated[
    bool,
    typer.Option(
        "--strict-copies",
        help="Count a copy of a reference image, or the same image in several slots, as a problem (exit 2); "
        "without it such images are flagged and keep their scores, as the course would count them.",
    ),
]
PartialOption = Annotated[
    bool,
    typer.Option(
        "--partial",
        help="Grade a submission still being generated: missing images are not a problem; each subject's P(pass) "
        "is that of its completed images, assuming the rest are drawn like those present.",
    ),
]
GateOption = Annotated[
    Path | None,
    typer.Option("--gate", help="A gate file from 'grader calibrate': grade against its lines (tier 'calibrated')."),
]


@dataclass(frozen=True)
class GradingArgs:
    """The grading options as typed on the command line."""

    baseline: str | None = None
    models: Path | None = None
    text_template: str | None = None
    face_model: str | None = None
    face_detector: str | None = None
    classifier: list[str] | None = None
    threshold: list[str] | None = None
    dtype: str = "fp32"
    device: str | None = None
    batch_size: int | None = None
    strict_copies: bool = False
    gate: Path | None = None
    partial: bool = False

    def inputs(self, submission: Path, data: Path) -> dict[str, Path | None]:
        """What a grade with these options reads, by what it is: no output may be written over or into it."""
        return {
            "the submission": submission,
            "the data folder": data,
            "the models folder": self.models,
            "the gate file": self.gate,
        }

    def options(self, task: str):  # -> grader.grading.GradeOptions
        """The options for grading ``task`` (whose name a gate file must carry)."""
        from grader.grading import GradeOptions

        return GradeOptions.build(
            baseline=self.baseline,
            models=self.models,
            text_template=self.text_template,
            face_model=self.face_model,
            face_detector=self.face_detector,
            classifiers=self.classifier,
            thresholds=self.threshold,
            dtype=self.dtype,
            device=self.device,
            batch_size=self.batch_size,
            strict_copies=self.strict_copies,
            gate=self.gate,
            task=task,
            partial=self.partial,
        )


_SHARED: list[tuple[str, Any, Any]] = [
    ("baseline", BaselineOption, None),
    ("models", ModelsOption, None),
    ("text_template", TextTemplateOption, None),
    ("face_model", FaceModelOption, None),
    ("face_detector", FaceDetectorOption, None),
    ("classifier", ClassifierOption, None),
    ("threshold", ThresholdOption, None),
    ("dtype", DtypeOption, "fp32"),
    ("device", DeviceOption, None),
    ("batch_size", BatchSizeOption, None),
    ("strict_copies", StrictCopiesOption, False),
    ("gate", GateOption, None),
    ("partial", PartialOption, False),
]
SHARED_NAMES = [name for name, _, _ in _SHARED]


def grading_options(command: Callable[..., Any] | None = None, *, keep: tuple[str, ...] = ()) -> Callable[..., Any]:
    """Give ``command`` the shared grading options, placed after its required parameters; it receives them as
    ``grading: GradingArgs``. ``keep``: shared options the command has already (with its own help), which it
    keeps and which fill the same fields of ``grading``. Used as ``@grading_options`` or
    ``grading_options(keep=(...))(command)``."""
    if command is None:
        return functools.partial(grading_options, keep=keep)
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "grading"]
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    shared = [
        inspect.Parameter(name, kind, default=default, annotation=hint)
        for name, hint, default in _SHARED
        if name not in keep
    ]
    split = next((i for i, p in enumerate(own) if p.default is not inspect.Parameter.empty), len(own))
    parameters = [*own[:split], *shared, *own[split:]]

    @functools.wraps(command)
    def wrapper(**given: Any) -> Any:
        values = {name: given.pop(name) if name not in keep else given[name] for name in SHARED_NAMES}
        return command(grading=GradingArgs(**values), **given)

    return _with_signature(wrapper, parameters)


def without_grading(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` as a command that takes no grading options (its ``grading`` parameter keeps its default)."""

    @functools.wraps(command)
    def wrapper(**given: Any) -> Any:
        return command(**given)

    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "grading"]
    return _with_signature(wrapper, own)


def _with_signature(wrapper: Callable[..., Any], parameters: list[inspect.Parameter]) -> Callable[..., Any]:
    wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__  # type: ignore[attr-defined]  # typer must read the signature above, not the wrapped one
    return wrapper
