"""Rules, encoders and layouts from another package, found through entry points, grade like built-in ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

PLUGIN = Path(__file__).parent / "plugin_example"

TASK = {
    "name": "colour-match",
    "title": "Colour match",
    "description": "A plugin's encoder, rule and layout, beside a built-in rule over the plugin's encoder.",
    "layout": {"kind": "flat-folder"},
    "metrics": {
        "best": {
            "label": "best match",
            "rule": "best_reference",
            "encoder": {"kind": "colour-stats", "bins": 4},
        },
        "mean": {
            "label": "mean match",
            "rule": "reference_similarity",
            "encoder": {"kind": "colour-stats", "bins": 4},
        },
    },
    "tiers": {"line": {"all_subjects": {"best": 50}}},
}


def _grader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", "from grader.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _unit_histograms(paths: list[Path]) -> np.ndarray:
    from PIL import Image

    rows = []
    for path in paths:
        pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3) // 64
        rows.append(np.bincount(pixels[:, 0] * 16 + pixels[:, 1] * 4 + pixels[:, 2], minlength=64))
    rows = np.asarray(rows, dtype=np.float64)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_a_plugin_adds_an_encoder_a_rule_and_a_layout(tmp_path):
    task = tmp_path / "colour-match.yaml"
    task.write_text(yaml.safe_dump(TASK, sort_keys=False))
    data = Path(__file__).parents[1] / "fixtures/courses/dlcv2024-hw2-p3/hw2_data/textual_inversion/0"
    submission = Path(__file__).parents[1] / "fixtures/courses/dlcv2024-hw2-p3/output/0/0"

    kinds = _grader("tasks", "kinds", cwd=tmp_path)
    assert kinds.returncode == 0, kinds.stderr
    assert all(name in kinds.stdout for name in ("colour-stats", "best_reference", "flat-folder"))
    assert _grader("tasks", "validate", str(task), cwd=tmp_path).returncode == 0

    report = tmp_path / "report.json"
    args = ["check", str(submission), "--task", str(task), "--data", str(data), "--json", str(report)]
    res = _grader(*args, cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr
    result = json.loads(report.read_text())
    images = sorted(submission.glob("*.png"), key=lambda p: int(p.stem))
    cos = _unit_histograms(images) @ _unit_histograms(sorted(data.glob("*.jpg"))).T
    metrics = result["subjects"][0]["metrics"]
    assert abs(metrics["best"]["value"] - 100 * cos.max(axis=1).mean()) < 1e-3
    assert abs(metrics["mean"]["value"] - 100 * cos.mean()) < 1e-3
    assert metrics["best"]["threshold"] == 50
    assert result["models"][0]["model_id"] == "colour histogram (4 bins)"
