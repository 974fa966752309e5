"""Pixels as the embedding, for pixel-space errors: no model, nothing worth caching."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from grader.encoders import ProgressCallback
from grader.encoders.specs import PixelEncoder
from grader.images import DecodedImage
from grader.reading import ReadsDecoded
from grader.result import ModelInfo


class PixelReader(ReadsDecoded):
    fingerprint = None  # reading a file is as cheap as a cache lookup

    def __init__(self, spec: PixelEncoder) -> None:
        self.spec = spec

    def encode_decoded(self, images: Sequence[DecodedImage], progress: ProgressCallback | None = None) -> list:
        scale = 1 / 255 if self.spec.scale == "unit" else 1.0
        arrays = [np.asarray(image.rgb, dtype=np.float64) * scale for image in images]
        if progress:
            progress(len(images))
        return arrays

    def describe(self, labels: list[str]) -> ModelInfo:
        return ModelInfo(labels, self.spec.model, "image files", "", "", False)

    def cache_extra(self, path: Path) -> str:
        return ""

    def restore(self, path: Path, vector: np.ndarray, extra: str) -> None:
        """Nothing to restore: pixels are never cached."""
