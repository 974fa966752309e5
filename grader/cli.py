"""The ``grader`` command."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.errors import ExitCode, GraderError, UsageError
from grader.faces.names import FACE_DETECTORS, FACE_MODELS
from grader.options import key_values

if TYPE_CHECKING:
    from grader.cache import EmbeddingCache

# Each command imports what it needs when it runs: `grader --help` and a fully cached `grader check` never pay
# for torch, transformers, scikit-learn or pandas.

app = typer.Typer(
    help="Grade personalized text-to-image submissions exactly as the courses do.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Off a terminal rich assumes 80 columns; reports read better a little wider (COLUMNS still wins).
out = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120)
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        from grader import __version__

        out.print(f"t2i-grader {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _common(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the verdict line and errors.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also show library warnings and progress output, and tracebacks.")
    ] = False,
) -> None:
    """Grade personalized text-to-image submissions exactly as the courses do."""
    from grader.logs import configure

    configure(quiet=quiet, verbose=verbose)


ModelsOption = Annotated[
    Path | None,
    typer.Option("--models", help="Folder holding models as DIR/<org>/<name>; used alone when given."),
]


CacheDirOption = Annotated[
    Path | None, typer.Option("--cache-dir", help="Embedding cache folder (default: the user cache directory).")
]


Dtype = Literal["fp32", "bf16"]
FaceModel = Literal[FACE_MODELS]  # type: ignore[valid-type]
FaceDetector = Literal[FACE_DETECTORS]  # type: ignore[valid-type]
Engine = Literal["local", "ray"]


def _dtype(name: str) -> str | None:
    return {"fp32": None, "bf16": "bfloat16"}[name]


def _number(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"--threshold {name}={value}: not a number") from None


def _cache(folder: Path | None) -> EmbeddingCache | None:
    """The embedding cache; None (and a warning) when its folder cannot be written: the cache is an
    optimisation, never a reason not to grade."""
    import sqlite3

    from grader.cache import EmbeddingCache

    try:
        return EmbeddingCache(folder / "embeddings.sqlite" if folder else None)
    except (OSError, sqlite3.Error) as exc:
        where = folder or "the default cache folder"
        err.print(f"[yellow]warning:[/] cannot use the cache in {where} ({exc}); grading without it", highlight=False)
        return None


def _fail(exc: GraderError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(int(exc.exit_code))


TaskOption = Annotated[str, typer.Option(help="Task name (see `grader tasks`) or a task file.")]
DataOption = Annotated[Path, typer.Option(help="The task's data folder (e.g. the one with metadata.json).")]
BaselineOption = Annotated[
    str | None, typer.Option(help="Tier to compare with (default: the task's first, e.g. boss).")
]
TextTemplateOption = Annotated[
    str | None, typer.Option(help="Override the task's CLIP text, e.g. 'a {name} {text_cond}'.")
]
FaceModelOption = Annotated[
    FaceModel | None,
    typer.Option(
        metavar="MODEL",
        help=f"deepface model instead of the task's; its tiers may not apply. One of: {', '.join(FACE_MODELS)}.",
    ),
]
FaceDetectorOption = Annotated[
    FaceDetector | None,
    typer.Option(
        metavar="DETECTOR", help=f"deepface detector instead of the task's. One of: {', '.join(FACE_DETECTORS)}."
    ),
]
ClassifierOption = Annotated[
    list[str] | None,
    typer.Option(metavar="SUBJECT=PATH", help="SUBJECT=PATH: the classifier checkpoint for a subject (repeatable)."),
]
ThresholdOption = Annotated[
    list[str] | None,
    typer.Option(metavar="METRIC=VALUE", help="METRIC=VALUE: a line for every subject (repeatable); tier 'custom'."),
]
DtypeOption = Annotated[
    Dtype, typer.Option(help="fp32 (as the courses) or bf16 (faster on CPUs with bf16; moves scores).")
]
DeviceOption = Annotated[
    str | None,
    typer.Option(
        metavar="DEVICE", help="Torch device for the encoders, e.g. cuda:0 (default: cuda if present, else cpu)."
    ),
]
BatchSizeOption = Annotated[
    int | None,
    typer.Option(min=1, metavar="N", help="Images per forward pass (default: 32 on a GPU, 1 on a CPU, 4 in bf16)."),
]


StrictCopiesOption = Annotated[
    bool,
    typer.Option(
        "--strict-copies",
        help="Count a copy of a reference image, or the same image in several slots, as a problem (exit 2); "
        "without it such images are flagged and keep their scores, as the course would count them.",
    ),
]
HtmlOption = Annotated[
    Path | None, typer.Option("--html", help="Write a self-contained HTML report (images as thumbnails).")
]


def _write_html(result, submission: Path, path: Path) -> None:
    from grader.report.html import write_html

    write_html(result, path, submission)
    err.print(f"[dim]HTML report written to {path} (open it in a browser)[/]", highlight=False)


def _command_line() -> str:
    import shlex

    return shlex.join(["grader", *sys.argv[1:]])


def _report(result, per_image: bool, json_path: Path | None) -> None:
    """The console report, on stderr when the JSON goes to stdout (``--json -``); only the verdict with --quiet."""
    from grader import logs
    from grader.report import render
    from grader.report.console import verdict_line

    console = err if json_path is not None and str(json_path) == "-" else out
    if logs.QUIET:
        console.print(verdict_line(result), highlight=False)
    else:
        render(result, console, per_image=per_image)


GateOption = Annotated[
    Path | None,
    typer.Option("--gate", help="A gate file from 'grader calibrate': grade against its lines (tier 'calibrated')."),
]


def _grade_options(task: str, cache: EmbeddingCache | None, given: dict):  # -> GradeOptions
    """The grading options of a command, from its parameters (``given``: the command's ``locals()``, whose
    option names are the same in check, watch and batch)."""
    from grader.calibrate import GATE_TIER, gate_tier
    from grader.runner import GradeOptions

    gate = given.get("gate")
    return GradeOptions(
        tier=given["baseline"],
        models_dir=given["models"],
        text_template=given["text_template"],
        face_model=given["face_model"],
        face_detector=given["face_detector"],
        dtype=_dtype(given["dtype"]),
        device=given["device"],
        batch_size=given["batch_size"],
        classifiers={k: Path(v) for k, v in key_values(given["classifier"], "--classifier").items()},
        thresholds={k: _number(v, k) for k, v in key_values(given["threshold"], "--threshold").items()},
        cache=cache,
        strict_copies=given["strict_copies"],
        tiers={GATE_TIER: gate_tier(gate, task)} if gate else {},
    )


@app.command()
def check(
    submission: Annotated[Path, typer.Argument(metavar="SUBMISSION", help="Submission folder or .zip.")],
    task: TaskOption,
    data: DataOption,
    baseline: BaselineOption = None,
    models: ModelsOption = None,
    text_template: TextTemplateOption = None,
    face_model: FaceModelOption = None,
    face_detector: FaceDetectorOption = None,
    classifier: ClassifierOption = None,
    threshold: ThresholdOption = None,
    dtype: DtypeOption = "fp32",
    device: DeviceOption = None,
    batch_size: BatchSizeOption = None,
    strict_copies: StrictCopiesOption = False,
    gate: GateOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Compute every embedding afresh.")] = False,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Write the full result as JSON ('-' for stdout; the report then goes to stderr)."),
    ] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write per-image scores as CSV.")] = None,
    subjects_csv: Annotated[
        Path | None,
        typer.Option(
            "--subjects-csv", help="Write per-subject scores, lines, intervals and pass probabilities as CSV."
        ),
    ] = None,
    html_path: HtmlOption = None,
    per_image: Annotated[bool, typer.Option(help="Also print every image's scores.")] = False,
) -> None:
    """Grade SUBMISSION and compare it with a baseline tier.

    Exit codes: 0 all pass, 1 graded but below the baseline, 2 could not grade (usage or input), 3 model missing.
    """
    from grader.progress import rich_progress
    from grader.report import write_csv, write_json, write_subjects_csv
    from grader.runner import grade
    from grader.tasks import load_task

    try:
        spec = load_task(task)
        cache = None if no_cache else _cache(cache_dir)
        options = _grade_options(spec.name, cache, locals())
        with rich_progress(err) as progress:
            result = grade(spec, submission, data, options, progress)
    except GraderError as exc:
        raise _fail(exc) from exc
    result.command = _command_line()
    _report(result, per_image, json_path)
    if json_path:
        if str(json_path) == "-":
            sys.stdout.write(result.to_json() + "\n")
        else:
            write_json(result, json_path)
            err.print(f"[dim]JSON written to {json_path}[/]", highlight=False)
    if csv_path:
        write_csv(result, csv_path)
        err.print(f"[dim]CSV written to {csv_path}[/]", highlight=False)
    if subjects_csv:
        write_subjects_csv(result, subjects_csv)
        err.print(f"[dim]subjects CSV written to {subjects_csv}[/]", highlight=False)
    if html_path:
        _write_html(result, submission, html_path)
    raise typer.Exit(int(result.exit_code))


@app.command()
def watch(
    submission: Annotated[Path, typer.Argument(metavar="SUBMISSION", help="Submission folder to watch.")],
    task: TaskOption,
    data: DataOption,
    baseline: BaselineOption = None,
    models: ModelsOption = None,
    text_template: TextTemplateOption = None,
    face_model: FaceModelOption = None,
    face_detector: FaceDetectorOption = None,
    classifier: ClassifierOption = None,
    threshold: ThresholdOption = None,
    dtype: DtypeOption = "fp32",
    device: DeviceOption = None,
    batch_size: BatchSizeOption = None,
    strict_copies: StrictCopiesOption = False,
    cache_dir: CacheDirOption = None,
) -> None:
    """Grade SUBMISSION, keep the models loaded, and re-grade whenever its images change (Ctrl-C stops).

    Each re-grade prints only what changed: the images re-scored, the new means and margins, the lines crossed.
    """
    from grader.progress import rich_progress
    from grader.tasks import load_task
    from grader.watch import watch as watch_loop

    try:
        spec = load_task(task)
        if not submission.is_dir():
            raise UsageError(f"{submission}: watch needs a folder (a .zip does not change in place)")
        options = _grade_options(spec.name, _cache(cache_dir), locals())
        with rich_progress(err) as progress:
            watch_loop(spec, submission, data, options, out, progress)
    except GraderError as exc:
        raise _fail(exc) from exc


tasks_app = typer.Typer(help="List, check and describe task files.", invoke_without_command=True)
app.add_typer(tasks_app, name="tasks")


@tasks_app.callback()
def tasks(context: typer.Context) -> None:
    """List the tasks and their tiers (subcommands: validate, schema, kinds)."""
    if context.invoked_subcommand is not None:
        return
    from grader.tasks import available_tasks
    from grader.tasks.registry import read_task_file

    table = Table(title="Tasks")
    for column in ("task", "description", "tiers"):
        table.add_column(column)
    for name, path in sorted(available_tasks().items()):
        try:
            spec = read_task_file(path)
        except GraderError as exc:
            table.add_row(name, f"[red]{exc}[/]", "")
            continue
        table.add_row(name, spec.description, ", ".join(spec.tiers))
    out.print(table)


@tasks_app.command("validate")
def tasks_validate(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Task files (.yaml) to check.")],
) -> None:
    """Check task files against the schema (exit 2 naming the field at fault)."""
    from grader.tasks.registry import read_task_file

    failed = 0
    for path in files:
        try:
            spec = read_task_file(path, fresh=True)
        except GraderError as exc:
            err.print(f"[bold red]invalid:[/] {exc}", highlight=False, soft_wrap=True)
            failed += 1
            continue
        out.print(f"[green]valid:[/] {path} (task {spec.name}: {len(spec.metrics)} metrics)", highlight=False)
    raise typer.Exit(int(ExitCode.CANNOT_GRADE if failed else ExitCode.PASSED))


@tasks_app.command("schema")
def tasks_schema() -> None:
    """Print the task file's JSON Schema (for editor completion), with every registered rule, encoder, layout."""
    from grader.tasks.json_schema import task_json_schema

    print(json.dumps(task_json_schema(), indent=2))


