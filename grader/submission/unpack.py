"""Accept a zipped submission (as uploaded to the course) as well as a folder."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.errors import InputError


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
            for member in archive.namelist():
                # Refuse paths that would land outside the temporary folder.
                if Path(member).is_absolute() or ".." in Path(member).parts:
                    raise InputError(f"{submission}: unsafe path in archive: {member}")
            archive.extractall(tmp)
        yield Path(tmp)
