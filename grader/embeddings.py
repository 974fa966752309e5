"""Embeddings of a grade's images and texts, each computed once and kept in the embedding cache."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from grader.cache import EmbeddingCache, file_digest, text_digest
from grader.errors import InputError
from grader.progress import ProgressReporter
from grader.specs import DEFAULT_LOADER

if TYPE_CHECKING:
    from grader.images import DecodedImage


class Embeddings:
    """Every image of the grade embedded once per encoder (references too), shared by that encoder's metrics.

    Vectors in the cache are taken from it; the rest (``todo``) are computed from images decoded once for all
    encoders (``grader.reading``), a chunk at a time, each chunk written to the cache as it is done."""

    def __init__(
        self,
        encoder,
        paths: Sequence[Path],
        progress: ProgressReporter,
        label: str,
        cache: EmbeddingCache | None,
        loader: str = DEFAULT_LOADER,
    ) -> None:
        from grader.images import loader_key

        self.encoder = encoder
        self.key_suffix = loader_key(loader)  # pixels of another loader are cached apart
        self.cache = cache if encoder.fingerprint is not None else None  # None: cheaper than a lookup
        self.cut_to: dict[str, int] = {}  # text -> the token limit it was cut to
        self.by_path: dict[Path, np.ndarray] = {}
        self.todo: dict[Path, None] = {}  # still to embed, in order
        self.computed = 0
        paths = sorted(set(paths))
        self._advance = progress.task(label, len(paths))
        self.want(paths)
        self._advance(len(self.by_path))

    def want(self, paths: Iterable[Path]) -> None:
        """Take what the cache has of ``paths``; the rest join ``todo``."""
        new = [p for p in dict.fromkeys(paths) if p not in self.by_path and p not in self.todo]
        if self.cache and new:
            # memoised: one read per file per grade
            digests = {p: d + self.key_suffix for p in new if (d := _digest_or_none(p))}
            found = self.cache.get_many(set(digests.values()), self.encoder.fingerprint)
            for path in new:
                if digests.get(path) in found:
                    vector, extra = found[digests[path]]
                    if extra:  # plain embeddings have nothing to restore: the encoder need not be built
                        self.encoder.restore(path, vector, extra)
                    self.by_path[path] = vector
        self.todo.update((p, None) for p in new if p not in self.by_path)

    def encode(self, images: Sequence[DecodedImage]) -> dict[Path, str]:
        """Embed those of ``images`` still to do. Returns, per image the encoder could not read, why (when one
        fails, the chunk's images are embedded one by one to find which)."""
        mine = [i for i in images if i.path in self.todo]
        if not mine:
            return {}
        budget = _Budget(self._advance, len(mine))
        try:
            vectors, failures = list(embed(self.encoder, mine, budget)), dict[Path, str]()
        except InputError as exc:
            vectors, failures = self._one_by_one(mine, exc)
        budget.finish()
        done = [i for i in mine if i.path not in failures]
        for image, vector in zip(done, vectors, strict=True):
            self.by_path[image.path] = vector
        for image in mine:
            del self.todo[image.path]
        self.computed += len(done)
        if self.cache and done:
            items = [
                (key, self.by_path[i.path], self.encoder.cache_extra(i.path)) for i in done if (key := self._key(i))
            ]
            self.cache.put_many(items, self.encoder.fingerprint, encoder_name(self.encoder))
        return failures

    def _key(self, image: DecodedImage) -> str | None:
        """The cache key of ``image``'s vector: the digest of the bytes decoded. An encoder that reads the file
        itself may have read other bytes: its vector is kept only if the file still has the decoded ones."""
        if hasattr(self.encoder, "encode_decoded"):
            return image.digest or None
        now = _digest_or_none(image.path)
        return image.digest if now and now + self.key_suffix == image.digest else None

    def _one_by_one(self, images: Sequence[DecodedImage], error: InputError) -> tuple[list, dict[Path, str]]:
        if len(images) == 1:
            return [], {images[0].path: str(error)}
        vectors, failures = [], {}
        for image in images:
            try:
                vectors += list(embed(self.encoder, [image]))
            except InputError as exc:
                failures[image.path] = str(exc)
        return vectors, failures

    def give_up(self, paths: Iterable[Path]) -> None:
        """Stop waiting for images that will not be embedded (they did not decode, or another encoder could not
        read them)."""
        for path in paths:
            if path in self.todo:
                del self.todo[path]
                self._advance(1)

    def of(self, paths: list[Path]) -> np.ndarray:
        if not paths:
            return np.zeros((0, 1))
        rows = [self.by_path[p] for p in paths]
        width = max(len(r) for r in rows)
        # A face encoder's reading of a faceless image (with enforce_detection) is empty: NaN in every column.
        return np.stack([np.full(width, np.nan) if r.ndim == 1 and len(r) == 0 < width else r for r in rows])

    def has_face(self, paths: list[Path]) -> np.ndarray:
        return np.array([self.encoder.has_face(p) for p in paths], dtype=bool)

    def texts(self, texts: Sequence[str]) -> np.ndarray:
        """Text embeddings through the same cache (keyed by the text and the encoder). Whether a text was cut to
        the encoder's token limit is kept with it (see ``truncated``), so a cached text needs no tokenizer."""
        unique = sorted(set(texts))
        key = f"{self.encoder.fingerprint}:text"
        found = self.cache.get_many(map(text_digest, unique), key) if self.cache else {}
        missing = [t for t in unique if text_digest(t) not in found]
        if missing:
            fresh = self.encoder.encode_texts(missing)
            long = set(self.encoder.too_long(missing))
            cut = _CUT.format(self.encoder.max_tokens)
            found.update({text_digest(t): (v, cut if t in long else "") for t, v in zip(missing, fresh, strict=True)})
            if self.cache:
                texts_of = f"{encoder_name(self.encoder)}, texts"
                self.cache.put_many([(text_digest(t), *found[text_digest(t)]) for t in missing], key, texts_of)
        for t in unique:
            limit = _cut_limit(found[text_digest(t)][1])
            if limit is not None:
                self.cut_to[t] = limit
        return np.stack([found[text_digest(t)][0] for t in texts])

    def truncated(self, texts: Sequence[str]) -> list[tuple[str, int]]:
        """Those of ``texts`` (already embedded) that were cut to the token limit, with the limit."""
        return [(t, self.cut_to[t]) for t in sorted(set(texts)) if t in self.cut_to]


def _digest_or_none(path: Path) -> str | None:
    """The file's content hash, or None when it cannot be read now (it is then decoded, and named, as any)."""
    try:
        return file_digest(path)
    except OSError:
        return None


# How the cache keeps, beside a text's vector, that the text was cut to the encoder's token limit.
_CUT = "cut:{}"


def _cut_limit(extra: str) -> int | None:
    prefix = _CUT.format("")
    return int(extra.removeprefix(prefix)) if extra.startswith(prefix) and extra[len(prefix) :].isdigit() else None


def encoder_name(encoder) -> str:
    """The encoder in words: model id, revision and kind (what ``grader cache info`` lists)."""
    spec = getattr(encoder, "spec", None)
    if spec is None:
        return ""
    revision = getattr(spec, "revision", None)
    return f"{getattr(spec, 'model', spec.kind)}{f'@{revision}' if revision else ''} ({spec.kind})"


def embed(encoder, images: Sequence[DecodedImage], progress: Callable[[int], None] | None = None) -> Sequence:
    """One vector per image: from the decoded images, or, for an encoder that only reads files (a plugin written
    before ``encode_decoded``), from their paths."""
    if hasattr(encoder, "encode_decoded"):
        return encoder.encode_decoded(images, progress)
    return encoder.encode_images([i.path for i in images], progress)


class _Budget:
    """A progress callback that advances a bar by at most ``n``, and by exactly ``n`` once finished: an encoder
    that fails half-way and is retried image by image does not count an image twice."""

    def __init__(self, advance: Callable[[int], None], n: int) -> None:
        self.advance, self.left = advance, n

    def __call__(self, n: int) -> None:
        n = min(n, self.left)
        self.left -= n
        if n:
            self.advance(n)

    def finish(self) -> None:
        self(self.left)


def with_reading(rows: np.ndarray) -> np.ndarray:
    """Embedding rows without those that hold no reading (a face encoder's faceless image: all NaN)."""
    return rows[~np.isnan(rows).any(axis=1)] if len(rows) else rows
