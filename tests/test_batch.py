"""grader batch on a small class: rows for every student, broken ones included, and the same CSV on Ray."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from typer.testing import CliRunner

from grader.batch.students import find_students, read_roster
from grader.cli import app
from grader.errors import InputError
from grader.paths import fixtures_dir
from grader.testing.classroom import build_class


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> tuple[Path, Path]:
    return build_class(tmp_path_factory.mktemp("class"), fixtures_dir() / "ml2025-hw10" / "submission")


def _batch(classroom, tiny_models, out: Path, *extra: str):
    submissions, roster = classroom
    data = fixtures_dir() / "ml2025-hw10" / "data"
    args = ["batch", str(submissions), "--task", "ml2025-hw10", "--data", str(data), "--out", str(out)]
    roster_args = [] if roster is None else ["--roster", str(roster)]
    return CliRunner().invoke(app, [*args, *roster_args, "--models", str(tiny_models), *extra])


LINES = ("--threshold", "dino=-100", "--threshold", "clip_t=-100")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("class-cache")


@pytest.fixture(scope="module")
def graded(classroom, tiny_models, tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("out") / "class"
    res = _batch(classroom, tiny_models, out, *LINES, "--html", "--cache-dir", str(cache_dir))
    return res, out


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_roster_and_folder_give_the_class(classroom, tmp_path):
    submissions, roster = classroom
    students, notes = find_students(submissions, roster)
    assert [s.id for s in students] == [f"s0{i}" for i in range(1, 9)]
    assert next(s for s in students if s.id == "s07").path is None
    assert next(s for s in students if s.id == "s02").path.suffix == ".zip"
    assert notes == []
    bad = tmp_path / "r.csv"
    bad.write_text("name\nx\n")
    with pytest.raises(InputError, match="needs a header with an id column"):
        read_roster(bad)


def test_every_student_gets_a_row_and_broken_ones_do_not_stop_the_class(graded):
    res, out = graded
    assert res.exit_code == 2, res.output  # some submissions could not be graded
    rows = _rows(out / "grades.csv")
    assert list(rows) == [f"s0{i}" for i in range(1, 9)]
    for student in ("s01", "s02", "s03", "s06", "s08"):
        assert rows[student]["status"] == "graded" and rows[student]["verdict"] == "PASS", rows[student]
        assert rows[student]["exit_meaning"] == "passed"
        assert json.loads((out / "students" / f"{student}.json").read_text())["verdict"] == "PASS"
        assert (out / "students" / f"{student}.html").is_file()
    assert rows["s04"]["status"] == "could not grade" and "not a readable zip archive" in rows["s04"]["error"]
    assert rows["s05"]["status"] == "could not grade" and "folder missing" in rows["s05"]["error"]
    assert rows["s07"]["status"] == "missing" and rows["s07"]["exit_meaning"] == "nothing submitted"
    assert json.loads((out / "students" / "s04.json").read_text())["exit_code"] == 2
    # the same columns for everyone, scores and margins per subject and metric
    assert "object-1 DINO" in rows["s01"] and "object-6 CLIP-T margin" in rows["s01"]
    assert rows["s04"]["object-1 DINO"] == ""


def test_students_sharing_images_are_named(graded):
    res, out = graded
    rows = _rows(out / "grades.csv")
    assert rows["s01"]["shared_images_with"] == "s06" and rows["s06"]["shared_images_with"] == "s01"
    assert all(rows[s]["shared_images_with"] == "" for s in ("s02", "s03", "s08"))
    summary = json.loads((out / "summary.json").read_text())
    (pair,) = summary["shared_images"]
    assert (pair["first"], pair["second"], pair["images"]) == ("s01", "s06", 15)
    assert "shared images s01 and s06: 15 shared image(s)" in res.output


def test_summary_and_overview(graded):
    res, out = graded
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == {"graded": 5, "partly graded": 0, "could not grade": 2, "missing": 1}
    dino = summary["subjects"]["object-1"]["metrics"]["dino"]
    assert summary["subjects"]["object-1"]["pass_rate"] == 1.0 and dino["line"] == -100
    assert set(dino["values"]) == {"s01", "s02", "s03", "s06", "s08"}
    assert dino["mean"] == pytest.approx(sum(dino["values"].values()) / 5)
    assert len(dino["closest"]) == 3
    page = (out / "index.html").read_text()
    assert '<a href="students/s01.html">s01</a>' in page and "s04" in page
    assert "5 graded" in res.output and "2 could not be graded" in res.output


def test_a_rerun_after_a_late_submission_encodes_only_its_images(classroom, tiny_models, tmp_path, graded, cache_dir):
    submissions, roster = classroom
    late = tmp_path / "submissions"
    shutil.copytree(submissions, late)
    shutil.copytree(submissions / "s03", late / "s09")
    for image in (late / "s09").rglob("*.png"):  # new work: every image differs from s03's
        with Image.open(image) as im:
            ImageOps.mirror(im.convert("RGB")).save(image)
    res = _batch((late, roster), tiny_models, tmp_path / "again", "--cache-dir", str(cache_dir))
    assert res.exit_code == 2, res.output
    computed = {
        p.stem: sum(report["settings"]["embeddings_computed"].values())
        for p in (tmp_path / "again" / "students").glob("s*.json")
        if "settings" in (report := json.loads(p.read_text()))
    }
    assert computed == {"s01": 0, "s02": 0, "s03": 0, "s05": 0, "s06": 0, "s08": 0, "s09": 180}
    assert "s09: submitted but not on the roster" in res.output


@pytest.mark.slow
def test_ray_engine_writes_the_same_csv(classroom, tiny_models, graded, tmp_path, cache_dir):
    pytest.importorskip("ray")
    _, out = graded
    # On the class's shared cache, as a re-run would be. (Embeddings computed afresh in single-threaded actors
    # agree with the local ones to float32 rounding, not bit for bit.)
    res = _batch(classroom, tiny_models, tmp_path / "ray", *LINES, "--engine", "ray", "--cache-dir", str(cache_dir))
    assert res.exit_code == 2, res.output
    assert (tmp_path / "ray" / "grades.csv").read_bytes() == (out / "grades.csv").read_bytes()


def test_ray_engine_without_ray_says_how_to_install(classroom, tiny_models, tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    res = _batch(classroom, tiny_models, tmp_path / "x", "--engine", "ray")
    assert res.exit_code == 2 and "pip install 't2i-grader[ray]'" in res.output


def test_a_missing_image_leaves_the_other_subjects_graded_and_counted(classroom, tiny_models, tmp_path, cache_dir):
    submissions, _ = classroom
    late = tmp_path / "submissions"
    late.mkdir()
    for student in ("s01", "s03"):
        shutil.copytree(submissions / student, late / student)
    (next((late / "s03" / "object-3").glob("7.*"))).unlink()
    res = _batch((late, None), tiny_models, tmp_path / "out", *LINES, "--cache-dir", str(cache_dir))
    assert res.exit_code == 2, res.output  # one submission is not whole
    rows = _rows(tmp_path / "out" / "grades.csv")
    assert rows["s03"]["status"] == "partly graded" and rows["s03"]["verdict"] == "INCOMPLETE"
    assert "object-3" in rows["s03"]["error"] and rows["s03"]["subjects_passed"] == "5/6"
    assert rows["s03"]["object-3 verdict"] == "INCOMPLETE" and rows["s03"]["object-1 verdict"] == "PASS"
    assert rows["s01"]["object-3 verdict"] == "PASS" and rows["s01"]["subjects_passed"] == "6/6"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"]["partly graded"] == 1 and summary["partly_graded"][0]["student"] == "s03"
    assert summary["subjects"]["object-1"]["graded"] == 2  # the complete subjects of s03 count
    assert summary["subjects"]["object-3"]["graded"] == 1 and summary["subjects"]["object-3"]["pass_rate"] == 1.0
    assert set(summary["subjects"]["object-3"]["metrics"]["dino"]["values"]) == {"s01"}
    assert "1 partly graded" in res.output and "partly graded s03" in " ".join(res.output.split())
