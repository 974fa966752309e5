"""The built-in encoder kinds. Their classes import torch, transformers or deepface, so each is imported only
when an encoder of its kind is built."""

from __future__ import annotations

from pathlib import Path

from grader.encoders import ENCODERS, BuildContext, EncoderKind, Status
from grader.encoders.fingerprints import hub_model_info, transformers_fingerprint
from grader.encoders.specs import ClassifierEncoder, FaceEncoder, LpipsEncoder, PixelEncoder, TransformersEncoder
from grader.errors import ModelMissingError
from grader.models import fetch_command, locate, resolve
from grader.result import ModelInfo


def _transformers(spec: TransformersEncoder, context: BuildContext):
    """A folder that does not load is reported as missing (its weights load on first use, ``Encoder.model``)."""
    from grader.encoders.clip import ClipEncoder
    from grader.encoders.dinov2 import Dinov2Encoder
    from grader.encoders.vit import VitEncoder

    model = context.resolved
    classes = {"dinov2": Dinov2Encoder, "clip": ClipEncoder, "vit": VitEncoder}
    try:
        return classes[spec.kind](spec, model, context.device, context.batch_size)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelMissingError(
            f"model {model.model_id} at {model.path} ({model.source}) could not be loaded as a {spec.kind} "
            f"checkpoint: {exc}"
        ) from exc


def _hub_fingerprint(spec: TransformersEncoder, context: BuildContext) -> str:
    return transformers_fingerprint(spec, context.resolved)


def _hub_describe(
    spec: TransformersEncoder, context: BuildContext, fingerprint: str | None, labels: list[str]
) -> ModelInfo:
    return hub_model_info(context.resolved, fingerprint or "", labels)


def _hub_status(spec: TransformersEncoder, models_dir: Path | None, fetch: bool) -> Status:
    found = locate(spec.model, models_dir, spec.revision)
    if found is None and fetch:
        found = resolve(spec.model, models_dir, spec.revision)
    if found is None:
        return Status(spec.model, "[red]missing[/]", True, f"get it with: {fetch_command(spec.model, models_dir)}")
    test = " [magenta](test model)[/]" if found.is_test_model else ""
    return Status(spec.model, f"[green]present[/]{test}", detail=f"{found.source}: {found.path}")


def _deepface(spec: FaceEncoder, context: BuildContext):
    from grader.encoders.face import DeepFaceEncoder

    return DeepFaceEncoder(spec)


def _deepface_status(spec: FaceEncoder, models_dir: Path | None, fetch: bool) -> Status:
    from grader.encoders.face import backend_engine
    from grader.faces.weights import prepare

    name = f"deepface {spec.model} + {spec.detector}"
    try:
        home = prepare(spec.model, spec.detector, backend_engine())
    except ModelMissingError as exc:
        return Status(name, "[red]missing[/]", True, str(exc))
    return Status(name, "[green]present[/]", detail=str(home / ".deepface" / "weights"))


def _pixels(spec: PixelEncoder, context: BuildContext):
    from grader.encoders.pixels import PixelReader

    return PixelReader(spec)


def _lpips(spec: LpipsEncoder, context: BuildContext):
    from grader.encoders.lpips import LpipsReader

    return LpipsReader(spec, context.models_dir)


def _lpips_status(spec: LpipsEncoder, models_dir: Path | None, fetch: bool) -> Status:
    from grader.encoders.lpips import weight_files

    try:
        backbone, linear = weight_files(models_dir)
    except ModelMissingError as exc:
        return Status(spec.model, "[red]missing[/]", True, str(exc))
    return Status(spec.model, "[green]present[/]", detail=f"{backbone}, {linear}")


def _classifier(spec: ClassifierEncoder, context: BuildContext):
    from grader.encoders.classifier import ClassifierReader

    return ClassifierReader(spec, context.classifiers)


IMAGE, TEXT = frozenset({"image"}), frozenset({"image", "text"})


def _hub_kind(name: str, provides: frozenset[str]) -> EncoderKind:
    """A transformers encoder kind: its model is resolved like any hub model, and looked up without loading."""
    return EncoderKind(
        name,
        TransformersEncoder,
        provides,
        _transformers,
        hub_model=True,
        status=_hub_status,
        fingerprint=_hub_fingerprint,
        describe=_hub_describe,
    )


for _kind in (
    _hub_kind("dinov2", IMAGE),
    _hub_kind("vit", IMAGE),
    _hub_kind("clip", TEXT),
    EncoderKind("deepface", FaceEncoder, frozenset({"face"}), _deepface, status=_deepface_status),
    EncoderKind(
        "pixels",
        PixelEncoder,
        frozenset({"pixels"}),
        _pixels,
        status=lambda spec, models_dir, fetch: Status(spec.model, "no model: read from the image files"),
    ),
    EncoderKind("lpips", LpipsEncoder, frozenset({"lpips"}), _lpips, status=_lpips_status),
    EncoderKind(
        "classifier",
        ClassifierEncoder,
        frozenset({"logits"}),
        _classifier,
        status=lambda spec, models_dir, fetch: Status(
            spec.model, "your checkpoints, given with --classifier SUBJECT=PATH"
        ),
    ),
):
    ENCODERS.register(_kind)
