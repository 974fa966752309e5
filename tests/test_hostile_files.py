"""Files that try the grader: 16-bit greyscale, links out of the submission, a damaged cache (see test_cache)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from grader.grading import GradeOptions, Resources, grade
from grader.tasks import load_task


def _grade(root, models):
    return grade(load_task("ml2025-hw10"), root / "submission", root / "data", GradeOptions(models_dir=models))


def test_16_bit_greyscale_is_graded_as_the_course_would_and_flagged(ml2025, tiny_models):
    target = ml2025 / "submission" / "object-2" / "3.png"
    grey = np.asarray(Image.open(target).convert("L"), dtype=np.uint16) * 257
    Image.fromarray(grey).save(target)  # 16-bit PNG
    assert Image.open(target).mode.startswith("I")
    result = _grade(ml2025, tiny_models)
    (problem,) = [p for p in result.all_problems if p.file == "object-2/3.png"]
    assert problem.severity == "warning" and "16-bit greyscale image" in problem.message and "8-bit" in problem.message
    assert "dino" in next(i for i in result.images if i.file == "object-2/3.png").scores  # still graded


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
def test_links_out_of_the_submission_are_not_read(ml2025, tiny_models, tmp_path):
    secret = tmp_path / "secret.png"
    Image.new("RGB", (8, 8)).save(secret)
    folder = ml2025 / "submission" / "object-1"
    (folder / "3.png").unlink()
    (folder / "3.png").symlink_to(secret)
    (folder / "4.png").unlink()
    (folder / "4.png").symlink_to(ml2025 / "data" / "references" / "object-1.png")
    (folder / "5.png").unlink()
    (folder / "5.png").symlink_to(folder / "6.png")  # inside the submission: read
    result = _grade(ml2025, tiny_models)
    problems = {p.file: p.message for p in result.all_problems if p.severity == "error"}
    assert problems["object-1/3.png"] == f"is a link to {secret.resolve()}, outside the submission; not read"
    assert "a copy of a reference image" in problems["object-1/4.png"]
    assert "object-1/5.png" not in problems
    graded = {i.file for i in result.images}
    assert "object-1/5.png" in graded and not {"object-1/3.png", "object-1/4.png"} & graded
    assert result.subjects[1].verdict.value != "INCOMPLETE"  # the other subjects keep their grades


def test_an_unwritable_cache_folder_grades_without_a_cache(ml2025, tiny_models, monkeypatch):
    from typer.testing import CliRunner

    from grader.cli import app

    def refuse(self, path=None):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("grader.cache.EmbeddingCache.__init__", refuse)
    args = ["check", str(ml2025 / "submission"), "--task", "ml2025-hw10", "--data", str(ml2025 / "data")]
    res = CliRunner().invoke(app, [*args, "--models", str(tiny_models)])
    assert res.exit_code in (0, 1), res.output
    assert "cannot use the cache" in res.output and "grading without it" in res.output


def test_an_unreadable_subject_folder_is_that_subjects_problem(ml2025, tiny_models, monkeypatch):
    from pathlib import Path

    real = Path.iterdir
    locked = (ml2025 / "submission" / "object-2").resolve()

    def iterdir(self):
        if self.resolve() == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    result = _grade(ml2025, tiny_models)
    assert ("object-2", "cannot be read (Permission denied)") in [(p.file, p.message) for p in result.all_problems]
    assert result.subjects[0].metrics["dino"].value is not None  # the others are graded


def test_an_interrupted_grade_leaves_a_valid_cache_and_the_next_run_resumes(ml2025, tiny_models, tmp_path, monkeypatch):
    from grader.cache import EmbeddingCache
    from grader.encoders.clip import ClipEncoder

    real = ClipEncoder.encode_decoded
    embedded_before = []  # images CLIP embedded before Ctrl-C, chunk by chunk

    def interrupted(self, images, advance=None):
        if len(embedded_before) == 2:
            raise KeyboardInterrupt
        embedded_before.append(len(images))
        return real(self, images, advance)

    def run(cache):
        return grade(
            load_task("ml2025-hw10"),
            ml2025 / "submission",
            ml2025 / "data",
            GradeOptions(models_dir=tiny_models),
            resources=Resources(cache),
        )

    cache_path = tmp_path / "c.sqlite"
    monkeypatch.setattr(ClipEncoder, "encode_decoded", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(EmbeddingCache(cache_path))
    monkeypatch.setattr(ClipEncoder, "encode_decoded", real)
    cache = EmbeddingCache(cache_path)
    resumed, fresh = run(cache), run(None)
    computed, everything = resumed.settings["embeddings_computed"], fresh.settings["embeddings_computed"]
    assert everything == {"DINO": 96, "CLIP-T": 90}  # DINO: 90 generated and 6 references
    assert computed["CLIP-T"] == 90 - sum(embedded_before) and sum(embedded_before) > 0  # chunks done were kept
    assert 0 < computed["DINO"] < 96  # so were DINO's, up to the interruption
    assert [s.metrics for s in resumed.subjects] == [s.metrics for s in fresh.subjects]
    assert cache.stats.corrupt == 0 and not cache.stats.moved_aside
