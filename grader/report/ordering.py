"""In which order a subject's images are shown: worst first by the metric that decides the subject (the one with
the lowest margin: the failing one, or the closest to failing), by a metric the user names, or in file order."""

from __future__ import annotations

from grader.result import ImageScore, MetricResult, SubjectResult

WORST, FILE = "worst", "file"  # the orders that are not a metric's id


def deciding_metric(subject: SubjectResult, by: str = WORST) -> MetricResult | None:
    """The metric ``subject``'s images are ordered by; None in file order or without per-image scores."""
    if by == FILE:
        return None
    scores = [m for m in subject.metrics.values() if not m.is_count]
    if by != WORST:
        return subject.metrics.get(by)
    with_margin = [m for m in scores if m.margin is not None]
    if with_margin:
        return min(with_margin, key=lambda m: m.margin if m.margin is not None else 0.0)
    return next(iter(scores), None)


def ordered(images: list[ImageScore], metric: MetricResult | None) -> list[ImageScore]:
    """``images`` worst first by ``metric`` (images without its score last), or as given without one."""
    if metric is None:
        return list(images)

    def badness(image: ImageScore) -> tuple[bool, float]:
        value = image.scores.get(metric.metric)
        if value is None:
            return True, 0.0
        return False, value if metric.higher_is_better else -value

    return sorted(images, key=badness)


def order_heading(metric: MetricResult | None, by: str) -> str:
    """How the order is named above the images."""
    if metric is None:
        return "in file order"
    reason = " (the lowest margin)" if by == WORST and metric.threshold is not None else ""
    return f"worst first by {metric.label}{reason}"


def check_order(by: str, metrics: list[str]) -> None:
    """A usage error for an order that is neither worst, file nor one of ``metrics``."""
    from grader.errors import UsageError

    if by not in (WORST, FILE, *metrics):
        raise UsageError(f"--sort-by {by!r}: use {WORST}, {FILE} or a metric of the task ({', '.join(metrics)})")
