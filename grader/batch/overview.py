"""The class at a glance: one CSV row per student, a summary, and the overview printed and written as HTML."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from typing import Any

from grader.batch.grading import GRADED, MISSING, NOT_GRADED, PARTIAL, StudentOutcome
from grader.batch.shared import SharedPair
from grader.result import MetricResult, Verdict

CLOSEST = 3  # students nearest each line, listed in the overview
UNJUDGED = (Verdict.INCOMPLETE, Verdict.NOT_GRADED)  # subjects left out of the class's pass rates and scores


def _columns(outcomes: list[StudentOutcome]) -> list[tuple[str, str, str]]:
    """(subject, metric, label) in the order the results list them, over every graded student."""
    seen: dict[tuple[str, str], str] = {}
    for o in outcomes:
        for s in o.result.subjects if o.result else []:
            for name, m in s.metrics.items():
                seen.setdefault((s.subject, name), m.label)
    return [(subject, name, label) for (subject, name), label in seen.items()]


def _least_sure(o: StudentOutcome) -> float | None:
    chances = [s.pass_probability for s in o.result.subjects if s.pass_probability is not None] if o.result else []
    return min(chances) if chances else None


def grade_rows(outcomes: list[StudentOutcome], shared: list[SharedPair]) -> list[dict[str, Any]]:
    """One row per student, the same columns for every student, sorted by student id."""
    columns = _columns(outcomes)
    partners: dict[str, list[str]] = {}
    for pair in shared:
        partners.setdefault(pair.first, []).append(pair.second)
        partners.setdefault(pair.second, []).append(pair.first)
    rows = []
    for o in sorted(outcomes, key=lambda o: o.student):
        r = o.result
        metrics = {(s.subject, n): m for s in r.subjects for n, m in s.metrics.items()} if r else {}
        row: dict[str, Any] = {
            "student": o.student,
            "status": o.status,
            "verdict": r.verdict.value if r else "",
            "exit_code": "" if o.exit_code is None else o.exit_code,
            "exit_meaning": o.meaning,
            "problems": len(r.all_problems) if r else "",
            "points": "" if r is None or r.points is None else r.points,
            "subjects_passed": "" if r is None else "{}/{}".format(*r.passed_count),
            "least_pass_probability": _least_sure(o),
        }
        verdicts = {s.subject: s.verdict.value for s in r.subjects} if r else {}
        for subject in dict.fromkeys(subject for subject, _, _ in columns):
            row[f"{subject} verdict"] = verdicts.get(subject, "")
        for subject, name, label in columns:
            m = metrics.get((subject, name))
            row[f"{subject} {label}"] = None if m is None else m.value
            row[f"{subject} {label} margin"] = None if m is None else m.margin
        row["shared_images_with"] = " ".join(sorted(partners.get(o.student, [])))
        row["error"] = o.error
        rows.append(row)
    return rows


def _metric_summary(values: list[tuple[str, MetricResult]]) -> dict[str, Any]:
    scored = [(student, m) for student, m in values if m.value is not None]
    numbers = [m.value for _, m in scored if m.value is not None]
    lines = {m.threshold for _, m in scored}
    near = sorted((abs(m.margin), student, m) for student, m in scored if m.margin is not None)[:CLOSEST]
    return {
        "label": values[0][1].label,
        "higher_is_better": values[0][1].higher_is_better,
        "line": lines.pop() if len(lines) == 1 else None,
        "scored": len(numbers),
        "mean": statistics.fmean(numbers) if numbers else None,
        "median": statistics.median(numbers) if numbers else None,
        "min": min(numbers) if numbers else None,
        "max": max(numbers) if numbers else None,
        "values": {student: m.value for student, m in scored},
        "closest": [{"student": s, "value": m.value, "margin": m.margin} for _, s, m in near],
    }


def summary(
    task: str, tier: str, outcomes: list[StudentOutcome], shared: list[SharedPair], notes: list[str]
) -> dict[str, Any]:
    graded = sorted((o for o in outcomes if o.status in (GRADED, PARTIAL)), key=lambda o: o.student)
    subjects: dict[str, Any] = {}
    for subject, _, _ in _columns(outcomes):
        if subject in subjects:
            continue
        rows = [
            (o.student, s)
            for o in graded
            if o.result
            for s in o.result.subjects
            if s.subject == subject and s.verdict not in UNJUDGED
        ]
        names = list(rows[0][1].metrics) if rows else []
        subjects[subject] = {
            "graded": len(rows),
            "passed": sum(s.verdict is Verdict.PASS for _, s in rows),
            "pass_rate": sum(s.verdict is Verdict.PASS for _, s in rows) / len(rows) if rows else None,
            "metrics": {n: _metric_summary([(student, s.metrics[n]) for student, s in rows]) for n in names},
        }
    counts = {status: sum(o.status == status for o in outcomes) for status in (GRADED, PARTIAL, NOT_GRADED, MISSING)}
    verdicts: dict[str, int] = {}
    for o in graded:
        if o.result is not None:
            verdicts[o.result.verdict.value] = verdicts.get(o.result.verdict.value, 0) + 1
    return {
        "task": task,
        "tier": tier,
        "students": len(outcomes),
        "status": counts,
        "verdicts": verdicts,
        "subjects": subjects,
        "shared_images": [asdict(p) for p in shared],
        "not_graded": _left_out(outcomes, NOT_GRADED),
        "partly_graded": _left_out(outcomes, PARTIAL),
        "missing": sorted(o.student for o in outcomes if o.status == MISSING),
        "notes": notes,
    }


def _left_out(outcomes: list[StudentOutcome], status: str) -> list[dict[str, Any]]:
    """Students of ``status`` with why: what could not be graded."""
    return [
        {"student": o.student, "exit_code": o.exit_code, "meaning": o.meaning, "error": o.error}
        for o in sorted(outcomes, key=lambda o: o.student)
        if o.status == status
    ]
