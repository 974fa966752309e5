"""Encoder kind named in a task file -> encoder class."""

from __future__ import annotations

import torch

from grader.encoders.base import Encoder
from grader.encoders.clip import ClipEncoder
from grader.encoders.dinov2 import Dinov2Encoder
from grader.encoders.vit import VitEncoder
from grader.errors import ModelMissingError
from grader.models import ResolvedModel
from grader.tasks.schema import EncoderSpec

ENCODERS: dict[str, type[Encoder]] = {"dinov2": Dinov2Encoder, "clip": ClipEncoder, "vit": VitEncoder}


def build_encoder(spec: EncoderSpec, model: ResolvedModel, device: torch.device | None = None) -> Encoder:
    """The encoder for ``spec`` over ``model``'s files; a folder that does not load is reported as missing
    (its weights load on first use, see ``Encoder.model``)."""
    try:
        return ENCODERS[spec.kind](spec, model, device)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelMissingError(
            f"model {model.model_id} at {model.path} ({model.source}) could not be loaded as a {spec.kind} "
            f"checkpoint: {exc}"
        ) from exc
