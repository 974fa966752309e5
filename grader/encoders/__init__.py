"""Encoders: images (and texts) in, vectors out. One record per encoder kind in ``ENCODERS``.

A record names the spec class a task file's ``encoder:`` validates against, what the encoder provides (image,
text, face, pixels, logits: what rules require), how it is built, and how ``grader models`` reports whether it is
present. This module imports nothing heavy: torch and transformers load only when an encoder is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from grader.registry import Registry

if TYPE_CHECKING:
    import numpy as np

    from grader.images import DecodedImage
    from grader.result import ModelInfo

ProgressCallback = Callable[[int], None]


class ImageEncoder(Protocol):
    """What the embedding cache, the rules and the reports need of an encoder.

    A grade decodes each image once and hands it to every encoder that has ``encode_decoded``; an encoder with
    only ``encode_images`` is handed the files and decodes them itself. Either may raise ``InputError`` for an
    image it cannot read: that image is left out of the grade with a problem, the others are graded.
    Encoders that provide ``text`` also have ``encode_texts(texts) -> array``, ``too_long(texts) -> list`` and
    ``max_tokens``; those that provide ``face`` have ``has_face(path) -> bool``.
    """

    @property
    def fingerprint(self) -> str | None:
        """Identifies everything that changes a vector; None: never cached (cheaper than a look-up)."""

    def encode_decoded(
        self, images: Sequence[DecodedImage], progress: ProgressCallback | None = None
    ) -> Sequence[np.ndarray]:
        """One vector per decoded image (``.path``, ``.rgb``: the file as ``Image.open(p).convert("RGB")``)."""

    def encode_images(self, paths: Sequence[Path], progress: ProgressCallback | None = None) -> Sequence[np.ndarray]:
        """One vector per image file, in order (``grader.reading.ReadsDecoded`` derives it from the above)."""

    def cache_extra(self, path: Path) -> str:
        """What besides the vector the cache must keep for ``path``."""

    def restore(self, path: Path, vector: np.ndarray, extra: str) -> None:
        """Take back a cached entry."""

    def describe(self, labels: list[str]) -> ModelInfo:
        """The model as the reports name it: id, where it was loaded from, fingerprint."""


@dataclass
class BuildContext:
    """What building an encoder may use besides its spec."""

    models_dir: Path | None = None
    classifiers: dict[str, Path] = field(default_factory=dict)
    resolved: Any = None  # grader.models.ResolvedModel, for kinds with hub_model
    device: str | None = None  # torch device for the transformers encoders (None: cuda if present, else cpu)
    batch_size: int | None = None  # images per forward pass (None: the device's default)


@dataclass(frozen=True)
class Status:
    """One row of ``grader models``: the model's name, a status text, whether it is missing, and a path or command
    the user may copy (printed whole, outside the table)."""

    model: str
    text: str
    missing: bool = False
    detail: str = ""


@dataclass(frozen=True)
class EncoderKind:
    """One encoder kind: its spec class, what it provides, how it is built and reported."""

    name: str
    spec: type  # a grader.tasks.schema.EncoderSpecBase subclass
    provides: frozenset[str]
    build: Callable[[Any, BuildContext], ImageEncoder]
    hub_model: bool = False  # spec.model is resolved (local folder, --models, HF cache) before building
    status: Callable[[Any, Path | None, bool], Status] | None = None  # (spec, models_dir, fetch) -> row
    # Without building the encoder: its fingerprint and its description. With both, a grade served from the cache
    # never builds it (nor imports torch or transformers).
    fingerprint: Callable[[Any, BuildContext], str | None] | None = None
    describe: Callable[[Any, BuildContext, str | None, list[str]], ModelInfo] | None = None  # (.., fingerprint, ..)


ENCODERS: Registry[EncoderKind] = Registry("encoder", "t2i_grader.encoders", "grader.encoders.builtin")


def build_encoder(spec: Any, context: BuildContext) -> ImageEncoder:
    """The encoder for ``spec``, through its kind's record."""
    return ENCODERS.get(spec.kind).build(spec, context)


class LazyEncoder:
    """An encoder built on first use. Its fingerprint and description come from the kind's record when it has
    them, so looking up cached embeddings needs no model, no torch and no transformers."""

    def __init__(self, spec: Any, context: BuildContext) -> None:
        self.kind = ENCODERS.get(spec.kind)
        self.spec, self.context = spec, context
        self._encoder: ImageEncoder | None = None
        light = self.kind.fingerprint
        self.fingerprint = light(spec, context) if light else self.encoder.fingerprint

    @property
    def built(self) -> bool:
        """Whether the model has been loaded."""
        return self._encoder is not None

    @property
    def encoder(self) -> ImageEncoder:
        """The encoder, built on first use."""
        if self._encoder is None:
            self._encoder = self.kind.build(self.spec, self.context)
        return self._encoder

    def describe(self, labels: list[str]) -> ModelInfo:
        """The model as reports name it, without loading it when the kind can say."""
        if self.kind.describe and not self.built:
            return self.kind.describe(self.spec, self.context, self.fingerprint, labels)
        return self.encoder.describe(labels)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.encoder, name)
