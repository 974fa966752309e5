"""Who is in the class: one entry per student in the submissions folder, plus the roster's absentees."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from grader.errors import InputError
from grader.submission.files import plain_name

ID_COLUMNS = ("id", "student_id", "student", "studentid", "username")
SYSTEM_FILES = {"Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Student:
    id: str
    path: Path | None  # a folder or a .zip; None: on the roster, nothing submitted


def read_roster(path: Path) -> list[str]:
    """Student ids from a CSV with a header naming an id column (``id``, ``student_id``, ...)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the roster: {exc}") from exc
    header = {name.strip().lower(): name for name in (rows[0].keys() if rows else [])}
    column = next((header[c] for c in ID_COLUMNS if c in header), None)
    if column is None:
        raise InputError(f"{path}: the roster needs a header with an id column ({', '.join(ID_COLUMNS)})")
    return [row[column].strip() for row in rows if (row.get(column) or "").strip()]


def find_students(folder: Path, roster: Path | None = None) -> tuple[list[Student], list[str]]:
    """Students by id (the entry's name without ``.zip``), sorted, and notes on entries that are not
    submissions. Roster ids with no entry are students with ``path=None``."""
    if not folder.is_dir():
        raise InputError(f"{folder}: submissions folder not found")
    found: dict[str, Path] = {}
    notes = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name in SYSTEM_FILES or entry.name == "__MACOSX":
            continue
        if entry.is_dir() or entry.suffix.lower() == ".zip":
            student = entry.stem if entry.is_file() else entry.name
            if not plain_name(student):
                notes.append(f"{entry}: {student!r} is not a usable student id; not graded")
                continue
            if student in found:
                notes.append(f"{entry}: a second submission of {student} ({found[student].name} is graded)")
                continue
            found[student] = entry
        else:
            notes.append(f"{entry.name}: not a folder or a .zip; not a submission")
    listed = read_roster(roster) if roster else []
    unusable = [s for s in listed if not plain_name(s)]
    notes += [
        f"{roster}: student id {s!r} is not a plain name (it would lead out of --out); left out" for s in unusable
    ]
    listed = [s for s in listed if plain_name(s)]
    unknown = sorted(set(found) - set(listed)) if roster else []
    notes += [f"{s}: submitted but not on the roster" for s in unknown]
    students = [Student(s, found.get(s)) for s in sorted(set(found) | set(listed))]
    return students, notes
