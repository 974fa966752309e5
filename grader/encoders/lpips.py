"""LPIPS as an embedding: LPIPS(x, y) = Σ_l mean_hw Σ_c w_lc (f̂_lchw(x) - f̂_lchw(y))², with f̂ the AlexNet
activations normalised over channels (the ``lpips`` package, v0.1) and w the learned linear layers (non-negative).
So each image's vector [sqrt(w_lc) f̂_lchw / sqrt(H_l W_l)] gives LPIPS as a squared Euclidean distance.

The weights: torchvision's AlexNet (``alexnet-owt-7be5be79.pth``) and the ``lpips`` package's ``weights/v0.1/
alex.pth``, looked for in ``--models DIR/lpips/``, torch's hub cache and the installed ``lpips`` package. Vectors are
large (about 640,000 numbers for a 256 px image), so they are not cached.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from grader.encoders import ProgressCallback
from grader.encoders.base import batched
from grader.encoders.specs import LpipsEncoder
from grader.errors import ModelMissingError
from grader.images import DecodedImage
from grader.paths import package_data
from grader.reading import ReadsDecoded
from grader.result import ModelInfo

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
ALEXNET_URL = f"https://download.pytorch.org/models/{ALEXNET_FILE}"
LINEAR_FILE = "alex.pth"  # the lpips package's weights/v0.1/alex.pth
TEST_MODEL_MARK = "t2i_grader_test_model"  # a file beside test weights: reports say they are test models
# The lpips package's ScalingLayer: inputs in [-1, 1] moved to ImageNet statistics.
SHIFT = torch.tensor([-0.030, -0.088, -0.188])[None, :, None, None]
SCALE = torch.tensor([0.458, 0.448, 0.450])[None, :, None, None]
TAPS = (1, 4, 7, 9, 11)  # the ReLU outputs of torchvision's AlexNet features that LPIPS reads


def alexnet_features() -> nn.Sequential:
    """torchvision's ``alexnet().features``, layer for layer (its state dict's ``features.*`` keys load into it)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
    )  # fmt: skip


def _packaged_linear() -> Path | None:
    """The linear layers inside the installed ``lpips`` package (found, not imported: it imports torchvision)."""
    return package_data("lpips", f"weights/v0.1/{LINEAR_FILE}")


def weight_files(models_dir: Path | None) -> tuple[Path, Path]:
    """(AlexNet weights, linear layers), or ModelMissingError naming each missing file, where it was looked for and
    where it comes from."""
    hub = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"
    backbone = [*([models_dir / "lpips" / ALEXNET_FILE] if models_dir else []), hub / ALEXNET_FILE]
    linear = [*([models_dir / "lpips" / LINEAR_FILE] if models_dir else []), _packaged_linear()]
    found = [next((p for p in places if p is not None and p.is_file()), None) for places in (backbone, linear)]
    if found[0] is None or found[1] is None:
        missing = []
        if found[0] is None:
            looked = ", ".join(str(p) for p in backbone)
            missing.append(f"{ALEXNET_FILE} (looked in {looked}; download {ALEXNET_URL})")
        if found[1] is None:
            looked = ", ".join([*(str(p) for p in linear if p is not None), "the installed lpips package"])
            ships = "pip install --no-deps lpips==0.1.4 ships it"
            missing.append(f"{LINEAR_FILE}, LPIPS's linear layers (looked in {looked}; {ships})")
        raise ModelMissingError("LPIPS weights missing: " + "; ".join(missing))
    return found[0], found[1]


class LpipsReader(ReadsDecoded):
    fingerprint = None  # vectors of ~640,000 numbers per image: recomputed, not cached

    def __init__(self, spec: LpipsEncoder, models_dir: Path | None) -> None:
        self.spec = spec
        self.backbone_file, self.linear_file = weight_files(models_dir)
        self.features = alexnet_features().eval()
        state = torch.load(self.backbone_file, map_location="cpu", weights_only=True)
        self.features.load_state_dict(
            {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
        )
        linear = torch.load(self.linear_file, map_location="cpu", weights_only=True)
        self.weights = [linear[f"lin{i}.model.1.weight"].clamp(min=0).sqrt() for i in range(len(TAPS))]

    def is_test_model(self) -> bool:
        return (self.backbone_file.parent / TEST_MODEL_MARK).exists()

    @torch.inference_mode()
    def encode_decoded(self, images: Sequence[DecodedImage], progress: ProgressCallback | None = None) -> list:
        from PIL import Image

        size = self.spec.size
        vectors = []
        for batch in batched(list(images), 8):
            pixels = torch.stack(
                [
                    torch.from_numpy(np.array(image.rgb.resize((size, size), Image.Resampling.BILINEAR)))
                    .permute(2, 0, 1)
                    .float()
                    / 127.5
                    - 1
                    for image in batch
                ]
            )
            h = (pixels - SHIFT) / SCALE
            parts = []
            for index, layer in enumerate(self.features):
                h = layer(h)
                if index in TAPS:
                    tap = TAPS.index(index)
                    normalised = h / (torch.sqrt((h**2).sum(dim=1, keepdim=True)) + 1e-10)
                    weighted = normalised * self.weights[tap] / np.sqrt(h.shape[2] * h.shape[3])
                    parts.append(weighted.flatten(1))
                if index == TAPS[-1]:
                    break
            vectors += list(torch.cat(parts, dim=1).numpy())  # float32: half the memory; distances in float64
            if progress:
                progress(len(batch))
        return vectors

    def describe(self, labels: list[str]) -> ModelInfo:
        return ModelInfo(
            labels,
            self.spec.model,
            "LPIPS weights",
            f"{self.backbone_file}, {self.linear_file}",
            "",
            self.is_test_model(),
        )

    def cache_extra(self, path: Path) -> str:
        return ""

    def restore(self, path: Path, vector: np.ndarray, extra: str) -> None:
        """Nothing to restore: LPIPS vectors are never cached."""


def lpips_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[len(a), len(b)]`` LPIPS distances between images given as LPIPS vectors."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)


def build_test_weights(folder: Path, seed: int = 0) -> Path:
    """Random-weight stand-ins for both LPIPS files under ``folder/lpips`` (marked as test models)."""
    target = folder / "lpips"
    target.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    torch.save({f"features.{k}": v for k, v in alexnet_features().state_dict().items()}, target / ALEXNET_FILE)
    channels = (64, 192, 384, 256, 256)
    linear = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) * 0.1 for i, c in enumerate(channels)}
    torch.save(linear, target / LINEAR_FILE)
    (target / TEST_MODEL_MARK).write_text("random-weight LPIPS stand-ins built by t2i-grader\n")
    return folder
