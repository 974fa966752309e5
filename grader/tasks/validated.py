"""Task files that validated before, kept so that short commands (``grader tasks``, ``grader models``) do not pay
for the validation's imports (numpy via the rule registry, libyaml, every layout) each time they run.

An entry is keyed by the file's bytes, the grader's version and the state of its source files, and the name and
version of every distribution that adds rules, encoders or layouts: an edited task file, a changed grader or a
plugin upgrade is validated afresh. Entries are only an optimisation: an entry that does not unpickle, or whose
models lack a field their class now has, is validated again, and a failure to write one costs nothing.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.paths import cache_dir
from grader.versions import __version__

if TYPE_CHECKING:
    from grader.tasks.schema import Task

PLUGIN_GROUPS = ("t2i_grader.rules", "t2i_grader.encoders", "t2i_grader.layouts")
_GRADER = Path(__file__).resolve().parent.parent


def _plugins() -> list[str]:
    found = set()
    for group in PLUGIN_GROUPS:
        for entry in entry_points(group=group):
            dist = getattr(entry, "dist", None)
            found.add(
                f"{group}:{entry.name}={entry.value}@{dist.name if dist else '?'}:{dist.version if dist else '?'}"
            )
    return sorted(found)


def _sources() -> list[str]:
    """Size and modification time of each of the grader's modules: a change to a rule or a spec shows here."""
    stats = []
    for path in sorted(_GRADER.rglob("*.py")):
        stat = path.stat()
        stats.append(f"{path.relative_to(_GRADER)}:{stat.st_size}:{stat.st_mtime_ns}")
    return stats


def _entry(data: bytes) -> Path:
    h = hashlib.sha256(data)
    for part in (f"t2i-grader {__version__}", *_plugins(), *_sources()):
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return cache_dir() / "tasks" / f"{h.hexdigest()[:32]}.pickle"


def _complete(value: Any) -> bool:
    """Whether every model in ``value`` has each field its class declares (an entry pickled by an older class
    would raise AttributeError on the first use of a new field)."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        have = value.__dict__
        return all(name in have and _complete(have[name]) for name in type(value).model_fields)
    if isinstance(value, dict):
        return all(_complete(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_complete(v) for v in value)
    return True


def recall(data: bytes) -> Task | None:
    """The task ``data`` validated to before, or None."""
    try:
        with open(_entry(data), "rb") as handle:
            task = pickle.load(handle)
    except Exception:  # missing, unreadable, or written by another version: validate instead
        return None
    from grader.tasks.schema import Task

    return task if isinstance(task, Task) and _complete(task) else None


def remember(data: bytes, task: Task) -> None:
    try:
        entry = _entry(data)
        entry.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=entry.parent, suffix=".tmp", delete=False) as handle:
            pickle.dump(task, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, entry)
    except Exception:  # a read-only cache folder, a task that does not pickle: the next command validates again
        pass
