"""The course's points: the best tier every subject reaches (0 when a gate fails), and how often each outcome comes
up over the bootstrap resamples."""

from __future__ import annotations

import numpy as np

from grader import confidence
from grader.grading.judgement import gate_checks
from grader.result import SubjectResult, meets
from grader.tasks.schema import Task


def course_points(task: Task, subjects: list[SubjectResult]) -> float | None:
    """Points of the best tier every subject reaches; 0 when a gate fails; None when thresholds do not apply."""
    tiers = [t for t in task.tiers.values() if t.points is not None]
    if not tiers:
        return None
    if any(s.failures for s in subjects):
        return 0.0
    if any(not m.calibrated for s in subjects for m in s.metrics.values()):
        return None
    reached = [0.0]
    for tier in tiers:
        if all(
            line is None or (m.value is not None and meets(m.value, line, m.higher_is_better))
            for s in subjects
            for n, m in s.metrics.items()
            for line in [tier.threshold(s.subject, n)]
        ):
            reached.append(tier.points or 0.0)
    return max(reached)


def points_probabilities(
    task: Task,
    subjects: list[SubjectResult],
    distributions: dict[str, dict[str, np.ndarray]],
    points: float | None,
) -> dict[str, float] | None:
    """How often each course-points outcome comes up over the resamples (subjects resampled independently),
    by the rule of ``course_points``; None where that gives no points (``points``: its value for the grade)."""
    if points is None:
        return None
    gates = gate_checks(task)
    reached = np.zeros(confidence.RESAMPLES)
    for tier in task.tiers.values():
        if tier.points is None:
            continue
        ok = np.ones(confidence.RESAMPLES, dtype=bool)
        for s in subjects:
            lines = {
                n: (line, m.higher_is_better)
                for n, m in s.metrics.items()
                if (line := tier.threshold(s.subject, n)) is not None
            }
            joint = confidence.jointly_passing(lines, {}, distributions[s.subject]) if lines else None
            if joint is not None:
                ok &= joint
        reached = np.where(ok, np.maximum(reached, tier.points), reached)
    for s in subjects:
        gated = confidence.jointly_passing({}, gates, distributions[s.subject])
        if gated is not None:
            reached = np.where(gated, reached, 0.0)
    return confidence.outcome_probabilities(reached)
