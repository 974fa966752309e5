"""Counting how often each image file's pixels are decoded, by Pillow or by OpenCV (deepface's reader)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def counting_decodes() -> Iterator[Counter]:
    """Within the block, every decoding of a file's pixels is counted by resolved path."""
    import cv2
    from PIL import ImageFile

    counts: Counter = Counter()
    load, imread = ImageFile.ImageFile.load, cv2.imread

    def counted_load(self):
        if self.tile:  # pixels still to decode (a second load() returns what the first decoded)
            counts[Path(self.filename).resolve()] += 1
        return load(self)

    def counted_imread(path, *args):
        counts[Path(path).resolve()] += 1
        return imread(path, *args)

    ImageFile.ImageFile.load, cv2.imread = counted_load, counted_imread  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        ImageFile.ImageFile.load, cv2.imread = load, imread  # type: ignore[method-assign]
