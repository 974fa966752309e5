"""CLI conventions: --version, --json -, --quiet, KEY=VALUE lists, cache info/clear, exit code 4."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader import __version__
from grader.cli import app, main
from grader.paths import fixtures_dir

ROOT = fixtures_dir() / "ml2025-hw10"
LINES = ["--threshold", "dino=-100,clip_t=-100"]


def _check(models, *extra: str, before: tuple[str, ...] = ()):
    args = ["check", str(ROOT / "submission"), "--task", "ml2025-hw10", "--data", str(ROOT / "data")]
    return CliRunner().invoke(app, [*before, *args, "--models", str(models), *LINES, *extra])


def test_version():
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout.strip() == f"t2i-grader {__version__}"


def test_json_to_stdout_and_the_report_to_stderr(tiny_models):
    res = _check(tiny_models, "--json", "-")
    assert res.exit_code == 0, res.output  # the comma-separated lines are both read
    report = json.loads(res.stdout)
    assert report["schema_version"] == "1" and report["created_at"].endswith("+00:00")
    assert report["tier"] == "custom" and report["command"].startswith("grader")
    assert "PASS" in res.stderr and not (ROOT / "-").exists()


def test_quiet_prints_the_verdict_only(tiny_models):
    res = _check(tiny_models, before=("--quiet",))
    assert res.exit_code == 0
    assert res.stdout.strip().startswith("PASS") and "object-1" not in res.stdout


@pytest.mark.parametrize("flag", ["--quiet", "-q"])
def test_global_flags_work_after_the_subcommand_too(tiny_models, flag):
    res = _check(tiny_models, flag)
    assert res.exit_code == 0, res.output
    assert res.stdout.strip().startswith("PASS") and "object-1" not in res.stdout
    assert CliRunner().invoke(app, ["tasks", "list", "--version"]).stdout.strip() == f"t2i-grader {__version__}"


def test_bad_pair_is_a_usage_error(tiny_models):
    res = CliRunner().invoke(app, ["check", "x", "--task", "ml2025-hw10", "--data", "y", "--threshold", "dino"])
    assert res.exit_code == 2 and "takes KEY=VALUE[,KEY=VALUE], not 'dino'" in res.output


def test_cache_info_names_models_and_clear_keeps_new_entries(tiny_models, tmp_path):
    cache = ["--cache-dir", str(tmp_path)]
    args = ["check", str(ROOT / "submission"), "--task", "ml2025-hw10", "--data", str(ROOT / "data")]
    assert CliRunner().invoke(app, [*args, "--models", str(tiny_models), *cache]).exit_code in (0, 1)
    info = CliRunner().invoke(app, ["cache", "info", *cache])
    assert "facebook/dinov2-large (dinov2): 96" in info.stdout
    assert "openai/clip-vit-large-patch14-336 (clip), texts:" in info.stdout
    assert "deepface weights:" in info.stdout and "test models:" in info.stdout
    kept = CliRunner().invoke(app, ["cache", "clear", "--older-than", "30d", *cache])
    assert kept.exit_code == 0 and "removed 0 embeddings" in kept.stdout
    assert CliRunner().invoke(app, ["cache", "clear", "--older-than", "soon", *cache]).exit_code == 2


def _main_when_grading_raises(error: BaseException, monkeypatch, capsys, models) -> tuple[int, str]:
    """Run the console script on the fixture with grading replaced by ``error``: its exit code and stderr."""

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr("grader.grading.grade", failing)
    argv = ["grader", "check", str(ROOT / "submission"), "--task", "ml2025-hw10", "--data", str(ROOT / "data")]
    monkeypatch.setattr(sys, "argv", [*argv, "--models", str(models)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, capsys.readouterr().err


def test_an_unexpected_failure_is_exit_code_4_in_one_line(monkeypatch, capsys, tiny_models):
    error = RuntimeError("something the grader did not foresee")
    code, err = _main_when_grading_raises(error, monkeypatch, capsys, tiny_models)
    assert code == 4
    assert "internal error: RuntimeError: something the grader did not foresee" in err
    assert "Traceback" not in err and "--verbose" in err


def test_ctrl_c_ends_in_one_line_and_exit_130(monkeypatch, capsys, tiny_models):
    code, err = _main_when_grading_raises(KeyboardInterrupt(), monkeypatch, capsys, tiny_models)
    assert code == 130
    assert "interrupted" in err and "Traceback" not in err


def _commands(group, prefix=()):
    """Every leaf command of a typer app as its argument path, e.g. ("tasks", "validate")."""
    import typer.main

    command = typer.main.get_command(group)
    stack = [(prefix, command)]
    while stack:
        path, cmd = stack.pop()
        subcommands = getattr(cmd, "commands", {})
        if path:
            yield path
        stack += [((*path, name), sub) for name, sub in subcommands.items()]


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("which", ["grader", "generate"])
def test_help_reads_at_any_width_with_plain_value_names(which, columns):
    import typer.main

    from generators.cli import app as generate_app

    group = app if which == "grader" else generate_app
    seen = set()
    for path in _commands(group):
        res = CliRunner().invoke(group, [*path, "--help"], env={"COLUMNS": str(columns)})
        assert res.exit_code == 0, (path, res.output)
        usage = next(line for line in res.output.splitlines() if "Usage:" in line)
        assert not re.search(r"\{[a-z_]+\}", usage), (path, usage)  # arguments in capitals, e.g. {SUBMISSION}
        # nothing cut, no type tag that says nothing (a flag's <bool>, --help's), every option named whole
        assert "…" not in res.output and "<bool>" not in res.output, path
        assert not [line for line in res.output.splitlines() if "--" in line and "<str>" in line], path
        assert "<list[" not in res.output, path
        command = typer.main.get_command(group)
        for name in path:
            command = command.commands[name]
        for param in command.params:
            for opt in (o for o in param.opts if o.startswith("--")):
                assert re.search(rf"(^|[\s│,]){re.escape(opt)}([\s,/]|$)", res.output, re.M), (path, opt, columns)
        seen.add(" ".join(path))
        if path in {("check",), ("watch",), ("batch",)}:
            assert "[fp32|bf16]" in res.output and "centerface" in res.output and "--device" in res.output
        if path == ("run",):
            assert "textual-inversion" in res.output and "edm-dpmpp-2m" in res.output
    assert ({"check", "batch", "tasks validate"} if which == "grader" else {"run", "sweep", "ddim-grid"}) <= seen


def test_a_value_outside_the_choices_is_a_usage_error():
    res = CliRunner().invoke(app, ["check", "x", "--task", "ml2025-hw10", "--data", "y", "--face-detector", "nope"])
    assert res.exit_code == 2 and "centerface" in res.output
    res = CliRunner().invoke(app, ["check", "x", "--task", "ml2025-hw10", "--data", "y", "--dtype", "fp16"])
    assert res.exit_code == 2 and "bf16" in res.output


def test_face_choices_are_the_names_deepface_knows():
    from deepface.modules import modeling

    from grader.faces.names import FACE_DETECTORS, FACE_MODELS

    registry = modeling.get_available_models() if hasattr(modeling, "get_available_models") else None
    source = Path(modeling.__file__).read_text()
    for name in FACE_MODELS + tuple(d for d in FACE_DETECTORS if d != "skip"):
        assert f'"{name}":' in source, name
    assert registry is None or set(FACE_MODELS) <= set(registry)


@pytest.mark.transformers
def test_device_and_batch_size_reach_the_encoders(tiny_models, tmp_path):
    from grader.grading import GradeOptions, Resources
    from grader.grading.encoding import build_encoders
    from grader.tasks import load_task

    task = load_task("ml2025-hw10")
    options = GradeOptions(models_dir=tiny_models, device="cpu", batch_size=3)
    encoders = build_encoders(task, options, Resources())
    built = [e.encoder for e in encoders.values()]
    assert {str(e.device) for e in built} == {"cpu"} and {e.batch_size for e in built} == {3}
    res = _check(tiny_models, "--device", "cpu", "--batch-size", "0")
    assert res.exit_code == 2 and "--batch-size" in res.output


def test_a_missing_model_error_names_every_missing_model(tmp_path):
    args = ["check", str(ROOT / "submission"), "--task", "ml2025-hw10", "--data", str(ROOT / "data")]
    res = CliRunner().invoke(app, [*args, "--models", str(tmp_path / "none")])
    assert res.exit_code == 3
    assert "facebook/dinov2-large" in res.output and "openai/clip-vit-large-patch14-336" in res.output


@pytest.mark.parametrize("which", ["grader", "generate"])
def test_a_usage_error_is_one_error_line_like_every_other_error(which):
    from generators.cli import app as generate_app

    group, args = (app, ["check", "x"]) if which == "grader" else (generate_app, ["run", "--task", "x"])
    res = CliRunner().invoke(group, args, env={"COLUMNS": "120"})
    assert res.exit_code == 2
    assert "error: Missing option" in res.output and "Error" not in res.output and "╭" not in res.output
    assert "--help' for help." in res.output
