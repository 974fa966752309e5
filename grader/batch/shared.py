"""Students whose images are the same or near-identical: information for the TA, not a verdict.

Within each subject, every student's images are compared with every other student's by content hash and by
the whole-image perceptual hash the grade stored in the cache (``grader.copies.same_picture``: re-saved or
resized copies; crops and mirror images, which ``grader.copies`` looks for against references, are left out
here because different students' images of one prompt can be that alike).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from grader.cache import EmbeddingCache
from grader.copies import same_picture
from grader.fingerprints import VisualHash
from grader.result import GradeResult


@dataclass(frozen=True)
class SharedPair:
    first: str
    second: str
    images: int  # images of ``first`` that match one of ``second``'s
    examples: tuple[str, ...]  # a few "file = file" matches

    def describe(self) -> str:
        return f"{self.first} and {self.second}: {self.images} shared image(s), e.g. {', '.join(self.examples)}"


def shared_images(results: dict[str, GradeResult], cache: EmbeddingCache | None) -> list[SharedPair]:
    """Pairs of students (sorted) with at least one same or near-identical image in the same subject."""
    by_subject: dict[str, list[tuple[str, str, str, VisualHash | None]]] = defaultdict(list)
    for student, result in sorted(results.items()):
        for image in result.images:
            visual = VisualHash.decode(cache.decoded(image.sha256) or "") if cache and image.sha256 else None
            by_subject[image.subject].append((student, image.file, image.sha256, visual))
    matches: dict[tuple[str, str], list[str]] = defaultdict(list)
    for rows in by_subject.values():
        owners = np.array([r[0] for r in rows])
        digests = np.array([r[2] or f"none-{i}" for i, r in enumerate(rows)])
        looks = [r[3] for r in rows]
        close = (digests[:, None] == digests[None, :]) | same_picture(looks, looks)
        close &= owners[:, None] < owners[None, :]  # each pair of students once, never a student with itself
        for i, j in zip(*np.nonzero(close), strict=True):
            matches[(rows[i][0], rows[j][0])].append(f"{rows[i][1]} = {rows[j][1]}")
    return [
        SharedPair(a, b, len({m.split(" = ")[0] for m in found}), tuple(found[:3]))
        for (a, b), found in sorted(matches.items())
    ]
