"""One student's grade as the class sees it: the result, or why there is none."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

from grader.batch.students import Student
from grader.errors import ExitCode, GraderError, ModelMissingError
from grader.grading import GradeOptions, Resources, grade
from grader.progress import ProgressReporter
from grader.result import GradeResult, Verdict
from grader.tasks.schema import Task

INTERNAL_ERROR = int(ExitCode.INTERNAL_ERROR)  # an unexpected failure while grading this student
MISSING, GRADED, NOT_GRADED = "missing", "graded", "could not grade"
PARTIAL = "partly graded"  # some subjects could not be graded; the others have verdicts and count
JUDGED = (Verdict.PASS, Verdict.FAIL)  # a subject's verdict that counts in the class's pass rates
EXIT_MEANING = {
    int(ExitCode.PASSED): "passed",
    int(ExitCode.BELOW_BASELINE): "below the line",
    int(ExitCode.CANNOT_GRADE): "could not grade",
    int(ExitCode.MODEL_MISSING): "model missing",
    INTERNAL_ERROR: "internal error",
}


@dataclass
class StudentOutcome:
    student: str
    status: str  # graded, partly graded, could not grade, missing
    exit_code: int | None  # as grader check would end for this student; None when nothing was submitted
    result: GradeResult | None = None
    error: str = ""

    @property
    def meaning(self) -> str:
        return "nothing submitted" if self.exit_code is None else EXIT_MEANING[self.exit_code]


def grade_student(
    task: Task, student: Student, data: Path, options: GradeOptions, progress: ProgressReporter, resources: Resources
) -> StudentOutcome:
    """Grade one entry; a broken one becomes a row with its problem. A missing model stops the class: every
    student would fail the same way."""
    if student.path is None:
        return StudentOutcome(student.id, MISSING, None, error="on the roster, nothing submitted")
    try:
        result = grade(task, student.path, data, options, progress, resources)
    except ModelMissingError:
        raise
    except GraderError as exc:
        return StudentOutcome(student.id, NOT_GRADED, int(exc.exit_code), error=str(exc))
    except Exception as exc:  # one student's file must not stop the class
        where = traceback.extract_tb(exc.__traceback__)[-1]
        message = f"internal error: {exc.__class__.__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"
        return StudentOutcome(student.id, NOT_GRADED, INTERNAL_ERROR, error=message)
    if result.exit_code in (ExitCode.PASSED, ExitCode.BELOW_BASELINE):
        status = GRADED
    else:
        status = PARTIAL if any(s.verdict in JUDGED for s in result.subjects) else NOT_GRADED
    problems = [p for p in result.all_problems if p.severity == "error"]
    error = "" if status == GRADED else "; ".join(f"{p.file}: {p.message}" for p in problems[:3])
    return StudentOutcome(student.id, status, int(result.exit_code), result, error)
