"""Scores of sets of images: CMMD, KID, the embedding diversity and the Vendi score, each against an independent
computation (a direct transcription of the published formula, torchmetrics, a hand computation), and on a graded
DreamBench run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from PIL import Image
from typer.testing import CliRunner

from grader.cli import app
from grader.metrics.sets import (
    cmmd,
    cmmd_contributions,
    kid_contributions,
    kid_subsets,
    pairwise_diversity,
    vendi_score,
)
from grader.paths import fixtures_dir

RNG = np.random.default_rng(7)


def _unit(n: int, d: int = 16) -> np.ndarray:
    x = RNG.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _paper_mmd2(x: np.ndarray, y: np.ndarray, sigma: float = 10.0) -> float:
    """The unbiased MMD² of "Rethinking FID" (eq. 3), term by term over pairs i != j."""

    def k(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * sigma**2))

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(a, b) for a in x for b in y) / (m * n)
    return xx + yy - 2 * xy


def _reference_code_mmd(x: np.ndarray, y: np.ndarray, sigma: float = 10.0, scale: float = 1000.0) -> float:
    """google-research/cmmd's distance.py, in numpy: means over all pairs, the diagonal included."""
    x_sq, y_sq = np.diag(x @ x.T), np.diag(y @ y.T)
    gamma = 1 / (2 * sigma**2)
    k_xx = np.mean(np.exp(-gamma * (-2 * x @ x.T + x_sq[:, None] + x_sq[None, :])))
    k_xy = np.mean(np.exp(-gamma * (-2 * x @ y.T + x_sq[:, None] + y_sq[None, :])))
    k_yy = np.mean(np.exp(-gamma * (-2 * y @ y.T + y_sq[:, None] + y_sq[None, :])))
    return scale * (k_xx + k_yy - 2 * k_xy)


def test_cmmd_is_the_papers_unbiased_estimate_and_the_reference_codes_biased_one():
    x, y = _unit(9), _unit(6)
    assert cmmd(x, y) == pytest.approx(1000 * _paper_mmd2(x, y), rel=1e-10)
    assert cmmd(x, y, unbiased=False) == pytest.approx(_reference_code_mmd(x, y), rel=1e-10)
    assert cmmd_contributions(x, y).mean() == pytest.approx(cmmd(x, y), rel=1e-12)
    assert cmmd(x, x) < cmmd(x, _unit(9) + 0.5)  # a shifted set is further away


class _Fixed(torch.nn.Module):
    """A 'feature extractor' for torchmetrics that returns fixed vectors: image i (pixel value i) -> vectors[i]."""

    def __init__(self, vectors: np.ndarray) -> None:
        super().__init__()
        self.vectors = torch.from_numpy(vectors)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.vectors[images[:, 0, 0, 0].long()]


def test_kid_equals_torchmetrics_fed_the_same_features():
    from torchmetrics.image.kid import KernelInceptionDistance

    real, fake = RNG.normal(size=(8, 32)), RNG.normal(0.3, 1.0, size=(8, 32))
    vectors = np.concatenate([real, fake])
    metric = KernelInceptionDistance(feature=_Fixed(vectors), subsets=1, subset_size=8)
    ids = torch.arange(16, dtype=torch.uint8)[:, None, None, None].expand(16, 3, 2, 2).contiguous()
    metric.update(ids[:8], real=True)
    metric.update(ids[8:], real=False)
    mean, std = metric.compute()
    assert kid_contributions(fake, real).mean() == pytest.approx(float(mean), rel=1e-6)
    assert float(std) == 0.0  # one subset of every image: no spread to report
    # over random subsets: the mean of their unbiased estimates, which with few images may well be negative
    subsets_mean, subsets_std = kid_subsets(fake, real, subsets=50, subset_size=4)
    assert subsets_std > 0 and np.isfinite(subsets_mean)


def test_diversity_and_vendi_by_hand():
    same, orthogonal = np.ones((4, 3)), np.eye(3)
    assert np.allclose(pairwise_diversity(same), 0.0)
    assert np.allclose(pairwise_diversity(orthogonal), 1.0)  # 1 - cos 0
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    values = pairwise_diversity(x, ["a", "a", "b"])
    assert values[0] == pytest.approx(1.0) and values[1] == pytest.approx(1.0) and np.isnan(values[2])
    assert vendi_score(same) == pytest.approx(1.0) and vendi_score(orthogonal) == pytest.approx(3.0)
    a = _unit(5)
    k = a @ a.T / 5
    eig = np.linalg.eigvalsh(k)
    eig = eig[eig > 1e-12]
    assert vendi_score(a) == pytest.approx(np.exp(-(eig * np.log(eig)).sum()))


