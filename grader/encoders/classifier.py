"""A user-supplied digit classifier per subject: logits for each image.

Preprocessing as the DLCV 2024 HW2 grader: Resize(28) (short edge, bilinear), ToTensor, Normalize(0.5, 0.5).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from grader.encoders import ProgressCallback
from grader.encoders.base import batched
from grader.encoders.preprocess import check_resizable, resize_short_edge, to_normalized_tensor
from grader.encoders.specs import ClassifierEncoder
from grader.errors import ModelMissingError
from grader.images import DecodedImage
from grader.reading import ReadsDecoded
from grader.result import ModelInfo


class LeNet(nn.Module):
    """The LeNet-5 shape of the course's MNIST-M classifier (its state dict loads into this)."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc3(torch.relu(self.fc2(x)))


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives carry their code; plain ``torch.save`` archives do not."""
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in name for name in archive.namelist())


def load_classifier(path: Path, architecture: str) -> nn.Module:
    if not path.is_file():
        raise ModelMissingError(f"classifier checkpoint {path} not found")
    if architecture == "auto":
        architecture = "torchscript" if zipfile.is_zipfile(path) and _is_torchscript(path) else "lenet"
    try:
        if path.suffix == ".pt2":  # a torch.export archive, the successor of TorchScript
            return torch.export.load(str(path)).module()
        if architecture == "torchscript":
            return torch.jit.load(str(path), map_location="cpu").eval()
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = LeNet()
        model.load_state_dict(state.get("state_dict", state))
        return model.eval()
    except (RuntimeError, ValueError, KeyError, OSError) as exc:
        raise ModelMissingError(f"classifier {path} does not load as {architecture}: {exc}") from exc


class ClassifierReader(ReadsDecoded):
    def __init__(self, spec: ClassifierEncoder, checkpoints: dict[str, Path]) -> None:
        self.spec = spec
        self.checkpoints = checkpoints
        self.models: dict[str, nn.Module] = {}

    @property
    def fingerprint(self) -> str | None:
        return None  # small models over small images: recomputing is as cheap as looking up

    def _model(self, subject: str) -> nn.Module:
        if subject not in self.checkpoints:
            known = ", ".join(sorted(self.checkpoints)) or "none"
            raise ModelMissingError(f"no classifier for {subject!r}: pass --classifier {subject}=PATH (given: {known})")
        if subject not in self.models:
            self.models[subject] = load_classifier(self.checkpoints[subject], self.spec.architecture)
        return self.models[subject]

    @torch.inference_mode()
    def encode_decoded(self, images: Sequence[DecodedImage], progress: ProgressCallback | None = None) -> list:
        """Logits per image, each image read by its subject's (its folder's) classifier."""
        logits: dict[Path, np.ndarray] = {}
        for image in images:
            check_resizable(image, self.spec.image_size)
        for subject in sorted({i.path.parent.name for i in images}):
            group = [i for i in images if i.path.parent.name == subject]
            model = self._model(subject)
            for batch in batched(group, 256):
                pixels = torch.stack(
                    [
                        to_normalized_tensor(
                            resize_short_edge(image.rgb, self.spec.image_size, "bilinear"),
                            [self.spec.mean] * 3,
                            [self.spec.std] * 3,
                        )
                        for image in batch
                    ]
                )
                for image, row in zip(batch, model(pixels).float().numpy(), strict=True):
                    logits[image.path] = row
                if progress:
                    progress(len(batch))
        return [logits[i.path] for i in images]

    def describe(self, labels: list[str]) -> ModelInfo:
        paths = ", ".join(f"{s}={p}" for s, p in sorted(self.checkpoints.items()))
        return ModelInfo(labels, self.spec.model, "--classifier", paths, "", False)

    def cache_extra(self, path: Path) -> str:
        return ""

    def restore(self, path: Path, vector: np.ndarray, extra: str) -> None:
        """Nothing to restore: classifier outputs are never cached."""
