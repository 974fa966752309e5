"""What every encoder shares: batching over image files, device choice, quiet transformers."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from PIL import Image

from grader.encoders.fingerprints import hub_model_info, transformers_fingerprint
from grader.encoders.preprocess import check_resizable, resize_crop
from grader.encoders.specs import CLIP_MEAN, CLIP_STD, ResizeCrop, TransformersEncoder
from grader.errors import ModelMissingError
from grader.images import DecodedImage
from grader.models import ResolvedModel
from grader.reading import ReadsDecoded, batched, prefetch
from grader.result import ModelInfo

ProgressCallback = Callable[[int], None]
_TRANSFORMERS_MAJOR = int(transformers.__version__.split(".")[0])


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


class Encoder(ReadsDecoded):
    """Encodes decoded images in batches; memory holds a batch of pixels plus the embeddings."""

    def __init__(
        self,
        spec: TransformersEncoder,
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

    @functools.cached_property
    def steps(self) -> ResizeCrop | None:
        """The preprocessing written out (None: the checkpoint's processor). openai-clip's size is the model's
        input size (224, or 336 for the -336 checkpoints), as the clip package takes it from the model."""
        if self.spec.preprocessing == "resize-crop":
            return self.spec.resize_crop
        if self.spec.preprocessing == "openai-clip":
            if self.spec.resize_crop is not None:
                return self.spec.resize_crop
            config: Any = self.model.config
            size = int(config.vision_config.image_size)
            return ResizeCrop(resize=size, crop=size, interpolation="bicubic", mean=CLIP_MEAN, std=CLIP_STD)
        return None

    def _pixels(self, images: Sequence[Image.Image]) -> torch.Tensor:
        if self.steps is not None:
            return resize_crop(list(images), self.steps)
        # Channels last, said rather than guessed: transformers 4 guesses a 1x1 or 3-pixel-high RGB image as
        # channels-first and fails on it.
        return self.processor(images=images, return_tensors="pt", input_data_format="channels_last")["pixel_values"]

    @functools.cached_property
    def short_edge(self) -> int | None:
        """The size the short edge is scaled to before the crop (None: a fixed-size resize)."""
        if self.steps is not None:
            return self.steps.resize
        if not getattr(self.processor, "do_resize", True):
            return None
        size = getattr(self.processor, "size", None)
        edge = size.get("shortest_edge") if isinstance(size, dict) else getattr(size, "shortest_edge", None)
        return int(edge) if edge else None

    @torch.inference_mode()
    def encode_decoded(
        self, images: Sequence[DecodedImage], progress: ProgressCallback | None = None
    ) -> Sequence[np.ndarray]:
        for image in images:
            check_resizable(image, self.short_edge)
        chunks = []
        batches = list(batched(images, self.batch_size))
        # The next batch is preprocessed (resized, normalised) in the background while the model runs.
        for batch, pixels in zip(batches, prefetch(self._pixels([i.rgb for i in b]) for b in batches), strict=True):
            chunks.append(self._image_features(pixels.to(self.device, dtype=self.dtype)).float().cpu().numpy())
            if progress:
                progress(len(batch))
        return list(np.concatenate(chunks)) if chunks else []

    def describe(self, labels: list[str]) -> ModelInfo:
        return hub_model_info(self.resolved, self.fingerprint, labels)

    def cache_extra(self, path: Path) -> str:
        """What besides the vector the cache must keep for ``path`` (nothing for plain embeddings)."""
        return ""

    def restore(self, path: Path, vector: np.ndarray, extra: str) -> None:
        """Take back a cached entry (nothing to do for plain embeddings)."""
