"""Scores as pure functions over embedding arrays: no files, no models."""

from grader.metrics.aggregate import AGGREGATIONS, mean
from grader.metrics.similarity import (
    RULES,
    clip_i,
    clip_t,
    cosine_matrix,
    dino_score,
    l2_normalize,
    reference_similarity,
    text_similarity,
)

__all__ = [
    "AGGREGATIONS",
    "RULES",
    "clip_i",
    "clip_t",
    "cosine_matrix",
    "dino_score",
    "l2_normalize",
    "mean",
    "reference_similarity",
    "text_similarity",
]
