"""The generators' own error: weights or a pipeline that cannot serve a job (a usage error, not a bug)."""

from __future__ import annotations

from grader.errors import GraderError


class AdapterError(GraderError):
    """Weights missing, or made for another base model or token."""
