"""A task's generation jobs (``grader.jobs``): which prompt goes to which file."""

from __future__ import annotations

from grader.jobs import Job, plan

__all__ = ["Job", "plan"]
