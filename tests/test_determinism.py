"""Same input, same numbers: cold twice, warm against cold, and whatever order the files sit in on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.cache import EmbeddingCache
from grader.grading import GradeOptions, Resources, grade
from grader.paths import fixtures_dir
from grader.tasks import load_task

# Their outcome depends on transformers (its models, processors or tokenizers): also run on 4.x.
pytestmark = pytest.mark.transformers

P3 = fixtures_dir() / "courses" / "dlcv2024-hw2-p3"


def _p3(submission: Path, options: GradeOptions, resources: Resources | None = None):
    data = P3 / "hw2_data" / "textual_inversion"
    return grade(load_task("dlcv2024-hw2-p3"), submission, data, options, resources=resources)


def _numbers(result) -> tuple:
    images = sorted((i.file, tuple(sorted(i.scores.items())), tuple(sorted(i.flags))) for i in result.images)
    subjects = [
        (s.subject, {n: (m.value, m.ci_low, m.ci_high, m.pass_probability) for n, m in s.metrics.items()})
        for s in result.subjects
    ]
    return images, subjects


def test_cold_twice_and_warm_give_identical_numbers(tiny_models, tmp_path):
    cold = [_numbers(_p3(P3 / "output", GradeOptions(models_dir=tiny_models))) for _ in range(2)]
    assert cold[0] == cold[1]
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    _p3(P3 / "output", GradeOptions(models_dir=tiny_models), Resources(cache))
    warm = _p3(P3 / "output", GradeOptions(models_dir=tiny_models), Resources(cache))
    assert sum(warm.settings["embeddings_computed"].values()) == 0
    assert _numbers(warm) == cold[0]


def test_order_of_files_on_disk_changes_nothing(tiny_models, tmp_path):
    shuffled = tmp_path / "output"
    files = sorted(p for p in (P3 / "output").rglob("*") if p.is_file())
    for path in reversed(files):  # created in the opposite order: another directory order on most filesystems
        target = shuffled / path.relative_to(P3 / "output")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    options = GradeOptions(models_dir=tiny_models)
    assert _numbers(_p3(shuffled, options)) == _numbers(_p3(P3 / "output", options))
    kept = [i.file for i in _p3(shuffled, options).images if "kept (top 5)" in i.flags]
    assert len(kept) == 5 * 4  # five per prompt, two prompts for each of the two concepts
