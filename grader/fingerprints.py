"""What an image looks like, in a few bytes: perceptual hashes (as shown and mirrored) and its mean colour.

Perceptual hashes (imagehash's pHash: DCT of a 32x32 greyscale thumbnail, 64 bits) stay within a few bits of
each other under resizing and re-encoding, but not under crops of more than a few percent: centred crops are
hashed too, so a zoomed-in copy matches one of them. Hashes of the mirrored image catch flips. pHash
sees no colour, so the same layout in other colours would match: the mean colour tells those apart. All are
made from the grade's one decoding of the image and kept in the cache beside the fact that the file decodes,
so a re-grade reads them without decoding anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, ImageStat

# Centred crops hashed besides the whole image, as a share of each side: a zoomed-in copy matches one of them.
INSETS = (0.0, 0.025, 0.05, 0.075, 0.1, 0.125)


@dataclass(frozen=True)
class VisualHash:
    shown: tuple[int, ...]  # 64-bit pHash of the image and of its centred crops (one per INSETS)
    mirrored: tuple[int, ...]  # the same, of the image flipped left to right
    colour: tuple[int, int, int]  # mean R, G, B

    def encode(self) -> str:
        hashes = ",".join(f"{h:016x}" for h in self.shown + self.mirrored)
        return hashes + ":" + "".join(f"{c:02x}" for c in self.colour)

    @classmethod
    def decode(cls, text: str) -> VisualHash | None:
        try:
            hashes, c = text.split(":")
            values = tuple(int(h, 16) for h in hashes.split(","))
            colour = (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16))
        except (ValueError, IndexError):
            return None
        n = len(INSETS)
        return cls(values[:n], values[n:], colour) if len(values) == 2 * n else None


def _phash(image: Image.Image) -> int:
    import imagehash  # imported on first use: a cached re-grade never hashes

    bits = imagehash.phash(image).hash.flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def _crops(image: Image.Image) -> list[Image.Image]:
    w, h = image.size
    return [image.crop((round(w * f), round(h * f), w - round(w * f), h - round(h * f))) for f in INSETS]


def visual_hash(image: Image.Image) -> VisualHash:
    red, green, blue = (round(c) for c in ImageStat.Stat(image.convert("RGB")).mean[:3])
    colour = (red, green, blue)
    shown = tuple(_phash(c) for c in _crops(image))
    mirrored = tuple(_phash(c) for c in _crops(ImageOps.mirror(image)))
    return VisualHash(shown, mirrored, colour)


def colour_distance(a: list[tuple[int, int, int]], b: list[tuple[int, int, int]]) -> np.ndarray:
    """Largest per-channel difference of mean colours between every pair (``[len(a), len(b)]``)."""
    a16, b16 = np.asarray(a, dtype=np.int16), np.asarray(b, dtype=np.int16)  # 0..255: differences fit
    return np.abs(a16[:, None, :] - b16[None, :, :]).max(axis=-1)


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)  # set bits of each byte value


def hamming(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> np.ndarray:
    """Bit distances between every pair of 64-bit hashes (``[len(a), len(b)]``, uint8). Byte by byte through a
    table: a class's worth of images compares in a few bytes per pair (numpy 1.x has no bitwise_count)."""
    a = np.asarray(a, dtype=np.uint64)
    b = np.asarray(b, dtype=np.uint64)
    differing = np.ascontiguousarray(a[:, None] ^ b[None, :]).view(np.uint8).reshape(len(a), len(b), 8)
    return _POPCOUNT[differing].sum(axis=-1, dtype=np.uint8)
