"""A small class for tests and benchmarks, built from the synthetic ml2025-hw10 submission: students who pass
through folders and zips, two broken submissions, two students sharing images, and one who submitted nothing."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

Change = Callable[[Image.Image], Image.Image]


def _copy(source: Path, target: Path, change: Change | None = None, keep: tuple[str, ...] = ()) -> None:
    """``source`` submission copied to ``target``, each image changed by ``change`` except in ``keep`` folders."""
    for path in sorted(source.rglob("*")):
        if path.is_dir():
            continue
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if change is None or path.parent.name in keep:
            shutil.copyfile(path, dest)
        else:
            change(Image.open(path).convert("RGB")).save(dest)


def _copy_and_zip(submission: Path, folder: Path, change: Change) -> None:
    _copy(submission, folder, change)
    _zip(folder, folder.with_suffix(".zip"))


def _patterned(seed: int) -> Change:
    """A change that blends an image with a seeded 4x4 pattern of grey levels."""
    levels = np.random.default_rng(seed).integers(0, 256, (4, 4), dtype=np.uint8)

    def change(image: Image.Image) -> Image.Image:
        pattern = Image.fromarray(levels).resize(image.size, Image.Resampling.NEAREST).convert("RGB")
        return Image.blend(image, pattern, 0.6)

    return change


def _zip(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    shutil.rmtree(folder)


def build_class(root: Path, submission: Path, count: int = 8) -> tuple[Path, Path]:
    """The class folder and its roster. s01 is the submission as is; s02 (a zip), s03 and s08 are their own
    work; s04's zip is corrupt; s05 put every image in one folder; s06 handed in s01's object-1 images; s07 is on
    the roster only. ``count`` < 8 leaves out the last students."""
    classroom = root / "submissions"
    classroom.mkdir(parents=True)
    # Each student's own work: the images under a coarse pattern of their own, which moves every perceptual
    # hash far from the others' (the fixture's flat shapes look alike otherwise).
    own: dict[str, Change] = {student: _patterned(seed) for seed, student in enumerate(("s02", "s03", "s06", "s08"))}
    builders: dict[str, Callable[[Path], object]] = {
        "s01": lambda d: _copy(submission, d),
        "s02": lambda d: _copy_and_zip(submission, d, own["s02"]),
        "s03": lambda d: _copy(submission, d, own["s03"]),
        "s04": lambda d: d.with_suffix(".zip").write_bytes(b"PK\x03\x04 this is not a whole zip file"),
        "s05": lambda d: _copy(submission / "object-1", d),
        "s06": lambda d: _copy(submission, d, own["s06"], keep=("object-1",)),
        "s08": lambda d: _copy(submission, d, own["s08"]),
    }
    students = [f"s{i:02d}" for i in range(1, count + 1)]
    for student in students:
        if student in builders:
            builders[student](classroom / student)
    roster = root / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"{s},Student {s[1:]}\n" for s in students))
    return classroom, roster


def build_distinct_class(root: Path, submission: Path, students: int) -> Path:
    """``students`` folders s001, s002, ... each holding ``submission``'s images under a pattern of its own, so
    every student's images must be encoded (for benchmarks)."""
    classroom = root / "submissions"
    for i in range(1, students + 1):
        target = classroom / f"s{i:03d}"
        if not target.is_dir():
            _copy(submission, target, _patterned(100 + i))
    return classroom
