"""Reading image files with errors that name the file."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from grader.errors import InputError


def open_rgb(path: Path) -> Image.Image:
    """Decode ``path`` fully into an RGB image, or raise InputError naming the file and the problem."""
    try:
        with Image.open(path) as img:
            img.load()
            return img.convert("RGB")
    except UnidentifiedImageError as exc:
        raise InputError(f"{path}: not a readable image ({exc.__class__.__name__})") from exc
    except Image.DecompressionBombError as exc:
        w, h = image_size(path)
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6
        raise InputError(f"{path}: image is {w}x{h}, over the {limit:.0f} MP safety limit") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: cannot decode image: {exc}") from exc


def image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as img:
        return img.size
