"""How per-image scores become one number per subject."""

from __future__ import annotations

import numpy as np


def mean(scores: np.ndarray) -> float:
    """Arithmetic mean over the subject's images (ML2025 HW10, DreamBench)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        raise ValueError("no scores to aggregate")
    return float(scores.mean())


def total(scores: np.ndarray) -> float:
    """Sum over the subject's images (counts such as faceless images)."""
    return float(np.asarray(scores, dtype=np.float64).sum())


AGGREGATIONS = {"mean": mean, "sum": total}


def aggregate_rows(values: np.ndarray, aggregation: str) -> np.ndarray:
    """Each row's aggregate over its non-NaN entries (NaN when a row has none, for a mean): ``AGGREGATIONS``
    applied to every row at once, for the bootstrap's resamples."""
    valid = ~np.isnan(values)
    totals = np.where(valid, values, 0.0).sum(axis=1)
    if aggregation == "sum":
        return totals
    counts = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def selection_totals(per_image: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Each image's weighted sum of the named metrics, -inf where one is missing (never kept)."""
    summed = sum(weight * np.asarray(per_image[name], dtype=np.float64) for name, weight in weights.items())
    return np.where(np.isnan(summed), -np.inf, summed)


def top_k(per_image: dict[str, np.ndarray], weights: dict[str, float], k: int) -> np.ndarray:
    """Indices of the k images with the highest weighted sum of the named metrics (ties keep file order).

    Example:
        >>> top_k({"image": np.array([70.0, 80, 75]), "text": np.array([30.0, 20, 29])},
        ...       {"image": 1.0, "text": 2.5}, 2).tolist()
        [2, 0]
    """
    return np.argsort(-selection_totals(per_image, weights), kind="stable")[:k]
