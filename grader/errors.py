"""Errors the grader reports to users, each tied to the exit code it ends with."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    PASSED = 0  # every subject graded and above the baseline
    BELOW_BASELINE = 1  # graded, but at least one score is below the baseline
    CANNOT_GRADE = 2  # usage error or bad input: the grade is not valid
    MODEL_MISSING = 3  # a required model could not be found or fetched
    INTERNAL_ERROR = 4  # an unexpected failure of the grader itself (a bug to report)


class GraderError(Exception):
    exit_code = ExitCode.CANNOT_GRADE


class UsageError(GraderError):
    """Bad arguments or an unknown task or tier."""


class TaskFileError(GraderError):
    """A task file that does not follow the schema."""


class InputError(GraderError):
    """A data or submission file that cannot be used."""


class ModelMissingError(GraderError):
    exit_code = ExitCode.MODEL_MISSING
