"""Face-identity scores over face embeddings (the face-LoRA course's rule)."""

from __future__ import annotations

import numpy as np

from grader.metrics.similarity import l2_normalize


def pairwise_l2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[len(a), len(b)]`` Euclidean distances between rows (what ``torch.cdist`` computes)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0.0))


def face_distance(generated: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Per generated face: mean Euclidean distance to every reference face, both L2-normalised first.

    The mean of these per-image values is the mean over the whole generated × reference matrix, the course's
    face distance. For unit vectors the distance is ``sqrt(2 - 2·cos)``: 0 for the same direction, √2 for
    orthogonal embeddings.

    Example:
        >>> face_distance(np.array([[1.0, 0.0]]), np.array([[2.0, 0.0], [0.0, 3.0]])).round(4)
        array([0.7071])
    """
    if len(references) == 0:
        raise ValueError("at least one reference embedding is needed")
    return pairwise_l2(l2_normalize(generated), l2_normalize(references)).mean(axis=1)


def faceless_flags(has_face: np.ndarray) -> np.ndarray:
    """1.0 for each image without a face, 0.0 otherwise; summed, the course's faceless count."""
    return 1.0 - np.asarray(has_face, dtype=np.float64)
