"""Assertions over grade results, for test suites and CI: baseline lines and regressions.

Both raise ``AssertionError`` with one line per subject and metric at fault, naming the score, the line and
the margin, so a failing test says what to fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.result import GradeResult, Verdict, margin, meets
from grader.tasks import load_task


def below_line(result: GradeResult, tier: str | None = None) -> list[str]:
    """Everything that keeps ``result`` from passing ``tier`` (default: the tier it was graded against)."""
    tier = tier or result.tier
    task = load_task(result.task) if tier != result.tier else None
    faults = [f"{p.file}: {p.message}" for p in result.all_problems if p.severity == "error"]
    for subject in result.subjects:
        faults += [f"{subject.subject}: {failure}" for failure in subject.failures]
        for name, m in subject.metrics.items():
            if task is None:
                line, calibrated = m.threshold, m.calibrated
            else:
                declared = task.metrics[name].encoder.model
                line, calibrated = task.tiers[tier].line(subject.subject, name, declared, m.model)
            if not calibrated:
                faults.append(f"{subject.subject}  {m.label}: no '{tier}' line for model {m.model} (uncalibrated)")
            elif line is not None and m.value is None:
                faults.append(f"{subject.subject}  {m.label}: not scored (line {line:g})")
            elif line is not None and m.value is not None and not meets(m.value, line, m.higher_is_better):
                op = "<" if m.higher_is_better else ">"
                gap = margin(m.value, line, m.higher_is_better)
                faults.append(f"{subject.subject}  {m.label}: {m.value:.4g} {op} {line:g} (margin {gap:+.4g})")
    return faults


def unsure(result: GradeResult, min_probability: float) -> list[str]:
    """Subjects whose bootstrap pass probability is under ``min_probability`` (a pass that other draws of
    images could lose)."""
    faults = []
    for s in result.subjects:
        if s.pass_probability is None:
            faults.append(f"{s.subject}: no pass probability (no line for it in the '{result.tier}' tier)")
        elif s.pass_probability < min_probability:
            faults.append(
                f"{s.subject}: passes in {100 * s.pass_probability:.1f}% of bootstrap resamples "
                f"(at least {100 * min_probability:g}% asked)"
            )
    return faults


def assert_passes(result: GradeResult, tier: str | None = None, min_probability: float | None = None) -> None:
    """Fail unless every subject meets ``tier``'s lines and no gate or input problem stands in the way; with
    ``min_probability``, also unless each subject passes in at least that share of bootstrap resamples (the
    probability is the graded tier's)."""
    __tracebackhide__ = True
    faults = below_line(result, tier)
    if min_probability is not None:
        faults += unsure(result, min_probability)
    if faults or result.verdict is Verdict.INCOMPLETE:
        header = f"{result.task}: {len(faults)} check(s) keep it from the '{tier or result.tier}' line"
        raise AssertionError("\n".join([header, *(f"  {f}" for f in faults)]))


def _values(report: dict[str, Any]) -> dict[tuple[str, str], tuple[float | None, bool, str]]:
    return {
        (s["subject"], name): (m["value"], m["higher_is_better"], m.get("label", name))
        for s in report["subjects"]
        for name, m in s["metrics"].items()
    }


def regressions(current: GradeResult | dict, previous: dict | Path | str, tolerance: float = 0.5) -> list[str]:
    """Scores that got worse than ``previous`` (a result JSON) by more than ``tolerance``."""
    if not isinstance(previous, dict):
        previous = dict(json.loads(Path(previous).read_text("utf-8")))
    now = _values(current.to_dict() if isinstance(current, GradeResult) else current)
    faults = []
    for key, (before, higher_is_better, label) in _values(previous).items():
        subject = key[0]
        if before is None:
            continue
        after = now[key][0] if key in now else None
        if after is None:
            faults.append(f"{subject}  {label}: was {before:.4g}, now not scored")
            continue
        drop = before - after if higher_is_better else after - before
        if drop > tolerance:
            faults.append(
                f"{subject}  {label}: dropped by {drop:.4g} (was {before:.4g}, now {after:.4g}; "
                f"tolerance {tolerance:g})"
            )
    return faults


def assert_no_regression(current: GradeResult | dict, previous: dict | Path | str, tolerance: float = 0.5) -> None:
    __tracebackhide__ = True
    faults = regressions(current, previous, tolerance)
    if faults:
        raise AssertionError("\n".join([f"{len(faults)} score(s) dropped", *(f"  {f}" for f in faults)]))