COURSE = fixtures_dir() / "courses" / "dreambench"


@torch.no_grad()
def _clip_features(models: Path, paths: list[Path]) -> np.ndarray:
    path = models / "openai" / "clip-vit-large-patch14-336"
    model, processor = (
        transformers.CLIPModel.from_pretrained(path).eval(),
        transformers.CLIPProcessor.from_pretrained(path),
    )
    pixels = processor(images=[Image.open(p).convert("RGB") for p in paths], return_tensors="pt")["pixel_values"]
    features = model.vision_model(pixel_values=pixels).pooler_output.matmul(model.visual_projection.weight.T).numpy()
    return features / np.linalg.norm(features, axis=1, keepdims=True)


@pytest.mark.transformers
def test_dreambench_reports_cmmd_diversity_and_vendi_in_every_view(tiny_models, tmp_path):
    out = tmp_path / "r"
    args = ["check", str(COURSE / "results"), "--task", "dreambench", "--data", str(COURSE / "dataset")]
    args += [
        "--models",
        str(tiny_models),
        "--json",
        f"{out}.json",
        "--html",
        f"{out}.html",
        "--subjects-csv",
        f"{out}.csv",
    ]
    res = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    report = json.loads(Path(f"{out}.json").read_text())
    subject = next(s for s in report["subjects"] if s["subject"] == "dog6")
    images = sorted((COURSE / "results" / "dog6").rglob("*.png"), key=lambda p: (int(p.parent.name), int(p.stem)))
    references = sorted((COURSE / "dataset" / "dog6").glob("*.jpg"))
    generated, refs = _clip_features(tiny_models, images), _clip_features(tiny_models, references)
    assert subject["metrics"]["cmmd"]["value"] == pytest.approx(cmmd(generated, refs), abs=1e-4)
    assert subject["metrics"]["cmmd"]["ci_low"] is not None  # an interval, not only the point
    everything = sorted(p for p in (COURSE / "results").rglob("*.png"))
    photos = sorted((COURSE / "dataset").glob("*/*.jpg"))
    pooled = cmmd(_clip_features(tiny_models, everything), _clip_features(tiny_models, photos))
    assert report["pooled"]["cmmd"] == pytest.approx(pooled, abs=1e-4)  # the whole submission at once
    assert "over the whole submission at once" in res.output
    assert subject["metrics"]["vendi"]["ci_low"] is None  # a value of the set: no interval
    assert 1.0 <= subject["metrics"]["vendi"]["value"] <= len(images)
    for label in ("CMMD", "DIV (DINO)", "Vendi (DINO)"):
        assert label in res.output and label in Path(f"{out}.html").read_text()
    assert "cmmd" in Path(f"{out}.csv").read_text()
    shown = CliRunner().invoke(app, ["tasks", "dreambench"], env={"COLUMNS": "200"})
    assert "CMMD (cmmd): cmmd with openai/clip-vit-large-patch14-336" in shown.output


def test_pres_grades_class_images_against_the_subjects_photos(tiny_models, tmp_path):
    args = ["check", str(COURSE / "results"), "--task", "dreambench-pres", "--data", str(COURSE / "dataset")]
    res = CliRunner().invoke(app, [*args, "--models", str(tiny_models), "--json", str(tmp_path / "p.json")])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["subjects"][0]["metrics"]["pres"]["higher_is_better"] is False
    assert report["published"]["DreamBooth (Imagen), with prior preservation [DreamBooth, Tab. 3]"]["pres"] == 49.3
    assert "published" in res.output and "PRES" in res.output


def test_generate_makes_class_images_without_the_unique_token():
    from generators.cli import _class_prompts
    from grader.errors import UsageError
    from grader.jobs import plan
    from grader.tasks import load_task

    task = load_task("dreambench-pres")
    jobs = plan(task, COURSE / "dataset", _class_prompts(task, None))
    assert jobs[0].prompt == "a backpack in the jungle" and all("sks" not in j.prompt for j in jobs)
    with pytest.raises(UsageError, match="needs a task whose prompts carry a unique token"):
        _class_prompts(load_task("ml2025-hw10"), None)
