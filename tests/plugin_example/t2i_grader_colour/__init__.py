"""A third-party plugin, as a package outside t2i-grader would write it: one encoder kind, one rule, one layout.

The encoder stands in for a SigLIP-style image model (here a colour histogram, so the test needs no weights); the
rule keeps each image's best reference match; the layout grades every image of one folder against the data folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from grader.plugins import (
    EncoderKind,
    EncoderSpecBase,
    ImageScores,
    LayoutBase,
    LayoutKind,
    ModelInfo,
    Rule,
    RuleInput,
    ScanContext,
    Status,
    SubjectInput,
    list_images,
)


class ColourStats(EncoderSpecBase):
    kind: Literal["colour-stats"]
    bins: int = 4

    @property
    def model(self) -> str:
        return f"colour histogram ({self.bins} bins)"


def histogram(path: Path, bins: int) -> np.ndarray:
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3) // (256 // bins)
    codes = pixels[:, 0] * bins * bins + pixels[:, 1] * bins + pixels[:, 2]
    return np.bincount(codes, minlength=bins**3).astype(np.float32)


class ColourEncoder:
    def __init__(self, spec: ColourStats) -> None:
        self.spec = spec

    @property
    def fingerprint(self) -> str:
        return f"colour-stats-{self.spec.bins}"

    def encode_images(self, paths, progress=None):
        vectors = [histogram(p, self.spec.bins) for p in paths]
        if progress:
            progress(len(paths))
        return vectors

    def cache_extra(self, path: Path) -> str:
        return ""

    def restore(self, path: Path, vector: np.ndarray, extra: str) -> None:
        pass

    def describe(self, labels: list[str]) -> ModelInfo:
        return ModelInfo(labels, self.spec.model, "t2i-grader-colour plugin", "", self.fingerprint, False)


def best_reference(rin: RuleInput) -> ImageScores:
    def unit(a: np.ndarray) -> np.ndarray:
        return a / np.linalg.norm(a, axis=1, keepdims=True)

    images, refs = unit(rin.embeddings.of(rin.subject.images)), unit(rin.embeddings.of(rin.subject.references))
    return ImageScores(100 * (images @ refs.T).max(axis=1))


class FlatFolder(LayoutBase):
    """Every image of the submission folder against every image of the data folder, as one subject."""

    kind: Literal["flat-folder"]
    subject: str = "all"

    @property
    def named_subjects(self) -> list[str]:
        return [self.subject]


def scan_flat_folder(layout: FlatFolder, submission: Path, data: Path, context: ScanContext):
    references, problems = list_images(data, layout.extensions, layout.subject, context=context)
    images, more = list_images(submission, layout.extensions, layout.subject, context=context)
    return [SubjectInput(layout.subject, {}, references, images, None, [], problems + more)], []


ENCODER = EncoderKind(
    "colour-stats",
    ColourStats,
    frozenset({"image"}),
    lambda spec, context: ColourEncoder(spec),
    status=lambda spec, models_dir, fetch: Status(spec.model, "no weights: computed from the pixels"),
)
RULE = Rule(
    "best_reference",
    "100·cos with the closest reference.",
    frozenset({"image"}),
    best_reference,
    frozenset({"references"}),
)
LAYOUT = LayoutKind("flat-folder", FlatFolder, scan_flat_folder)

__all__ = ["ENCODER", "LAYOUT", "RULE"]
