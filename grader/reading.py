"""The grade's one reading of its image files: each decoded once, checked, hashed and embedded by every encoder
that needs it, chunk by chunk, so memory holds a few chunks of pixels whatever the submission's size."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence, Set
from pathlib import Path
from queue import Queue
from typing import TYPE_CHECKING, TypeVar

from grader.errors import InputError
from grader.specs import DEFAULT_LOADER

if TYPE_CHECKING:
    from grader.embeddings import Embeddings
    from grader.fingerprints import VisualHash
    from grader.images import DecodedImage
    from grader.submission.files import DecodeMemo

T = TypeVar("T")
CHUNK = 8  # images decoded together; two more chunks are decoded ahead while the encoders run


def batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` while a background thread produces the next ones (decoding overlaps the model)."""
    done = object()
    queue: Queue = Queue(maxsize=depth)

    def produce() -> None:
        try:
            for item in items:
                queue.put(item)
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put(exc)
        queue.put(done)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    while (item := queue.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item
    worker.join()


# A path, its decoded image, that image's perceptual hash if asked for, and why it did not decode.
Read = tuple[Path, "DecodedImage | None", "VisualHash | None", str]


def _read(paths: Sequence[Path], hash_these: Set[Path], loader: str) -> list[Read]:
    from grader.fingerprints import visual_hash
    from grader.images import decode

    out: list[Read] = []
    for path in paths:
        try:
            image = decode(path, loader)
        except InputError as exc:
            out.append((path, None, None, str(exc)))
            continue
        out.append((path, image, visual_hash(image.rgb) if path in hash_these else None, ""))
    return out


def decoded_chunks(
    paths: Sequence[Path], hash_these: Set[Path] = frozenset(), loader: str = DEFAULT_LOADER
) -> Iterator[list[Read]]:
    """``paths`` decoded chunk by chunk, ahead of the consumer."""
    return prefetch(_read(chunk, hash_these, loader) for chunk in batched(paths, CHUNK))


def read_and_encode(embeddings: Iterable[Embeddings], memo: DecodeMemo) -> dict[Path, str]:
    """Decode, once each, the images the scan left pending and those an encoder has still to embed; record in
    ``memo`` what decoded (with its perceptual hash, for copies) and what did not. Returns, per image that did
    not decode or that an encoder could not read, why: the grade scans again to leave those out."""
    embeddings = list(embeddings)
    paths = list(dict.fromkeys([*memo.pending, *(p for e in embeddings for p in e.todo)]))
    unhashed = {p for p in paths if p not in memo.visual}  # a layout may list images the scan did not check
    failures: dict[Path, str] = {}
    for chunk in decoded_chunks(paths, unhashed, memo.loader):
        good = []
        for path, image, visual, why in chunk:
            if image is None:
                failures[path] = why
                continue
            good.append(image)
            if visual is not None:
                memo.decoded(path, visual, image.digest)
        for e in embeddings:
            failures.update(e.encode(good))
        for e in embeddings:
            e.give_up(failures)
    for path, why in failures.items():
        memo.failed_to_decode(path, why)
    return failures


class ReadsDecoded:
    """``encode_images(paths)`` for an encoder that embeds decoded images (``encode_decoded(images, progress)``):
    the files are decoded a chunk at a time, ahead of the encoder. For notebooks and tests; a grade decodes
    its images once for all encoders instead."""

    def encode_decoded(self, images: Sequence[DecodedImage], progress=None) -> Sequence:
        raise NotImplementedError

    def encode_images(self, paths: Sequence[Path], progress=None) -> list:
        vectors: list = []
        for chunk in decoded_chunks(list(paths)):
            decoded = []
            for _, image, _, why in chunk:
                if image is None:
                    raise InputError(why)
                decoded.append(image)
            vectors += list(self.encode_decoded(decoded, progress))
        return vectors
