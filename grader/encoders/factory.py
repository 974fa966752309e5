"""Encoder kind named in a task file -> encoder class."""

from __future__ import annotations

import torch

from grader.encoders.base import Encoder
from grader.encoders.clip import ClipEncoder
from grader.encoders.dinov2 import Dinov2Encoder
from grader.models import ResolvedModel
from grader.tasks.schema import EncoderSpec

ENCODERS: dict[str, type[Encoder]] = {"dinov2": Dinov2Encoder, "clip": ClipEncoder}


def build_encoder(spec: EncoderSpec, model: ResolvedModel, device: torch.device | None = None) -> Encoder:
    return ENCODERS[spec.kind](spec, model, device)
