"""Hostile timing and a hostile machine: files replaced or removed while they are graded, disks that fill up, a
SIGTERM mid-grade. Each must end as the user's problem (or a warning), never as exit 4, and leave nothing behind."""

from __future__ import annotations

import errno
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

import grader
import grader.images
from grader.cache import EmbeddingCache, file_digest
from grader.cli import app
from grader.grading import GradeOptions, Resources, grade
from grader.paths import fixtures_dir
from grader.tasks import load_task

COURSE = fixtures_dir() / "courses" / "ml2025-hw10"


@pytest.fixture
def course(tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(COURSE, tmp_path / "course")
    return tmp_path / "course" / "results", tmp_path / "course" / "data"


def _scores(result, file: str) -> dict[str, float]:
    return next(i.scores for i in result.images if i.file == file)


def test_an_image_replaced_after_its_decoding_never_poisons_the_cache(course, tiny_models, tmp_path, monkeypatch):
    """The file changes between its decoding and the cache's write: the vector is stored under the hash of the
    bytes decoded, so the next grade scores the new file, not the old pixels under the new file's name."""
    submission, data = course
    target = submission / "object-1" / "0.jpg"
    with Image.open(submission / "object-2" / "5.jpg") as img:  # bytes no other file of the grade has
        new = io.BytesIO()
        img.transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(new, "JPEG", quality=90)
    real = grader.images.decode

    def decode_then_replace(path: Path, *how):
        image = real(path, *how)
        if Path(path) == target:
            target.write_bytes(new.getvalue())  # replaced once read: the grade holds the old pixels
        return image

    task, options = load_task("ml2025-hw10"), GradeOptions(models_dir=tiny_models)
    cache = Resources(EmbeddingCache(tmp_path / "e.sqlite"))
    monkeypatch.setattr(grader.images, "decode", decode_then_replace)
    grade(task, submission, data, options, resources=cache)
    monkeypatch.setattr(grader.images, "decode", real)
    again = grade(task, submission, data, options, resources=cache)
    fresh = grade(task, submission, data, options, resources=Resources(EmbeddingCache(tmp_path / "fresh.sqlite")))
    assert _scores(again, "object-1/0.jpg") == _scores(fresh, "object-1/0.jpg")
    assert cache.cache.decoded(file_digest(target)) is not None  # what it learnt is of bytes it saw


def test_an_image_removed_mid_grade_is_that_images_problem(course, tiny_models, tmp_path, monkeypatch):
    submission, data = course
    target = submission / "object-3" / "7.jpg"
    real = grader.images.decode

    def removed_first(path: Path, *how):
        if Path(path) == target:
            target.unlink()
        return real(path, *how)

    monkeypatch.setattr(grader.images, "decode", removed_first)
    result = grader.grade(submission, "ml2025-hw10", data, models=tiny_models, cache=tmp_path / "cache")
    assert int(result.exit_code) == 2
    named = [p for p in result.all_problems if p.file.endswith("object-3/7.jpg")]
    assert named and "no longer there" in named[0].message
    assert {s.subject for s in result.subjects if s.metrics["dino"].value is not None} >= {"object-1", "object-6"}


def test_a_full_disk_keeps_the_old_report_and_is_a_usage_error(course, tiny_models, tmp_path, monkeypatch):
    import grader.report.files as files

    submission, data = course
    report = tmp_path / "report.json"
    report.write_text("the previous report")

    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "replace", full)
    args = ["check", str(submission), "--task", "ml2025-hw10", "--data", str(data), "--models", str(tiny_models)]
    res = CliRunner().invoke(app, [*args, "--cache-dir", str(tmp_path / "cache"), "--json", str(report)])
    assert res.exit_code == 2 and "No space left on device" in res.output, res.output
    assert report.read_text() == "the previous report"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report.json.")]  # no temporary left


class _FullDatabase:
    """A cache connection whose writes fail as on a full disk; reads go through."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def execute(self, sql: str, *args):
        if sql.split()[0].upper() in ("INSERT", "BEGIN", "DELETE", "REPLACE"):
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def executemany(self, sql: str, *args):
        raise sqlite3.OperationalError("database or disk is full")

    def close(self) -> None:
        self.db.close()


def test_a_cache_that_cannot_store_is_a_warning(course, tiny_models, tmp_path):
    submission, data = course
    cache = EmbeddingCache(tmp_path / "e.sqlite")
    cache._db = _FullDatabase(cache._db)  # type: ignore[assignment]
    result = grade(
        load_task("ml2025-hw10"), submission, data, GradeOptions(models_dir=tiny_models), None, Resources(cache)
    )
    assert int(result.exit_code) == 1  # graded, below the test models' line
    warned = [p for p in result.problems if "cannot write to the embedding cache" in p.message]
    assert warned and warned[0].severity == "warning" and "disk is full" in warned[0].message


@pytest.mark.skipif(os.name == "nt", reason="SIGTERM is a POSIX signal")
def test_sigterm_mid_grade_removes_the_unpacked_zip(course, tiny_models, tmp_path):
    submission, data = course
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(submission.rglob("*.jpg")):
            z.write(path, path.relative_to(submission.parent).as_posix())
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "HF_HUB_OFFLINE": "1"}
    args = [sys.executable, "-m", "grader", "check", str(archive), "--task", "ml2025-hw10", "--data", str(data)]
    process = subprocess.Popen(
        [*args, "--models", str(tiny_models), "--no-cache"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 120
    while not list(scratch.glob("t2i-grader-*")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(scratch.glob("t2i-grader-*")), "the zip was never unpacked"
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=120)[0].decode()
    assert process.returncode == 143, output
    assert "terminated" in output and "Traceback" not in output
    assert not list(scratch.glob("t2i-grader-*")), "the unpacked copy was left behind"
