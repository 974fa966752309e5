"""Numbers and combinations a user controls that once passed or crashed: each a usage or input error now."""

from __future__ import annotations

import json
import shutil

import yaml
from typer.testing import CliRunner

from grader.cli import app
from grader.paths import fixtures_dir
from grader.tasks import available_tasks

ROOT = fixtures_dir() / "ml2025-hw10"
COURSES = fixtures_dir() / "courses"


def _check(models, *extra: str, before: tuple[str, ...] = ()):
    args = ["check", str(ROOT / "submission"), "--task", "ml2025-hw10", "--data", str(ROOT / "data")]
    return CliRunner().invoke(app, [*before, *args, "--models", str(models), *extra])


def test_quiet_shows_no_progress_bars(tiny_models):
    res = _check(tiny_models, "--threshold", "dino=-100,clip_t=-100", before=("--quiet",))
    assert res.exit_code == 0 and res.stdout.strip().startswith("PASS")
    assert "━" not in res.stderr and "96/96" not in res.stderr


def test_a_baseline_beside_threshold_lines_is_refused(tiny_models):
    res = _check(tiny_models, "--baseline", "boss", "--threshold", "dino=50")
    assert res.exit_code == 2 and "--baseline boss would not be used" in res.output


def test_older_than_takes_a_finite_duration(tmp_path):
    for value in ("nan", "infd", "-3d"):
        res = CliRunner().invoke(app, ["cache", "clear", "--cache-dir", str(tmp_path), "--older-than", value])
        assert res.exit_code == 2 and "--older-than takes a duration" in res.output, value


def test_a_task_file_line_that_is_not_a_finite_number_is_named(tmp_path):
    raw = yaml.safe_load(available_tasks()["ml2025-hw10"].read_text())
    raw["name"] = "nan-line"
    raw["tiers"]["boss"]["per_subject"]["object-1"]["dino"] = float("nan")
    path = tmp_path / "nan-line.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    res = CliRunner().invoke(app, ["tasks", "validate", str(path)])
    assert res.exit_code == 2 and "tiers.boss.per_subject.object-1.dino" in res.output and "finite" in res.output


def test_a_hand_edited_gate_is_an_input_error(tiny_models, tmp_path):
    report = tmp_path / "run.json"
    assert _check(tiny_models, "--json", str(report)).exit_code in (0, 1)
    gate = tmp_path / "gate.json"
    assert CliRunner().invoke(app, ["calibrate", str(report), "--out", str(gate)]).exit_code == 0
    raw = json.loads(gate.read_text())
    raw["tier"]["calibrated"]["per_subject"]["object-1"]["dino"] = "high"
    gate.write_text(json.dumps(raw))
    res = _check(tiny_models, "--gate", str(gate))
    assert res.exit_code == 2 and "not a valid gate" in res.output and str(gate.name) in res.output


def test_a_grade_with_no_subject_is_not_a_pass(tiny_models, tmp_path):
    data = tmp_path / "dataset"
    shutil.copytree(COURSES / "dreambench/dataset", data)
    (data / "prompts_and_classes.txt").unlink(missing_ok=True)
    (data / "prompts.json").write_text("{}")
    args = ["check", str(COURSES / "dreambench/results"), "--task", "dreambench", "--data", str(data)]
    res = CliRunner().invoke(app, [*args, "--models", str(tiny_models), "--json", str(tmp_path / "r.json")])
    report = json.loads((tmp_path / "r.json").read_text())
    assert res.exit_code == 2 and report["verdict"] == "INCOMPLETE" and report["subjects"] == []
    assert any("no subject" in p["message"] for p in report["problems"])
