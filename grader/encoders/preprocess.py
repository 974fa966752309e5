"""Image preprocessing written out step by step, for protocols whose steps differ from a checkpoint's processor.

Each step follows torchvision's definition on PIL images (the papers' reference code), without needing
torchvision: ``Resize(n)`` scales the short edge to n and the long edge to ``int(n * long / short)``;
``CenterCrop(n)`` starts at ``round((size - n) / 2)``; ``ToTensor`` divides by 255.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from grader.encoders.specs import ResizeCrop
from grader.errors import InputError
from grader.images import DecodedImage

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


def short_edge_size(w: int, h: int, size: int) -> tuple[int, int]:
    """``(w, h)`` with its short edge scaled to ``size`` and its long edge to ``int(size * long / short)``."""
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if w <= h else (new_long, new_short)


def check_resizable(image: DecodedImage, size: int | None) -> None:
    """InputError when scaling the short edge to ``size`` (before the centre crop) would make an image larger
    than Pillow lets a file decode to: a strip of extreme aspect ratio (1x20000 becomes 256x5120000) would
    exhaust memory in the resize, as it would in the course's own preprocessing."""
    if size is None:
        return
    (width, height), path = image.rgb.size, image.path
    w, h = short_edge_size(width, height, size)
    if Image.MAX_IMAGE_PIXELS is not None and w * h > Image.MAX_IMAGE_PIXELS:
        raise InputError(
            f"{path}: is {width}x{height}; with its short edge scaled to {size} before the crop it "
            f"would be {w}x{h} ({w * h / 1e6:.0f} MP): too large to preprocess safely"
        )


def resize_short_edge(img: Image.Image, size: int, interpolation: str = "bilinear") -> Image.Image:
    new_w, new_h = short_edge_size(*img.size, size)
    if (new_w, new_h) == img.size:
        return img
    return img.resize((new_w, new_h), _RESAMPLE[interpolation])


def center_crop(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    left, top = round((w - size) / 2.0), round((h - size) / 2.0)
    return img.crop((left, top, left + size, top + size))


def to_normalized_tensor(img: Image.Image, mean, std) -> torch.Tensor:
    """ToTensor then Normalize: ``[C, H, W]`` float32."""
    array = np.asarray(img, dtype=np.float32) / np.float32(255.0)
    normal = (array - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(normal.transpose(2, 0, 1)))


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
