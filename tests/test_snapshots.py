"""Every course fixture's JSON report, equal to a committed snapshot: strings, counts and verdicts exactly,
numbers to 12 significant digits.

The snapshots were written before the grading pipeline was restructured; a change that moves any score, verdict,
flag, note or problem shows here. Numbers are not compared to the last bit: numpy's BLAS products can move the
last bit with the memory alignment of their inputs, which changes from run to run (seen on DreamBench's DINO, by
3e-14 on 100·cos); a real change of a score moves it by far more. Regenerate them (only for an intended change of
output) with ``T2I_GRADER_WRITE_SNAPSHOTS=1 pytest tests/test_snapshots.py`` and review the diff.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch
import transformers
from typer.testing import CliRunner

from grader.cli import app
from grader.paths import fixtures_dir
from tests.test_course_data import COURSES, SHIPPED

# Their outcome depends on transformers (its models, processors or tokenizers): also run on 4.x.
pytestmark = pytest.mark.transformers

# The test models are drawn by each transformers major's own initialisation, so each major has its snapshots.
SNAPSHOTS = Path(__file__).parent / "snapshots" / f"transformers{transformers.__version__.split('.')[0]}"
# What differs between machines and runs, not between gradings: when, by which command and library versions, and
# where the cache and the test models were put.
VOLATILE = ("created_at", "command", "versions")
VOLATILE_SETTINGS = ("cache",)

CASES = {task: (COURSES / task / sub, COURSES / task / data, extra) for task, (sub, data, extra) in SHIPPED.items()}
CASES["ml2025-hw10-synthetic"] = (fixtures_dir() / "ml2025-hw10/submission", fixtures_dir() / "ml2025-hw10/data", [])


@pytest.fixture(autouse=True)
def _one_thread():
    """The last digits of a score depend on how many threads torch splits a product over: one, everywhere."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _normalised(report: dict, places: dict[str, str]) -> dict:
    for key in VOLATILE:
        report.pop(key)
    for key in VOLATILE_SETTINGS:
        report["settings"].pop(key, None)
    for model in report["models"]:
        model.pop("fingerprint")  # of the files' stat, which differs with each copy of the test models
    text = json.dumps(report, indent=1, sort_keys=True)
    for path, name in places.items():
        text = text.replace(path, name)
    return json.loads(text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fixture_report_equals_its_snapshot(case, tiny_models, classifiers, tmp_path):
    submission, data, extra = CASES[case]
    if case == "dlcv2024-hw2-p1":
        extra = classifiers
    out = tmp_path / "report.json"
    task = case.removesuffix("-synthetic")
    args = ["check", str(submission), "--task", task, "--data", str(data), "--models", str(tiny_models)]
    res = CliRunner().invoke(app, [*args, *extra, "--json", str(out)])
    assert res.exit_code in (0, 1, 2), res.output
    places = {str(tiny_models): "<models>", str(Path(classifiers[1].split("=", 1)[1]).parent): "<classifiers>"}
    places[str(fixtures_dir())] = "<fixtures>"
    places[str(tmp_path)] = "<tmp>"
    report = _normalised(json.loads(out.read_text()), places)
    snapshot = SNAPSHOTS / f"{case}.json"
    if os.environ.get("T2I_GRADER_SNAPSHOT_OUT"):  # where to leave the report, to compare by hand
        Path(os.environ["T2I_GRADER_SNAPSHOT_OUT"], f"{case}.json").write_text(json.dumps(report, indent=1))
    if os.environ.get("T2I_GRADER_WRITE_SNAPSHOTS"):
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    expected = json.loads(snapshot.read_text())
    differences = _differences(report, expected)
    assert not differences, "\n".join(differences[:12])


def _differences(now: object, then: object, where: str = "") -> list[str]:
    """Where two reports differ, and how: the first lines say what moved."""
    if isinstance(now, dict) and isinstance(then, dict):
        keys = sorted(set(now) | set(then))
        return [d for k in keys for d in _differences(now.get(k), then.get(k), f"{where}.{k}")]
    if isinstance(now, list) and isinstance(then, list) and len(now) == len(then):
        return [d for i, (a, b) in enumerate(zip(now, then, strict=True)) for d in _differences(a, b, f"{where}[{i}]")]
    if isinstance(now, float) and isinstance(then, float) and math.isclose(now, then, rel_tol=1e-12, abs_tol=1e-12):
        return []
    return [] if now == then else [f"{where}: {now!r} (snapshot {then!r})"]


def test_the_comparison_sees_a_moved_score_and_not_a_last_bit():
    assert _differences({"s": [{"dino": 87.12601002960008}]}, {"s": [{"dino": 87.12601002960007}]}) == []
    assert _differences({"s": [{"dino": 87.126010029}]}, {"s": [{"dino": 87.126010030}]}) != []
    assert _differences({"verdict": "PASS", "n": 15}, {"verdict": "FAIL", "n": 15}) == [
        ".verdict: 'PASS' (snapshot 'FAIL')"
    ]
    assert _differences({"flags": ["a"]}, {"flags": ["a", "b"]}) != []
