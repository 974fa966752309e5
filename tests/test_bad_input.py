"""Broken submissions: each problem names its file, the rest is still graded, nothing is modified."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from grader.errors import ExitCode, InputError
from grader.grading import GradeOptions, grade
from grader.result import Verdict
from grader.tasks import load_task
from tests.test_cli import check


def _grade(root: Path, models: Path, task="ml2025-hw10", submission: Path | None = None):
    return grade(load_task(task), submission or root / "submission", root / "data", GradeOptions(models_dir=models))


def _subject(result, name):
    return next(s for s in result.subjects if s.subject == name)


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


def test_missing_object_folder(ml2025, tiny_models):
    shutil.rmtree(ml2025 / "submission" / "object-3")
    result = _grade(ml2025, tiny_models)
    missing = _subject(result, "object-3")
    assert missing.verdict is Verdict.NOT_GRADED
    assert any(p.file.endswith("object-3") and "subject folder missing" in p.message for p in missing.problems)
    graded = [s for s in result.subjects if s.subject != "object-3"]
    assert all(s.metrics["dino"].value is not None and s.n_images == 15 for s in graded)
    assert result.verdict is Verdict.INCOMPLETE and result.exit_code is ExitCode.CANNOT_GRADE


def test_wrong_image_count(ml2025, tiny_models):
    (ml2025 / "submission" / "object-2" / "14.png").unlink()
    result = _grade(ml2025, tiny_models)
    subject = _subject(result, "object-2")
    assert subject.n_images == 14 and subject.metrics["dino"].n == 14
    assert any("14 usable images, the task asks for 15" in p.message for p in subject.problems)
    assert subject.verdict is Verdict.INCOMPLETE


def test_unreadable_and_non_image_files(ml2025, tiny_models):
    folder = ml2025 / "submission" / "object-1"
    (folder / "3.png").write_bytes(b"not really a png")
    (folder / "notes.txt").write_text("prompt ideas")
    result = _grade(ml2025, tiny_models)
    subject = _subject(result, "object-1")
    by_file = {p.file: p for p in subject.problems}
    assert "not a readable image" in by_file["object-1/3.png"].message
    assert by_file["object-1/3.png"].severity == "error"
    assert "not an image file" in by_file["object-1/notes.txt"].message
    assert by_file["object-1/notes.txt"].severity == "warning"
    assert subject.n_images == 14 and "object-1/3.png" not in {i.file for i in result.images}
    assert _subject(result, "object-2").verdict in (Verdict.PASS, Verdict.FAIL)


def test_truncated_image_is_reported(ml2025, tiny_models):
    path = ml2025 / "submission" / "object-4" / "0.png"
    path.write_bytes(path.read_bytes()[:300])
    result = _grade(ml2025, tiny_models)
    subject = _subject(result, "object-4")
    messages = {p.file: p.message for p in subject.problems}
    # The header reads: only decoding finds it truncated, after the scan counted the folder, which is counted again.
    assert "cannot decode image" in messages["object-4/0.png"] and "left out of the grade" in messages["object-4/0.png"]
    assert messages["object-4"] == "14 usable images, the task asks for 15"
    assert subject.n_images == 14 and "object-4/0.png" not in {i.file for i in result.images}
    assert subject.metrics["dino"].n == 14 and _subject(result, "object-5").metrics["dino"].n == 15


def test_missing_metadata_field(ml2025, tiny_models):
    meta_path = ml2025 / "data" / "metadata.json"
    metadata = json.loads(meta_path.read_text())
    del metadata["object-5"]["text_cond"]
    meta_path.write_text(json.dumps(metadata))
    result = _grade(ml2025, tiny_models)
    subject = _subject(result, "object-5")
    assert any(p.file == str(meta_path) and "missing field 'text_cond'" in p.message for p in subject.problems)
    assert subject.metrics["clip_t"].value is None and subject.metrics["dino"].value is not None
    assert subject.verdict is Verdict.INCOMPLETE
    assert _subject(result, "object-6").metrics["clip_t"].value is not None


def test_missing_metadata_file_cannot_grade(ml2025, tiny_models):
    (ml2025 / "data" / "metadata.json").unlink()
    with pytest.raises(InputError, match=r"metadata\.json: metadata file not found"):
        _grade(ml2025, tiny_models)
    res = check(ml2025, tiny_models)
    assert res.exit_code == 2 and "metadata.json" in res.output


def test_incomplete_submission_exits_2_and_still_reports(ml2025, tiny_models, tmp_path):
    shutil.rmtree(ml2025 / "submission" / "object-6")
    out = tmp_path / "r.json"
    res = check(ml2025, tiny_models, "--json", str(out))
    assert res.exit_code == 2
    assert "INCOMPLETE" in res.output and "subject folder missing" in res.output
    report = json.loads(out.read_text())
    assert report["verdict"] == "INCOMPLETE" and len(report["images"]) == 75
    # the JSON lists every problem the console counts, the subjects' included
    counted = int(re.search(r"Problems \((\d+)\)", res.output).group(1))
    assert len(report["all_problems"]) == counted >= 1 and report["problems"] == []
    assert report["all_problems"][0]["message"].startswith("subject folder missing")


def test_zip_submission_inside_results_folder(ml2025, tiny_models, tmp_path):
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted((ml2025 / "submission").rglob("*.png")):
            zf.write(p, Path("results") / p.relative_to(ml2025 / "submission"))
    from_zip = _grade(ml2025, tiny_models, submission=archive)
    from_dir = _grade(ml2025, tiny_models)
    assert [i.scores for i in from_zip.images] == [i.scores for i in from_dir.images]
    assert from_zip.images[0].file == "results/object-1/0.png"


def test_grading_never_modifies_inputs(ml2025, tiny_models, tmp_path):
    (ml2025 / "submission" / "object-1" / "3.png").write_bytes(b"broken")
    before = _digest(ml2025)
    res = check(ml2025, tiny_models, "--json", str(tmp_path / "r.json"), "--csv", str(tmp_path / "r.csv"))
    assert res.exit_code == 2
    assert _digest(ml2025) == before


def test_an_image_over_the_decompression_bomb_limit_is_a_problem_naming_it(tmp_path):
    from PIL import Image

    from grader.submission.files import check_image

    path = tmp_path / "huge.png"
    Image.new("1", (20000, 20000)).save(path)  # a small file that decodes to 400 MP
    problem = check_image(path, "object-1")
    assert problem is not None and problem.file == str(path) and problem.severity == "error"
    assert "too large to decode safely" in problem.message and "400000000 pixels" in problem.message
