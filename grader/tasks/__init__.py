"""Task files: what to grade and how, as data (``baselines/*.yaml``)."""

from grader.tasks.registry import available_tasks, load_task
from grader.tasks.schema import Task

__all__ = ["Task", "available_tasks", "load_task"]
