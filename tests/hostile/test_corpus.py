"""Every hostile case, through the command it names: the exit code, the problem named, the other subjects untouched,
no traceback and no escaped exception, nothing forbidden printed, and the course folders byte-identical
afterwards."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.paths import fixtures_dir
from tests.hostile.cases import CASES, PAGE, page
from tests.hostile.model import COMMANDS, LAYOUT, Case, Ctx
from tests.hostile.runners import RUNNERS, UNREACHABLE, as_nobody, nobody_cache, open_to_everyone, run_check, run_plugin

pytest_plugins = ["pytester"]

COURSES = fixtures_dir() / "courses"
README = Path(__file__).resolve().parents[2] / "README.md"


def _snapshot(root: Path) -> dict[bytes, object]:
    """Every entry under ``root`` without following links: file bytes, link targets, folders, modes."""
    seen: dict[bytes, object] = {}
    for folder, dirs, files in os.walk(os.fsencode(root)):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                seen[path] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                seen[path] = ("dir", os.stat(path).st_mode)
            elif not os.path.isfile(path):
                seen[path] = ("special", os.stat(path).st_mode)
            else:
                with open(path, "rb") as handle:
                    seen[path] = handle.read()
    return seen


def _scores(report: dict | None) -> dict[str, dict[str, float | None]]:
    if report is None:
        return {}
    return {s["subject"]: {n: m["value"] for n, m in s["metrics"].items()} for s in report["subjects"]}


def _course(task: str, folder: Path) -> Ctx:
    sub, data, _ = LAYOUT[task]
    root = folder / "course"
    shutil.copytree(COURSES / task, root, symlinks=True)
    scratch = folder / "scratch"
    scratch.mkdir()
    return Ctx(root, root / sub, root / data, scratch)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile-cache")


@pytest.fixture(scope="module")
def clean(tmp_path_factory, tiny_models, cache) -> dict[str, tuple[dict, Path]]:
    """Each task's fixture graded as shipped: the scores the untouched subjects must keep, and its report."""
    runs = {}
    for task in sorted({c.task for c in CASES}):
        ctx = _course(task, tmp_path_factory.mktemp("clean"))
        outcome = run_check(Case("clean", task, lambda s, d: None, frozenset()), ctx, tiny_models, cache)
        assert outcome.exit_code in (0, 1), outcome.output
        runs[task] = (_scores(outcome.report), ctx.scratch / "report.json")
    return runs


def test_the_corpus_covers_every_command_and_task():
    assert len(CASES) >= 150
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.command for c in CASES} == set(COMMANDS)
    assert {c.task for c in CASES} == set(LAYOUT)
    assert any(c.nobody for c in CASES)


def test_the_page_of_cases_is_the_corpus():
    assert PAGE.read_text() == page(), "regenerate with: python -m tests.hostile.cases"
    assert PAGE.name in README.read_text()


def _params(cases: list[Case]) -> list:
    # The cases whose outcome depends on transformers' models and processors also run on 4.x; heavy ones only there.
    return [
        pytest.param(
            c,
            id=c.name,
            marks=[pytest.mark.transformers] * c.models + [pytest.mark.heavy] * bool(c.extra.get("heavy")),
        )
        for c in cases
    ]


@pytest.fixture(scope="module")
def open_space(tiny_models) -> Iterator[Path]:
    """A folder in the system's temporary folder that an unprivileged user can reach (pytest's own are private
    to their owner, and so may be the folders above them), with a copy of the test models."""
    space = Path(tempfile.mkdtemp(prefix="t2i-grader-hostile-"))
    shutil.copytree(tiny_models, space / "models")
    open_to_everyone(space)
    yield space
    shutil.rmtree(space, ignore_errors=True)


@pytest.mark.parametrize("case", _params(CASES))
def test_case(case: Case, tmp_path, tiny_models, cache, clean, request):
    if case.name.startswith("non-UTF-8") and os.name == "nt":
        pytest.skip("file names are UTF-16 on Windows")
    models = tiny_models
    if case.nobody:
        space = request.getfixturevalue("open_space")
        tmp_path, models = Path(tempfile.mkdtemp(dir=space)), space / "models"
    ctx = _course(case.task, tmp_path)
    scores, ctx.clean_report = clean[case.task]
    runner = RUNNERS.get(case.command)
    if case.nobody:  # before the case breaks anything: what it closes stays closed
        open_to_everyone(tmp_path)
        ctx.scratch.chmod(0o777)  # the unprivileged user writes its outputs there
    before: dict = {}
    if case.command == "watch":
        ctx.on_broken = lambda: before.update(_snapshot(ctx.root))
    else:
        replacement = case.breaks(ctx.submission, ctx.data)
        if isinstance(replacement, Path) and replacement.parent == ctx.root:  # another submission: a zip, a link
            ctx.submission = replacement
        before = _snapshot(ctx.root)
    own_cache = cache
    if case.command == "plugin":
        outcome = run_plugin(case, ctx, models, cache, request.getfixturevalue("pytester"))
    elif case.nobody:
        own_cache = nobody_cache(cache, ctx.scratch)
        outcome = as_nobody(runner, case, ctx, models, own_cache)
        if outcome.exit_code == UNREACHABLE:
            pytest.skip(outcome.output)
    else:
        outcome = runner(case, ctx, models, own_cache)
    assert not outcome.exception, outcome.exception
    assert outcome.exit_code in case.exits, outcome.output
    assert "Traceback" not in outcome.output and "internal error" not in outcome.output, outcome.output
    for text in case.never:
        assert text not in outcome.output, f"{text!r} printed"
    if case.says:
        report = outcome.report or {}
        problems = report.get("problems", []) + [p for s in report.get("subjects", []) for p in s["problems"]]
        named = [p for p in problems if case.file in p["file"] and case.says in p["message"]]
        # A usage error comes in a box, wrapped at any character: compared without the box and the white space.
        flat = "".join(outcome.output.replace("│", "").split())
        said = "".join(case.file.split()) in flat and "".join(case.says.split()) in flat
        assert named or said, outcome.output
    if "*" not in case.moved and outcome.report is not None:
        now = _scores(outcome.report)
        for subject, values in scores.items():
            if subject not in case.moved:
                assert now.get(subject) == values, subject
    if case.extra.get("check"):
        case.extra["check"](ctx, outcome)
    assert _snapshot(ctx.root) == before  # nothing written, renamed or deleted


def test_a_report_is_json_even_when_printing_fails(tmp_path, tiny_models, cache, monkeypatch):
    """The JSON is written though the console report fails half-way (its failure is still an error)."""
    import grader.cli.check as check

    def broken(*args, **kwargs):
        raise RuntimeError("the console went away")

    monkeypatch.setattr(check, "_report", broken)
    ctx = _course("ml2025-hw10", tmp_path)
    outcome = run_check(Case("console fails", "ml2025-hw10", lambda s, d: None, frozenset()), ctx, tiny_models, cache)
    assert outcome.report is not None and json.loads((ctx.scratch / "report.json").read_text())["subjects"]
