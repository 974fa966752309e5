"""How the hostile cases break a copy of a course fixture: files rewritten, renamed, linked, zipped."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image


def first(folder: Path, pattern: str = "*") -> Path:
    return sorted(p for p in folder.rglob(pattern) if p.is_file() and not p.is_symlink())[0]


def ml_image(sub: Path, name: str = "0.jpg") -> Path:
    return sub / "object-1" / name


def write_as(path: Path, image: Image.Image, fmt: str, **kwargs) -> None:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    path.write_bytes(buffer.getvalue())


def photo(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def replace(path: Path, image: Image.Image, fmt: str = "PNG", **kwargs) -> None:
    """Same name, other contents (the extension may no longer match the format: Pillow reads by content)."""
    write_as(path, image, fmt, **kwargs)


def rename(path: Path, name: str) -> None:
    path.rename(path.with_name(name))


def zip_of(
    sub: Path,
    names: Callable[[str], str],
    extra: dict[str, bytes] | None = None,
    only: dict[str, bytes] | None = None,
    method: int = zipfile.ZIP_STORED,
) -> Path:
    """The submission zipped beside it, each member named by ``names``, plus ``extra`` members (``only``: just
    those)."""
    archive = sub.parent / "submission.zip"
    with zipfile.ZipFile(archive, "w", method) as z:
        for path in sorted(sub.rglob("*")) if only is None else []:
            if path.is_file():  # ZipInfo keeps a name as given (ZipFile.write would strip a leading "/")
                info = zipfile.ZipInfo(names(path.relative_to(sub).as_posix()))
                info.compress_type = method
                z.writestr(info, path.read_bytes())
        for name, data in (only or {}).items():
            z.writestr(name, data)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return archive


def metadata(data: Path) -> Path:
    return data / "metadata.json"


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    value = json.loads(path.read_text("utf-8"))
    change(value)
    path.write_text(json.dumps(value, indent=2), "utf-8")


def animated(path: Path) -> None:
    base = photo(path)
    frames = [base, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    path.write_bytes(buffer.getvalue())


def exif_rotated(path: Path) -> None:
    image = photo(path)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    write_as(path, image, "JPEG", exif=exif.tobytes(), quality=95)


def sixteen_bit(path: Path) -> None:
    grey = np.asarray(photo(path).convert("L"), dtype=np.uint16) * 257
    write_as(path, Image.fromarray(grey), "PNG")


def non_utf8_name(path: Path) -> None:
    target = os.path.join(os.fsencode(path.parent), b"\xff\xfe" + os.fsencode(path.name))
    os.rename(os.fsencode(path), target)


def bomb_png(path: Path, side: int) -> None:
    # A one-colour image compresses to almost nothing, whatever its size.
    Image.new("L", (side, side), 128).save(path, "PNG", optimize=False, compress_level=9)


def symlink(path: Path, target: Path) -> None:
    path.unlink()
    path.symlink_to(target)


def loop(path: Path) -> None:
    other = path.with_name("loop.jpg")
    path.unlink()
    path.symlink_to(other)
    other.symlink_to(path)


def zip_bomb(sub: Path) -> Path:
    """One member of 600 MB of zeros (a few hundred KB compressed), written in chunks."""
    archive = sub.parent / "submission.zip"
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z, z.open("results/object-1/0.jpg", "w") as member:
        for _ in range(600):
            member.write(chunk)
    return archive


def outside(sub: Path) -> Path:
    secret = sub.parent / "secret.txt"
    secret.write_text("not the grader's to read")
    return secret


def _headers(data: bytearray, signature: bytes) -> list[int]:
    found, at = [], data.find(signature)
    while at != -1:
        found.append(at)
        at = data.find(signature, at + 4)
    return found


def corrupt_zip(sub: Path, how: str) -> Path:
    """The submission zipped (under ``results/``) and then damaged as ``how`` says: a flipped byte in a stored
    image (crc), in a compressed stream (deflate), the encryption flag set (encrypted), the Deflate64 method
    (deflate64, as Windows Explorer writes large archives), sizes in the directory that lie (sizes), or only the
    second half of the file, as one part of a split archive holds (split)."""
    stored = how in ("crc", "sizes")
    archive = zip_of(sub, lambda n: f"results/{n}", method=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    data = bytearray(archive.read_bytes())
    local, central = _headers(data, b"PK\x03\x04"), _headers(data, b"PK\x01\x02")
    if how == "crc":
        data[local[0] + 30 + len("results/object-1/0.jpg") + 200] ^= 0xFF
    elif how == "deflate":
        for k in range(local[0] + 60, local[0] + 260):
            data[k] ^= 0x55
    elif how == "encrypted":
        for at in local:
            data[at + 6] |= 1
        for at in central:
            data[at + 8] |= 1
    elif how == "deflate64":
        for at in local:
            data[at + 8] = 9
        for at in central:
            data[at + 10] = 9
    elif how == "sizes":
        for at in central:
            data[at + 24 : at + 28] = (5).to_bytes(4, "little")
    elif how == "split":
        data = data[len(data) // 2 :]
    archive.write_bytes(bytes(data))
    return archive
