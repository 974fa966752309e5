"""Scores do not depend on how the work is split: the batch size of the encoders or the order of the files on
disk move per-image scores by float rounding only (stated tolerance: 1e-4 on 100·cos), which is why neither is
part of the embedding cache's key. The settings record both."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import grader
from grader.paths import fixtures_dir

pytestmark = pytest.mark.transformers

COURSE = fixtures_dir() / "courses" / "ml2025-hw10"
TOLERANCE = 1e-4


def _by_content(result, root: Path) -> dict[tuple[str, bytes], dict[str, float]]:
    """Each image's scores keyed by its subject and its bytes (names may differ between the runs)."""
    return {(i.subject, (root / i.file).read_bytes()): i.scores for i in result.images}


def _largest_gap(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(abs(a[k][m] - b[k][m]) for k in a for m in a[k])


def test_batch_sizes_and_file_order_move_nothing_but_rounding(tmp_path, tiny_models):
    submission, data = COURSE / "results", COURSE / "data"
    runs = {
        size: grader.grade(submission, "ml2025-hw10", data, models=tiny_models, cache=False, batch_size=size)
        for size in (1, 3, 32)
    }
    assert runs[3].settings["batch_size"] == 3 and "device" in runs[3].settings
    base = _by_content(runs[1], submission)
    for size in (3, 32):
        assert _largest_gap(base, _by_content(runs[size], submission)) < TOLERANCE, size

    # The same images under names whose natural order is the reverse: each subject's 0.jpg is now 14.jpg.
    reversed_root = tmp_path / "reversed"
    for folder in sorted(p for p in submission.iterdir() if p.is_dir()):
        names = sorted((p.name for p in folder.iterdir()), key=lambda n: int(Path(n).stem))
        (reversed_root / folder.name).mkdir(parents=True)
        for name, new in zip(names, reversed(names), strict=True):
            shutil.copyfile(folder / name, reversed_root / folder.name / new)
    reversed_run = grader.grade(reversed_root, "ml2025-hw10", data, models=tiny_models, cache=False, batch_size=3)
    assert _largest_gap(base, _by_content(reversed_run, reversed_root)) < TOLERANCE
    for before, after in zip(runs[1].subjects, reversed_run.subjects, strict=True):
        for name in before.metrics:
            gap = abs(before.metrics[name].value - after.metrics[name].value)
            assert gap < TOLERANCE, (before.subject, name)
