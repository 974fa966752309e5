"""What every encoder shares: batching over image files, device choice, quiet transformers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import transformers

from grader.images import open_rgb
from grader.models import ResolvedModel
from grader.tasks.schema import EncoderSpec

ProgressCallback = Callable[[int], None]
_TRANSFORMERS_MAJOR = int(transformers.__version__.split(".")[0])


def batched(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_image_processor(path: Path):
    """The checkpoint's image processor on its PIL backend: the implementation the course code ran
    (transformers 4.4x slow processors); the torchvision backend resizes slightly differently."""
    from transformers import AutoImageProcessor

    if _TRANSFORMERS_MAJOR >= 5:
        return AutoImageProcessor.from_pretrained(path, backend="pil")
    return AutoImageProcessor.from_pretrained(path, use_fast=False)


def projected(output) -> torch.Tensor:
    """transformers 4.x returns the projected features as a tensor, 5.x as ``.pooler_output`` of an output."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class Encoder:
    """Encodes image files in batches; memory holds one batch of pixels plus the (small) embeddings."""

    batch_size = 8

    def __init__(self, spec: EncoderSpec, model: ResolvedModel, device: torch.device | None = None) -> None:
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        self.spec = spec
        self.resolved = model
        self.device = device or default_device()
        self.processor = load_image_processor(model.path)

    @property
    def fingerprint(self) -> str:
        """Identifies everything that changes an embedding: weights, preprocessing, dtype, library version."""
        config = (self.resolved.path / "config.json").read_bytes()
        processor = (self.resolved.path / "preprocessor_config.json").read_bytes()
        parts = {
            "kind": self.spec.kind,
            "model": self.spec.model,
            "revision": self.spec.revision,
            "config": hashlib.sha256(config).hexdigest(),
            "processor": hashlib.sha256(processor).hexdigest(),
            "preprocessing": self.spec.preprocessing,
            "dtype": self.spec.dtype,
            "transformers": transformers.__version__,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def _image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.inference_mode()
    def encode_images(self, paths: Sequence[Path], progress: ProgressCallback | None = None) -> np.ndarray:
        chunks = []
        for batch in batched(list(paths), self.batch_size):
            images = [open_rgb(p) for p in batch]
            pixels = self.processor(images=images, return_tensors="pt")["pixel_values"].to(self.device)
            chunks.append(self._image_features(pixels).float().cpu().numpy())
            if progress:
                progress(len(batch))
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)
