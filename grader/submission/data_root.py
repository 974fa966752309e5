"""Finding the task's data inside the folder the user named, as each course ships it.

Courses tell students to pass different folders (``hw2_data/textual_inversion``, ``Datasets``, ``dataset``); users
often pass the folder above. A layout names the files that mark its data folder; the folder given is used when it
holds one of them, else its one sub-folder that does. Anything else is left to the scanner's own messages.
"""

from __future__ import annotations

from pathlib import Path

from grader.errors import InputError
from grader.problems import Problem, Severity


def _marked(folder: Path, markers: list[str]) -> bool:
    return any((folder / m).exists() for m in markers)


def find_data_root(data_dir: Path, markers: list[str]) -> tuple[Path, list[Problem]]:
    """The folder holding the task's data, and a note when it is a sub-folder of ``data_dir``."""
    if not markers or _marked(data_dir, markers):
        return data_dir, []
    children = sorted(p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    found = [c for c in children if _marked(c, markers)]
    if len(found) > 1:
        names = ", ".join(str(f) for f in found)
        raise InputError(f"{data_dir}: several folders hold the task's data ({names}); pass one of them as --data")
    if not found:
        return data_dir, []
    held = " and ".join(m for m in markers if (found[0] / m).exists())
    note = f"data read from {found[0]} (the folder inside {data_dir} that holds {held})"
    return found[0], [Problem(str(found[0]), note, None, Severity.NOTE)]


def first_existing(data_dir: Path, candidates: list[str]) -> Path:
    """The first of ``candidates`` (paths relative to the data folder) that exists; the first one otherwise,
    so that a message names what the course ships."""
    for candidate in candidates:
        if (data_dir / candidate).exists():
            return data_dir / candidate
    return data_dir / candidates[0]
