"""t2i-grader: exact, local grading of personalized text-to-image work.

The public API (imported on first use, so ``import grader`` stays light)::

    import grader
    result = grader.grade("results/", "ml2025-hw10", "hw10_data/", "boss")
    result.verdict, result.to_pandas(), result.to_json()
    validator = grader.Validator("ml2025-hw10", "hw10_data/")  # inside a training loop: images in memory
"""

from __future__ import annotations

from typing import Any

from grader.versions import __version__

__all__ = ["Validator", "__version__", "grade", "grade_class", "load_task"]


def __getattr__(name: str) -> Any:
    if name in ("grade", "grade_class"):
        from grader import api

        return getattr(api, name)
    if name == "Validator":
        from grader.validator import Validator

        return Validator
    if name == "load_task":
        from grader.tasks import load_task

        return load_task
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
