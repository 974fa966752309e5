"""Hostile commands: outputs aimed at inputs, options and task files the grader must refuse, permissions that
deny, and every other command (``grader.grade``, ``batch``, ``calibrate``, ``watch``, ``cache``, the pytest
plugin) meeting broken input."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from grader.tasks.registry import available_tasks
from tests.hostile.breaking import corrupt_zip, ml_image, truncate, zip_of
from tests.hostile.model import ALL, DB, GENAI, MISSING, ML, NO, O1, OK, P3, ZS, Case, Ctx, case


def _file(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _folder(path: Path, mode: int | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if mode is not None:
        path.chmod(mode)
    return path


def _gate(c: Ctx, report: Path | None = None) -> Path:
    """A gate calibrated from the fixture's own report (or another task's)."""
    from grader.calibrate import calibrate

    gate = c.scratch / "gate.json"
    gate.write_text(json.dumps(calibrate([report or c.clean_report])))
    return gate


def _task_file(c: Ctx, change) -> list[str]:
    """The task's file with one thing changed, given as --task."""
    raw = yaml.safe_load(available_tasks()[ML].read_text())
    change(raw)
    path = c.scratch / "task.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return ["--task", path]


def _run(c: Ctx, change) -> Path:
    """The fixture's own report with one thing changed (a hand-edited run for calibrate)."""
    report = json.loads(c.clean_report.read_text())
    change(report)
    path = c.scratch / "run.json"
    path.write_text(json.dumps(report))
    return path


def _read_only_with(c: Ctx, name: str, text: str | None = None) -> Path:
    folder = c.scratch / "read-only"
    folder.mkdir()
    if text is not None:
        (folder / name).write_text(text)
    folder.chmod(0o555)
    return folder / name


def _kept_whole(c: Ctx, outcome: Any) -> None:
    assert (c.scratch / "read-only" / "report.json").read_text() == "the previous report"


def _report_written(c: Ctx, outcome: Any) -> None:
    assert outcome.report is not None and outcome.report["subjects"], "the JSON was not written"


def _read_only_cache(c: Ctx) -> list[str]:
    folder = c.scratch / "root-cache"
    folder.mkdir()
    shutil.copy(c.scratch / "cache" / "embeddings.sqlite", folder / "embeddings.sqlite")
    for part in (folder / "embeddings.sqlite", folder):
        part.chmod(0o444 if part.is_file() else 0o555)
    return ["--cache-dir", folder]


def _checked(name: str, args, says: str, file: str = "--", exits=NO, **more) -> Case:
    """``grader check`` on the ml2025 fixture as shipped with ``args`` (a function of the case's folders)."""
    return case(name, ML, None, exits, file, says, args=args, **more)


def _template(text: str, says: str) -> Case:
    return _checked(f"--text-template {text}", lambda c: ["--text-template", text], says, "--text-template")


def _students(c: Ctx, *names: str) -> list[str]:
    for name in names:
        (c.scratch / "class").mkdir(exist_ok=True)
        (c.scratch / "class" / name).symlink_to(c.submission)
    return []


def _class_files_are_the_class(c: Ctx, outcome: Any) -> None:
    out = c.scratch / "out"
    assert "students" in json.loads((out / "summary.json").read_text())
    assert (out / "students" / "summary.json").is_file() and (out / "students" / "index.json").is_file()


def _nothing_outside(c: Ctx, outcome: Any) -> None:
    assert not list(c.scratch.glob("escaped*")) and not list(c.scratch.parent.glob("escaped*"))


def _roster(c: Ctx, *ids: str) -> list[str]:
    return ["--roster", _file(c.scratch / "roster.csv", "id\n" + "\n".join(ids) + "\n")]


def _cleared(value: str, says: str, why: str = "") -> Case:
    """``grader cache clear --older-than VALUE``, which must be refused naming the option."""
    return case(
        f"cache clear --older-than {value}{why}",
        ML,
        None,
        NO,
        "--older-than",
        says,
        command="cache",
        args=lambda c: ["clear", "--older-than", value, "--cache-dir", c.scratch / "c"],
    )


