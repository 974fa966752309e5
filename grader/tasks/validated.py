"""Task files that validated before, kept so that short commands (``grader tasks``, ``grader models``) do not pay
for the validation's imports (numpy via the rule registry, libyaml, every layout) each time they run.

An entry is keyed by the file's bytes and by the schema's own source, so an edited task file or a changed schema is
validated afresh. Entries are only an optimisation: any failure to read or write one falls back to validating.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from grader.paths import cache_dir

if TYPE_CHECKING:
    from grader.tasks.schema import Task

_SOURCES = ("schema.py", "registry.py", "validated.py")


def _entry(data: bytes) -> Path:
    h = hashlib.sha256(data)
    here = Path(__file__).resolve().parent
    for name in _SOURCES:
        stat = (here / name).stat()
        h.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return cache_dir() / "tasks" / f"{h.hexdigest()[:32]}.pickle"


def recall(data: bytes) -> Task | None:
    """The task ``data`` validated to before, or None."""
    try:
        with open(_entry(data), "rb") as handle:
            task = pickle.load(handle)
    except Exception:  # missing, unreadable, or written by another version: validate instead
        return None
    from grader.tasks.schema import Task

    return task if isinstance(task, Task) else None


def remember(data: bytes, task: Task) -> None:
    entry = _entry(data)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=entry.parent, suffix=".tmp", delete=False) as handle:
            pickle.dump(task, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, entry)
    except OSError:
        pass  # a read-only cache folder only costs the next command its validation
