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
