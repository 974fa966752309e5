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


# A submission of 125 full-size images is well under 1 GB; an archive that claims more is refused before
# anything is written (a zip bomb expands a few kilobytes into gigabytes).
MAX_UNPACKED = 512 * 1024 * 1024


def _extract(archive: zipfile.ZipFile, target: Path, source: Path) -> None:
    members = [(info, member_path(info.filename)) for info in archive.infolist()]
    unsafe = [info.filename for info, path in members if not _safe(path)]
    if unsafe:
        # Refuse paths that would land outside the temporary folder.
        raise InputError(f"{source}: unsafe path in archive: {unsafe[0]}")
    total = sum(info.file_size for info, _ in members)
    if total > MAX_UNPACKED:
        raise InputError(
            f"{source}: expands to {total / 2**20:.0f} MB, over the {MAX_UNPACKED / 2**20:.0f} MB a submission may "
            "unpack to; not extracted"
        )
    budget = _Budget(MAX_UNPACKED, source)
    for info, path in members:
        destination = target.joinpath(*path.parts)
        if info.is_dir() or info.filename.endswith("\\"):
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, destination.open("wb") as dst:
            # The sizes in the directory can lie: never write more than the limit, whatever they said.
            shutil.copyfileobj(budget.reader(src), dst)


@contextmanager
def unpacked(submission: Path) -> Iterator[Path]:
    """The submission's folder; a ``.zip`` is extracted to a temporary folder (the original is untouched)."""
    if submission.is_dir():
        yield submission
        return
    if not submission.exists():
        raise InputError(f"{submission}: submission not found")
    if not zipfile.is_zipfile(submission):
        if submission.suffix.lower() == ".zip":
            raise InputError(f"{submission}: not a readable zip archive (damaged or cut short)")
        raise InputError(f"{submission}: a submission is a folder or a .zip file")
    with tempfile.TemporaryDirectory(prefix="t2i-grader-") as tmp:
        with zipfile.ZipFile(submission) as archive:
            _extract(archive, Path(tmp), submission)
        yield Path(tmp)


class _Budget:
    """Bytes an archive may still unpack to, shared by its members; reading past it raises."""

    def __init__(self, limit: int, source: Path) -> None:
        self.left, self.source = limit, source

    def reader(self, raw):
        budget = self

        class Capped:
            def read(self, size: int = -1) -> bytes:
                data = raw.read(size)
                budget.left -= len(data)
                if budget.left < 0:
                    raise InputError(f"{budget.source}: expands past {MAX_UNPACKED / 2**20:.0f} MB; not extracted")
                return data

        return Capped()
