"""``grader check`` and ``grader watch``: grade one submission, once or on every change."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from grader.cli.common import (
    CacheDirOption,
    DataOption,
    HtmlOption,
    TaskOption,
    app,
    command_line,
    err,
    fail,
    open_cache,
    out,
)
from grader.cli.grading_options import GradingArgs, grading_options
from grader.display import shown
from grader.errors import GraderError, UsageError

if TYPE_CHECKING:
    from grader.cache import EmbeddingCache
    from grader.grading import Resources
    from grader.result import GradeResult


def grading_resources(cache: EmbeddingCache | None) -> Resources:
    from grader.grading import Resources

    return Resources(cache)


def _write_html(result: GradeResult, folder: Path, path: Path, sort_by: str) -> None:
    from grader.report.html import write_html

    write_html(result, path, folder, sort_by)


def _report(result, per_image: bool, json_path: Path | None, sort_by: str) -> None:
    """The console report, on stderr when the JSON goes to stdout (``--json -``); only the verdict with --quiet."""
    from grader import logs
    from grader.report import render
    from grader.report.console import verdict_line

    console = err if json_path is not None and str(json_path) == "-" else out
    if logs.QUIET:
        console.print(verdict_line(result), highlight=False)
    else:
        render(result, console, per_image=per_image, sort_by=sort_by)


@app.command()
@grading_options
def check(
    grading: GradingArgs,
    submission: Annotated[Path, typer.Argument(metavar="SUBMISSION", help="Submission folder or .zip.")],
    task: TaskOption,
    data: DataOption,
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
    sort_by: Annotated[
        str,
        typer.Option(
            metavar="ORDER",
            help="Order of each subject's images in --per-image and --html: worst (worst first by the metric with "
            "the lowest margin), file, or a metric id (worst first by it).",
        ),
    ] = "worst",
) -> None:
    """Grade SUBMISSION and compare it with a baseline tier.

    Exit codes: 0 all pass, 1 graded but below the baseline, 2 could not grade (usage or input), 3 model missing.
    """
    from grader import logs
    from grader.grading import grade
    from grader.outputs import check_outputs
    from grader.progress import rich_progress
    from grader.report.ordering import check_order
    from grader.submission import unpacked
    from grader.tasks import load_task

    outputs = {"--json": json_path, "--csv": csv_path, "--subjects-csv": subjects_csv, "--html": html_path}
    try:
        check_outputs(outputs, grading.inputs(submission, data))
        spec = load_task(task)
        check_order(sort_by, list(spec.metrics))
        options = grading.options(spec.name)
        resources = grading_resources(None if no_cache else open_cache(cache_dir))
        with unpacked(submission) as folder:  # kept for the HTML view, which reads the files
            with rich_progress(err, quiet=logs.QUIET) as progress:
                result = grade(spec, submission, data, options, progress, resources, folder)
            result.command = command_line()
            _write_views(result, folder, per_image, outputs, sort_by)
    except GraderError as exc:
        raise fail(exc) from exc
    raise typer.Exit(int(result.exit_code))


def _write_views(
    result: GradeResult, folder: Path, per_image: bool, outputs: dict[str, Path | None], sort_by: str
) -> None:
    """The console report, then every file asked for. A file that cannot be written does not stop the others (nor
    does a console that fails): each is named, and the command ends as a usage error."""
    from grader.outputs import cannot_write
    from grader.report import write_csv, write_json, write_subjects_csv

    writers = {
        "--json": (write_json, "JSON"),
        "--csv": (write_csv, "CSV"),
        "--subjects-csv": (write_subjects_csv, "subjects CSV"),
        "--html": (lambda r, p: _write_html(r, folder, p, sort_by), "HTML report"),
    }
    json_path = outputs["--json"]
    try:
        _report(result, per_image, json_path, sort_by)
    finally:
        failed = []
        for option, path in outputs.items():
            if not path:
                continue
            write, what = writers[option]
            if option == "--json" and str(path) == "-":
                sys.stdout.write(result.to_json() + "\n")
                continue
            try:
                write(result, path)
            except OSError as exc:
                failed.append(cannot_write(option, path, exc))
                continue
            opened = " (open it in a browser)" if option == "--html" else ""
            err.print(f"[dim]{what} written to {shown(path)}{opened}[/]", highlight=False)
    if failed:
        for error in failed[1:]:
            fail(error)
        raise failed[0]


@app.command()
@grading_options
def watch(
    grading: GradingArgs,
    submission: Annotated[Path, typer.Argument(metavar="SUBMISSION", help="Submission folder to watch.")],
    task: TaskOption,
    data: DataOption,
    cache_dir: CacheDirOption = None,
) -> None:
    """Grade SUBMISSION, keep the models loaded, and re-grade whenever its images change (Ctrl-C stops).

    Each re-grade prints only what changed: the images re-scored, the new means and margins, the lines crossed.
    """
    from grader import logs
    from grader.progress import rich_progress
    from grader.tasks import load_task
    from grader.watch import watch as watch_loop

    try:
        spec = load_task(task)
        if not submission.is_dir():
            raise UsageError(f"{submission}: watch needs a folder (a .zip does not change in place)")
        options = grading.options(spec.name)
        watch_loop(
            spec,
            submission,
            data,
            options,
            out,
            lambda: rich_progress(err, quiet=logs.QUIET, transient=True),
            resources=grading_resources(open_cache(cache_dir)),
        )
    except GraderError as exc:
        raise fail(exc) from exc
