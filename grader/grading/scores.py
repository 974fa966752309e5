"""Stage 3, per-image scores: each metric's rule over each subject's images. Rules are pure: they return their
scores with the problems and notes they found, which this stage collects for the subject and the report."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grader.embeddings import Embeddings
from grader.metrics.aggregate import top_k
from grader.problems import Problem
from grader.rules import RULES, ImageScores, RuleInput
from grader.submission import SubjectInput
from grader.tasks.schema import MetricSpec, Selection, Task


@dataclass
class SubjectScores:
    """Stage 3's output for one subject."""

    subject: SubjectInput
    has_face: np.ndarray | None  # per image, when the task has a face encoder
    scored: dict[str, ImageScores]  # metric -> its per-image values (metrics that could not score are absent)
    problems: list[Problem] = field(default_factory=list)  # the rules', after the scan's
    notes: list[str] = field(default_factory=list)

    def per_image(self) -> dict[str, np.ndarray]:
        """Metric -> per-image values, for the metrics that could score."""
        return {n: s.values for n, s in self.scored.items() if s.values is not None}


def rule_input(metric: MetricSpec, scores: SubjectScores, embeddings: Embeddings, meta_file: str) -> RuleInput:
    """What a rule reads for ``metric`` over the subject of ``scores``."""
    return RuleInput(metric, scores.subject, embeddings, scores.has_face, meta_file)


def score_images(
    metric: MetricSpec, subject: SubjectInput, embeddings: Embeddings, has_face: np.ndarray | None, meta_file: str
) -> ImageScores | None:
    """The metric's rule over the subject's images; None when the subject cannot be scored on it (no images,
    no references)."""
    if not subject.images:
        return None
    return RULES.get(metric.rule).score(RuleInput(metric, subject, embeddings, has_face, meta_file))


def score_subject(
    task: Task, subject: SubjectInput, embeddings: dict[tuple, Embeddings], meta_file: str
) -> SubjectScores:
    """Every metric of ``task`` over ``subject``."""
    face = task.face_encoder()
    has_face = embeddings[face.key].has_face(subject.images) if face and subject.images else None
    scores = SubjectScores(subject, has_face, {})
    for name, metric in task.metrics.items():
        found = score_images(metric, subject, embeddings[metric.encoder.key], has_face, meta_file)
        if found is None:
            continue
        scores.problems += found.problems
        scores.notes += found.notes
        if found.values is not None:
            scores.scored[name] = found
    return scores


def select_top_k(
    per_image: dict[str, np.ndarray], selection: Selection, listing: list[int] | None = None
) -> np.ndarray:
    """Indices of the images the task's selection keeps (``grader.metrics.aggregate.top_k``); ``listing``: each
    image's place in its folder's listing, for a selection whose ties go to the images listed last."""
    places = np.asarray(listing) if listing else None
    return top_k(per_image, selection.weights, selection.k, places, selection.ties == "last-listed")
