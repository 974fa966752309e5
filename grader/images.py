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
        # Opening it again to read its size would raise again: Pillow's message carries the pixel count.
        raise InputError(f"{path}: too large to decode safely ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: cannot decode image: {exc}") from exc


def image_header(path: Path) -> tuple[tuple[int, int], str]:
    """Size and mode from the file's header (nothing decoded)."""
    with Image.open(path) as img:
        return img.size, img.mode
