"""Generated images that are copies of a reference, or of each other.

A copy keeps its score (the course would count it); it is flagged, and ``--strict-copies`` makes it a problem.
Three signs, strongest first: the same file contents; perceptual hashes at most ``PHASH_BITS`` of 64 bits apart
(whole, centred crops or mirrored: survives resizing, re-encoding, zooming in and flips) with mean colours at most
``COLOUR_STEPS`` apart per channel (pHash sees no colour); a similarity at or above a metric's ``copy_line``
with the task's own encoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.cache import file_digest
from grader.errors import InputError
from grader.fingerprints import VisualHash, colour_distance, hamming, visual_hash
from grader.images import open_rgb

PHASH_BITS = 4
SAME_BITS = 2  # between two submissions: the same picture, re-saved
COLOUR_STEPS = 16  # of 255
COPY_FLAG, DUPLICATE_FLAG = "copy of reference", "duplicate of"


@dataclass(frozen=True)
class Looks:
    """What is compared: each file's content hash and perceptual hashes (None when it does not decode)."""

    digest: str
    visual: VisualHash | None


def looks_of(paths: list[Path], known: dict[Path, VisualHash]) -> dict[Path, Looks]:
    """Hashes of ``paths``, taken from the grade's decoding where it has them (decoding only other files)."""
    looks = {}
    for path in dict.fromkeys(paths):
        visual = known.get(path)
        if visual is None:
            try:
                visual = visual_hash(open_rgb(path))
            except InputError:
                visual = None
        try:
            digest = file_digest(path)
        except OSError:  # gone or unreadable since it was listed: no byte-for-byte match to find
            digest = f"unreadable:{path}"
        looks[path] = Looks(digest, visual)
    return looks


def _closest(a: list[tuple[int, ...]], b: list[tuple[int, ...]]) -> np.ndarray:
    """Per pair, the fewest differing bits between one image whole and the other whole or cropped."""
    whole_a, whole_b = [h[0] for h in a], [h[0] for h in b]
    closest = hamming(whole_a, whole_b)
    for k in range(1, len(b[0])):  # a running minimum: memory stays one matrix, not one per crop
        np.minimum(closest, hamming(whole_a, [h[k] for h in b]), out=closest)
    for k in range(1, len(a[0])):
        np.minimum(closest, hamming([h[k] for h in a], whole_b), out=closest)
    return closest


def _hashed(
    a: list[VisualHash | None], b: list[VisualHash | None]
) -> tuple[list[int], list[int], list[VisualHash], list[VisualHash], np.ndarray]:
    """Indices of the images with hashes on each side, those hashes, and for those pairs whether their mean
    colours agree."""
    ia, ha = [i for i, v in enumerate(a) if v], [v for v in a if v]
    ib, hb = [j for j, v in enumerate(b) if v], [v for v in b if v]
    if not ia or not ib:
        return ia, ib, ha, hb, np.zeros((len(ia), len(ib)), dtype=bool)
    return ia, ib, ha, hb, colour_distance([v.colour for v in ha], [v.colour for v in hb]) <= COLOUR_STEPS


def near(a: list[VisualHash | None], b: list[VisualHash | None]) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: pHash bit distance as shown, and to the mirrored second image; 64 (never near) where a hash
    is missing or the mean colours differ."""
    shown = np.full((len(a), len(b)), 64, dtype=np.uint8)
    flipped = shown.copy()
    ia, ib, ha, hb, alike = _hashed(a, b)
    if ia and ib:
        grid = np.ix_(ia, ib)
        seen = [h.shown for h in ha]
        shown[grid] = np.where(alike, _closest(seen, [h.shown for h in hb]), 64)
        flipped[grid] = np.where(alike, _closest(seen, [h.mirrored for h in hb]), 64)
    return shown, flipped


def same_picture(a: list[VisualHash | None], b: list[VisualHash | None]) -> np.ndarray:
    """Per pair, whether the two are the same picture re-encoded or resized: whole-image pHashes at most
    ``SAME_BITS`` apart and mean colours alike (no crops, no mirroring: stricter than a copy of a reference)."""
    same = np.zeros((len(a), len(b)), dtype=bool)
    ia, ib, ha, hb, alike = _hashed(a, b)
    if ia and ib:
        close = hamming([h.shown[0] for h in ha], [h.shown[0] for h in hb]) <= SAME_BITS
        same[np.ix_(ia, ib)] = close & alike
    return same


def _why(same: bool, shown: int, flipped: int, similarity: tuple[str, float, float] | None) -> str | None:
    if same:
        return "same file"
    if shown <= PHASH_BITS:
        return f"perceptual hash {shown} bits apart"
    if flipped <= PHASH_BITS:
        return f"mirrored, perceptual hash {flipped} bits apart"
    if similarity is not None:
        label, value, line = similarity
        return f"{label} {value:.1f} >= {line:g}"
    return None


def reference_copies(
    images: list[Path],
    references: list[Path],
    looks: dict[Path, Looks],
    similar: list[tuple[str, np.ndarray, float]] | None = None,
) -> dict[int, str]:
    """Per generated image (by index) that copies a reference, the flag saying which and why.
    ``similar`` holds (metric label, [images x references] scores, copy line) for metrics with a copy line."""
    shown, flipped = near([looks[p].visual for p in images], [looks[r].visual for r in references])
    flags = {}
    for i, image in enumerate(images):
        for j, reference in enumerate(references):
            over = next(((lab, float(s[i, j]), line) for lab, s, line in similar or [] if s[i, j] >= line), None)
            why = _why(looks[image].digest == looks[reference].digest, shown[i, j], flipped[i, j], over)
            if why:
                flags[i] = f"{COPY_FLAG} {j + 1} ({reference.name}): {why}"
                break
    return flags


def duplicates(images: list[Path], looks: dict[Path, Looks], name: dict[Path, str]) -> dict[Path, str]:
    """Per generated image that repeats an earlier one of the submission, the flag naming the first."""
    if not images:
        return {}
    shown, flipped = near([looks[p].visual for p in images], [looks[p].visual for p in images])
    contents = np.unique([looks[p].digest for p in images], return_inverse=True)[1]
    same = contents[:, None] == contents[None, :]
    earlier = np.tril(same | (shown <= PHASH_BITS) | (flipped <= PHASH_BITS), k=-1)  # pairs j < i that match
    flags = {}
    for i in np.flatnonzero(earlier.any(axis=1)):
        j = int(np.argmax(earlier[i]))  # the first of them
        why = _why(bool(same[i, j]), int(shown[i, j]), int(flipped[i, j]), None)
        flags[images[i]] = f"{DUPLICATE_FLAG} {name[images[j]]}: {why}"
    return flags
