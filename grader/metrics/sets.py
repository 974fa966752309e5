"""Scores of a set of images rather than of each image: distribution distances (CMMD, KID) between the generated
images and the references, and the diversity of the generated images. Pure functions over embedding arrays.

A distance of two sets is written here both as its value and as per-image contributions whose mean is exactly that
value (for the unbiased estimators): the grader's reports aggregate per-image values, and the bootstrap of those
contributions gives an interval of the set's score to first order (each image's contribution is kept as computed
against the whole set, not recomputed within each resample).
"""

from __future__ import annotations

import numpy as np

from grader.metrics.similarity import cosine_matrix

CMMD_SIGMA, CMMD_SCALE = 10.0, 1000.0  # Jayasumana et al., "Rethinking FID" (google-research/cmmd)


def _squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T


def rbf_kernel(x: np.ndarray, y: np.ndarray, sigma: float = CMMD_SIGMA) -> np.ndarray:
    """k(a, b) = exp(-||a - b||² / (2 σ²)) for every pair of rows."""
    return np.exp(-_squared_distances(x, y) / (2 * sigma**2))


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef: float = 1.0) -> np.ndarray:
    """k(a, b) = (a·b / d + c)^degree, KID's kernel (Bińkowski et al.; torch-fidelity, torchmetrics)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return (x @ y.T / x.shape[1] + coef) ** degree


def mmd2_contributions(k_xx: np.ndarray, k_yy: np.ndarray, k_xy: np.ndarray) -> np.ndarray:
    """Per x row, its part of the unbiased MMD² estimate

        MMD² = 1/(m(m-1)) Σ_{i≠j} k(x_i, x_j) + 1/(n(n-1)) Σ_{i≠j} k(y_i, y_j) - 2/(mn) Σ_{i,j} k(x_i, y_j),

    that is c_i = 1/(m-1) Σ_{j≠i} k(x_i, x_j) - 2/n Σ_j k(x_i, y_j) + (the y term), so that mean(c) = MMD².
    Needs m >= 2 and n >= 2."""
    m, n = len(k_xx), len(k_yy)
    if m < 2 or n < 2:
        raise ValueError(f"the unbiased MMD needs two images or more on each side (have {m} and {n})")
    within_x = (k_xx.sum(1) - np.diag(k_xx)) / (m - 1)
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return within_x - 2 * k_xy.mean(1) + within_y


def cmmd(x: np.ndarray, y: np.ndarray, unbiased: bool = True) -> float:
    """CMMD: 1000 · MMD² with a Gaussian RBF kernel (σ = 10) between two sets of L2-normalised CLIP embeddings
    (Jayasumana et al. use CLIP ViT-L/14-336). ``unbiased``: the paper's estimator (pairs i ≠ j within a set);
    otherwise the reference code's (``distance.py``: means over all pairs, the diagonal included)."""
    k_xx, k_yy, k_xy = rbf_kernel(x, x), rbf_kernel(y, y), rbf_kernel(x, y)
    if unbiased:
        return float(CMMD_SCALE * mmd2_contributions(k_xx, k_yy, k_xy).mean())
    return float(CMMD_SCALE * (k_xx.mean() + k_yy.mean() - 2 * k_xy.mean()))


def cmmd_contributions(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per generated image, its part of the unbiased CMMD (their mean is ``cmmd(x, y)``)."""
    return CMMD_SCALE * mmd2_contributions(rbf_kernel(x, x), rbf_kernel(y, y), rbf_kernel(x, y))


def kid_contributions(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per generated image, its part of KID over one subset of all images: the unbiased MMD² with KID's cubic
    polynomial kernel (their mean is that KID)."""
    return mmd2_contributions(polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y))


def kid_subsets(
    x: np.ndarray, y: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID as torch-fidelity and torchmetrics report it: the unbiased polynomial-kernel MMD² over ``subsets``
    random subsets of ``subset_size`` images of each set, mean and standard deviation. With a handful of images
    it is often negative (an unbiased estimate of a distance near zero): read its spread, not only its mean."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        xs = x[rng.permutation(len(x))[:subset_size]]
        ys = y[rng.permutation(len(y))[:subset_size]]
        values.append(float(kid_contributions(xs, ys).mean()))
    return float(np.mean(values)), float(np.std(values))


def mean_within_groups(distance: np.ndarray, groups: list[str] | None = None) -> np.ndarray:
    """Per item, its mean ``distance`` to the other items of its group (e.g. images of the same prompt); NaN for an
    item alone in its group. The mean over items is the mean pairwise distance within groups (each group weighted
    by its size)."""
    keys = groups if groups is not None else [""] * len(distance)
    values = np.full(len(distance), np.nan)
    for key in dict.fromkeys(keys):
        members = np.array([i for i, k in enumerate(keys) if k == key])
        if len(members) < 2:
            continue
        block = distance[np.ix_(members, members)]
        values[members] = (block.sum(1) - np.diag(block)) / (len(members) - 1)
    return values


def pairwise_diversity(x: np.ndarray, groups: list[str] | None = None) -> np.ndarray:
    """Per image, its mean cosine distance (1 - cos) to the other images of its group (``mean_within_groups``).
    An embedding-based diversity, not DreamBooth's LPIPS-based DIV."""
    x = np.asarray(x, dtype=np.float64)
    return mean_within_groups(1.0 - cosine_matrix(x, x), groups)


def vendi_score(x: np.ndarray) -> float:
    """The Vendi score (Friedman and Dieng, 2023) of a set under the cosine-similarity kernel: exp of the Shannon
    entropy of the eigenvalues of K / n; from 1 (all alike) to n (all orthogonal)."""
    x = np.asarray(x, dtype=np.float64)
    eigenvalues = np.linalg.eigvalsh(cosine_matrix(x, x) / len(x))
    eigenvalues = eigenvalues[eigenvalues > 1e-12]
    return float(np.exp(-(eigenvalues * np.log(eigenvalues)).sum()))
