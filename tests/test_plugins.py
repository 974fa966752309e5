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


def _broken_plugin(folder: Path) -> Path:
    """An installed distribution whose rule entry point names a module that does not exist."""
    info = folder / "broken_rules-0.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-rules\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text("[t2i_grader.rules]\nnope = missing_module_of_no_one:RULE\n")
    return folder


def test_a_plugin_that_does_not_load_is_a_warning_and_the_rest_works(tmp_path):
    broken = _broken_plugin(tmp_path / "site")
    env_path = os.pathsep.join([str(broken), os.environ.get("PYTHONPATH", "")])
    task = tmp_path / "colour-match.yaml"
    task.write_text(yaml.safe_dump(TASK, sort_keys=False))
    data = Path(__file__).parents[1] / "fixtures/courses/dlcv2024-hw2-p3/hw2_data/textual_inversion/0"
    submission = Path(__file__).parents[1] / "fixtures/courses/dlcv2024-hw2-p3/output/0/0"

    def grader(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN), env_path])}
        cmd = [sys.executable, "-c", "from grader.cli import main; main()", *args]
        return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    kinds = grader("tasks", "kinds")
    assert kinds.returncode == 0, kinds.stderr
    assert "best_reference" in kinds.stdout and "reference_similarity" in kinds.stdout
    warning = [line for line in kinds.stderr.splitlines() if "nope = missing_module_of_no_one:RULE" in line]
    assert len(warning) == 1 and "broken-rules 0.3" in warning[0] and "ModuleNotFoundError" in warning[0]

    # A command that looks up only known names never loads the broken entry point: not even a warning.
    listed = grader("tasks")
    assert listed.returncode == 0 and "ml2025-hw10" in listed.stdout and "missing_module" not in listed.stderr

    report = tmp_path / "report.json"
    res = grader("check", str(submission), "--task", str(task), "--data", str(data), "--json", str(report))
    assert res.returncode in (0, 1), res.stderr
    assert json.loads(report.read_text())["subjects"][0]["metrics"]["best"]["value"] is not None


def test_registry_loads_an_entry_point_only_when_its_name_is_looked_up(tmp_path, monkeypatch):
    from grader.registry import Registry

    monkeypatch.syspath_prepend(str(PLUGIN))
    monkeypatch.syspath_prepend(str(_broken_plugin(tmp_path / "site")))
    rules = Registry("rule", "t2i_grader.rules", "grader.problems")  # no built-ins: only the plugins' entries
    assert rules._placeholders().keys() == {"best_reference", "nope"}
    assert set(rules._placeholders()) == {"best_reference", "nope"} and not rules.broken
    assert rules.get("best_reference").name == "best_reference"  # its own entry point, loaded alone
    assert set(rules._placeholders()) == {"nope"} and not rules.broken
    assert "no_such_rule" not in rules  # an unknown name loads what is left
    assert len(rules.broken) == 1 and "broken-rules 0.3" in rules.broken[0]
    assert "best_reference" in rules.names() and "nope" not in rules.names()


def test_the_documented_plugin_example_builds_on_the_public_module_alone():
    import re

    from grader.tasks.schema import MetricSpec

    readme = (Path(__file__).parents[1] / "docs" / "extending.md").read_text("utf-8")
    code = re.search(r"```python\n(# my_siglip/__init__.py\n.*?)```", readme, re.DOTALL).group(1)
    imports = set(re.findall(r"^from (grader[\w.]*) import", code, re.MULTILINE))
    assert imports == {"grader.plugins"}
    import types

    module = types.ModuleType("my_siglip")  # a real module: pydantic resolves the spec's annotations in it
    sys.modules["my_siglip"] = module
    try:
        exec(compile(code, "my_siglip/__init__.py", "exec"), module.__dict__)
    finally:
        del sys.modules["my_siglip"]
    encoder = module.ENCODER
    assert encoder.name == "siglip" and encoder.hub_model and {"image", "text"} <= encoder.provides
    from grader.encoders import ENCODERS

    ENCODERS.register(encoder)
    try:
        metric = MetricSpec.model_validate(
            {"label": "CLIP-I", "rule": "reference_similarity", "encoder": {"kind": "siglip"}}
        )
        assert metric.encoder.model == "google/siglip-base-patch16-224" and metric.higher_is_better
    finally:
        ENCODERS._records.pop("siglip")
