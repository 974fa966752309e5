"""How each command meets a hostile case, in this process: ``grader check``, ``batch``, ``calibrate`` and ``cache``
through the CLI, ``grader.grade`` through the API, ``grader watch`` through its loop, the pytest plugin through
pytester. Each returns what the command ended with, what it printed and the JSON report it wrote, if any.

Cases that need permissions to mean something run as an unprivileged user: as root (CI), in a forked child that
drops to ``nobody``; as anyone else, as they are."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from grader.cli import app
from tests.hostile.model import LAYOUT, Case, Ctx

NOBODY = 65534
UNREACHABLE = -2  # the unprivileged user cannot reach the test's folders (the case is skipped)


@dataclass
class Outcome:
    exit_code: int
    output: str
    report: dict | None
    exception: str = ""  # an exception that escaped the command (never allowed)


def _report(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _cli(args: list[str]) -> Outcome:
    res = CliRunner().invoke(app, args)
    escaped = res.exception if res.exception is not None and not isinstance(res.exception, SystemExit) else None
    return Outcome(res.exit_code, res.output, None, repr(escaped) if escaped else "")


def _given(case: Case, ctx: Ctx) -> Any:
    return case.args(ctx) if case.args else None


def run_check(case: Case, ctx: Ctx, models: Path, cache: Path) -> Outcome:
    extra = [str(a) for a in (_given(case, ctx) or [])]
    report = ctx.scratch / "report.json"
    args = ["check", str(ctx.submission), "--task", case.task, "--data", str(ctx.data), "--models", str(models)]
    mine = [] if "--json" in extra else ["--json", str(report)]
    caching = [] if "--cache-dir" in extra or "--no-cache" in extra else ["--cache-dir", str(cache)]
    outcome = _cli([*args, *LAYOUT[case.task][2], *caching, *mine, *extra])
    outcome.report = _report(report)
    return outcome


def run_api(case: Case, ctx: Ctx, models: Path, cache: Path) -> Outcome:
    import grader
    from grader.errors import GraderError

    keywords = {"models": models, "cache": cache, **(_given(case, ctx) or {})}
    face = dict(zip(("face_model", "face_detector"), LAYOUT[case.task][2][1::2], strict=False))
    try:
        result = grader.grade(ctx.submission, case.task, ctx.data, **face, **keywords)
    except GraderError as exc:
        return Outcome(int(exc.exit_code), str(exc), None)
    except Exception as exc:
        return Outcome(-1, "", None, repr(exc))
    return Outcome(int(result.exit_code), "", result.to_dict())


def run_batch(case: Case, ctx: Ctx, models: Path, cache: Path) -> Outcome:
    """The broken submission is student ``s1`` of a class (a link to it); the outcome is s1's, as its row and its
    JSON say, once the class ran (a class-wide refusal is the class's exit code)."""
    klass = ctx.scratch / "class"
    klass.mkdir(exist_ok=True)
    entry = klass / ("s1.zip" if ctx.submission.suffix == ".zip" else "s1")
    if not entry.exists():
        entry.symlink_to(ctx.submission)
    extra = [str(a) for a in (_given(case, ctx) or [])]
    out = ctx.scratch / "out"
    args = ["batch", str(klass), "--task", case.task, "--data", str(ctx.data), "--models", str(models)]
    out_args = [] if "--out" in extra else ["--out", str(out)]
    outcome = _cli([*args, *LAYOUT[case.task][2], "--cache-dir", str(cache), *out_args, *extra])
    student = _report(out / "students" / "s1.json")
    if student is not None and outcome.exit_code in (0, 2):
        grades = (out / "grades.csv").read_text()
        assert "internal error" not in grades, grades
        outcome.exit_code = student["exit_code"] if student.get("exit_code") is not None else outcome.exit_code
        outcome.report = student if "subjects" in student else None
        outcome.output += json.dumps(student)
    return outcome


def run_calibrate(case: Case, ctx: Ctx, models: Path, cache: Path) -> Outcome:
    return _cli(["calibrate", *[str(a) for a in _given(case, ctx)]])


def run_cache(case: Case, ctx: Ctx, models: Path, cache: Path) -> Outcome:
    return _cli(["cache", *[str(a) for a in _given(case, ctx)]])


def run_watch(case: Case, ctx: Ctx, models: Path, cache: Path) -> Outcome:
    """Grade the fixture as shipped, then break it and hand the loop one change of the files the case names."""
    from rich.console import Console
    from watchfiles import Change

    from grader.cache import EmbeddingCache
    from grader.grading import GradeOptions, Resources
    from grader.tasks import load_task
    from grader.watch import watch

    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=False)
    changed = case.extra["changed"](ctx)

    def changes():
        case.breaks(ctx.submission, ctx.data)
        if ctx.on_broken is not None:
            ctx.on_broken()  # the folders are compared from here on
        yield {(Change.modified, str(p)) for p in changed}

    options = GradeOptions.build(models=models, **case.extra.get("options", {}))
    resources = Resources(EmbeddingCache(cache / "embeddings.sqlite"))
    result = watch(
        load_task(case.task), ctx.submission, ctx.data, options, console, changes=changes(), resources=resources
    )
    return Outcome(int(result.exit_code), buffer.getvalue(), result.to_dict())