@tasks_app.command("kinds")
def tasks_kinds() -> None:
    """The rules, encoder kinds and layout kinds a task file may name (built-in and from plugins)."""
    from grader.encoders import ENCODERS
    from grader.layouts import LAYOUTS
    from grader.rules import RULES

    table = Table(title="What a task file may name")
    for column in ("kind", "name", "what it is"):
        table.add_column(column)
    for rule in RULES:
        table.add_row("rule", rule.name, f"{rule.description} Encoder gives: {', '.join(sorted(rule.requires))}.")
    for encoder in ENCODERS:
        table.add_row("encoder", encoder.name, f"gives {', '.join(sorted(encoder.provides))}")
    for layout in LAYOUTS:
        table.add_row("layout", layout.name, (layout.spec.__doc__ or "").split("\n")[0])
    out.print(table)


@app.command()
def batch(
    submissions: Annotated[
        Path,
        typer.Argument(
            metavar="SUBMISSIONS", help="Folder with one entry per student: a .zip or a folder named by id."
        ),
    ],
    task: TaskOption,
    data: DataOption,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for grades.csv, summary.json, index.html, JSONs.")],
    baseline: BaselineOption = None,
    roster: Annotated[
        Path | None, typer.Option("--roster", help="CSV with an id column: students who submitted nothing are listed.")
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(help="local (this process) or ray (actors on a Ray cluster; pip install 't2i-grader\\[ray]')."),
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Ray cluster to join (default: start a local one).")
    ] = None,
    models: ModelsOption = None,
    text_template: TextTemplateOption = None,
    face_model: FaceModelOption = None,
    face_detector: FaceDetectorOption = None,
    classifier: ClassifierOption = None,
    threshold: ThresholdOption = None,
    dtype: DtypeOption = "fp32",
    device: DeviceOption = None,
    batch_size: BatchSizeOption = None,
    strict_copies: StrictCopiesOption = False,
    cache_dir: CacheDirOption = None,
    html: Annotated[
        bool, typer.Option("--html", help="Also write each student's HTML report, linked from index.html.")
    ] = False,
) -> None:
    """Grade every student's submission of a homework, each model loaded once.

    Exit codes: 0 every submission was graded (whatever the verdicts), 2 some could not be graded (their rows
    say why), 3 a model is missing.
    """
    from grader.batch import run_batch
    from grader.batch.console import render_overview
    from grader.progress import class_progress
    from grader.tasks import load_task

    try:
        spec = load_task(task)
        # One cache for the class: a re-run grades only new or changed images.
        options = _grade_options(spec.name, _cache(cache_dir), locals())
        with class_progress(err) as progress:
            result = run_batch(spec, submissions, data, out_dir, options, roster, engine, ray_address, html, progress)
    except GraderError as exc:
        raise _fail(exc) from exc
    render_overview(result, out)
    raise typer.Exit(int(result.exit_code))


