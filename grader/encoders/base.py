"""What every encoder shares: batching over image files, device choice, quiet transformers."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from queue import Queue
from typing import TypeVar

import numpy as np
import torch
import transformers

from grader.encoders.fingerprints import hub_model_info, transformers_fingerprint
from grader.errors import ModelMissingError
from grader.images import open_rgb
from grader.models import ResolvedModel
from grader.preprocess import resize_crop
from grader.result import ModelInfo
from grader.tasks.schema import EncoderSpec

ProgressCallback = Callable[[int], None]
T = TypeVar("T")
_TRANSFORMERS_MAJOR = int(transformers.__version__.split(".")[0])


def batched(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def image_batch_size(device: torch.device, dtype: torch.dtype) -> int:
    """Images per forward pass. GPUs want large batches. On a CPU, ViT-L batches larger than one image in fp32
    push the MLP activations out of the cache and the elementwise ops (GELU) turn memory-bound: measured on
    the CLIP-L/14-336 image tower, one image at a time is ~10 % faster than batches of 8; bf16 halves those
    activations and its matmul kernels gain from a few images at once."""
    if device.type == "cuda":
        return 32
    return 4 if dtype == torch.bfloat16 else 1


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


_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` while a background thread produces the next ones (decoding overlaps the model)."""
    done = object()
    queue: Queue = Queue(maxsize=depth)

    def produce() -> None:
        try:
            for item in items:
                queue.put(item)
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put(exc)
        queue.put(done)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    while (item := queue.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item
    worker.join()


class Encoder:
    """Encodes image files in batches; memory holds a couple of batches of pixels plus the embeddings."""

    def __init__(
        self,
        spec: EncoderSpec,
        model: ResolvedModel,
        device: torch.device | str | None = None,
        batch_size: int | None = None,
    ) -> None:
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        self.spec = spec
        self.resolved = model
        self.device = torch.device(device) if device else default_device()
        self.dtype = _DTYPES[spec.dtype]
        self.batch_size = batch_size or image_batch_size(self.device, self.dtype)
        self.processor = load_image_processor(model.path)

    def _load(self) -> torch.nn.Module:
        raise NotImplementedError

    @functools.cached_property
    def model(self) -> torch.nn.Module:
        """Loaded on first use, so a grade served from the cache never pays for loading weights."""
        try:
            model = self._load()
        except (OSError, ValueError, KeyError) as exc:
            raise ModelMissingError(
                f"model {self.resolved.model_id} at {self.resolved.path} ({self.resolved.source}) could not be "
                f"loaded as a {self.spec.kind} checkpoint: {exc}"
            ) from exc
        return model.to(self.device, dtype=self.dtype).eval()

    @functools.cached_property
    def fingerprint(self) -> str:
        return transformers_fingerprint(self.spec, self.resolved)

    def _image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _pixels(self, batch: Sequence[Path]) -> torch.Tensor:
        images = [open_rgb(p) for p in batch]
        if self.spec.preprocessing == "resize-crop":
            return resize_crop(images, self.spec.resize_crop)
        # Channels last, said rather than guessed: transformers 4 guesses a 1x1 or 3-pixel-high RGB image as
        # channels-first and fails on it.
        return self.processor(images=images, return_tensors="pt", input_data_format="channels_last")["pixel_values"]

    @torch.inference_mode()
    def encode_images(self, paths: Sequence[Path], progress: ProgressCallback | None = None) -> np.ndarray:
        chunks = []
        batches = list(batched(list(paths), self.batch_size))
        for batch, pixels in zip(batches, prefetch(self._pixels(b) for b in batches), strict=True):
            pixels = pixels.to(self.device, dtype=self.dtype)
            chunks.append(self._image_features(pixels).float().cpu().numpy())
            if progress:
                progress(len(batch))
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)

    def describe(self, labels: list[str]) -> ModelInfo:
        return hub_model_info(self.resolved, self.fingerprint, labels)

    def cache_extra(self, path: Path) -> str:
        """What besides the vector the cache must keep for ``path`` (nothing for plain embeddings)."""
        return ""

    def restore(self, path: Path, vector: np.ndarray, extra: str) -> None:
        """Take back a cached entry (nothing to do for plain embeddings)."""
