"""Embeddings of a grade's images and texts, each computed once and kept in the embedding cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from grader.cache import EmbeddingCache, file_digest, text_digest
from grader.progress import ProgressReporter


class Embeddings:
    """Every image of the grade embedded once per encoder (references too), shared by that encoder's metrics."""

    def __init__(
        self, encoder, paths: Sequence[Path], progress: ProgressReporter, label: str, cache: EmbeddingCache | None
    ) -> None:
        self.encoder = encoder
        self.cache = cache
        self.text_notes: dict[str, str] = {}  # text -> "cut:<limit>" when cut to the encoder's token limit
        paths = sorted(set(paths))
        advance = progress.task(label, len(paths))
        self.by_path: dict[Path, np.ndarray] = {}
        if encoder.fingerprint is None:
            cache = self.cache = None  # encoders that are cheaper than a lookup
        digests = {p: file_digest(p) for p in paths} if cache else {}  # memoised: one read per file per grade
        if cache:
            found = cache.get_many(set(digests.values()), encoder.fingerprint)
            for path in paths:
                if digests[path] in found:
                    vector, extra = found[digests[path]]
                    if extra:  # plain embeddings have nothing to restore: the encoder need not be built
                        encoder.restore(path, vector, extra)
                    self.by_path[path] = vector
            advance(len(self.by_path))
        todo = [p for p in paths if p not in self.by_path]
        self.computed = len(todo)
        if todo:
            vectors = encoder.encode_images(todo, advance)
            self.by_path.update(zip(todo, vectors, strict=True))
            if cache:
                items = [(digests[p], self.by_path[p], encoder.cache_extra(p)) for p in todo]
                cache.put_many(items, encoder.fingerprint, encoder_name(encoder))

    def of(self, paths: list[Path]) -> np.ndarray:
        return np.stack([self.by_path[p] for p in paths]) if paths else np.zeros((0, 1))

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
            limit = f"cut:{self.encoder.max_tokens}"
            found.update({text_digest(t): (v, limit if t in long else "") for t, v in zip(missing, fresh, strict=True)})
            if self.cache:
                texts_of = f"{encoder_name(self.encoder)}, texts"
                self.cache.put_many([(text_digest(t), *found[text_digest(t)]) for t in missing], key, texts_of)
        self.text_notes.update({t: found[text_digest(t)][1] for t in unique})
        return np.stack([found[text_digest(t)][0] for t in texts])

    def truncated(self, texts: Sequence[str]) -> list[tuple[str, int]]:
        """Those of ``texts`` (already embedded) that were cut to the token limit, with the limit."""
        cut = {t: n for t, n in self.text_notes.items() if n.startswith("cut:")}
        return [(t, int(cut[t].split(":")[1])) for t in sorted(set(texts)) if t in cut]


def encoder_name(encoder) -> str:
    """The encoder in words: model id, revision and kind (what ``grader cache info`` lists)."""
    spec = getattr(encoder, "spec", None)
    if spec is None:
        return ""
    revision = getattr(spec, "revision", None)
    return f"{getattr(spec, 'model', spec.kind)}{f'@{revision}' if revision else ''} ({spec.kind})"
