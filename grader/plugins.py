"""The one module a plugin imports: everything a third-party rule, encoder kind or layout kind is written against.

A plugin package exposes records through entry points (``t2i_grader.rules``, ``t2i_grader.encoders``,
``t2i_grader.layouts``); each record names its spec class (a subclass of ``EncoderSpecBase`` or ``LayoutBase``)
and its functions. Names here stay put across releases; the modules they come from may move.

Example:
    >>> from grader.plugins import Rule
    >>> rule = Rule("colour_distance", "Distance of mean colours.", frozenset({"image"}), score=lambda rin: None,
    ...             higher_is_better=False)
    >>> rule.higher_is_better, rule.aggregation  # a task file may confirm the direction, never turn it
    (False, 'mean')
"""

from __future__ import annotations

from grader.encoders import BuildContext, EncoderKind, ImageEncoder, ProgressCallback, Status
from grader.errors import InputError
from grader.images import DecodedImage
from grader.layouts import Job, LayoutKind
from grader.problems import Problem, Severity
from grader.result import ModelInfo
from grader.rules import ImageScores, MetricSettings, Rule, RuleInput
from grader.specs import Candidates, EncoderSpecBase, LayoutBase, OneSubjectLayout, Strict
from grader.submission.files import ScanContext, SubjectInput, check_image, list_images

__all__ = [
    "BuildContext",
    "Candidates",
    "DecodedImage",
    "EncoderKind",
    "EncoderSpecBase",
    "ImageEncoder",
    "ImageScores",
    "InputError",
    "Job",
    "LayoutBase",
    "LayoutKind",
    "MetricSettings",
    "ModelInfo",
    "OneSubjectLayout",
    "Problem",
    "ProgressCallback",
    "Rule",
    "RuleInput",
    "ScanContext",
    "Severity",
    "Status",
    "Strict",
    "SubjectInput",
    "check_image",
    "list_images",
]
