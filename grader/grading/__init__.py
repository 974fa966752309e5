"""The grading pipeline: ``grade()`` and what it is given (``GradeOptions``, ``Resources``).

Each stage is a module that owns one step and returns a typed value: ``running`` (the task with the user's
overrides, the tier), ``inputs`` (the scan), ``encoding`` (each image decoded once and embedded), ``scores``
(per image), ``judgement`` (per subject), ``flags``, ``points`` and ``provenance``; ``pipeline`` reads as their
list.
"""

from grader.grading.options import GradeOptions, Resources
from grader.grading.pipeline import grade

__all__ = ["GradeOptions", "Resources", "grade"]
