"""DLCV 2024 HW2 and DreamBench tasks against independent computations on tiny models."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from PIL import Image
from rich.console import Console
from sklearn.metrics import accuracy_score
from typer.testing import CliRunner

from grader.cli import app
from grader.encoders.classifier import LeNet
from grader.encoders.preprocess import resize_crop
from grader.grading import GradeOptions, grade
from grader.metrics.classification import classification_summary
from grader.report import render
from grader.result import Verdict
from grader.tasks import available_tasks, load_task
from grader.testing.dlcv import build_ddim, build_digits, build_dreambench, build_textual_inversion, build_zero_shot

# Their outcome depends on transformers (its models, processors or tokenizers): also run on 4.x.
pytestmark = pytest.mark.transformers

B32 = "openai/clip-vit-base-patch32"


def _clip(models: Path):
    path = models / B32
    return transformers.CLIPModel.from_pretrained(path).eval(), transformers.CLIPProcessor.from_pretrained(path)


@torch.no_grad()
def _image_features(model, processor, paths: list[Path]) -> np.ndarray:
    pixels = processor(images=[Image.open(p).convert("RGB") for p in paths], return_tensors="pt")["pixel_values"]
    return model.vision_model(pixel_values=pixels).pooler_output.matmul(model.visual_projection.weight.T).numpy()


@torch.no_grad()
def _text_features(model, processor, texts: list[str]) -> np.ndarray:
    tokens = processor.tokenizer(texts, padding=True, return_tensors="pt")
    pooled = model.text_model(**tokens).pooler_output
    return model.text_projection(pooled).numpy()


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return a @ b.T


def test_textual_inversion_matches_an_independent_top5_rule(tmp_path, tiny_models):
    data, output = build_textual_inversion(tmp_path / "ti")
    spec = json.loads((data / "input.json").read_text())
    spec["1"]["baseline"][0] = [-100, -100]  # one prompt that must pass
    (data / "input.json").write_text(json.dumps(spec))
    result = grade(load_task("dlcv2024-hw2-p3"), output, data, GradeOptions(models_dir=tiny_models))

    model, processor = _clip(tiny_models)
    passed = 0
    for key, concept in spec.items():
        refs = sorted((data / concept["src_image"]).glob("*.png"))
        ref_f = _image_features(model, processor, refs)
        for index, eval_text in enumerate(concept["prompt_4_clip_eval"]):
            images = sorted((output / key / str(index)).glob("*.png"), key=lambda p: int(p.stem))
            img_f = _image_features(model, processor, images)
            image_score = 100 * _cos(img_f, ref_f).mean(axis=1)
            text_score = 100 * _cos(img_f, _text_features(model, processor, [eval_text]))[:, 0]
            top5 = np.argsort(-(image_score + 2.5 * text_score), kind="stable")[:5]
            expected_image, expected_text = image_score[top5].mean(), text_score[top5].mean()
            ok = expected_image >= concept["baseline"][index][0] and expected_text >= concept["baseline"][index][1]
            passed += ok

            subject = next(s for s in result.subjects if s.subject == f"{key}/{index}")
            assert subject.metrics["image"].value == pytest.approx(expected_image, abs=1e-3)
            assert subject.metrics["text"].value == pytest.approx(expected_text, abs=1e-3)
            assert subject.metrics["image"].n == 5
            assert (subject.verdict is Verdict.PASS) == ok
            kept = sorted(
                int(Path(i.file).stem)
                for i in result.images
                if i.subject == f"{key}/{index}" and any(f.startswith("kept") for f in i.flags)
            )
            assert kept == sorted(top5.tolist())
    assert passed >= 1
    assert result.passed_count == (passed, 4)


def test_textual_inversion_needs_exactly_25_images(tmp_path, tiny_models):
    data, output = build_textual_inversion(tmp_path / "ti")
    (output / "0" / "1" / "24.png").unlink()
    res = CliRunner().invoke(
        app, ["check", str(output), "--task", "dlcv2024-hw2-p3", "--data", str(data), "--models", str(tiny_models)]
    )
    assert res.exit_code == 2
    assert "24 usable images, the task asks for 25" in res.output and "passed" in res.output


def test_zero_shot_accuracy_equals_sklearn(tmp_path, tiny_models):
    data, images = build_zero_shot(tmp_path / "zs")
    result = grade(load_task("dlcv2024-clip-zeroshot"), images, data, GradeOptions(models_dir=tiny_models))
    names = json.loads((data / "id2label.json").read_text())
    model, processor = _clip(tiny_models)
    paths = sorted(images.glob("*.png"))
    ids = sorted(names, key=int)
    sims = _cos(
        _image_features(model, processor, paths),
        _text_features(model, processor, [f"A photo of {names[i]}." for i in ids]),
    )
    predicted = [ids[i] for i in sims.argmax(axis=1)]
    truth = [p.stem.split("_")[0] for p in paths]
    expected = 100 * accuracy_score(truth, predicted)
    assert result.subjects[0].metrics["accuracy"].value == pytest.approx(expected)
    assert result.extras["accuracy:val"]["accuracy"] == pytest.approx(expected)
    assert [i.details["predicted"] for i in result.images] == predicted
    assert result.verdict is Verdict.SCORED and result.exit_code == 0
    console = Console(width=100, record=True, color_system=None)
    render(result, console)
    per_class = console.export_text().split("accuracy %", 2)[2]
    for i in ids:  # each class by its id and its name
        assert re.search(rf"│ {i} {re.escape(names[i])} +│", per_class), per_class


def test_classification_summary_on_a_hand_built_case():
    summary = classification_summary(
        ["0", "0", "1", "1"], ["0", "1", "1", "1"], [0.9, 0.2, 0.8, 0.7], ["a", "b", "c", "d"], {"0": "cat", "1": "dog"}
    )
    assert summary["accuracy"] == 75.0
    assert summary["per_class_accuracy"] == {"0": 50.0, "1": 100.0}
    assert summary["label_names"] == {"0": "cat", "1": "dog"}
    assert summary["confusion_matrix"] == [[1, 1], [0, 2]]
    assert summary["worst"][0] == {"file": "b", "label": "cat", "predicted": "dog", "p_true": 0.2}


def test_zero_shot_cli_writes_predictions_csv(tmp_path, tiny_models):
    data, images = build_zero_shot(tmp_path / "zs")
    out = tmp_path / "predictions.csv"
    res = CliRunner().invoke(
        app,
        [
            "check",
            str(images),
            "--task",
            "dlcv2024-clip-zeroshot",
            "--data",
            str(data),
            "--models",
            str(tiny_models),
            "--csv",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "most and least confident cases" in res.output and "SCORED" in res.output
    header = out.read_text().splitlines()[0].split(",")
    assert {"file", "label", "predicted", "predicted_name", "p_true", "accuracy"} <= set(header)


def test_ddim_mse_by_hand_and_user_threshold(tmp_path):
    gt, generated = build_ddim(tmp_path / "ddim")
    task = load_task("dlcv2024-hw2-p2")
    result = grade(task, generated, gt)
    expected = [
        np.mean(
            (np.asarray(Image.open(g), dtype=np.float64) / 255 - np.asarray(Image.open(t), dtype=np.float64) / 255) ** 2
        )
        for g, t in zip(sorted(generated.glob("*.png")), sorted(gt.glob("*.png")), strict=True)
    ]
    np.testing.assert_allclose([i.scores["mse"] for i in result.images], expected, rtol=1e-12)
    assert result.subjects[0].metrics["mse"].value == pytest.approx(np.mean(expected))
    assert result.verdict is Verdict.SCORED

    line = float(np.mean(expected)) * 1.5
    passing = grade(task, generated, gt, GradeOptions(thresholds={"mse": line}))
    failing = grade(task, generated, gt, GradeOptions(thresholds={"mse": line / 3}))
    assert passing.verdict is Verdict.PASS and failing.verdict is Verdict.FAIL and failing.tier == "custom"


def test_ddim_missing_pair_is_named(tmp_path):
    gt, generated = build_ddim(tmp_path / "ddim")
    (generated / "03.png").unlink()
    result = grade(load_task("dlcv2024-hw2-p2"), generated, gt)
    assert any("no generated image for 03.png" in p.message for p in result.all_problems)
    assert result.verdict is Verdict.INCOMPLETE


def _reference_digits(model: torch.nn.Module, folder: Path) -> float:
    """Resize(28) bilinear, ToTensor, Normalize(0.5) written out, then argmax == first character."""
    correct = []
    for path in sorted(folder.glob("*.png")):
        img = Image.open(path).convert("RGB")
        if img.size != (28, 28):
            img = img.resize((28, 28), Image.BILINEAR)
        x = (np.asarray(img, dtype=np.float32) / 255 - 0.5) / 0.5
        with torch.no_grad():
            logits = model(torch.from_numpy(x.transpose(2, 0, 1)).unsqueeze(0))
        correct.append(int(logits.argmax()) == int(path.name[0]))
    return 100 * float(np.mean(correct))


def test_digit_accuracy_with_state_dict_and_torchscript(tmp_path):
    root = build_digits(tmp_path / "digits")
    torch.manual_seed(0)
    mnistm, svhn = LeNet().eval(), LeNet().eval()
    torch.save({"state_dict": mnistm.state_dict()}, tmp_path / "Classifier.pth")
    torch.jit.script(svhn).save(str(tmp_path / "svhn.pt"))
    options = GradeOptions(classifiers={"mnistm": tmp_path / "Classifier.pth", "svhn": tmp_path / "svhn.pt"})
    result = grade(load_task("dlcv2024-hw2-p1"), root, root, options)
    by_subject = {s.subject: s.metrics["accuracy"].value for s in result.subjects}
    assert by_subject["mnistm"] == pytest.approx(_reference_digits(mnistm, root / "mnistm"))
    assert by_subject["svhn"] == pytest.approx(_reference_digits(svhn, root / "svhn"))
    assert result.overall["accuracy"] == pytest.approx((by_subject["mnistm"] + by_subject["svhn"]) / 2)


def test_digits_without_a_classifier_is_model_missing(tmp_path):
    root = build_digits(tmp_path / "digits", per_digit=1)
    res = CliRunner().invoke(app, ["check", str(root), "--task", "dlcv2024-hw2-p1", "--data", str(root)])
    assert res.exit_code == 3
    assert "--classifier mnistm=PATH" in " ".join(res.output.split())


def _hand_resize_crop(img: Image.Image) -> np.ndarray:
    """Resize(256) bicubic + CenterCrop(224) + ToTensor + Normalize(ImageNet), from the torchvision docs' text."""
    w, h = img.size
    size = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
    img = img.resize(size, Image.BICUBIC)
    left, top = round((size[0] - 224) / 2), round((size[1] - 224) / 2)
    arr = np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.float32) / 255
    arr = (arr - np.array([0.485, 0.456, 0.406], dtype=np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    return arr.transpose(2, 0, 1)


def test_dreambench_preprocessing_is_the_papers_not_the_processors(tmp_path, tiny_models):
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, size=(300, 500, 3), dtype=np.uint8))  # 500 x 300, non-square
    steps = load_task("dreambench").metrics["dino"].encoder.resize_crop
    ours = resize_crop([img], steps)[0].numpy()
    np.testing.assert_allclose(ours, _hand_resize_crop(img), atol=1e-6)
    processor = transformers.AutoImageProcessor.from_pretrained(tiny_models / "facebook/dino-vits16")
    default = processor(images=img, return_tensors="pt")["pixel_values"][0].numpy()
    assert default.shape == ours.shape and np.abs(default - ours).max() > 0.1


