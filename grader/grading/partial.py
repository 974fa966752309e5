"""``--partial``: grading a submission whose images are still being generated. A subject with fewer images than
the task asks for is graded on those present; its interval and pass probability are those of the completed
subject, assuming the images still to come are drawn like the ones present (``confidence.completion_distributions``)."""

from __future__ import annotations

from typing import Any

from grader.problems import Problem, Severity
from grader.result import SubjectResult
from grader.submission.files import SubjectInput, short_count

ASSUMPTION = "the images still to come are drawn like the ones present (resampled from them)"


def complete_size(subject: SubjectInput) -> int | None:
    """The subject's image count when complete, its short-count problems turned into notes; None when nothing
    is missing (or nothing is there to draw from)."""
    missing, kept = 0, []
    for problem in subject.problems:
        counts = short_count(problem)
        if counts is None or not subject.images:
            kept.append(problem)
            continue
        found, expected = counts
        missing += expected - found
        kept.append(Problem(problem.file, f"{found} of {expected} images so far (partial grade)", problem.subject,
                            Severity.NOTE))  # fmt: skip
    if not missing:
        return None
    subject.problems = kept
    subject.expected_images = len(subject.images) + missing
    return subject.expected_images


def summary(subjects: list[SubjectResult]) -> dict[str, Any]:
    """The partial grade in numbers: images present and expected, and the probability that the completed
    submission passes (every subject's completed pass probability, subjects drawn independently)."""
    chances = [s.pass_probability for s in subjects]
    joint = None
    if chances and all(c is not None for c in chances):
        joint = 1.0
        for chance in chances:
            joint *= chance or 0.0
    return {
        "images": sum(s.n_images for s in subjects),
        "expected_images": sum(s.expected_images for s in subjects),
        "pass_probability": joint,
        "assumption": ASSUMPTION,
    }


def note(found: dict[str, Any]) -> str:
    """The note every view of a partial grade carries."""
    chance = found["pass_probability"]
    odds = "" if chance is None else f"; the completed submission passes with probability {100 * chance:.0f}%"
    return (
        f"partial grade: {found['images']} of {found['expected_images']} images{odds} (each subject's P(pass) is "
        f"that of its completed images), assuming {ASSUMPTION}"
    )
