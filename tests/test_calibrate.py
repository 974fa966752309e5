"""Gates from measured variance: hand-computed bounds, and the gate used as a tier and as a comparison."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.assertions import regressions
from grader.calibrate import calibrate
from grader.cli import app
from grader.errors import InputError

T_95_2_DOF = 2.919985580  # Student's t, one-sided 95%, 2 degrees of freedom (printed tables)


def _run(tmp_path: Path, name: str, dino: float, distance: float, task: str = "t") -> Path:
    metrics = {
        "dino": {"label": "DINO", "value": dino, "higher_is_better": True, "ci_low": dino - 3, "ci_high": dino + 3},
        "dist": {"label": "distance", "value": distance, "higher_is_better": False, "ci_low": 0.9, "ci_high": 1.1},
        "faceless": {"label": "faceless", "value": 1.0, "higher_is_better": False, "is_count": True},
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"task": task, "subjects": [{"subject": "dog", "metrics": metrics}]}))
    return path


def test_several_runs_give_a_prediction_bound(tmp_path):
    runs = [_run(tmp_path, f"seed{i}", d, x) for i, (d, x) in enumerate([(60, 1.0), (62, 1.1), (64, 1.2)])]
    gate = calibrate(runs)
    slack = T_95_2_DOF * math.sqrt(1 + 1 / 3)  # sd is 2 for DINO, 0.1 for the distance
    dog = gate["subjects"][0]["metrics"]
    assert dog["dino"]["value"] == pytest.approx(62 - 2 * slack, abs=1e-6)
    assert dog["dist"]["value"] == pytest.approx(1.1 + 0.1 * slack, abs=1e-6)
    assert "faceless" not in dog  # counts get no bound
    assert gate["tier"]["calibrated"]["per_subject"]["dog"]["dino"] == dog["dino"]["value"]


def test_one_run_gives_the_failing_end_of_its_interval(tmp_path):
    gate = calibrate([_run(tmp_path, "only", 62.0, 1.0)])
    dog = gate["subjects"][0]["metrics"]
    assert dog["dino"]["value"] == 59.0 and dog["dist"]["value"] == 1.1
    assert "bootstrap" in gate["method"]


def test_a_gate_reads_as_a_comparison_baseline(tmp_path):
    gate = calibrate([_run(tmp_path, f"s{i}", d, 1.0) for i, d in enumerate([60, 62, 64])])
    bound = gate["subjects"][0]["metrics"]["dino"]["value"]
    above = json.loads(_run(tmp_path, "new", bound + 0.01, 1.0).read_text())
    below = json.loads(_run(tmp_path, "new", bound - 0.01, 1.0).read_text())
    assert not regressions(above, gate, gate["tolerance"])
    assert regressions(below, gate, gate["tolerance"])


def test_runs_of_different_tasks_are_refused(tmp_path):
    with pytest.raises(InputError, match="different tasks"):
        calibrate([_run(tmp_path, "a", 60, 1, task="x"), _run(tmp_path, "b", 60, 1, task="y")])


def test_gate_as_a_tier_on_the_command_line(ml2025, tiny_models, tmp_path):
    base = ["--task", "ml2025-hw10", "--data", str(ml2025 / "data"), "--models", str(tiny_models)]
    run = tmp_path / "run.json"
    res = CliRunner().invoke(app, ["check", str(ml2025 / "submission"), *base, "--json", str(run)])
    assert res.exit_code in (0, 1), res.output
    gate = tmp_path / "gate.json"
    res = CliRunner().invoke(app, ["calibrate", str(run), "--out", str(gate)])
    assert res.exit_code == 0, res.output
    assert "object-1: DINO >= " in res.output
    res = CliRunner().invoke(app, ["check", str(ml2025 / "submission"), *base, "--gate", str(gate)])
    assert res.exit_code == 0, res.output  # the run meets the bounds drawn from itself
    assert "tier 'calibrated'" in res.output
    res = CliRunner().invoke(app, ["check", str(ml2025 / "submission"), *base, "--gate", str(run)])
    assert res.exit_code == 2 and "not a gate file" in res.output
