"""Course points and gates from hand-made results (no models)."""

from __future__ import annotations

import numpy as np
import pytest

from grader.grading.points import course_points
from grader.result import MetricResult, SubjectResult, Verdict
from grader.tasks import load_task


def _face_subject(distance: float, failures: list[str] | None = None, calibrated: bool = True) -> SubjectResult:
    metrics = {
        "faceless": MetricResult("faceless", "faceless", 0, 25, None, False, is_count=True),
        "clip": MetricResult("clip", "CLIP", 30.0, 25, None, True),
        "face_distance": MetricResult(
            "face_distance", "face distance", distance, 25, 1.20 if calibrated else None, False, calibrated
        ),
    }
    return SubjectResult("face", 25, 25, metrics, [], failures or [])


@pytest.mark.parametrize(
    ("distance", "points"),
    [(1.15, 10), (1.20, 10), (1.2223, 6), (1.21, 8), (1.25, 6), (1.279, 4), (1.30, 2), (1.31, 0)],
)
def test_distance_bands(distance, points):
    # 1.2223 is the course's sample run: above 1.22, so 6 points by the published bands.
    assert course_points(load_task("genai2024-hw10"), [_face_subject(distance)]) == points


def test_a_failed_gate_gives_zero_points():
    subject = _face_subject(1.0, failures=["gate faceless <= 5 not met (6)"])
    assert course_points(load_task("genai2024-hw10"), [subject]) == 0
    assert subject.verdict is Verdict.FAIL


def test_uncalibrated_model_gives_no_points():
    subject = _face_subject(0.3, calibrated=False)
    assert course_points(load_task("genai2024-hw10"), [subject]) is None
    assert subject.verdict is Verdict.UNCALIBRATED


def test_tasks_without_points_give_none():
    assert course_points(load_task("ml2025-hw10"), []) is None


def test_points_over_resamples_follow_the_bands_and_the_gates():
    from grader.confidence import RESAMPLES
    from grader.grading.points import points_probabilities

    n = RESAMPLES
    half = n // 2
    distance = np.r_[np.full(half, 1.19), np.full(n - half, 1.26)]  # 10 points, then 4
    faceless = np.r_[np.zeros(n - 100), np.full(100, 6.0)]  # the last 100 resamples break the faceless gate
    distributions = {"face": {"face_distance": distance, "clip": np.full(n, 30.0), "faceless": faceless}}
    task, subjects = load_task("genai2024-hw10"), [_face_subject(1.19)]
    odds = points_probabilities(task, subjects, distributions, course_points(task, subjects))
    assert odds == {"0": 100 / n, "4": (n - half - 100) / n, "10": half / n}
