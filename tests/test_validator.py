"""Grading inside a training loop (``grader.Validator``) and partial grades (``--partial``): the Validator equals
``grader check``; a partial grade's pass probability equals a hand computation; the training example logs to
TensorBoard."""

from __future__ import annotations

import itertools
import json
import math
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import grader
from grader import confidence
from grader.cli import app
from grader.grading import GradeOptions, grade
from grader.paths import fixtures_dir
from grader.tasks import load_task

FIXTURE = fixtures_dir() / "ml2025-hw10"


def test_a_completed_subject_is_drawn_from_the_images_present():
    """Present 1, 2, 4; two to come; mean >= 2.5 needs the two draws to sum to 5.5 or more: (2,4), (4,2), (4,4)
    of the nine equally likely pairs, 1/3."""
    drawn = confidence.completion_distributions({"s": np.array([1.0, 2.0, 4.0])}, {"s": "mean"}, total=5)["s"]
    assert drawn.shape == (confidence.RESAMPLES,)
    assert set(np.round(drawn * 5).astype(int)) <= {7 + a + b for a, b in itertools.product((1, 2, 4), repeat=2)}
    assert confidence.passing_share(drawn, 2.5, True) == pytest.approx(1 / 3, abs=0.02)
    whole = confidence.completion_distributions({"s": np.array([1.0, 2.0, 4.0])}, {"s": "mean"}, total=3)["s"]
    assert np.array_equal(
        whole, confidence.bootstrap_distributions({"s": np.array([1.0, 2.0, 4.0])}, {"s": "mean"})["s"]
    )


def _exact_completion(values: dict[str, np.ndarray], missing: int, total: int, lines: dict[str, float]) -> float:
    """P(every metric's completed mean reaches its line), exactly: each count vector of the missing draws over the
    images present, with its multinomial probability."""
    n = len(next(iter(values.values())))
    chance = 0.0
    for cut in itertools.combinations(range(missing + n - 1), n - 1):  # stars and bars
        counts = np.diff([-1, *cut, missing + n - 1]) - 1
        weight = math.factorial(missing) / math.prod(math.factorial(c) for c in counts) / n**missing
        if all((v.sum() + counts @ v) / total >= lines[m] for m, v in values.items()):
            chance += weight
    return chance


@pytest.mark.heavy  # grades the fixture: runs beside py (tox.ini)
def test_partial_check_reports_the_completed_pass_probability(tiny_models, tmp_path):
    submission = tmp_path / "submission"
    shutil.copytree(FIXTURE / "submission", submission)
    for i in range(7, 15):  # object-1 has 7 of its 15 images so far
        (submission / "object-1" / f"{i}.png").unlink()
    args = ["check", str(submission), "--task", "ml2025-hw10", "--data", str(FIXTURE / "data")]
    args += ["--models", str(tiny_models), "--partial"]
    first = CliRunner().invoke(app, [*args, "--json", str(tmp_path / "scores.json")])
    assert first.exit_code == 1, first.output  # the course's lines: below them so far
    report = json.loads((tmp_path / "scores.json").read_text())
    images = [i for i in report["images"] if i["subject"] == "object-1"]
    values = {m: np.array([i["scores"][m] for i in images]) for m in ("dino", "clip_t")}
    lines = {m: float(v.mean()) for m, v in values.items()}  # lines at the present means: odds far from 0 or 1
    given = [a for m, line in lines.items() for a in ("--threshold", f"{m}={line!r}")]
    res = CliRunner().invoke(app, [*args, *given, "--json", str(tmp_path / "partial.json")])
    assert res.exit_code in (0, 1), res.output
    partial = json.loads((tmp_path / "partial.json").read_text())
    subject = next(s for s in partial["subjects"] if s["subject"] == "object-1")
    assert (subject["n_images"], subject["expected_images"]) == (7, 15)
    assert not [p for p in partial["all_problems"] if p["severity"] == "error"]  # missing images are not a problem
    expected = _exact_completion(values, 8, 15, lines)
    assert 0.05 < expected < 0.95
    assert subject["pass_probability"] == pytest.approx(expected, abs=0.02)
    assert partial["settings"]["partial"]["images"] == 82 and partial["settings"]["partial"]["expected_images"] == 90
    others = [s["pass_probability"] for s in partial["subjects"]]
    assert partial["settings"]["partial"]["pass_probability"] == pytest.approx(math.prod(others))
    assert any("assuming the images still to come are drawn like the ones present" in n for n in partial["notes"])
    assert "so far" in res.output and "partial: 82 of 90 images" in " ".join(res.output.split())
    without = CliRunner().invoke(app, [a for a in args if a != "--partial"])
    assert without.exit_code == 2  # without --partial, a missing image is a problem


