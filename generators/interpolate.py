"""Walking between two initial noises (DLCV HW2 P2): slerp or lerp frames, and the rows-by-eta DDIM figure.

``slerp`` is the spherical formula on the flattened noise, ``sin((1-a)θ)/sin θ · x0 + sin(aθ)/sin θ · x1`` with
θ the angle between them; ``lerp`` is the straight line, whose midpoints have a smaller norm than Gaussian noise
of that size should (the reason the homework asks for slerp).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from generators.errors import AdapterError


def slerp(x0: torch.Tensor, x1: torch.Tensor, alpha: float) -> torch.Tensor:
    a, b = x0.flatten().double(), x1.flatten().double()
    cos = torch.dot(a, b) / (a.norm() * b.norm())
    theta = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(torch.sin(theta)) < 1e-6:  # (anti)parallel: the sphere's path is the line
        return lerp(x0, x1, alpha)
    mixed = (torch.sin((1 - alpha) * theta) * a + torch.sin(alpha * theta) * b) / torch.sin(theta)
    return mixed.reshape(x0.shape).to(x0.dtype)


def lerp(x0: torch.Tensor, x1: torch.Tensor, alpha: float) -> torch.Tensor:
    return ((1 - alpha) * x0.double() + alpha * x1.double()).to(x0.dtype)


MODES = {"slerp": slerp, "lerp": lerp}


def alphas(steps: int) -> list[float]:
    """``steps`` evenly spaced points from 0 to 1, both ends included."""
    if steps < 2:
        raise AdapterError("--steps must be at least 2 (the two noises themselves)")
    return [float(a) for a in np.linspace(0.0, 1.0, steps)]


def load_noise(path: Path) -> torch.Tensor:
    """A noise tensor as the course ships it (``torch.save`` of a tensor, e.g. 1x4x64x64)."""
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError) as exc:
        raise AdapterError(f"{path}: cannot read a noise tensor ({exc})") from exc
    if not isinstance(value, torch.Tensor) or value.dim() not in (3, 4):
        raise AdapterError(f"{path}: expected a tensor of shape [1, C, H, W] or [C, H, W]")
    return value if value.dim() == 4 else value.unsqueeze(0)


def seeded_noise(pipe: Any, seed: int, size: int | None = None) -> torch.Tensor:
    """The initial noise the pipe would draw for ``seed`` (CPU generator, the pipe's latent shape)."""
    channels = pipe.unet.config.in_channels
    side = (size or pipe.unet.config.sample_size * pipe.vae_scale_factor) // pipe.vae_scale_factor
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return torch.randn((1, channels, side, side), generator=generator, dtype=torch.float32)


def render(pipe: Any, prompt: str, noise: torch.Tensor, steps: int, guidance: float, call: dict) -> Image.Image:
    """One image from ``noise`` as the initial latents (its shape sets the image size)."""
    expected = pipe.unet.config.in_channels
    if noise.shape[1] != expected:
        raise AdapterError(f"noise has {noise.shape[1]} channels; this base's UNet takes {expected}")
    side_h, side_w = (d * pipe.vae_scale_factor for d in noise.shape[-2:])
    latents = noise.to(pipe.device, dtype=pipe.unet.dtype)
    result = pipe(
        prompt,
        latents=latents,
        height=side_h,
        width=side_w,
        num_inference_steps=steps,
        guidance_scale=guidance,
        **call,
    )
    return result.images[0]


def strip(images: list[Image.Image]) -> Image.Image:
    return grid([images])


def grid(rows: list[list[Image.Image]]) -> Image.Image:
    """Rows of equally sized images as one picture."""
    w, h = rows[0][0].size
    sheet = Image.new("RGB", (w * max(len(r) for r in rows), h * len(rows)), "white")
    for y, row in enumerate(rows):
        for x, image in enumerate(row):
            sheet.paste(image, (x * w, y * h))
    return sheet