@app.command()
def calibrate(
    runs: Annotated[
        list[Path],
        typer.Argument(metavar="RUN...", help="Result JSONs (grader check --json) of one method, one per seed."),
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the gate (JSON).")],
) -> None:
    """Set a gate from measured variance: per subject and metric, a bound a new run should meet.

    Several runs (seeds): a one-sided 95% prediction bound for one more run. One run: the failing end of its
    bootstrap interval. Use the gate with 'grader check --gate FILE' or the pytest plugin's --grader-compare FILE.
    """
    import json

    from grader.calibrate import calibrate as make_gate
    from grader.report.files import atomic_write

    try:
        gate = make_gate(runs)
    except GraderError as exc:
        raise _fail(exc) from exc
    atomic_write(out_path, json.dumps(gate, indent=2) + "\n")
    for subject in gate["subjects"]:
        bounds = ", ".join(
            f"{m['label']} {'>=' if m['higher_is_better'] else '<='} {m['value']:.2f}"
            for m in subject["metrics"].values()
        )
        out.print(f"{subject['subject']}: {bounds or '-'}", highlight=False)
    out.print(f"[dim]{gate['method']}; gate written to {out_path}[/]", highlight=False)


@app.command("models")
def models_command(
    task: Annotated[str, typer.Option(help="Task whose models to list.")],
    models: ModelsOption = None,
    fetch: Annotated[bool, typer.Option(help="Download missing models into the Hugging Face cache.")] = False,
) -> None:
    """Show each model a task needs and whether it is present (exit 3 if any is missing)."""
    from grader.encoders import ENCODERS
    from grader.tasks import load_task

    try:
        spec = load_task(task)
        missing = 0
        table = Table(title=f"Models for {spec.name}")
        for column in ("used by", "model", "status"):
            table.add_column(column)
        for encoder in spec.encoders():
            used_by = ", ".join(m.label for m in spec.metrics_of(encoder).values())
            check = ENCODERS.get(encoder.kind).status
            status = check(encoder, models, fetch) if check else None
            if status is None:
                table.add_row(used_by, encoder.model, "-")
                continue
            missing += status.missing
            table.add_row(used_by, status.model, status.text)
        out.print(table)
    except GraderError as exc:
        raise _fail(exc) from exc
    raise typer.Exit(int(ExitCode.MODEL_MISSING if missing else ExitCode.PASSED))


@app.command()
def demo(
    task: Annotated[
        str, typer.Option(help="face-identity: real offline face models; ml2025-hw10: tiny test models.")
    ] = "face-identity",
    html_path: HtmlOption = None,
) -> None:
    """Grade a bundled example submission offline."""
    from grader.demo import run_demo

    try:
        code = run_demo(task, out, err, html_path)
    except GraderError as exc:
        raise _fail(exc) from exc
    raise typer.Exit(int(code))


cache_app = typer.Typer(help="Inspect or empty the embedding cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else 0


@cache_app.command("info")
def cache_info(cache_dir: CacheDirOption = None) -> None:
    """What the grader keeps: embeddings per model, deepface's weights, the test models."""
    from grader.faces.weights import weights_dir
    from grader.paths import cache_dir as default_dir

    cache = _cache(cache_dir)
    if cache is None:
        raise typer.Exit(int(ExitCode.CANNOT_GRADE))
    info = cache.info()
    out.print(f"{info['path']}: {info['entries']} embeddings, {info['bytes'] / 1e6:.1f} MB", highlight=False)
    for name, row in info["encoders"].items():
        out.print(f"  {name}: {row['entries']} ({row['bytes'] / 1e6:.1f} MB)", highlight=False)
    for label, folder in (("deepface weights", weights_dir()), ("test models", default_dir() / "test-models")):
        size = f"{_folder_bytes(folder) / 1e6:.1f} MB" if folder.is_dir() else "not present"
        out.print(f"{label}: {folder} ({size})", highlight=False)


def _days(text: str) -> float:
    units = {"d": 1.0, "h": 1 / 24, "w": 7.0}
    try:
        return float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except ValueError:
        raise UsageError(f"--older-than takes a duration such as 30d, 12h or 2w, not {text!r}") from None


@cache_app.command("clear")
def cache_clear(
    cache_dir: CacheDirOption = None,
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="Only embeddings stored longer ago than this (30d, 12h, 2w).")
    ] = None,
) -> None:
    """Delete cached embeddings (all, or the old ones)."""
    try:
        days = None if older_than is None else _days(older_than)
    except GraderError as exc:
        raise _fail(exc) from exc
    cache = _cache(cache_dir)
    if cache is None:
        raise typer.Exit(int(ExitCode.CANNOT_GRADE))
    removed = cache.clear(days)
    out.print(f"removed {removed} embeddings from {cache.path}", highlight=False)


def main() -> None:
    """The console script: any unexpected exception ends in one line and exit code 4, never a bare traceback
    (the traceback with --verbose)."""
    try:
        app()
    except (KeyboardInterrupt, SystemExit) as exc:
        # click turns Ctrl-C into exit code 130 with an empty line; say what it leaves behind.
        if isinstance(exc, KeyboardInterrupt) or exc.code == 130:
            err.print("interrupted: the cache keeps every embedding finished so far; run again to resume")
            sys.exit(130)
        raise
    except Exception as exc:  # typer has already turned usage errors and typer.Exit into SystemExit
        import traceback

        from grader import logs

        if logs.VERBOSE:
            traceback.print_exc()
        where = traceback.extract_tb(exc.__traceback__)[-1]
        err.print(
            f"[bold red]internal error:[/] {escape(f'{exc.__class__.__name__}: {exc}')} "
            f"(in {Path(where.filename).name}:{where.lineno}; run with --verbose for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(int(ExitCode.INTERNAL_ERROR))