def _fixture_images() -> dict[str, list[Image.Image]]:
    return {
        s.name: [Image.open(s / f"{i}.png").convert("RGB") for i in range(15)]
        for s in sorted((FIXTURE / "submission").iterdir())
    }


@pytest.mark.heavy  # grades the fixture: runs beside py (tox.ini)
def test_the_validator_equals_grader_check(tiny_models, tmp_path):
    lines = {"dino": 85.0, "clip_t": -10.0}
    options = GradeOptions(models_dir=tiny_models, thresholds=lines, tier="custom")
    checked = grade(load_task("ml2025-hw10"), FIXTURE / "submission", FIXTURE / "data", options)
    validator = grader.Validator("ml2025-hw10", FIXTURE / "data", models=tiny_models, thresholds=lines,
                                 cache=tmp_path / "cache")  # fmt: skip
    assert list(validator.prompts()) == [s.subject for s in checked.subjects]
    scored = validator.score(_fixture_images())
    assert scored.verdict is checked.verdict and scored.exit_code == checked.exit_code
    for ours, theirs in zip(scored.subjects, checked.subjects, strict=True):
        assert ours.pass_probability == pytest.approx(theirs.pass_probability, abs=1e-12)
        for name, metric in theirs.metrics.items():
            assert ours.metrics[name].value == pytest.approx(metric.value, abs=1e-9)
            assert ours.metrics[name].margin == pytest.approx(metric.margin, abs=1e-9)
            assert ours.metrics[name].ci_low == pytest.approx(metric.ci_low, abs=1e-9)
    again = validator.score(_fixture_images())  # cached: no image is encoded again
    assert sum(again.settings["embeddings_computed"].values()) == 0
    logged = validator.metrics(scored)
    assert logged["object-1/dino"] == pytest.approx(checked.subjects[0].metrics["dino"].value)
    assert "object-1/clip_t_margin" in logged and "object-1/pass_probability" in logged and "mean/dino" in logged


@pytest.mark.heavy  # grades the fixture: runs beside py (tox.ini)
def test_the_validator_grades_a_few_images_as_a_partial_grade(tiny_models, tmp_path):
    validator = grader.Validator("ml2025-hw10", FIXTURE / "data", models=tiny_models, cache=False)
    few = {s: images[:3] for s, images in _fixture_images().items()}
    few["object-2"] = [np.asarray(image) for image in few["object-2"]]  # arrays as well as PIL images
    result = validator.score(few)
    assert all(s.n_images == 3 and s.expected_images == 15 for s in result.subjects)
    assert result.settings["partial"]["images"] == 18 and "pass_probability" in validator.metrics(result)
    with pytest.raises(grader.errors.UsageError, match="not subjects of ml2025-hw10: object-9"):
        validator.score({"object-9": []})


def _tensorboard_scalars(folder: Path) -> set[str]:
    """The scalar tags in a TensorBoard event file, read from its TFRecord framing."""
    from tensorboardX.proto import event_pb2

    tags = set()
    for path in folder.rglob("events.out.tfevents.*"):
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack_from("<Q", data, offset)
            record = data[offset + 12 : offset + 12 + length]
            offset += 12 + length + 4
            event = event_pb2.Event.FromString(record)
            tags |= {value.tag for value in event.summary.value}
    return tags


@pytest.mark.heavy
def test_the_training_example_logs_validation_scores_to_tensorboard(tiny_models, tmp_path):
    pytest.importorskip("accelerate")
    pytest.importorskip("tensorboardX")
    import runpy

    from generators.testing import build_tiny_sd

    example = runpy.run_path(str(Path(__file__).parents[1] / "docs" / "examples" / "lora_validation.py"))
    base = build_tiny_sd(tmp_path / "tiny-sd")
    args = ["--base", str(base), "--task", "ml2025-hw10", "--data", str(FIXTURE / "data"), "--models"]
    args += [str(tiny_models), "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "run"), "--steps", "4"]
    args += ["--validate-every", "2", "--images-per-subject", "2", "--inference-steps", "2", "--size", "64"]
    logs = example["main"](args)
    tags = _tensorboard_scalars(logs)
    assert {"train/loss", "object-1/dino", "object-1/clip_t", "mean/dino", "pass_probability"} <= tags, tags