def test_dreambench_end_to_end_with_published_rows(tmp_path, tiny_models):
    data, generated = build_dreambench(tmp_path / "db")
    res = CliRunner().invoke(
        app,
        [
            "check",
            str(generated),
            "--task",
            "dreambench",
            "--data",
            str(data),
            "--models",
            str(tiny_models),
            "--json",
            str(tmp_path / "r.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "r.json").read_text())
    subjects = {s["subject"]: s for s in report["subjects"]}
    assert set(subjects) == {"dog", "backpack"} and subjects["dog"]["n_images"] == 8
    means = [s["metrics"]["dino"]["value"] for s in report["subjects"]]
    assert report["overall"]["dino"] == pytest.approx(np.mean(means))
    assert report["published"]["DreamBooth, Stable Diffusion [DreamBooth]"]["dino"] == 66.8
    assert report["published"]["Custom Diffusion [Subject-Diffusion, Tab. 1]"]["clip_i"] == 79.0
    assert "published" in res.output and "Textual Inversion" in res.output
    # a partial run says how partial, beside rows measured on the whole benchmark
    images = len(report["images"])
    assert report["coverage"] == {
        "subjects": 2,
        "benchmark_subjects": 30,
        "prompts": len({(i["subject"], i["details"]["text"]) for i in report["images"]}),
        "images": images,
        "benchmark_images": 3000,
        "partial": True,
    }
    assert "overall (mean, partial: 2/30 subjects)" in res.output
    (note,) = [n for n in report["notes"] if n.startswith("partial run:")]
    assert f"2 of the benchmark's 30 subjects, {images} images of its 3000" in note and "published rows" in note


def test_a_notebook_shows_the_overall_and_published_rows_and_the_notes(tmp_path, tiny_models):
    import grader

    data, generated = build_dreambench(tmp_path / "db")
    result = grader.grade(generated, "dreambench", data, models=tiny_models, cache=False)
    page = result._repr_html_()
    assert "overall (mean, partial: 2/30 subjects)" in page
    assert "DreamBooth, Stable Diffusion [DreamBooth] (published)" in page and "partial run:" in page


def test_models_command_for_tasks_without_hub_models():
    for task in ("dlcv2024-hw2-p2", "dlcv2024-hw2-p1"):
        res = CliRunner().invoke(app, ["models", "--task", task])
        assert res.exit_code == 0, res.output
    assert "--classifier" in res.output


def test_every_task_is_listed():
    res = CliRunner().invoke(app, ["tasks"])
    for name in available_tasks():
        assert name in res.output
    assert {"dlcv2024-hw2-p3", "dlcv2024-clip-zeroshot", "dlcv2024-hw2-p2", "dlcv2024-hw2-p1", "dreambench"} <= set(
        available_tasks()
    )
