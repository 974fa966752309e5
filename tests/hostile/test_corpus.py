"""Every hostile case: the exit code, the problem named, the other subjects untouched, no traceback, and the
submission and data folders byte-identical afterwards."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.paths import fixtures_dir
from tests.hostile.cases import CASES, LAYOUT, Case, table

# Their outcome depends on transformers (its models, processors or tokenizers): also run on 4.x.
pytestmark = pytest.mark.transformers

COURSES = fixtures_dir() / "courses"
README = Path(__file__).resolve().parents[2] / "README.md"


def _snapshot(root: Path) -> dict[bytes, object]:
    """Every entry under ``root`` without following links: file bytes, link targets, folders."""
    seen: dict[bytes, object] = {}
    for folder, dirs, files in os.walk(os.fsencode(root)):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                seen[path] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                seen[path] = "dir"
            else:
                with open(path, "rb") as handle:
                    seen[path] = handle.read()
    return seen


def _grade(task: str, submission: Path, data: Path, models: Path, cache: Path, out: Path):
    extra = LAYOUT[task][2]
    args = ["check", str(submission), "--task", task, "--data", str(data), "--models", str(models)]
    res = CliRunner().invoke(app, [*args, *extra, "--cache-dir", str(cache), "--json", str(out)])
    report = json.loads(out.read_text()) if out.is_file() else None
    return res, report


def _scores(report: dict | None) -> dict[str, dict[str, float | None]]:
    if report is None:
        return {}
    return {s["subject"]: {n: m["value"] for n, m in s["metrics"].items()} for s in report["subjects"]}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile-cache")


@pytest.fixture(scope="module")
def clean(tmp_path_factory, tiny_models, cache) -> dict[str, dict]:
    """Each task's fixture graded as shipped: the scores the untouched subjects must keep."""
    runs = {}
    for task in sorted({c.task for c in CASES}):
        sub, data, _ = LAYOUT[task]
        out = tmp_path_factory.mktemp("clean") / f"{task}.json"
        res, report = _grade(task, COURSES / task / sub, COURSES / task / data, tiny_models, cache, out)
        assert res.exit_code in (0, 1), res.output
        runs[task] = _scores(report)
    return runs


def test_at_least_forty_cases_across_four_tasks():
    assert len(CASES) >= 40 and len({c.task for c in CASES}) == 4
    assert len({c.name for c in CASES}) == len(CASES)


def test_readme_table_is_the_corpus():
    assert table() in README.read_text(), "regenerate with: python -m tests.hostile.cases"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path, tiny_models, cache, clean):
    if case.name.startswith("non-UTF-8") and os.name == "nt":
        pytest.skip("file names are UTF-16 on Windows")
    sub, data, _ = LAYOUT[case.task]
    root = tmp_path / "course"
    shutil.copytree(COURSES / case.task, root, symlinks=True)
    submission, data_dir = root / sub, root / data
    replacement = case.breaks(submission, data_dir)
    if isinstance(replacement, Path) and replacement.suffix == ".zip":  # the case hands in an archive instead
        submission = replacement
    before = _snapshot(root)
    res, report = _grade(case.task, submission, data_dir, tiny_models, cache, tmp_path / "report.json")
    assert res.exit_code in case.exits, res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    if case.says:
        named = [
            p
            for p in (report or {}).get("problems", [])
            + [p for s in (report or {}).get("subjects", []) for p in s["problems"]]
            if case.file in p["file"] and case.says in p["message"]
        ]
        assert named or (case.file in res.output and case.says in res.output), res.output
    if "*" not in case.moved:
        now = _scores(report)
        for subject, scores in clean[case.task].items():
            if subject not in case.moved:
                assert now.get(subject) == scores, subject
    assert _snapshot(root) == before  # nothing written, renamed or deleted
