"""The face track against deepface called directly, with the real offline models (dlib ResNet, CenterFace)."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from rich.console import Console
from typer.testing import CliRunner

from grader.cli import app
from grader.faces.weights import grader_deepface_home
from grader.grading import GradeOptions, grade
from grader.report import render
from grader.report.html import render_html
from grader.result import UNCALIBRATED_RULE, Verdict
from grader.tasks import available_tasks, load_task
from grader.testing.faces import build_face_identity, build_genai2024_fixture

OFFLINE_FACES = GradeOptions(face_model="Dlib", face_detector="centerface")

# Real face models: CI runs this module in the transformers4 environment, beside py (see tox.ini).
pytestmark = pytest.mark.heavy


@pytest.fixture(autouse=True)
def _home(monkeypatch, tmp_path):
    """A fresh HOME, so the user's deepface folder is neither read nor written by accident."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DEEPFACE_HOME", raising=False)


@pytest.fixture
def face_identity(tmp_path) -> tuple[Path, Path]:
    return build_face_identity(tmp_path / "faces")


def _represent_directly(paths: list[Path], monkeypatch) -> list[list[dict]]:
    """deepface as a course notebook calls it, against the weights folder the grader prepared."""
    monkeypatch.setenv("DEEPFACE_HOME", str(grader_deepface_home()))
    from deepface import DeepFace

    return [
        DeepFace.represent(str(p), model_name="Dlib", detector_backend="centerface", enforce_detection=False)
        for p in paths
    ]


def _unit(rows: list[list[float]]) -> torch.Tensor:
    x = torch.tensor(rows, dtype=torch.float64)
    return x / x.norm(dim=1, keepdim=True)


def test_face_identity_matches_deepface_called_directly(face_identity, monkeypatch):
    training, generated = face_identity
    result = grade(load_task("face-identity"), generated, training, GradeOptions(tier="same-person"))

    train_paths = sorted(training.glob("*.png"))
    gen_paths = sorted(generated.glob("*.png"))
    train_reps = _represent_directly(train_paths, monkeypatch)
    gen_reps = _represent_directly(gen_paths, monkeypatch)
    faceless = [not r or r[0]["face_confidence"] == 0 for r in gen_reps]
    with_face = [r[0]["embedding"] for r, f in zip(gen_reps, faceless, strict=True) if not f]
    distances = torch.cdist(_unit(with_face), _unit([r[0]["embedding"] for r in train_reps]))

    subject = result.subjects[0]
    assert subject.metrics["faceless"].value == sum(faceless) == 1
    assert subject.metrics["face_distance"].value == pytest.approx(float(distances.mean()), abs=1e-6)
    per_image = {i.file: i.scores.get("face_distance") for i in result.images}
    kept = [p.name for p, f in zip(gen_paths, faceless, strict=True) if not f]
    np.testing.assert_allclose([per_image[n] for n in kept], distances.mean(dim=1).numpy(), atol=1e-6)


def test_a_face_grade_decodes_each_image_once(face_identity, decodes):
    training, generated = face_identity
    grade(load_task("face-identity"), generated, training, GradeOptions(tier="same-person"))
    files = [p.resolve() for p in sorted(training.glob("*.png")) + sorted(generated.glob("*.png"))]
    assert decodes == dict.fromkeys(files, 1)  # deepface read the grade's decoding, not the files (cv2.imread)


def test_other_person_stands_out(face_identity):
    training, generated = face_identity
    result = grade(load_task("face-identity"), generated, training, GradeOptions(tier="same-person"))
    scores = {i.file: i for i in result.images}
    same = [
        scores[f"{n}.png"].scores["face_distance"]
        for n in ("mirrored", "close_crop", "warm_colours", "darker", "grayscale", "low_resolution")
    ]
    other = scores["other_person.png"].scores["face_distance"]
    assert max(same) < 0.4 < other
    assert scores["no_face.png"].flags == ["no face"] and "face_distance" not in scores["no_face.png"].scores
    assert result.verdict is Verdict.PASS


