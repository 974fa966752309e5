"""One options object, built one way by every front end: the same flags give equal options everywhere."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

import grader
import grader.watch  # bound to the real grading before any test replaces it
from grader.cli import app
from grader.errors import UsageError
from grader.grading import GradeOptions, Resources

pytest_plugins = ["pytester"]

FLAGS = {"threshold": "dino=60,clip_t=18", "dtype": "bf16", "batch-size": "2", "device": "cpu"}
FLAGS |= {"text-template": "a {name} {text_cond}", "baseline": "custom"}


class Stop(Exception):
    """Raised by the stand-in for grading: the options are all the test wants."""


@pytest.fixture
def seen(monkeypatch) -> dict:
    found: dict[str, GradeOptions] = {}

    def capture(name: str, position: int = 3):
        def fake(*args, **kwargs):
            found[name] = args[position]  # the options: after task, submission(s), data (and out, for a class)
            raise UsageError("stopped by the test")

        return fake

    monkeypatch.setattr("grader.grading.grade", capture("grade"))
    monkeypatch.setattr("grader.watch.watch", capture("watch"))
    monkeypatch.setattr("grader.batch.run_batch", capture("batch", 4))
    return found


def _cli(command: str, target: Path, data: Path, models: Path, seen: dict) -> GradeOptions:
    args = [command, str(target), "--task", "ml2025-hw10", "--data", str(data), "--models", str(models)]
    args += [a for k, v in FLAGS.items() for a in (f"--{k}", v)]
    if command == "batch":
        args += ["--out", str(target.parent / "out")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "stopped by the test" in res.output, res.output
    return seen.pop("watch" if command == "watch" else "batch" if command == "batch" else "grade")


def test_every_front_end_builds_the_same_options(seen, ml2025, tiny_models, pytester, tmp_path):
    submission, data = ml2025 / "submission", ml2025 / "data"
    expected = GradeOptions.build(
        baseline="custom",
        models=tiny_models,
        text_template="a {name} {text_cond}",
        thresholds={"dino": 60.0, "clip_t": 18.0},
        dtype="bfloat16",
        device="cpu",
        batch_size=2,
    )
    built = {command: _cli(command, submission, data, tiny_models, seen) for command in ("check", "watch")}
    built["batch"] = _cli("batch", tmp_path, data, tiny_models, seen)
    with pytest.raises(UsageError):
        grader.grade(
            submission, "ml2025-hw10", data, "custom", models=tiny_models, thresholds={"dino": 60, "clip_t": 18},
            dtype="bf16", batch_size=2, device="cpu", text_template="a {name} {text_cond}", cache=False,
        )  # fmt: skip
    built["grade"] = seen.pop("grade")
    with pytest.raises(UsageError):
        grader.grade_class(
            tmp_path, "ml2025-hw10", data, tmp_path / "out", "custom", models=tiny_models,
            thresholds={"dino": 60, "clip_t": 18}, dtype="bf16", batch_size=2, device="cpu",
            text_template="a {name} {text_cond}", cache=False,
        )  # fmt: skip
    built["grade_class"] = seen.pop("batch")
    pytester.makeini(
        f"""
        [pytest]
        grader_submission = {submission}
        grader_data = {data}
        grader_task = ml2025-hw10
        grader_models = {tiny_models}
        grader_baseline = custom
        grader_threshold = dino=60,clip_t=18
        grader_dtype = bf16
        grader_batch_size = 2
        grader_device = cpu
        grader_text_template = a {{name}} {{text_cond}}
        """
    )
    # The plugin runs in a pytest of its own, whose grading is replaced the same way: it writes what it is given.
    record = tmp_path / "plugin-options.txt"
    pytester.makeconftest(
        f"""
        import grader.grading

        def _fake(task, submission, data, options, *args, **kwargs):
            open({str(record)!r}, "w").write(repr(options))
            raise grader.errors.UsageError("stopped by the test")

        grader.grading.grade = _fake
        """
    )
    pytester.makepyfile("def test_graded(grader_result):\n    pass\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert {name: options for name, options in built.items() if options != expected} == {}
    assert record.read_text() == repr(expected)


def test_options_are_frozen_and_pickle():
    import pickle

    options = GradeOptions.build(thresholds=["dino=60"], classifiers={"mnistm": "c.pth"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.dtype = "bfloat16"  # type: ignore[misc]
    with pytest.raises(TypeError):
        options.thresholds["dino"] = 1.0  # type: ignore[index]
    assert pickle.loads(pickle.dumps(options)) == options  # what Ray ships to its workers
    assert options.with_changes(tier="boss") != options and options.tier is None


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"batch_size": 0}, "--batch-size 0"),
        ({"batch_size": "many"}, "--batch-size many"),
        ({"dtype": "fp16"}, "--dtype fp16"),
        ({"thresholds": {"dino": math.nan}}, "--threshold dino=nan"),
        ({"thresholds": ["dino=inf"]}, "--threshold dino=inf"),
        ({"thresholds": {"dino": "high"}}, "--threshold dino=high"),
        ({"thresholds": ["dino"]}, "--threshold takes KEY=VALUE"),
    ],
)
def test_what_the_builder_cannot_take_is_a_usage_error_naming_the_option(given, named):
    with pytest.raises(UsageError) as caught:
        GradeOptions.build(**given)
    assert named in str(caught.value)


def test_watch_leaves_the_callers_resources_as_they_were(ml2025, tiny_models):
    from rich.console import Console

    from grader.tasks import load_task
    from grader.watch import watch

    resources = Resources()
    console = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - closed with the console
    watch(load_task("ml2025-hw10"), ml2025 / "submission", ml2025 / "data", GradeOptions(models_dir=tiny_models),
          console, changes=[], resources=resources)  # fmt: skip
    assert resources.encoder_pool is None and resources.cache is None


def test_generate_sweep_offers_the_grading_options_and_run_none():
    from generators.cli import app as generate

    sweep = CliRunner().invoke(generate, ["sweep", "--help"], env={"COLUMNS": "200"}).output
    run = CliRunner().invoke(generate, ["run", "--help"], env={"COLUMNS": "200"}).output
    for flag in ("--baseline", "--threshold", "--dtype", "--gate", "--strict-copies", "--models"):
        assert flag in sweep, flag
    assert "--threshold" not in run and "--baseline" not in run and "--models" in run
