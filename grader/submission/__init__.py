"""Reading a submission and its task data into per-subject inputs, collecting problems instead of stopping."""

from __future__ import annotations

from pathlib import Path

from grader.errors import InputError
from grader.layouts import LAYOUTS
from grader.problems import Problem
from grader.submission.data_root import find_data_root
from grader.submission.files import PLAIN, ScanContext, SubjectInput
from grader.submission.unpack import archive_problems, unpacked


def scan(
    layout, submission: Path, data_dir: Path, context: ScanContext = PLAIN
) -> tuple[list[SubjectInput], list[Problem]]:
    """Per-subject inputs for any layout kind, read through ``context`` (a grade's folders and what it knows of
    its images). Problems of severity "note" say where things were read from."""
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: data folder not found")
    root, notes = find_data_root(data_dir, layout.data_markers)
    subjects, problems = LAYOUTS.get(layout.kind).scan(layout, submission, root, context)
    return subjects, notes + problems


__all__ = ["ScanContext", "SubjectInput", "archive_problems", "scan", "unpacked"]
