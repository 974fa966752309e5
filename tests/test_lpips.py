"""LPIPS as the grader computes it (DreamBooth's DIV) equals the ``lpips`` package's own forward pass on the same
weights; without the weights a grade ends with exit 3 naming them."""

from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from grader.cli import app
from grader.encoders.lpips import ALEXNET_FILE, LINEAR_FILE, alexnet_features, lpips_distance
from grader.images import DecodedImage
from grader.paths import fixtures_dir

COURSE = fixtures_dir() / "courses" / "dreambench"


def _package_lpips(monkeypatch, features: torch.nn.Sequential):
    """The lpips package, imported with a stand-in torchvision whose alexnet() has ``features`` (the package only
    reads that attribute; torchvision itself cannot be installed beside this torch)."""
    pytest.importorskip("scipy")
    models = types.ModuleType("torchvision.models")
    models.alexnet = lambda pretrained=False, **kwargs: types.SimpleNamespace(features=features)  # type: ignore[attr-defined]
    vision = types.ModuleType("torchvision")
    vision.models = models  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", vision)
    monkeypatch.setitem(sys.modules, "torchvision.models", models)
    for name in [m for m in sys.modules if m == "lpips" or m.startswith("lpips.")]:
        monkeypatch.delitem(sys.modules, name)
    import lpips

    return lpips


def test_lpips_equals_the_lpips_package_on_the_same_weights(tmp_path, monkeypatch):
    from grader.encoders.lpips import LpipsReader, _packaged_linear
    from grader.encoders.specs import LpipsEncoder

    linear = _packaged_linear()
    if linear is None or not linear.is_file():
        pytest.skip("the lpips package (data-packages.txt) is not installed")
    torch.manual_seed(3)
    features = alexnet_features().eval()
    (tmp_path / "lpips").mkdir()
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, tmp_path / "lpips" / ALEXNET_FILE)
    shutil.copy(linear, tmp_path / "lpips" / LINEAR_FILE)
    reader = LpipsReader(LpipsEncoder(kind="lpips", size=64), tmp_path)

    rng = np.random.default_rng(0)
    pixels = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(3)]
    images = [DecodedImage(Path(f"{i}.png"), Image.fromarray(p), "PNG", "RGB", 1) for i, p in enumerate(pixels)]
    vectors = np.stack(reader.encode_decoded(images))
    ours = lpips_distance(vectors, vectors)

    package = _package_lpips(monkeypatch, features)
    model = package.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False).eval()
    tensors = [torch.from_numpy(p).permute(2, 0, 1)[None].float() / 127.5 - 1 for p in pixels]
    with torch.no_grad():
        theirs = np.array([[float(model(a, b)) for b in tensors] for a in tensors])
    assert ours == pytest.approx(theirs, rel=1e-4, abs=1e-6)
    assert ours[0, 1] > 0 and ours[0, 0] == pytest.approx(0.0, abs=1e-9)


def test_without_the_weights_a_grade_ends_with_exit_3_naming_them(tmp_path, monkeypatch, tiny_models):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    args = ["check", str(COURSE / "results"), "--task", "dreambench-div", "--data", str(COURSE / "dataset")]
    res = CliRunner().invoke(app, [*args, "--models", str(tmp_path / "models")])
    assert res.exit_code == 3, res.output
    text = " ".join(res.output.split())
    assert ALEXNET_FILE in text and "download.pytorch.org/models" in text
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in text
