"""What a hostile case is: a course fixture as shipped with one thing wrong, the command that meets it, and what
that command must do (its exit codes, the file and words it must name, the subjects whose scores may move)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# task -> (submission, data folder) inside fixtures/courses/<task>, and extra CLI arguments.
LAYOUT = {
    "ml2025-hw10": ("results", "data", []),
    "genai2024-hw10": ("inference", "Datasets", ["--face-model", "Dlib", "--face-detector", "centerface"]),
    "dlcv2024-hw2-p3": ("output", "hw2_data/textual_inversion", []),
    "dlcv2024-clip-zeroshot": ("hw2_data/clip_zeroshot/val", "hw2_data/clip_zeroshot", []),
    "dreambench": ("results", "dataset", []),
}
GRADED, BELOW, CANNOT, MISSING = 0, 1, 2, 3
ML, GENAI, P3, ZS, DB = "ml2025-hw10", "genai2024-hw10", "dlcv2024-hw2-p3", "dlcv2024-clip-zeroshot", "dreambench"
OK = frozenset({GRADED, BELOW})
NO = frozenset({CANNOT})
ALL = frozenset({"*"})
O1 = frozenset({"object-1"})
COMMANDS = ("check", "api", "batch", "calibrate", "watch", "cache", "plugin")


@dataclass
class Ctx:
    """One case's folders: ``root`` (the course copy, which must be byte-identical afterwards), the submission
    and data inside it, and ``scratch``, a folder beside it for outputs and extra inputs (rosters, runs)."""

    root: Path
    submission: Path
    data: Path
    scratch: Path
    clean_report: Path | None = None  # the fixture's own JSON report, graded as shipped
    on_broken: Callable[[], None] | None = None  # called by a runner that breaks the files itself (watch)


@dataclass(frozen=True)
class Case:
    name: str
    task: str
    # (submission, data) -> None, or another submission beside the course's (a zip, a link) to hand in instead
    breaks: Callable[[Path, Path], Path | None]
    exits: frozenset[int]  # allowed exit codes
    file: str | None = None  # a problem must name this file (a substring of its path) ...
    says: str | None = None  # ... and say this
    moved: frozenset[str] = frozenset()  # subjects whose scores may differ from the clean run's
    outcome: str = ""  # for the README table
    command: str = "check"  # one of COMMANDS
    args: Callable[[Ctx], Any] | None = None  # extra CLI arguments (a list), or API keywords (a dict)
    nobody: bool = False  # run as an unprivileged user: permissions are real
    never: tuple[str, ...] = ()  # text the output must not hold (a raw escape sequence)
    models: bool = False  # the outcome depends on transformers' models and processors (also run on 4.x)
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def case(
    name: str,
    task: str,
    breaks: Callable[[Path, Path], Any] | None,
    exits: frozenset[int],
    file: str | None = None,
    says: str | None = None,
    moved: frozenset[str] = frozenset(),
    outcome: str = "",
    **more: Any,
) -> Case:
    return Case(name, task, breaks or (lambda s, d: None), exits, file, says, moved, outcome, **more)