def run_plugin(case: Case, ctx: Ctx, models: Path, cache: Path, pytester=None) -> Outcome:
    assert pytester is not None
    pytester.makepyfile(
        test_graded="""
def test_graded(grader_result):
    errors = [f"{p.file}: {p.message}" for p in grader_result.all_problems if p.severity == "error"]
    assert not errors, errors
"""
    )
    os.environ["T2I_GRADER_CACHE"] = str(cache)  # the test's own environment is restored after it
    options = [
        f"--grader-submission={ctx.submission}",
        f"--grader-data={ctx.data}",
        f"--grader-task={case.task}",
        f"--grader-models={models}",
        *[str(a) for a in _given(case, ctx)],
    ]
    result = pytester.runpytest_inprocess(*options, "-p", "no:cacheprovider")
    text = result.stdout.str() + result.stderr.str()
    return Outcome(int(result.ret), text, None)


RUNNERS = {
    "check": run_check,
    "api": run_api,
    "batch": run_batch,
    "calibrate": run_calibrate,
    "cache": run_cache,
    "watch": run_watch,
}


def open_to_everyone(tree: Path) -> None:
    """Let an unprivileged user read ``tree`` (a folder the test made), as a shared machine's folders are."""
    for entry in [tree, *tree.rglob("*")]:
        if not entry.is_symlink():
            entry.chmod(entry.stat().st_mode | (0o055 if entry.is_dir() else 0o044))


def _reachable_by_others(path: Path) -> bool:
    """Whether a user other than the owner can reach ``path``: every folder above it searchable by others."""
    return all(parent.stat().st_mode & 0o001 for parent in path.resolve().parents)


def _without_file_privileges() -> None:
    """Give up, in this process, the capabilities that let root ignore file permissions (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH, CAP_FOWNER): from here on a file's mode bits apply to root as to its owner."""
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    header, data = Header(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    keep = ~((1 << 1) | (1 << 2) | (1 << 3)) & 0xFFFFFFFF
    data[0].effective &= keep
    data[0].permitted &= keep
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def as_nobody(run, *args) -> Outcome:
    """``run(*args)`` as an unprivileged user: as root, in a forked child that becomes ``nobody`` (or, where
    ``nobody`` cannot reach the grader's own files, as under a private tox folder, that gives up root's power to
    ignore file permissions: the same checks apply); as anyone else, as it is. The child can import nothing the
    parent has not imported (the interpreter's files may be closed to others): the parent grades first."""
    if os.geteuid() != 0:
        return run(*args)
    import grader

    become_nobody = _reachable_by_others(Path(grader.__file__).parent)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, run, send the outcome back, exit without cleanup
        os.close(read)
        try:
            if become_nobody:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            else:
                _without_file_privileges()
            ctx = args[1]
            if not os.access(ctx.root, os.R_OK | os.X_OK):
                outcome = Outcome(UNREACHABLE, f"an unprivileged user cannot reach {ctx.root} on this machine", None)
            else:
                outcome = run(*args)
        except BaseException as exc:
            outcome = Outcome(-1, "", None, f"in the unprivileged child: {exc!r}")
        with os.fdopen(write, "wb") as pipe:
            pickle.dump(outcome, pipe)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


def nobody_cache(cache: Path, scratch: Path) -> Path:
    """A copy of the shared cache that ``nobody`` may write (the shared one stays root's)."""
    own = scratch / "cache"
    own.mkdir(exist_ok=True)
    for part in cache.glob("embeddings.sqlite*"):
        shutil.copy(part, own / part.name)
    for entry in [own, *own.iterdir()]:
        entry.chmod(0o777 if entry.is_dir() else 0o666)
    return own
