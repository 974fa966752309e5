"""Where a command may write: never over or inside what it reads, never two outputs on one path, and a failed
write named as the user's problem (exit 2), with an existing file kept whole."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from grader.errors import UsageError

STDOUT = "-"


def _inside(path: Path, tree: Path) -> bool:
    return path == tree or tree in path.parents


def _blocked_by_file(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a folder (a file cannot hold files), if any."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def check_outputs(outputs: Mapping[str, Path | None], inputs: Mapping[str, Path | None], folder: bool = False) -> None:
    """Refuse, naming the option and the path, any output that is or lies inside an input (a file or a tree it
    reads), that is a folder (or, with ``folder``, a file), that lies under a file, or that another output
    names too. ``outputs`` and ``inputs`` map an option or a description to its path; None and '-' are skipped."""
    seen: dict[Path, str] = {}
    trees = {what: Path(os.path.realpath(p)) for what, p in inputs.items() if p is not None}
    for option, path in outputs.items():
        if path is None or str(path) == STDOUT:
            continue
        where = Path(os.path.realpath(path))
        for what, tree in trees.items():
            if _inside(where, tree):
                relation = "is" if where == tree else "lies inside"
                raise UsageError(f"{option} {path}: {relation} {what} ({tree}); the grader never writes there")
        if where in seen:
            raise UsageError(f"{option} {path}: {seen[where]} writes to the same file; give each its own")
        seen[where] = option
        if folder and where.exists() and not where.is_dir():
            raise UsageError(f"{option} {path}: is a file; give a folder")
        if not folder and where.is_dir():
            raise UsageError(f"{option} {path}: is a folder; give a file name")
        blocker = _blocked_by_file(where)
        if blocker is not None:
            raise UsageError(f"{option} {path}: lies under {blocker}, which is a file")


def cannot_write(option: str, path: Path, exc: OSError) -> UsageError:
    """The error for an output that could not be written (read-only, full disk...): the user's to fix."""
    return UsageError(f"{option} {path}: cannot write ({exc.strerror or exc}); nothing was written there")