def test_grader_never_writes_into_users_deepface_folder(face_identity, tmp_path):
    training, generated = face_identity
    grade(load_task("face-identity"), generated, training, GradeOptions(tier="same-person"))
    assert not (tmp_path / "home" / ".deepface").exists()
    assert (grader_deepface_home() / ".deepface" / "weights" / "dlib_face_recognition_resnet_model_v1.dat").is_file()


def _genai(tmp_path: Path, **kwargs) -> tuple[Path, Path]:
    # Fewer prompts than the course's 25 keep the face detector's work small; the rules do not depend on it.
    return build_genai2024_fixture(tmp_path / "genai", prompts=12, **kwargs)


def _lenient_gates(tmp_path: Path) -> Path:
    """genai2024-hw10 with the CLIP gate moved out of the way (random test CLIP scores are arbitrary)."""
    raw = yaml.safe_load(available_tasks()["genai2024-hw10"].read_text())
    raw["gates"]["clip"]["value"] = -1000
    raw["name"] = "genai-lenient"
    path = tmp_path / "genai-lenient.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_faceless_images_leave_clip_and_distance(tmp_path, tiny_models, monkeypatch):
    data, submission = _genai(tmp_path, faceless=2)
    options = GradeOptions(models_dir=tiny_models, face_model="Dlib", face_detector="centerface")
    result = grade(load_task("genai2024-hw10"), submission, data, options)
    subject = result.subjects[0]
    faceless_files = {i.file for i in result.images if "no face" in i.flags}
    assert faceless_files == {"valid_image_10.png", "valid_image_11.png"}
    assert subject.metrics["faceless"].value == 2
    odds = subject.metrics["faceless"].outcomes  # faceless counts over resamples of the 12 images
    assert sum(odds.values()) == pytest.approx(1.0)
    assert sum(float(k) * v for k, v in odds.items()) == pytest.approx(2.0, abs=0.1)
    assert subject.metrics["clip"].n == subject.metrics["face_distance"].n == 10

    # CLIP score by hand: the model's own logits for every image, then sum over faced images / their count.
    import transformers
    from PIL import Image

    clip_path = tiny_models / "openai/clip-vit-base-patch32"
    model = transformers.CLIPModel.from_pretrained(clip_path).eval()
    processor = transformers.CLIPProcessor.from_pretrained(clip_path)
    prompts = (data / "prompts.txt").read_text().splitlines()
    logits = []
    for i, prompt in enumerate(prompts):
        image = Image.open(submission / f"valid_image_{i}.png").convert("RGB")
        with torch.no_grad():
            out = model(**processor(text=[prompt], images=[image], return_tensors="pt", padding=True))
        logits.append(float(out.logits_per_image[0, 0]))
    faced = [v for i, v in enumerate(logits) if f"valid_image_{i}.png" not in faceless_files]
    assert subject.metrics["clip"].value == pytest.approx(sum(faced) / len(faced), abs=1e-4)
    assert subject.metrics["clip"].value != pytest.approx(float(np.mean(logits)), abs=1e-4)

    # Face distance by hand over faced images only, training photos unfiltered.
    gen = _represent_directly([submission / f"valid_image_{i}.png" for i in range(10)], monkeypatch)
    train = _represent_directly(sorted((data / "training").glob("*.png")), monkeypatch)
    expected = torch.cdist(_unit([r[0]["embedding"] for r in gen]), _unit([r[0]["embedding"] for r in train]))
    assert subject.metrics["face_distance"].value == pytest.approx(float(expected.mean()), abs=1e-6)


