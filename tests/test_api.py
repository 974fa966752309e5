"""The Python API as a notebook uses it: string paths, the result's views, and the docstring examples."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys

import pytest

import grader
from grader import api
from grader.grading import GradeOptions
from grader.grading import grade as run_grade
from grader.paths import fixtures_dir
from grader.tasks import load_task
from grader.testing.classroom import build_class


@pytest.mark.heavy  # grades the fixtures and a class: CI runs it beside py (tox.ini)
def test_docstring_examples_run(tiny_models, tmp_path):
    fixture = fixtures_dir() / "ml2025-hw10"
    class_dir = tmp_path / "class"
    build_class(class_dir, fixture / "submission")
    names = {"grader": grader, "fixture": str(fixture), "models": str(tiny_models)}
    names |= {"class_dir": str(class_dir), "out": str(tmp_path / "out")}
    report = doctest.testmod(api, extraglobs=names, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert report.attempted >= 5 and report.failed == 0


def test_string_paths_everywhere(tiny_models):
    fixture = fixtures_dir() / "ml2025-hw10"
    options = GradeOptions(models_dir=str(tiny_models))
    result = run_grade(load_task("ml2025-hw10"), str(fixture / "submission"), str(fixture / "data"), options)
    assert len(result.images) == 90


def test_result_views(tiny_models, tmp_path):
    fixture = fixtures_dir() / "ml2025-hw10"
    result = grader.grade(
        fixture / "submission", "ml2025-hw10", fixture / "data", models=tiny_models, cache=tmp_path / "cache"
    )
    text = repr(result)
    assert "\n" not in text and text.startswith("GradeResult(task='ml2025-hw10', tier='boss', verdict=FAIL")
    page = result._repr_html_()
    assert "<table>" in page and "object-6" in page and "test models" in page
    report = json.loads(result.to_json())
    assert report["task"] == "ml2025-hw10"
    # the report names the call that made it, as a CLI report names its command line
    assert report["command"].startswith(f"grader.grade({str(fixture / 'submission')!r}, 'ml2025-hw10', ")
    assert f"models={tiny_models!r}" in report["command"]
    assert list(result.to_pandas().columns[:4]) == ["subject", "file", "dino", "clip_t"]
    assert (tmp_path / "cache" / "embeddings.sqlite").is_file()


def test_a_notebook_without_ipywidgets_gets_progress_as_lines(tiny_models, tmp_path, monkeypatch):
    import importlib.util
    import io

    from rich.console import Console

    from grader.progress import LineProgress, RichProgress, SilentProgress, notebook_progress

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ipywidgets" else real(name, *a))
    notebook = Console(force_jupyter=True, width=100, record=True)
    with notebook_progress(notebook) as reporter:
        assert isinstance(reporter, LineProgress)
        fixture = fixtures_dir() / "ml2025-hw10"
        options = GradeOptions(models_dir=tiny_models)
        run_grade(load_task("ml2025-hw10"), fixture / "submission", fixture / "data", options, reporter)
    lines = notebook.export_text().splitlines()
    assert any(line.startswith("DINO (facebook/dinov2-large): 96 to do") for line in lines), lines
    assert any(line.startswith("DINO (facebook/dinov2-large): 96/96 (") for line in lines), lines
    with notebook_progress(Console(file=io.StringIO(), force_terminal=True)) as reporter:
        assert isinstance(reporter, RichProgress)  # a terminal: live bars
    with notebook_progress(Console(file=io.StringIO())) as reporter:
        assert isinstance(reporter, SilentProgress)  # a pipe or a log: nothing


def test_import_grader_is_light():
    heavy = "('torch', 'transformers', 'pandas')"
    code = f"import sys, grader; grader.__version__; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
