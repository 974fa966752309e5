"""Accept a zipped submission (as uploaded to the course) as well as a folder."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from grader.errors import InputError


def member_path(name: str) -> PurePosixPath:
    """A member's path inside the archive. Zips made on Windows may name members ``results\\object-1\\0.png``:
    backslashes are separators there, never part of a file name."""
    return PurePosixPath(name.replace("\\", "/"))


def _safe(path: PurePosixPath) -> bool:
    return not path.is_absolute() and ".." not in path.parts and not (path.parts and ":" in path.parts[0])


def _extract(archive: zipfile.ZipFile, target: Path, source: Path) -> None:
    members = [(info, member_path(info.filename)) for info in archive.infolist()]
    unsafe = [info.filename for info, path in members if not _safe(path)]
    if unsafe:
        # Refuse paths that would land outside the temporary folder.
        raise InputError(f"{source}: unsafe path in archive: {unsafe[0]}")
    for info, path in members:
        destination = target.joinpath(*path.parts)
        if info.is_dir() or info.filename.endswith("\\"):
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, destination.open("wb") as dst:
            shutil.copyfileobj(src, dst)


@contextmanager
def unpacked(submission: Path) -> Iterator[Path]:
    """The submission's folder; a ``.zip`` is extracted to a temporary folder (the original is untouched)."""
    if submission.is_dir():
        yield submission
        return
    if not submission.exists():
        raise InputError(f"{submission}: submission not found")
    if not zipfile.is_zipfile(submission):
        raise InputError(f"{submission}: a submission is a folder or a .zip file")
    with tempfile.TemporaryDirectory(prefix="t2i-grader-") as tmp:
        with zipfile.ZipFile(submission) as archive:
            _extract(archive, Path(tmp), submission)
        yield Path(tmp)
