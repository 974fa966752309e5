"""Layouts: where a task's data and a submission's images are, as each course ships them. One record per layout
kind in ``LAYOUTS``: the spec class a task file's ``layout:`` validates against, the scanner that reads data and
submission into per-subject inputs, and the planner that tells a generator which image to write for which prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.registry import Registry


@dataclass
class Job:
    """One image a generator must write: its subject, prompt, path (relative to the output folder), the
    subject's reference images and its category word, e.g. ``dog`` (for adapters that condition on them)."""

    subject: str
    prompt: str
    path: Path
    references: list[Path] = field(default_factory=list)
    category: str = ""


# (layout spec, submission folder, data folder, grader.submission.files.ScanContext) -> (per-subject inputs,
# problems). The context is handed on to list_images and check_image, which read through it.
Scanner = Callable[[Any, Path, Path, Any], tuple[list, list]]
# (layout spec, data folder, prompt template or None, unique token or None) -> jobs
Planner = Callable[[Any, Path, "str | None", "str | None"], list[Job]]


@dataclass(frozen=True)
class LayoutKind:
    """One layout kind: its spec class, its scanner and its generation planner."""

    name: str
    spec: type  # a grader.tasks.schema.LayoutBase subclass
    scan: Scanner
    plan: Planner | None = None  # None: the layout grades no prompted generations (e.g. classification)


LAYOUTS: Registry[LayoutKind] = Registry("layout", "t2i_grader.layouts", "grader.submission.builtin")
