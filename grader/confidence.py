"""How sure a per-subject score is: percentile bootstrap intervals and pass probabilities.

The subject's images are resampled with replacement; every resample is aggregated the way the task aggregates
(selection included: P3's top 5 are re-chosen inside each resample), and the resampled values give the 95%
interval and the share of resamples on the passing side of the line.

The draws are those of ``scipy.stats.bootstrap`` (``rng.integers(0, n, (resamples, n))`` from a seeded
generator, percentile method), written here with numpy because importing ``scipy.stats`` costs over a second,
more than a cached re-grade takes; the test suite checks the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from grader.metrics.aggregate import aggregate_rows, selection_totals
from grader.result import meets

RESAMPLES = 9999
BLOCK = 1000  # resamples drawn and aggregated together
CONFIDENCE = 0.95
SEED = 0
METHOD = "percentile"


def settings() -> dict[str, object]:
    """What a report states about how its intervals were made."""
    return {"method": METHOD, "resamples": RESAMPLES, "confidence": CONFIDENCE, "seed": SEED}


def resample_blocks(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> Iterator[np.ndarray]:
    """The rows of ``resample_indices``, ``BLOCK`` at a time: the generator yields the same draws as one
    ``(resamples, n)`` call, and memory stays ``BLOCK x n`` whatever the subject's size."""
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, BLOCK):
        yield rng.integers(0, n, (min(BLOCK, resamples - start), n))


def resample_indices(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """``resamples`` rows of ``n`` indices drawn with replacement, as scipy's bootstrap draws them."""
    return np.concatenate(list(resample_blocks(n, resamples, seed)))


def select_rows(indices: np.ndarray, weights: dict[str, float], k: int, per_image: dict[str, np.ndarray]) -> np.ndarray:
    """Per resample, the k resampled images with the highest weighted score (ties keep resample order),
    as ``grader.metrics.aggregate.top_k`` chooses them from the whole set."""
    total = selection_totals(per_image, weights)
    order = np.argsort(-total[indices], axis=1, kind="stable")[:, :k]
    return np.take_along_axis(indices, order, axis=1)


def bootstrap_distributions(
    per_image: dict[str, np.ndarray],
    aggregations: Mapping[str, str],
    select: Callable[[np.ndarray], np.ndarray] | None = None,
    seed: int = SEED,
) -> dict[str, np.ndarray]:
    """Per metric, its aggregate over each resample of the subject's images (``RESAMPLES`` values)."""
    n = len(next(iter(per_image.values()))) if per_image else 0
    if n == 0:
        return {}
    return _aggregated(per_image, aggregations, resample_blocks(n, seed=seed), select)


def _aggregated(
    per_image: dict[str, np.ndarray],
    aggregations: Mapping[str, str],
    blocks: Iterator[np.ndarray],
    select: Callable[[np.ndarray], np.ndarray] | None,
) -> dict[str, np.ndarray]:
    """Per metric, its aggregate over each row of image indices in ``blocks`` (after ``select``, a top-k)."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in per_image}
    for indices in blocks:
        if select is not None:
            indices = select(indices)
        for name, values in per_image.items():
            parts[name].append(aggregate_rows(values[indices], aggregations[name]))
    return {name: np.concatenate(blocks) for name, blocks in parts.items()}


def completion_distributions(
    per_image: dict[str, np.ndarray],
    aggregations: Mapping[str, str],
    total: int,
    select: Callable[[np.ndarray], np.ndarray] | None = None,
    seed: int = SEED,
) -> dict[str, np.ndarray]:
    """Per metric, its aggregate over each draw of the completed subject (``RESAMPLES`` values): the ``n`` images
    present, and ``total - n`` more drawn with replacement from them. The assumption a partial grade states: the
    images still to come are drawn like the ones present. With nothing missing it is the bootstrap."""
    n = len(next(iter(per_image.values()))) if per_image else 0
    missing = total - n
    if n == 0:
        return {}
    if missing <= 0:
        return bootstrap_distributions(per_image, aggregations, select, seed)
    rng = np.random.default_rng(seed)

    def completions() -> Iterator[np.ndarray]:
        for start in range(0, RESAMPLES, BLOCK):
            rows = min(BLOCK, RESAMPLES - start)
            present = np.broadcast_to(np.arange(n), (rows, n))
            yield np.concatenate([present, rng.integers(0, n, (rows, missing))], axis=1)

    return _aggregated(per_image, aggregations, completions(), select)


@dataclass(frozen=True)
class Spread:
    """A score's interval and, when it has a line, the probability of landing on its passing side."""

    low: float | None
    high: float | None
    pass_probability: float | None


def spread(distribution: np.ndarray, line: float | None, higher_is_better: bool) -> Spread:
    valid = distribution[~np.isnan(distribution)]
    if valid.size == 0:
        return Spread(None, None, None if line is None else 0.0)
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = (float(v) for v in np.percentile(valid, [tail, 100 - tail]))
    probability = None if line is None else passing_share(distribution, line, higher_is_better)
    return Spread(low, high, probability)


def passes(distribution: np.ndarray, line: float, higher_is_better: bool) -> np.ndarray:
    """Per resample, whether it is on the passing side (a resample with no score fails)."""
    ok = ~np.isnan(distribution)
    ok[ok] = meets(distribution[ok], line, higher_is_better)
    return ok


def passing_share(distribution: np.ndarray, line: float, higher_is_better: bool) -> float:
    return float(passes(distribution, line, higher_is_better).mean())


def outcome_probabilities(outcomes: np.ndarray) -> dict[str, float]:
    """Share of resamples for each outcome (e.g. course points), from the lowest outcome up."""
    values, counts = np.unique(outcomes, return_counts=True)
    return {f"{v:g}": float(c) / outcomes.size for v, c in zip(values, counts, strict=True)}


def jointly_passing(
    lines: dict[str, tuple[float, bool]],
    gates: dict[str, Callable[[np.ndarray], np.ndarray]],
    distributions: dict[str, np.ndarray],
) -> np.ndarray | None:
    """Per resample, whether every metric with a line (name -> (line, higher_is_better)) and every gate holds;
    None when there is nothing to check. A metric that was not scored fails every resample."""
    missing = np.full(RESAMPLES, np.nan)
    checks = [passes(distributions.get(name, missing), line, up) for name, (line, up) in lines.items()]
    for name, holds in gates.items():
        if name in distributions:
            values = distributions[name]
            checks.append(~np.isnan(values) & np.asarray(holds(values), dtype=bool))
    return np.logical_and.reduce(checks) if checks else None
