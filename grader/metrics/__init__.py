"""Scores as pure functions over embedding arrays: no files, no models."""

from grader.metrics.aggregate import AGGREGATIONS, mean, total
from grader.metrics.faces import face_distance, faceless_flags, pairwise_l2
from grader.metrics.similarity import (
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
    "clip_i",
    "clip_t",
    "cosine_matrix",
    "dino_score",
    "face_distance",
    "faceless_flags",
    "l2_normalize",
    "mean",
    "pairwise_l2",
    "reference_similarity",
    "text_similarity",
    "total",
]
