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


def top_k(
    per_image: dict[str, np.ndarray],
    weights: dict[str, float],
    k: int,
    listing: np.ndarray | None = None,
    last_listed: bool = False,
) -> np.ndarray:
    """Indices of the k images with the highest weighted sum of the named metrics, highest first. Among equal
    totals the images come in file order; with ``last_listed`` those listed last are kept, where ``listing`` gives
    each image's place in the folder's listing: what ``sorted(range(n), key=total)[-k:]`` keeps when ``range(n)``
    runs in ``os.listdir`` order.

    Example:
        >>> top_k({"image": np.array([70.0, 80, 75]), "text": np.array([30.0, 20, 29])},
        ...       {"image": 1.0, "text": 2.5}, 2).tolist()
        [2, 0]
        >>> top_k({"image": np.array([1.0, 1.0, 1.0])}, {"image": 1.0}, 1, np.array([2, 0, 1]), last_listed=True)
        array([0])
    """
    totals = selection_totals(per_image, weights)
    if not last_listed:
        return np.argsort(-totals, kind="stable")[:k]
    places = np.arange(len(totals)) if listing is None else np.asarray(listing)
    return np.lexsort((places, totals))[::-1][:k]


def boundary_tie(totals: np.ndarray, k: int) -> np.ndarray:
    """The images whose total equals the k-th highest when it is shared across the k-th place (a tie that decides
    which images are kept); empty otherwise."""
    if len(totals) <= k:
        return np.zeros(0, dtype=int)
    ranked = np.sort(totals)[::-1]
    if ranked[k - 1] != ranked[k]:
        return np.zeros(0, dtype=int)
    return np.flatnonzero(totals == ranked[k - 1])
