"""`grader` end to end on the synthetic submission and tiny models: tables, exports, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from grader.cli import app

runner = CliRunner()


def check(root: Path, models: Path, *extra: str, task: str = "ml2025-hw10"):
    args = ["check", str(root / "submission"), "--task", task, "--data", str(root / "data")]
    return runner.invoke(app, [*args, "--models", str(models), *extra])


def test_passing_submission_exits_0_and_exports(ml2025, tiny_models, task_with_lines, tmp_path):
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    res = check(ml2025, tiny_models, "--json", str(out_json), "--csv", str(out_csv), task=str(task_with_lines(-100)))
    assert res.exit_code == 0, res.output
    assert "PASS - every subject meets the 'boss' line" in res.output
    assert "TEST MODELS" in res.output
    report = json.loads(out_json.read_text())
    assert report["verdict"] == "PASS" and report["uses_test_models"] is True
    assert len(report["images"]) == 90 and len(report["subjects"]) == 6
    first = report["subjects"][0]
    assert first["metrics"]["dino"]["threshold"] == -100
    assert first["metrics"]["dino"]["margin"] == pytest.approx(first["metrics"]["dino"]["value"] + 100)
    assert {m["model_id"] for m in report["models"]} == {"facebook/dinov2-large", "openai/clip-vit-large-patch14-336"}
    assert {"torch", "transformers", "t2i-grader"} <= set(report["versions"])
    frame = pd.read_csv(out_csv)
    assert list(frame.columns) == ["subject", "file", "dino", "clip_t", "dino_passed", "clip_t_passed", "text", "flags"]
    assert len(frame) == 90 and frame["dino_passed"].all()
    assert frame.loc[0, "text"] == json.loads((ml2025 / "data" / "metadata.json").read_text())["object-1"]["text_cond"]
    # Per-subject means in the JSON are the means of the per-image rows in the CSV.
    means = frame.groupby("subject")["dino"].mean()
    assert means["object-3"] == pytest.approx(report["subjects"][2]["metrics"]["dino"]["value"], abs=1e-9)


def test_below_baseline_exits_1_with_margins(ml2025, tiny_models, task_with_lines):
    res = check(ml2025, tiny_models, task=str(task_with_lines(100)))
    assert res.exit_code == 1, res.output
    assert "FAIL - below the 'boss' line" in res.output
    assert ">= 100" in res.output and "6 fail" in res.output


def test_boss_line_of_the_real_task_is_used(ml2025, tiny_models, tmp_path):
    out = tmp_path / "r.json"
    res = check(ml2025, tiny_models, "--json", str(out))
    assert res.exit_code in (0, 1), res.output
    lines = {s["subject"]: s["metrics"]["clip_t"]["threshold"] for s in json.loads(out.read_text())["subjects"]}
    assert lines == {"object-1": 18, "object-2": 17, "object-3": 18, "object-4": 19, "object-5": 19, "object-6": 17}


def test_unknown_tier_lists_tiers_and_exits_2(ml2025, tiny_models):
    res = check(ml2025, tiny_models, "--baseline", "pass")
    assert res.exit_code == 2
    assert "no tier 'pass'" in res.output and "boss" in res.output


def test_missing_model_exits_3_and_names_it(ml2025, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = check(ml2025, empty)
    assert res.exit_code == 3
    assert "facebook/dinov2-large" in res.output and str(empty) in res.output
    assert "hf download" in res.output


def test_offline_hub_fails_fast_with_model_missing(ml2025, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    args = ["check", str(ml2025 / "submission"), "--task", "ml2025-hw10", "--data", str(ml2025 / "data")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "HF_HUB_OFFLINE is set" in proc.stderr and "facebook/dinov2-large" in proc.stderr


def test_tasks_lists_task_and_tiers():
    res = runner.invoke(app, ["tasks"])
    assert res.exit_code == 0
    assert "ml2025-hw10" in res.output and "boss" in res.output


def test_models_reports_present_and_missing(tiny_models, tmp_path):
    narrow = {"COLUMNS": "80"}  # paths and commands to copy are printed whole, however narrow the console
    res = runner.invoke(app, ["models", "--task", "ml2025-hw10", "--models", str(tiny_models)], env=narrow)
    assert res.exit_code == 0, res.output
    assert res.output.count("present") == 2 and "test model" in res.output
    assert str(tiny_models / "openai" / "clip-vit-large-patch14-336") in res.output
    deep = tmp_path / ("a-folder-with-a-long-name-" * 3) / "models"
    deep.mkdir(parents=True)
    res = runner.invoke(app, ["models", "--task", "ml2025-hw10", "--models", str(deep)], env=narrow)
    assert res.exit_code == 3
    assert res.output.count("missing") == 2 and "…" not in res.output
    assert "openai/clip-vit-large-patch14-336 --local-dir" in res.output
    assert str(deep / "openai" / "clip-vit-large-patch14-336") in res.output


@pytest.mark.heavy  # a fresh interpreter imports everything: runs beside py (tox.ini)
def test_console_script_runs(ml2025, tiny_models, task_with_lines):
    """The installed entry point, as a user runs it."""
    exe = Path(sys.executable).with_name("grader")
    args = ["check", str(ml2025 / "submission"), "--task", str(task_with_lines(-100)), "--data", str(ml2025 / "data")]
    proc = subprocess.run([str(exe), *args, "--models", str(tiny_models)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "object-6" in proc.stdout and "PASS" in proc.stdout


def test_broken_model_folder_is_reported_as_missing(ml2025, tiny_models, tmp_path):
    broken = tmp_path / "models"
    shutil.copytree(tiny_models, broken)
    (broken / "facebook/dinov2-large/model.safetensors").unlink()
    res = check(ml2025, broken)
    assert res.exit_code == 3
    assert "facebook/dinov2-large" in res.output and "could not be loaded" in res.output
