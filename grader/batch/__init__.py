"""``grader batch``: grade a whole class, each model loaded once, one broken submission never stopping the rest.

Writes ``grades.csv`` (a row per student), ``students/<student>.json`` (the same JSON as ``grader check``),
``summary.json`` and ``index.html`` into the output folder, as each student is graded. Students' files have their
own folder: no student id can replace the class's files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.batch.engines import ENGINES
from grader.batch.grading import NOT_GRADED, PARTIAL, StudentOutcome
from grader.batch.html import write_class_html
from grader.batch.overview import grade_rows, summary
from grader.batch.shared import SharedPair, shared_images
from grader.batch.students import Student, find_students
from grader.errors import ExitCode, UsageError
from grader.grading import GradeOptions, Resources
from grader.outputs import cannot_write, check_outputs
from grader.progress import ClassProgress, SilentClassProgress
from grader.report.files import atomic_write, write_json
from grader.tasks.schema import Task

__all__ = ["BatchResult", "run_batch"]


@dataclass
class BatchResult:
    outcomes: list[StudentOutcome]
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    shared: list[SharedPair]
    out: Path

    @property
    def exit_code(self) -> ExitCode:
        """0 when every submission was graded whole (whatever the verdicts), 2 when some were not."""
        whole = all(o.status not in (NOT_GRADED, PARTIAL) for o in self.outcomes)
        return ExitCode.PASSED if whole else ExitCode.CANNOT_GRADE


STUDENTS = "students"  # the folder of each student's JSON and HTML, inside the output folder


def _write_student(outcome: StudentOutcome, student: Student, out: Path, html: bool) -> None:
    out = out / STUDENTS
    path = out / f"{outcome.student}.json"
    if outcome.result is not None:
        write_json(outcome.result, path)
        if html and student.path is not None:
            from grader.report.html import write_html
            from grader.submission import unpacked

            with unpacked(student.path) as root:  # graded elsewhere (a Ray worker): the page reads the files
                write_html(outcome.result, out / f"{outcome.student}.html", root)
    else:
        record = {"student": outcome.student, "status": outcome.status, "exit_code": outcome.exit_code}
        atomic_write(path, json.dumps(record | {"error": outcome.error}, indent=2) + "\n")


def run_batch(
    task: Task,
    submissions: Path,
    data: Path,
    out: Path,
    options: GradeOptions,
    resources: Resources | None = None,
    roster: Path | None = None,
    engine: str = "local",
    address: str | None = None,
    html: bool = False,
    progress: ClassProgress | SilentClassProgress | None = None,
) -> BatchResult:
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}")
    check_outputs({"--out": out, "--out's students folder": out / STUDENTS}, _inputs(submissions, data, roster), True)
    students, notes = find_students(submissions, roster)
    if not students:
        raise UsageError(f"{submissions}: no submissions (folders or .zip files) and no roster")
    try:
        (out / STUDENTS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write("--out", out, exc) from exc
    by_id = {s.id: s for s in students}
    outcomes = []
    reporter = progress or SilentClassProgress()
    reporter.expect(len(students))
    resources = resources or Resources()
    for outcome in ENGINES[engine](task, students, data, options, reporter, resources, address=address):
        outcomes.append(outcome)
        try:
            _write_student(outcome, by_id[outcome.student], out, html)
        except OSError as exc:
            raise cannot_write("--out", out, exc) from exc
        reporter.student_done()
    results = {o.student: o.result for o in outcomes if o.result is not None}
    shared = shared_images(results, resources.cache)
    rows = grade_rows(outcomes, shared)
    tier = next((r.tier for r in results.values()), options.tier or "")
    overview = summary(task.name, tier, outcomes, shared, notes)
    try:
        _write_table(rows, out / "grades.csv")
        atomic_write(out / "summary.json", json.dumps(overview, indent=2) + "\n")
        write_class_html(overview, rows, out, STUDENTS)
    except OSError as exc:
        raise cannot_write("--out", out, exc) from exc
    return BatchResult(outcomes, rows, overview, shared, out)


def _inputs(submissions: Path, data: Path, roster: Path | None) -> dict[str, Path | None]:
    return {"the submissions folder": submissions, "the data folder": data, "the roster": roster}


def _write_table(rows: list[dict[str, Any]], path: Path) -> None:
    import pandas as pd

    atomic_write(path, pd.DataFrame(rows).to_csv(index=False))
