"""Rules: how one metric scores each image of a subject. One record per rule in ``RULES``.

A rule says what its encoder must provide (``requires``: image, text, face, pixels, logits), which inputs of the
subject it reads (``needs``: references, texts, pairs, labels, label_texts), and its per-image score function.
The task schema, the runner (which images to embed), scoring and the reports all read the record; nothing
matches a rule by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from grader.problems import Problem
from grader.registry import Registry

if TYPE_CHECKING:
    import numpy as np

    from grader.submission.files import SubjectInput


class MetricSettings(Protocol):
    """What a rule may read of the metric it scores (a task file's metric entry)."""

    @property
    def label(self) -> str:
        """How reports name the metric."""
        ...

    @property
    def rule(self) -> str:
        """The rule's name."""
        ...

    @property
    def text_template(self) -> str | None:
        """For text rules: the format string over the subject's and the image's fields."""
        ...

    @property
    def faces_only(self) -> bool:
        """Whether images without a face are left out."""
        ...

    @property
    def aggregation(self) -> str:
        """How the subject's value comes from its per-image values (mean, sum)."""
        ...

    @property
    def higher_is_better(self) -> bool:
        """The metric's direction, which is its rule's."""
        ...


@dataclass
class ImageScores:
    """What a rule found for one subject: scores aligned with the subject's images (NaN: left out; None: the
    subject cannot be scored on this metric), per-image details (e.g. predictions), and the problems and notes
    the rule has to report (a rule never changes its inputs)."""

    values: np.ndarray | None
    details: list[dict[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # of the subject's files or data
    notes: list[str] = field(default_factory=list)  # report-wide, e.g. a text cut to the token limit

    @classmethod
    def unscorable(cls, *problems: Problem) -> ImageScores:
        """The subject cannot be scored on this metric, for the reasons ``problems`` give."""
        return cls(None, problems=list(problems))


@dataclass
class RuleInput:
    """Everything a rule may read to score one subject on one metric."""

    metric: MetricSettings
    subject: SubjectInput
    embeddings: Any  # grader.embeddings.Embeddings of the metric's encoder
    has_face: np.ndarray | None  # per image, when the task has a face encoder
    meta_file: str  # the data file problems with the subject's fields are reported against


@dataclass(frozen=True)
class Rule:
    """How one metric scores each image of a subject: what it needs, its score function, its direction."""

    name: str
    description: str
    requires: frozenset[str]  # what the encoder must provide
    score: Callable[[RuleInput], ImageScores | None]  # None: the subject cannot be scored on this metric
    needs: frozenset[str] = frozenset()  # references, texts, pairs, labels, label_texts
    is_count: bool = False  # a number of images (e.g. faceless), not a score
    # The direction is the rule's: a task file may confirm it, never turn it (a distance is lower-is-better).
    higher_is_better: bool = True
    aggregation: str = "mean"  # the subject's value from its per-image values, unless the task file says otherwise
    predicts_labels: bool = False  # per-image details carry label / predicted / p_true
    # The score of real images against each other (each reference against the others), where it is defined:
    # a generated mean beyond it suggests copies of the references rather than generations.
    ceiling: Callable[[RuleInput], float | None] | None = None
    scale: str = ""  # what one per-image value is, for comparing with published numbers
    # The subject's score in other published conventions, from the per-image values it averages (exact only).
    conventions: Callable[[np.ndarray], dict[str, float]] | None = None
    set_level: bool = False  # the value is the set's (each image carries it): no bootstrap interval
    # A distance of two sets, computed once over the whole submission too (every generated image against every
    # reference), from the two sets' embeddings.
    pooled: Callable[[np.ndarray, np.ndarray], float] | None = None


RULES: Registry[Rule] = Registry("rule", "t2i_grader.rules", "grader.rules.builtin")
