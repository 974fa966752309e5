"""One embedding cache between the encoders and the metrics.

Entries are keyed by what was encoded (an image file's content hash, or a text) and the encoder's fingerprint
(model and revision, preprocessing, dtype, library versions), so re-grading recomputes only what changed.
SQLite in WAL mode lets several graders share one cache file; each entry carries a checksum, and an entry that
fails it is dropped and recomputed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.paths import cache_dir

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    key TEXT NOT NULL,
    encoder TEXT NOT NULL,
    shape TEXT NOT NULL,
    data BLOB NOT NULL,
    extra TEXT NOT NULL DEFAULT '',
    checksum TEXT NOT NULL,
    created REAL NOT NULL DEFAULT (julianday('now')),
    PRIMARY KEY (key, encoder)
)
"""
# Image files known to decode, by content hash, with their perceptual hashes: a re-grade checks a file and
# looks for copies by its hash instead of decoding it.
_DECODED_SCHEMA = "CREATE TABLE IF NOT EXISTS image_facts (key TEXT PRIMARY KEY, visual TEXT NOT NULL)"
# What each encoder fingerprint is, in words (model id, revision, kind), for `grader cache info`.
_NAMES_SCHEMA = "CREATE TABLE IF NOT EXISTS encoder_names (encoder TEXT PRIMARY KEY, name TEXT NOT NULL)"


def default_cache_path() -> Path:
    return cache_dir() / "embeddings.sqlite"


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes (no decoding), read once per file version within a process."""
    stat = Path(path).stat()
    return _digest(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=65536)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _checksum(data: bytes, shape: str, extra: str) -> str:
    return hashlib.sha256(data + shape.encode() + extra.encode()).hexdigest()[:32]


@dataclass
class CacheStats:
    corrupt: int = 0  # entries whose checksum failed, dropped to be recomputed
    moved_aside: str = ""  # where a damaged cache file was moved (the grade then ran without its entries)
    write_failed: str = ""  # why a write did not happen (read-only file, full disk): later grades recompute


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """A damaged file (malformed pages, not a database), not a busy or misused one."""
    return not isinstance(exc, (sqlite3.OperationalError, sqlite3.IntegrityError, sqlite3.ProgrammingError))


def _guarded(method: Callable) -> Callable:
    """The cache is an optimisation: a damaged file is moved aside, a fresh one made, the call made again."""

    @functools.wraps(method)
    def call(self: EmbeddingCache, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                raise
            self._move_aside()
            return method(self, *args, **kwargs)

    return call


def _write(method: Callable) -> Callable:
    """A write the cache may fail to make (a read-only file, a full disk): it is skipped and the reason kept in
    ``stats.write_failed``; the grade goes on without storing."""

    @functools.wraps(method)
    def call(self: EmbeddingCache, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.OperationalError, OSError) as exc:
            self.stats.write_failed = str(exc)
            return None

    return call


class EmbeddingCache:
    """Float32 vectors (plus a short text of extras, e.g. a face's confidence) by content and encoder."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path or default_cache_path())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stats = CacheStats()
        self._lock = threading.Lock()
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            db = self._connect()
            db.execute("SELECT COUNT(*) FROM embeddings").fetchone()
            return db
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                raise
            self._set_aside()
            return self._connect()

    def _set_aside(self) -> None:
        """Keep a damaged file (and its WAL) as ``<name>.corrupt-<UTC time>``, never deleting it."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{self.path}{suffix}")
            if part.exists():
                part.replace(Path(f"{aside}{suffix}"))
        self.stats.moved_aside = str(aside)

    def _move_aside(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._set_aside()
        self._db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=30000")
        db.execute(_SCHEMA)
        db.execute(_DECODED_SCHEMA)
        db.execute(_NAMES_SCHEMA)
        return db

    @_guarded
    def decoded(self, key: str) -> str | None:
        """The perceptual hashes of an image file of content hash ``key`` seen to decode, or None."""
        with self._lock:
            row = self._db.execute("SELECT visual FROM image_facts WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    @_write
    @_guarded
    def mark_decoded(self, key: str, visual: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO image_facts (key, visual) VALUES (?, ?)", (key, visual))

    @_guarded
    def get_many(self, keys: Iterable[str], encoder: str) -> dict[str, tuple[np.ndarray, str]]:
        keys = list(keys)
        found: dict[str, tuple[np.ndarray, str]] = {}
        bad = []
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, shape, data, extra, checksum FROM embeddings WHERE encoder=? AND key IN ({marks})",
                    [encoder, *chunk],
                ).fetchall()
                for key, shape, data, extra, checksum in rows:
                    if _checksum(data, shape, extra) != checksum:
                        bad.append(key)
                        continue
                    dims = tuple(int(d) for d in shape.split("x") if d)
                    found[key] = (np.frombuffer(data, dtype=np.float32).reshape(dims).copy(), extra)
            for key in bad:
                self._db.execute("DELETE FROM embeddings WHERE key=? AND encoder=?", (key, encoder))
        self.stats.corrupt += len(bad)
        return found

    @_write
    @_guarded
    def put_many(self, items: Iterable[tuple[str, np.ndarray, str]], encoder: str, name: str = "") -> None:
        """Store vectors under ``encoder`` (a fingerprint); ``name`` says in words what that encoder is."""
        rows = []
        for key, vector, extra in items:
            array = np.ascontiguousarray(vector, dtype=np.float32)
            data, shape = array.tobytes(), "x".join(str(d) for d in array.shape)
            rows.append((f"{key}", encoder, shape, data, extra, _checksum(data, shape, extra)))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO embeddings (key, encoder, shape, data, extra, checksum) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                if name:
                    self._db.execute(
                        "INSERT OR REPLACE INTO encoder_names (encoder, name) VALUES (?, ?)", (encoder, name)
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    @_guarded
    def info(self) -> dict[str, object]:
        with self._lock:
            count, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM embeddings").fetchone()
            encoders = self._db.execute(
                "SELECT COALESCE(n.name, e.encoder), COUNT(*), SUM(LENGTH(e.data)) FROM embeddings e "
                "LEFT JOIN encoder_names n ON n.encoder = e.encoder GROUP BY e.encoder ORDER BY COUNT(*) DESC"
            ).fetchall()
        return {
            "path": str(self.path),
            "entries": count,
            "bytes": size,
            "encoders": {name: {"entries": n, "bytes": b} for name, n, b in encoders},
        }

    @_guarded
    def clear(self, older_than_days: float | None = None) -> int:
        """Delete every embedding (or those stored more than ``older_than_days`` ago); how many went."""
        where = "" if older_than_days is None else f" WHERE created < julianday('now') - {float(older_than_days)}"
        with self._lock:
            count = self._db.execute(f"SELECT COUNT(*) FROM embeddings{where}").fetchone()[0]
            self._db.execute(f"DELETE FROM embeddings{where}")
            if older_than_days is None:
                self._db.execute("DELETE FROM image_facts")
                self._db.execute("DELETE FROM encoder_names")
            self._db.execute("VACUUM")
        return count

    def close(self) -> None:
        with self._lock, closing(self._db):
            pass
