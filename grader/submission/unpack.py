"""Accept a zipped submission (as uploaded to the course) as well as a folder."""

from __future__ import annotations

import errno
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from grader.errors import InputError
from grader.problems import Problem, Severity


def member_path(name: str) -> PurePosixPath:
    """A member's path inside the archive. Zips made on Windows may name members ``results\\object-1\\0.png``:
    backslashes are separators there, never part of a file name."""
    return PurePosixPath(name.replace("\\", "/"))


def _safe(path: PurePosixPath) -> bool:
    return not path.is_absolute() and ".." not in path.parts and not (path.parts and ":" in path.parts[0])


# A submission of 125 full-size images is well under 1 GB; an archive that claims more is refused before
# anything is written (a zip bomb expands a few kilobytes into gigabytes).
MAX_UNPACKED = 512 * 1024 * 1024


def _member_problems(members: list[tuple[zipfile.ZipInfo, PurePosixPath]], source: Path) -> list[Problem]:
    """What the archive holds that the grade will not see: members of one name (the last one is kept, as unzip
    would) and archives inside the archive (not unpacked)."""
    problems, seen = [], set()
    for info, path in members:
        if path in seen and not info.is_dir():
            message = f"holds {path} more than once; the last one is graded"
            problems.append(Problem(str(source), message, None, Severity.WARNING))
        seen.add(path)
        if path.suffix.lower() == ".zip":
            message = f"holds an archive, {path}, which is not unpacked: its images are not graded"
            problems.append(Problem(str(source), message, None, Severity.WARNING))
    return problems


def _why_not(exc: BaseException, member: str) -> str:
    """Why a member could not be extracted, in the user's terms."""
    if isinstance(exc, NotImplementedError):
        return (
            f"{member} is compressed with a method Python cannot read (Deflate64, as Windows Explorer writes large "
            "archives, or another); zip it again with plain Deflate"
        )
    if isinstance(exc, RuntimeError) and "encrypted" in str(exc):
        return f"{member} is encrypted (password protected); zip it again without a password"
    if isinstance(exc, (zipfile.BadZipFile, zlib.error, EOFError)):
        return f"{member} is damaged ({exc})"
    if isinstance(exc, (IsADirectoryError, NotADirectoryError, FileExistsError)):
        return f"{member}: a file and a folder of the same name; they cannot both be unpacked"
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        return f"{member}: name too long for the file system"
    if isinstance(exc, OSError) and exc.errno == errno.EINVAL:  # an offset before the file's start
        return f"{member} lies outside this file (one part of a split archive? join the parts into one zip)"
    return f"{member} cannot be unpacked ({exc.__class__.__name__}: {exc})"


def _extract(archive: zipfile.ZipFile, target: Path, source: Path) -> list[Problem]:
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
        try:
            if info.is_dir() or info.filename.endswith("\\"):
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, destination.open("wb") as dst:
                # The sizes in the directory can lie: never write more than the limit, whatever they said.
                shutil.copyfileobj(budget.reader(src), dst)
        except InputError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError) as exc:
            raise InputError(f"{source}: {_why_not(exc, info.filename)}; not extracted") from exc
    return _member_problems(members, source)


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
        try:
            with zipfile.ZipFile(submission) as archive:
                _ARCHIVE_PROBLEMS[Path(tmp)] = _extract(archive, Path(tmp), submission)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
            # A split (multi-part) archive or a damaged central directory: nothing can be read from it.
            raise InputError(f"{submission}: not a readable zip archive ({exc}); not extracted") from exc
        try:
            yield Path(tmp)
        finally:
            _ARCHIVE_PROBLEMS.pop(Path(tmp), None)


# What each archive unpacked right now holds that its grade will not see, by the folder it was unpacked to.
_ARCHIVE_PROBLEMS: dict[Path, list[Problem]] = {}


def archive_problems(folder: Path) -> list[Problem]:
    """Warnings on the archive unpacked to ``folder`` (none for a folder submission)."""
    return list(_ARCHIVE_PROBLEMS.get(folder, []))


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