def test_more_than_five_faceless_fails_the_gate(tmp_path, tiny_models):
    data, submission = _genai(tmp_path, faceless=6)
    options = GradeOptions(models_dir=tiny_models, face_model="Dlib", face_detector="centerface")
    result = grade(load_task(str(_lenient_gates(tmp_path))), submission, data, options)
    subject = result.subjects[0]
    assert subject.metrics["faceless"].value == 6
    assert any("faceless <= 5 not met" in f for f in subject.failures)
    assert subject.verdict is Verdict.FAIL and result.points == 0 and result.exit_code == 1
    # one rule, in the same words in every view: a gate not met is FAIL whatever the model; the gates are lines
    assert subject.metrics["faceless"].gate_margin == -1 and subject.metrics["faceless"].gate_holds is False
    (note,) = [n for n in result.notes if UNCALIBRATED_RULE in n]
    assert "face distance has no line here" in note
    console = Console(width=200, record=True, color_system=None)
    render(result, console)
    text = console.export_text()
    assert "<= 5 (gate)" in text and "> -1000 (gate)" in text and "FAIL - a gate of the task is not met" in text
    assert " ".join(UNCALIBRATED_RULE.split()) in " ".join(text.split())
    assert note in result.to_dict()["notes"]
    page = render_html(result, submission)
    assert html.escape(UNCALIBRATED_RULE, quote=True) in page and "&lt;= 5 (gate)" in page
    assert 'aria-label="faceless below the line"' in page  # the gate is drawn as the line it is shown as


def test_five_faceless_passes_the_gate_but_other_model_is_uncalibrated(tmp_path, tiny_models):
    data, submission = _genai(tmp_path, faceless=5)
    options = GradeOptions(models_dir=tiny_models, face_model="Dlib", face_detector="centerface")
    result = grade(load_task(str(_lenient_gates(tmp_path))), submission, data, options)
    subject = result.subjects[0]
    assert subject.failures == []
    distance = subject.metrics["face_distance"]
    assert distance.value is not None and distance.threshold is None and not distance.calibrated
    assert subject.verdict is Verdict.UNCALIBRATED and result.points is None and result.exit_code == 2
    assert any("lines belong to the task's own models" in n and UNCALIBRATED_RULE in n for n in result.notes)


def test_missing_ghostfacenet_weights_exit_3_naming_the_file(tmp_path, tiny_models):
    data, submission = _genai(tmp_path)
    args = ["check", str(submission), "--task", "genai2024-hw10", "--data", str(data), "--models", str(tiny_models)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 3, res.output
    text = " ".join(res.output.split())
    assert "ghostfacenet_v1" in text and "deploy.prototxt" in text
    assert str(grader_deepface_home() / ".deepface" / "weights") in text
    assert str(tmp_path / "home" / ".deepface" / "weights") in text


def test_models_command_shows_face_models(tmp_path):
    res = CliRunner().invoke(app, ["models", "--task", "face-identity"])
    assert res.exit_code == 0, res.output
    assert "deepface Dlib + centerface" in res.output and "present" in res.output


def test_demo_grades_the_face_example_with_real_models():
    res = CliRunner().invoke(app, ["demo"])
    assert res.exit_code == 0, res.output
    rows = {line.split("│")[2].strip(): line for line in res.output.splitlines() if line.count("│") > 4}
    assert "above the line (lower is better)" in rows["other_person.png"] and "no face" in rows["no_face.png"]
    assert "the line" not in rows["mirrored.png"]
    assert "PASS" in res.output and "TEST MODELS" not in res.output


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo-cache")  # the test models are built once for every task's demo


@pytest.mark.parametrize("task", sorted(set(available_tasks()) - {"face-identity"}))
def test_every_task_has_a_demo_that_says_when_its_models_are_test_models(task, demo_cache, monkeypatch):
    monkeypatch.setenv("T2I_GRADER_CACHE", str(demo_cache))
    res = CliRunner().invoke(app, ["demo", "--task", task], env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.output
    assert "INCOMPLETE" not in res.output and "internal error" not in res.output
    text = " ".join(res.output.split())
    if task == "dlcv2024-hw2-p2":  # pixels only: real scores, no banner
        assert "its scores are real" in text and "Demo on test models" not in text
        return
    assert "Demo on test models" in text and "carry no meaning" in text and "`grader check` would exit" in text
    if task != "dlcv2024-hw2-p1":  # random classifiers are the user's kind of model, not a hub test model
        assert "TEST MODELS" in res.output
