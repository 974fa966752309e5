"""A task's generation jobs: which prompt goes to which file, with the subject's reference images.

Each layout kind plans its own jobs (``LayoutKind.plan``), beside the scanner that reads them back: what
``generate`` writes and what ``grader.Validator`` asks a training loop for.
"""

from __future__ import annotations

from pathlib import Path

from grader.errors import UsageError
from grader.layouts import LAYOUTS, Job
from grader.submission.data_root import find_data_root
from grader.tasks.schema import Task

__all__ = ["Job", "plan"]


def plan(task: Task, data: Path, template: str | None = None, token: str | None = None) -> list[Job]:
    """Every image the task's grader expects, with its prompt. ``token`` is DreamBench's unique token."""
    planner = LAYOUTS.get(task.layout.kind).plan
    if planner is None:
        kinds = sorted(k.name for k in LAYOUTS if k.plan is not None)
        raise UsageError(
            f"task {task.name} does not grade prompted generations; generate for one of: {', '.join(kinds)}"
        )
    root, _ = find_data_root(data, task.layout.data_markers)
    return planner(task.layout, root, template, token)
