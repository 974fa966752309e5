"""Gates set from measured variance: per subject and metric, a bound a new run of the same method should meet.

From several gradings of one method with different seeds, the bound is a one-sided 95% prediction bound for one
more run, ``mean - t(0.95, k-1) · sd · sqrt(1 + 1/k)`` (Student's t; mirrored for lower-is-better metrics).
From a single grading, it is the end of that grading's bootstrap interval (over its images) on the failing
side. The gate file reads as a result JSON (``--grader-compare gate.json`` with no tolerance of its own) and
carries the same bounds as a tier (``grader check --gate gate.json``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from grader.errors import InputError
from grader.tasks.schema import Tier

GATE_TIER = "calibrated"
CONFIDENCE = 0.95


def _load(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read a result JSON: {exc}") from exc
    except RecursionError:
        raise InputError(f"{path}: cannot read a result JSON: nested too deeply") from None
    if not isinstance(report, dict) or not isinstance(report.get("subjects"), list) or "task" not in report:
        raise InputError(f"{path}: not a result JSON of grader check (no task and subjects)")
    return report


def _t_quantile(dof: int) -> float:
    from scipy.stats import t  # only here: importing scipy.stats costs a second

    return float(t.ppf(CONFIDENCE, dof))


def _bound(values: list[float], higher_is_better: bool, single: dict[str, Any]) -> float | None:
    if len(values) == 1:
        end = single.get("ci_low" if higher_is_better else "ci_high")
        return None if end is None else float(end)
    k = len(values)
    mean = sum(values) / k
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (k - 1))
    slack = _t_quantile(k - 1) * sd * math.sqrt(1 + 1 / k)
    return mean - slack if higher_is_better else mean + slack


def _subjects_of(report: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    """Subject -> its metrics, each checked to be what grader check writes (a hand-edited run is named)."""
    subjects: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(report["subjects"]):
        name = entry.get("subject") if isinstance(entry, dict) else None
        metrics = entry.get("metrics") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or not isinstance(metrics, dict):
            raise InputError(f"{path}: subject {index + 1} has no name or no metrics; not a result of grader check")
        for metric, m in metrics.items():
            value = m.get("value", 0) if isinstance(m, dict) else None
            good = isinstance(m, dict) and isinstance(m.get("higher_is_better"), bool)
            if not good or not (value is None or (isinstance(value, (int, float)) and math.isfinite(value))):
                raise InputError(f"{path}: {name}: metric {metric!r} is not a score with its direction")
        subjects[name] = metrics
    return subjects


def calibrate(paths: list[Path]) -> dict[str, Any]:
    """The gate for the gradings at ``paths`` (result JSONs of one task)."""
    reports = [_load(p) for p in paths]
    tasks = {r["task"] for r in reports}
    if len(tasks) != 1:
        raise InputError(f"the runs grade different tasks ({', '.join(sorted(tasks))}); give runs of one task")
    per_run = [_subjects_of(r, p) for r, p in zip(reports, paths, strict=True)]
    subjects: list[dict[str, Any]] = []
    lines: dict[str, dict[str, float]] = {}
    for subject in per_run[0]:
        metrics = {}
        for name, first in per_run[0][subject].items():
            if first.get("is_count"):
                continue
            values = [run[subject][name]["value"] for run in per_run if subject in run and name in run[subject]]
            if len(values) != len(per_run) or any(v is None for v in values):
                continue  # not scored in every run: no bound
            bound = _bound(values, first["higher_is_better"], first)
            if bound is None:
                continue
            metrics[name] = {
                "label": first.get("label", name),
                "value": bound,
                "higher_is_better": first["higher_is_better"],
                "runs": values,
            }
            lines.setdefault(subject, {})[name] = bound
        subjects.append({"subject": subject, "metrics": metrics})
    method = (
        f"one-sided {CONFIDENCE:.0%} prediction bound for one more run over {len(reports)} runs (Student's t)"
        if len(reports) > 1
        else "the failing end of the run's 95% bootstrap interval over its images"
    )
    return {
        "kind": "t2i-grader gate",
        "task": tasks.pop(),
        "method": method,
        "runs": [str(p) for p in paths],
        "tolerance": 0.0,  # the bounds already hold the measured variance
        "subjects": subjects,
        "tier": {GATE_TIER: {"description": f"calibrated: {method}", "per_subject": lines}},
    }


def gate_tier(path: Path, task: str) -> Tier:
    """The tier a gate file carries, checked to belong to ``task``."""
    gate = _load(path)
    if gate.get("kind") != "t2i-grader gate" or GATE_TIER not in gate.get("tier", {}):
        raise InputError(f"{path}: not a gate file written by grader calibrate")
    if gate["task"] != task:
        raise InputError(f"{path}: a gate for task {gate['task']}, not {task}")
    try:
        return Tier.model_validate(gate["tier"][GATE_TIER])
    except ValidationError as exc:  # a hand-edited gate: a line that is not a finite number, a field misspelt
        problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{path}: not a valid gate: {problem}") from None
