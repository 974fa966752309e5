"""Reading image files with errors that name the file."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, UnidentifiedImageError

from grader.errors import InputError
from grader.specs import DEFAULT_LOADER

if TYPE_CHECKING:
    import numpy as np

# Sources whose OpenCV decoding (cv2.imread, what deepface reads a path with) is the same, pixel for pixel, as
# Pillow's RGB conversion turned to BGR and to the EXIF orientation: the 8-bit modes of the formats below (a test
# compares them on every combination). CMYK JPEGs differ by a step and 16-bit images by their scaling: those
# are decoded by OpenCV itself.
_AS_OPENCV_FORMATS = frozenset({"JPEG", "PNG", "BMP", "WEBP"})
_AS_OPENCV_MODES = frozenset({"RGB", "RGBA", "L", "LA", "P", "PA"})
_ORIENTATION = 0x0112
# EXIF orientation -> the transposition that shows the image upright (as OpenCV does when it reads a file).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class DecodedImage:
    """One image file decoded once for a whole grade: every encoder that embeds it reads this."""

    path: Path
    rgb: Image.Image  # as the course code reads it: Image.open(path).convert("RGB")
    format: str | None
    mode: str  # the file's own mode, before the RGB conversion
    orientation: int  # EXIF orientation (1: as stored; 0: unreadable)
    digest: str = ""  # SHA-256 of the very bytes decoded: the cache key of whatever is computed from them

    def as_opencv(self) -> np.ndarray | None:
        """The BGR array cv2.imread(path) gives, made from this decoding; None when it could differ."""
        import numpy as np

        if self.format not in _AS_OPENCV_FORMATS or self.mode not in _AS_OPENCV_MODES:
            return None
        if self.orientation != 1 and (self.format not in ("JPEG", "PNG") or self.orientation not in _UPRIGHT):
            return None
        upright = self.rgb.transpose(_UPRIGHT[self.orientation]) if self.orientation != 1 else self.rgb
        return np.ascontiguousarray(np.asarray(upright)[:, :, ::-1])


@contextmanager
def _named_errors(path: Path) -> Iterator[None]:
    """Pillow's errors as an InputError naming the file and the problem."""
    try:
        yield
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no longer there (removed while being graded?)") from exc
    except PermissionError as exc:
        raise InputError(f"{path}: cannot be read (permission denied)") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: not a regular file") from exc
    except UnidentifiedImageError as exc:
        raise InputError(f"{path}: not a readable image ({exc.__class__.__name__})") from exc
    except Image.DecompressionBombError as exc:
        # Opening it again to read its size would raise again: Pillow's message carries the pixel count.
        raise InputError(f"{path}: too large to decode safely ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: cannot decode image: {exc}") from exc


def loader_key(loader: str) -> str:
    """What a cache key of pixels from ``loader`` carries beside the file's hash (nothing for the default):
    the same bytes loaded another way are other pixels."""
    return "" if loader == DEFAULT_LOADER else f"+{loader}"


def decode(path: Path, loader: str = DEFAULT_LOADER) -> DecodedImage:
    """Decode ``path`` fully, or raise InputError naming the file and the problem. The file is read once and its
    bytes hashed and decoded from memory, so the digest always names the pixels (a file replaced meanwhile
    cannot pair new bytes with old pixels). ``loader``: see ``LayoutBase.loader``."""
    with _named_errors(path):
        data = Path(path).read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            img.filename = str(path)  # named in Pillow's messages, as a file would be
            img.load()
            digest = hashlib.sha256(data).hexdigest() + loader_key(loader)
            rgb = _upright_on_white(img) if loader == "upright-on-white" else img.convert("RGB")
            return DecodedImage(path, rgb, img.format, img.mode, _orientation(img), digest)


def _upright_on_white(img: Image.Image) -> Image.Image:
    """EXIF orientation applied, a transparent image laid on white, then RGB (DreamBench++'s load_image)."""
    from PIL import ImageOps

    upright = ImageOps.exif_transpose(img)
    if upright.mode == "RGBA":
        upright = Image.alpha_composite(Image.new("RGBA", upright.size, "white"), upright)
    return upright.convert("RGB")


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(_ORIENTATION, 1)
    except Exception:  # a malformed EXIF block: Pillow raises many kinds; the pixels are still good
        return 0
    return value if isinstance(value, int) and 1 <= value <= 8 else 0


def open_rgb(path: Path) -> Image.Image:
    """Decode ``path`` fully into an RGB image, or raise InputError naming the file and the problem."""
    return decode(path).rgb


def image_header(path: Path) -> tuple[tuple[int, int], str]:
    """Size and mode from the file's header (nothing decoded), or InputError unless it opens as an image of a
    size Pillow agrees to decode (a truncated file passes, and fails when decoded)."""
    with _named_errors(path), Image.open(path) as img:
        return img.size, img.mode
