"""Per-image scores of one metric for one subject (through its rule), and the selection of the images kept."""

from __future__ import annotations

import numpy as np

from grader.embeddings import Embeddings
from grader.rules import RULES, ImageScores, RuleInput
from grader.submission.files import SubjectInput
from grader.tasks.schema import MetricSpec, Selection

__all__ = ["ImageScores", "score_images", "select_top_k"]


def score_images(
    metric: MetricSpec,
    subject: SubjectInput,
    embeddings: Embeddings,
    has_face: np.ndarray | None,
    meta_file: str,
    notes: list[str],
) -> ImageScores | None:
    """The metric's rule over the subject's images; None when the subject cannot be scored on it (no images,
    no references, a bad template)."""
    if not subject.images:
        return None
    return RULES.get(metric.rule).score(RuleInput(metric, subject, embeddings, has_face, meta_file, notes))


def select_top_k(per_image: dict[str, np.ndarray], selection: Selection) -> np.ndarray:
    """Indices of the k images with the highest weighted sum of the named metrics (ties keep file order).

    Example:
        >>> select_top_k({"image": np.array([70.0, 80, 75]), "text": np.array([30.0, 20, 29])},
        ...              Selection(k=2, weights={"image": 1.0, "text": 2.5})).tolist()
        [2, 0]
    """
    total = sum(weight * per_image[name] for name, weight in selection.weights.items())
    total = np.where(np.isnan(total), -np.inf, total)
    return np.argsort(-total, kind="stable")[: selection.k]
