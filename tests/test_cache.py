"""The embedding cache: re-grading recomputes only what changed; corruption and sharing are handled."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grader.cache import EmbeddingCache
from grader.cli import app
from grader.grading import GradeOptions, Resources, grade
from grader.tasks import load_task

# Their outcome depends on transformers (its models, processors or tokenizers): also run on 4.x.
pytestmark = pytest.mark.transformers


def _grade(root: Path, models: Path, cache: EmbeddingCache | None, dtype: str | None = None):
    options = GradeOptions(models_dir=models, dtype=dtype)
    return grade(load_task("ml2025-hw10"), root / "submission", root / "data", options, resources=Resources(cache))


def _scores(result) -> list[dict]:
    return [i.scores for i in result.images]


def test_warm_regrade_computes_nothing_and_one_change_computes_one(ml2025, tiny_models, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    cold = _grade(ml2025, tiny_models, cache)
    assert cold.settings["embeddings_computed"] == {"DINO": 96, "CLIP-T": 90}  # CLIP-T needs no reference photos
    warm = _grade(ml2025, tiny_models, cache)
    assert warm.settings["embeddings_computed"] == {"DINO": 0, "CLIP-T": 0}
    assert _scores(warm) == _scores(cold)

    path = ml2025 / "submission" / "object-2" / "7.png"
    Image.open(path).transpose(Image.FLIP_LEFT_RIGHT).save(path)
    changed = _grade(ml2025, tiny_models, cache)
    assert changed.settings["embeddings_computed"] == {"DINO": 1, "CLIP-T": 1}
    uncached = _grade(ml2025, tiny_models, None)
    for a, b in zip(_scores(changed), _scores(uncached), strict=True):
        assert a == pytest.approx(b, abs=1e-4)  # batch composition moves float32 sums slightly


def test_corrupt_entry_is_detected_and_recomputed(ml2025, tiny_models, tmp_path):
    path = tmp_path / "cache.sqlite"
    cold = _grade(ml2025, tiny_models, EmbeddingCache(path))
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT rowid FROM embeddings WHERE encoder NOT LIKE '%:text' LIMIT 1").fetchone()[0]
        db.execute("UPDATE embeddings SET data = zeroblob(LENGTH(data)) WHERE rowid = ?", (row,))
    cache = EmbeddingCache(path)
    again = _grade(ml2025, tiny_models, cache)
    assert cache.stats.corrupt == 1
    assert sum(again.settings["embeddings_computed"].values()) == 1
    for a, b in zip(_scores(again), _scores(cold), strict=True):
        assert a == pytest.approx(b, abs=1e-4)  # the recomputed image ran in a batch of its own


def test_a_file_that_is_not_a_database_is_set_aside(tmp_path):
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    cache = EmbeddingCache(path)
    cache.put_many([("k", np.ones(3), "")], "enc")
    assert cache.get_many(["k"], "enc")["k"][0].tolist() == [1, 1, 1]
    (aside,) = tmp_path.glob("cache.sqlite.corrupt-*")
    assert aside.read_bytes().startswith(b"this is not sqlite") and cache.stats.moved_aside == str(aside)


def test_overwritten_pages_move_the_cache_aside_and_the_grade_runs_cold(ml2025, tiny_models, tmp_path):
    path = tmp_path / "embeddings.sqlite"
    options, resources = GradeOptions(models_dir=tiny_models), Resources(EmbeddingCache(path))
    task = load_task("ml2025-hw10")
    first = grade(task, ml2025 / "submission", ml2025 / "data", options, resources=resources)
    resources.cache.close()
    data = bytearray(path.read_bytes())
    for start in range(4096, len(data), 8192):  # overwrite every other page after the header
        data[start : start + 4096] = b"\xff" * len(data[start : start + 4096])
    path.write_bytes(bytes(data))
    for part in tmp_path.glob("embeddings.sqlite-*"):
        part.unlink()
    damaged = Resources(EmbeddingCache(path))
    again = grade(task, ml2025 / "submission", ml2025 / "data", options, resources=damaged)
    for a, b in zip(_scores(again), _scores(first), strict=True):
        assert a == pytest.approx(b, abs=1e-4)
    (aside,) = [p for p in tmp_path.glob("embeddings.sqlite.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]
    warnings = [p for p in again.problems if p.severity == "warning" and "damaged" in p.message]
    assert warnings and str(aside) in warnings[0].message and again.verdict == first.verdict


def test_two_writers_share_one_cache(tmp_path):
    path = tmp_path / "cache.sqlite"
    EmbeddingCache(path)  # create the schema once

    def write(offset: int) -> None:
        cache = EmbeddingCache(path)
        for i in range(50):
            cache.put_many([(f"{offset}-{i}", np.full(4, i, dtype=np.float32), "")], "enc")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert EmbeddingCache(path).info()["entries"] == 100


def test_bf16_moves_scores_a_little(ml2025, tiny_models):
    fp32 = _grade(ml2025, tiny_models, None)
    bf16 = _grade(ml2025, tiny_models, None, dtype="bfloat16")
    diffs = [abs(a["dino"] - b["dino"]) for a, b in zip(_scores(fp32), _scores(bf16), strict=True)]
    assert 0 < max(diffs) < 5
    assert any("bfloat16" in n for n in bf16.notes)


def test_cache_commands(ml2025, tiny_models, tmp_path):
    runner = CliRunner()
    args = ["check", str(ml2025 / "submission"), "--task", "ml2025-hw10", "--data", str(ml2025 / "data")]
    res = runner.invoke(app, [*args, "--models", str(tiny_models), "--cache-dir", str(tmp_path)])
    assert res.exit_code in (0, 1), res.output
    info = runner.invoke(app, ["cache", "info", "--cache-dir", str(tmp_path)])
    assert "192 embeddings" in info.output  # DINO: 90 images + 6 references; CLIP-T: 90 images, 6 texts
    cleared = runner.invoke(app, ["cache", "clear", "--cache-dir", str(tmp_path)])
    assert "removed 192 embeddings" in cleared.output