_EXAMPLE_TEMPLATE = "only plain fields"
COMMAND_CASES: list[Case] = [
    # Outputs that would land on or in an input, or nowhere.
    _checked(
        "--json over a submission image",
        lambda c: ["--json", c.submission / "object-1/0.jpg"],
        "lies inside the submission",
        "--json",
    ),
    _checked(
        "--json over metadata.json", lambda c: ["--json", c.data / "metadata.json"], "lies inside the data", "--json"
    ),
    _checked(
        "--json inside the submission folder",
        lambda c: ["--json", c.submission / "report.json"],
        "lies inside the submission",
        "--json",
        outcome="the grader never writes into the submission",
    ),
    _checked(
        "--csv inside the data folder", lambda c: ["--csv", c.data / "images.csv"], "lies inside the data", "--csv"
    ),
    _checked("--html over the submission folder", lambda c: ["--html", c.submission], "is the submission", "--html"),
    _checked(
        "--json and --csv on one path",
        lambda c: ["--json", c.scratch / "x", "--csv", c.scratch / "x"],
        "writes to the same file",
        "--csv",
    ),
    _checked("--json a folder", lambda c: ["--json", c.scratch], "is a folder", "--json"),
    _checked(
        "--json under a regular file",
        lambda c: ["--json", _file(c.scratch / "f") / "r.json"],
        "which is a file",
        "--json",
    ),
    _checked(
        "--html under a regular file",
        lambda c: ["--html", _file(c.scratch / "f") / "r.html"],
        "which is a file",
        "--html",
    ),
    _checked(
        "--subjects-csv a folder",
        lambda c: ["--subjects-csv", _folder(c.scratch / "d")],
        "is a folder",
        "--subjects-csv",
    ),
    _checked(
        "--json over the gate file",
        lambda c: ["--gate", _gate(c), "--json", c.scratch / "gate.json"],
        "is the gate file",
        "--json",
    ),
    _checked(
        "--json through a link into the submission",
        lambda c: ["--json", _link(c.scratch / "link.json", c.submission / "new.json")],
        "lies inside the submission",
        "--json",
    ),
    _checked(
        "--json - (stdout)", lambda c: ["--json", "-"], "", None, OK, outcome="the JSON on stdout, the report on stderr"
    ),
    _checked(
        "--json in a read-only folder",
        lambda c: ["--json", _read_only_with(c, "report.json")],
        "cannot write",
        "--json",
        nobody=True,
        outcome="graded, then exit 2 naming the option",
    ),
    _checked(
        "--json over a file it may not replace",
        lambda c: ["--json", _read_only_with(c, "report.json", "the previous report")],
        "cannot write",
        "--json",
        nobody=True,
        outcome="the old file kept whole",
        extra={"check": _kept_whole},
    ),
    _checked(
        "--csv in a read-only folder, --json elsewhere",
        lambda c: ["--csv", _read_only_with(c, "x.csv")],
        "cannot write",
        "--csv",
        nobody=True,
        outcome="the JSON still written",
        extra={"check": _report_written},
    ),
    # Options the grader must refuse, naming them.
    _checked("--device cuda:7 without CUDA", lambda c: ["--device", "cuda:7"], "CUDA device", "--device"),
    _checked("--device banana", lambda c: ["--device", "banana"], "not a torch device", "--device"),
    _checked("--dtype fp16", lambda c: ["--dtype", "fp16"], "fp16", "--dtype"),
    _checked("--batch-size 0", lambda c: ["--batch-size", "0"], "greater than or equal to 1", "--batch-size"),
    _checked("--threshold dino=nan", lambda c: ["--threshold", "dino=nan"], "finite number", "--threshold"),
    _checked("--threshold dino=inf", lambda c: ["--threshold", "dino=inf"], "finite number", "--threshold"),
    _checked("--threshold without a value", lambda c: ["--threshold", "dino"], "KEY=VALUE", "--threshold"),
    _checked("--threshold for no metric of the task", lambda c: ["--threshold", "lpips=5"], "lpips", "--threshold"),
    _checked("--baseline of no tier", lambda c: ["--baseline", "legendary"], "legendary", "tier"),
    _checked("--task of no task", lambda c: ["--task", "ml2099-hw99"], "ml2099-hw99", "task"),
    _checked(
        "--baseline boss with --threshold",
        lambda c: ["--baseline", "boss", "--threshold", "dino=50"],
        "give one or the other",
        "--threshold",
        outcome="refused, not boss silently dropped",
    ),
    _template("{text_cond", "expected '}'"),
    _template("{name!z}", _EXAMPLE_TEMPLATE),
    _template("{name:d}", _EXAMPLE_TEMPLATE),
    _template("{name.upper}", "only named fields"),
    _template("{0}", "only named fields"),
    _template("{name[0]}", "only named fields"),
    _checked(
        "--text-template with a field the data lacks",
        lambda c: ["--text-template", "{colour}"],
        "needs field",
        "metadata.json",
        NO,
        moved=ALL,
    ),
    _checked("--gate file missing", lambda c: ["--gate", c.scratch / "none.json"], "cannot read", "none.json"),
    _checked(
        "--gate hand-edited",
        lambda c: ["--gate", _file(c.scratch / "g.json", '{"subjects": 5}')],
        "not a result JSON",
        "g.json",
    ),
    _checked(
        "--gate of another task", lambda c: ["--gate", _gate(c, _other_report(c))], "a gate for task", "gate.json"
    ),
    _checked("--classifier without a path", lambda c: ["--classifier", "mnistm"], "KEY=VALUE", "--classifier"),
    _checked("--face-model of no model", lambda c: ["--face-model", "NoSuchNet"], "NoSuchNet", "--face-model"),
    _checked(
        "task file whose layout kind is a list",
        lambda c: _task_file(c, lambda t: t["layout"].update(kind=["subject-folders"])),
        "unknown layout kind",
        "task.yaml",
    ),
    _checked(
        "task file with a NaN line",
        lambda c: _task_file(c, lambda t: t["tiers"]["boss"]["per_subject"]["object-1"].update(dino=float("nan"))),
        "finite number",
        "task.yaml",
    ),
    _checked(
        "task file with {name.upper} as text",
        lambda c: _task_file(c, lambda t: t["metrics"]["clip_t"].update(text_template="{name.upper}")),
        "only named fields",
        "task.yaml",
    ),
    _checked(
        "task file that is not YAML",
        lambda c: ["--task", _file(c.scratch / "task.yaml", "{{{: [")],
        "task.yaml",
        "task.yaml",
    ),
    _checked(
        "--models folder missing",
        lambda c: ["--models", c.scratch / "no-models"],
        "no-models",
        "--models",
        frozenset({MISSING}),
        outcome="exit 3: names the model and where it was looked for",
    ),
    _checked("--data a file", lambda c: ["--data", c.data / "metadata.json"], "metadata.json", "metadata.json"),
    _checked("--data missing", lambda c: ["--data", c.scratch / "no-data"], "no-data", "no-data"),
    case("submission missing", ML, lambda s, d: s.parent / "no-such-results", NO, "no-such-results", "not found"),
    # Permissions, as a user who lacks them.
    case(
        "an unreadable image",
        ML,
        lambda s, d: ml_image(s).chmod(0),
        NO,
        "object-1/0.jpg",
        "cannot be read",
        O1,
        nobody=True,
    ),
    case(
        "an unreadable reference",
        ML,
        lambda s, d: (d / "object-3.jpg").chmod(0),
        NO,
        "object-3.jpg",
        "cannot be read",
        frozenset({"object-3"}),
        nobody=True,
    ),
    case(
        "a subject folder without its search bit",
        ML,
        lambda s, d: (s / "object-2").chmod(0o644),
        NO,
        "object-2",
        "cannot be searched",
        frozenset({"object-2"}),
        nobody=True,
    ),
    case(
        "an unreadable metadata.json",
        ML,
        lambda s, d: (d / "metadata.json").chmod(0),
        NO,
        "metadata.json",
        "cannot be read",
        ALL,
        nobody=True,
    ),
    case(
        "an unreadable submission folder",
        ML,
        lambda s, d: s.chmod(0),
        NO,
        "SUBMISSION",
        "is not readable",
        ALL,
        nobody=True,
    ),
    case(
        "P3: an unreadable input.json",
        P3,
        lambda s, d: (d / "input.json").chmod(0),
        NO,
        "input.json",
        "cannot be read",
        ALL,
        nobody=True,
    ),
    case(
        "zero-shot: an unreadable image",
        ZS,
        lambda s, d: (s / "1_451.png").chmod(0),
        NO,
        "1_451.png",
        "cannot be read",
        ALL,
        nobody=True,
    ),
    _checked(
        "a read-only cache database",
        _read_only_cache,
        "cannot use the cache",
        "root-cache",
        OK,
        nobody=True,
        outcome="a warning; graded without storing",
    ),
    # grader cache.
    _cleared("nan", "not 'nan'"),
    _cleared("30", "30d", " (no unit)"),
    _cleared("-1d", "-1d"),
    case(
        "cache info on a file",
        ML,
        None,
        NO,
        "cache",
        "cannot use the cache",
        command="cache",
        args=lambda c: ["info", "--cache-dir", _file(c.scratch / "c")],
    ),
    # grader.grade, the API.
    case(
        "API: a threshold that is a word",
        ML,
        None,
        NO,
        "dino",
        "not a number",
        command="api",
        args=lambda c: {"thresholds": {"dino": "high"}},
    ),
    case("API: dtype fp16", ML, None, NO, "fp16", "not a precision", command="api", args=lambda c: {"dtype": "fp16"}),
    case(
        "API: batch_size 0",
        ML,
        None,
        NO,
        "--batch-size 0",
        "at least 1",
        command="api",
        args=lambda c: {"batch_size": 0},
    ),
    case(
        "API: cache a regular file",
        ML,
        None,
        NO,
        "cache=",
        "cannot be used",
        command="api",
        args=lambda c: {"cache": _file(c.scratch / "cache-file")},
    ),
    case(
        "API: a template with an attribute",
        ML,
        None,
        NO,
        "{name.upper}",
        "only named fields",
        command="api",
        args=lambda c: {"text_template": "{name.upper}"},
    ),
    case(
        "API: device banana",
        ML,
        None,
        NO,
        "banana",
        "not a torch device",
        command="api",
        args=lambda c: {"device": "banana"},
    ),
    case(
        "API: a hand-edited gate",
        ML,
        None,
        NO,
        "g.json",
        "not a result JSON",
        command="api",
        args=lambda c: {"gate": _file(c.scratch / "g.json", "[]")},
    ),
    case(
        "API: a Deflate64 zip",
        ML,
        lambda s, d: corrupt_zip(s, "deflate64"),
        NO,
        "submission.zip",
        "Deflate64",
        ALL,
        command="api",
    ),
    case(
        "API: a truncated image",
        ML,
        lambda s, d: truncate(ml_image(s)),
        NO,
        "object-1/0.jpg",
        "cannot decode",
        O1,
        command="api",
    ),
    case(
        "API: an unreadable image",
        ML,
        lambda s, d: ml_image(s).chmod(0),
        NO,
        "object-1/0.jpg",
        "cannot be read",
        O1,
        command="api",
        nobody=True,
    ),
    case(
        "API: genai with a 2x3000 strip",
        GENAI,
        lambda s, d: _strip(s / "valid_image_5.png"),
        NO,
        "valid_image_5.png",
        "deepface could not read it",
        ALL,
        command="api",
    ),
    case(
        "API: P3 key ../1",
        P3,
        lambda s, d: _rekey(d / "input.json", "1", "../1"),
        NO,
        "input.json",
        "not a plain folder name",
        frozenset({"1/0", "1/1"}),
        command="api",
    ),
    # grader batch: one student's broken submission is that student's row.
    case(
        "batch: a roster id ../escaped",
        ML,
        None,
        OK,
        "roster.csv",
        "not a plain name",
        command="batch",
        args=lambda c: _roster(c, "s1", "../escaped"),
        outcome="left out with a note; nothing written outside --out",
        extra={"check": _nothing_outside},
    ),
    case(
        "batch: students named summary and index",
        ML,
        None,
        OK,
        command="batch",
        args=lambda c: _students(c, "summary", "index"),
        outcome="their files in students/, the class's kept",
        extra={"check": _class_files_are_the_class},
    ),
    case(
        "batch: --out inside the submissions",
        ML,
        None,
        NO,
        "--out",
        "lies inside the submissions folder",
        command="batch",
        args=lambda c: ["--out", c.scratch / "class" / "out"],
    ),
    case(
        "batch: --out inside the data",
        ML,
        None,
        NO,
        "--out",
        "lies inside the data folder",
        command="batch",
        args=lambda c: ["--out", c.data / "out"],
    ),
    case(
        "batch: --out a file",
        ML,
        None,
        NO,
        "--out",
        "is a file",
        command="batch",
        args=lambda c: ["--out", _file(c.scratch / "out-file")],
    ),
    case(
        "batch: a student's encrypted zip",
        ML,
        lambda s, d: corrupt_zip(s, "encrypted"),
        NO,
        "s1.zip",
        "encrypted",
        ALL,
        "that student's row says why (student exit 2); the class is graded",
        command="batch",
    ),
    case(
        "batch: a student's zip with .. members",
        ML,
        lambda s, d: zip_of(s, lambda n: f"../{n}"),
        NO,
        "s1.zip",
        "unsafe path in archive",
        ALL,
        command="batch",
    ),
    case(
        "batch: a student's truncated image",
        ML,
        lambda s, d: truncate(ml_image(s)),
        NO,
        "object-1/0.jpg",
        "cannot decode",
        O1,
        command="batch",
    ),
    case(
        "batch: a roster that is not CSV text",
        ML,
        None,
        NO,
        "roster.csv",
        "cannot read the roster",
        command="batch",
        args=lambda c: ["--roster", _bytes(c.scratch / "roster.csv", b"\xff\xfe\x00bad")],
    ),
    case(
        "batch: a student folder named a\\b",
        ML,
        None,
        OK,
        "class",
        "not a usable student id",
        command="batch",
        args=lambda c: _students(c, "a\\b"),
    ),
    case(
        "batch: an unreadable image",
        ML,
        lambda s, d: ml_image(s).chmod(0),
        NO,
        "object-1/0.jpg",
        "cannot be read",
        O1,
        command="batch",
        nobody=True,
    ),
    # grader calibrate.
    case(
        "calibrate: --out a folder",
        ML,
        None,
        NO,
        "--out",
        "is a folder",
        command="calibrate",
        args=lambda c: [c.clean_report, "--out", c.scratch],
    ),
    case(
        "calibrate: --out over its run",
        ML,
        None,
        NO,
        "--out",
        "is the run",
        command="calibrate",
        args=lambda c: [_run(c, lambda r: None), "--out", c.scratch / "run.json"],
    ),
    case(
        "calibrate: a nameless subject",
        ML,
        None,
        NO,
        "run.json",
        "has no name",
        command="calibrate",
        args=lambda c: [_run(c, lambda r: r["subjects"][0].update(subject=None)), "--out", c.scratch / "g.json"],
    ),
    case(
        "calibrate: a score that is a word",
        ML,
        None,
        NO,
        "run.json",
        "not a score",
        command="calibrate",
        args=lambda c: [
            _run(c, lambda r: r["subjects"][0]["metrics"]["dino"].update(value="high")),
            "--out",
            c.scratch / "g.json",
        ],
    ),
    case(
        "calibrate: a metric without its direction",
        ML,
        None,
        NO,
        "run.json",
        "not a score",
        command="calibrate",
        args=lambda c: [
            _run(c, lambda r: r["subjects"][0]["metrics"]["dino"].pop("higher_is_better")),
            "--out",
            c.scratch / "g.json",
        ],
    ),
    case(
        "calibrate: runs of two tasks",
        ML,
        None,
        NO,
        "runs",
        "different tasks",
        command="calibrate",
        args=lambda c: [c.clean_report, _run(c, lambda r: r.update(task="dreambench")), "--out", c.scratch / "g.json"],
    ),
    case(
        "calibrate: a run that is a list",
        ML,
        None,
        NO,
        "run.json",
        "not a result JSON",
        command="calibrate",
        args=lambda c: [_file(c.scratch / "run.json", "[]"), "--out", c.scratch / "g.json"],
    ),
    case(
        "calibrate: a run nested 100 000 deep",
        ML,
        None,
        NO,
        "run.json",
        "nested too deeply",
        command="calibrate",
        args=lambda c: [_file(c.scratch / "run.json", "[" * 100_000 + "]" * 100_000), "--out", c.scratch / "g.json"],
    ),
    case(
        "calibrate: a run that is missing",
        ML,
        None,
        NO,
        "none.json",
        "cannot read",
        command="calibrate",
        args=lambda c: [c.scratch / "none.json", "--out", c.scratch / "g.json"],
    ),
    # grader watch: what changes after the first grade.
    case(
        "watch: an image truncated after the first grade",
        ML,
        lambda s, d: truncate(ml_image(s)),
        NO,
        "object-1/0.jpg",
        "left out (",
        O1,
        "says why the image left the grade",
        command="watch",
        extra={"changed": lambda c: [ml_image(c.submission)]},
    ),
    case(
        "watch: an image touched, not changed",
        ML,
        lambda s, d: os.utime(ml_image(s)),
        OK,
        command="watch",
        never=("re-scored",),
        outcome="not reported as re-scored",
        extra={"changed": lambda c: [ml_image(c.submission)]},
    ),
    case(
        "watch: ESC in a new file's name",
        ML,
        lambda s, d: _renamed(ml_image(s), "\x1b[2J0.jpg"),
        OK,
        moved=O1,
        command="watch",
        never=("\x1b",),
        outcome="shown escaped",
        extra={"changed": lambda c: [c.submission / "object-1" / "\x1b[2J0.jpg"]},
    ),
    case(
        "watch: an image removed",
        ML,
        lambda s, d: ml_image(s).unlink(),
        NO,
        "object-1/0.jpg",
        "gone",
        O1,
        command="watch",
        extra={"changed": lambda c: [ml_image(c.submission)]},
    ),
    # The pytest plugin (its usage errors end pytest with its own code 4).
    case(
        "plugin: --grader-compare missing",
        ML,
        None,
        frozenset({4}),
        "--grader-compare",
        "not found",
        command="plugin",
        args=lambda c: [f"--grader-compare={c.scratch / 'none.json'}"],
        outcome="pytest's usage error, naming the file",
    ),
    case(
        "plugin: --grader-threshold dino=nan",
        ML,
        None,
        frozenset({4}),
        "dino=nan",
        "finite number",
        command="plugin",
        args=lambda c: ["--grader-threshold=dino=nan"],
    ),
    case(
        "plugin: --grader-text-template {name.upper}",
        ML,
        None,
        frozenset({4}),
        "{name.upper}",
        "only named fields",
        command="plugin",
        args=lambda c: ["--grader-text-template={name.upper}"],
    ),
    case(
        "plugin: a truncated image",
        ML,
        lambda s, d: truncate(ml_image(s)),
        frozenset({1}),
        "object-1/0.jpg",
        "cannot decode",
        command="plugin",
        args=lambda c: [],
        outcome="the graded test fails, naming the file",
    ),
    # The other tasks through check.
    case(
        "dreambench: --json inside the dataset",
        DB,
        None,
        NO,
        "--json",
        "lies inside the data folder",
        args=lambda c: ["--json", c.data / "r.json"],
    ),
]


def _link(link: Path, target: Path) -> Path:
    link.symlink_to(target)
    return link


def _other_report(c: Ctx) -> Path:
    """A result of another task: the fixture's report with its task renamed."""
    report = json.loads(c.clean_report.read_text())
    report["task"] = DB
    path = c.scratch / "other.json"
    path.write_text(json.dumps(report))
    return path


def _strip(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (2, 3000), (120, 100, 90)).save(path)


def _rekey(path: Path, old: str, new: str) -> None:
    value = json.loads(path.read_text())
    value[new] = value.pop(old)
    path.write_text(json.dumps(value))


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _renamed(path: Path, name: str) -> None:
    path.rename(path.with_name(name))
