"""Stage 1, inputs: the task's data and the submission read into subjects with their images, texts, references and
problems, through the grade's scan context (its folders and what it knows of its images)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.grading.running import RunningTask
from grader.problems import Problem, Severity
from grader.submission import ScanContext, SubjectInput, scan


@dataclass(frozen=True)
class Inputs:
    """Stage 1's output: the subjects, the grade's problems and notes, the folders read."""

    subjects: list[SubjectInput]
    problems: list[Problem]  # of the grade (not of one subject), notes excepted
    notes: list[str]  # where things were read from
    meta_file: str  # the data file problems with a subject's fields are reported against
    folder: Path  # the submission as read (a zip's unpacked folder)
    data: Path


def read_inputs(run: RunningTask, folder: Path, data: Path, context: ScanContext) -> Inputs:
    """Scan the submission ``folder`` and the ``data`` folder for the running task."""
    subjects, found = scan(run.task.layout, folder, data, context)
    found += unknown_line_subjects(run, subjects)
    markers = run.task.layout.data_markers
    return Inputs(
        subjects,
        [p for p in found if p.severity != Severity.NOTE],
        [p.message for p in found if p.severity == Severity.NOTE],
        str(data / markers[0]) if markers else str(data),
        folder,
        data,
    )


def unknown_line_subjects(run: RunningTask, subjects: list[SubjectInput]) -> list[Problem]:
    """Lines for subjects the data does not have (layouts whose subjects come with the data are checked here)."""
    known = {s.subject for s in subjects}
    unknown = sorted(set(run.tier.per_subject) - known) if run.tier else []
    message = "per_subject line for {!r}, which the data does not have; ignored"
    return [Problem(f"tier {run.tier_name}", message.format(s), None, Severity.WARNING) for s in unknown]


def relative(path: Path, root: Path) -> str:
    """``path`` named within ``root`` (a possibly temporary submission folder), else whole."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def relative_problem(problem: Problem, root: Path) -> Problem:
    """The problem with its file named within ``root``."""
    return Problem(relative(Path(problem.file), root), problem.message, problem.subject, problem.severity)
