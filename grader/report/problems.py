"""Problems as a person reads them: one line for a problem that many files share."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from grader.problems import Problem

GROUP_FROM = 3  # this many files with the same problem make one line
EXAMPLES = 2


@dataclass(frozen=True)
class ProblemLine:
    severity: str
    text: str
    files: tuple[str, ...]


def group_problems(problems: list[Problem]) -> list[ProblemLine]:
    """Problems in their first-seen order; a (severity, message) shared by GROUP_FROM or more files is one line
    that counts them and names a few."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p in problems:
        groups[(p.severity, p.message)].append(p.file)
    lines = []
    for (severity, message), files in groups.items():
        if len(files) >= GROUP_FROM:
            shown = ", ".join(files[:EXAMPLES])
            lines.append(ProblemLine(severity, f"{len(files)} files: {message} (e.g. {shown}, ...)", tuple(files)))
        else:
            lines += [ProblemLine(severity, f"{f}: {message}", (f,)) for f in files]
    return lines
