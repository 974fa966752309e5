"""What goes wrong with an input, as every stage reports it and every view shows it.

At the bottom of the grader: scanners, rules and encoders return problems; the result and the reports read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    """How much a problem weighs. A ``str`` enum, so a JSON report and a comparison with ``"error"`` read the same."""

    ERROR = "error"  # makes the grade (or the subject) incomplete
    WARNING = "warning"  # informational: the grade stands
    NOTE = "note"  # where something was read from, or an assumption made: shown as a note, not a problem

    def __str__(self) -> str:
        return self.value


@dataclass
class Problem:
    """One problem with one file (or option), of one subject when it concerns one."""

    file: str
    message: str
    subject: str | None = None
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        self.severity = Severity(self.severity)  # a plugin may still pass the word
