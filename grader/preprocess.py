"""Image preprocessing written out step by step, for protocols whose steps differ from a checkpoint's processor.

Each step follows torchvision's definition on PIL images (the papers' reference code), without needing
torchvision: ``Resize(n)`` scales the short edge to n and the long edge to ``int(n * long / short)``;
``CenterCrop(n)`` starts at ``round((size - n) / 2)``; ``ToTensor`` divides by 255.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from grader.tasks.schema import ResizeCrop

_RESAMPLE = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}


def resize_short_edge(img: Image.Image, size: int, interpolation: str = "bilinear") -> Image.Image:
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) == (w, h):
        return img
    return img.resize((new_w, new_h), _RESAMPLE[interpolation])


def center_crop(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    left, top = round((w - size) / 2.0), round((h - size) / 2.0)
    return img.crop((left, top, left + size, top + size))


def to_normalized_tensor(img: Image.Image, mean, std) -> torch.Tensor:
    """ToTensor then Normalize: ``[C, H, W]`` float32."""
    array = np.asarray(img, dtype=np.float32) / 255.0
    array = (array - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def resize_crop(images: list[Image.Image], steps: ResizeCrop) -> torch.Tensor:
    """Resize(short edge) -> CenterCrop -> ToTensor -> Normalize, batched as ``[N, 3, crop, crop]``."""
    return torch.stack(
        [
            to_normalized_tensor(
                center_crop(resize_short_edge(img, steps.resize, steps.interpolation), steps.crop),
                steps.mean,
                steps.std,
            )
            for img in images
        ]
    )
