"""``grader batch`` (a whole class) and ``grader calibrate`` (a gate from measured variance)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from grader.cli.common import CacheDirOption, DataOption, TaskOption, app, err, fail, open_cache, out
from grader.cli.grading_options import GradingArgs, grading_options
from grader.display import shown
from grader.errors import GraderError

Engine = Literal["local", "ray"]


@app.command()
@grading_options
def batch(
    grading: GradingArgs,
    submissions: Annotated[
        Path,
        typer.Argument(
            metavar="SUBMISSIONS", help="Folder with one entry per student: a .zip or a folder named by id."
        ),
    ],
    task: TaskOption,
    data: DataOption,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for grades.csv, summary.json, index.html, JSONs.")],
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
    cache_dir: CacheDirOption = None,
    html: Annotated[
        bool, typer.Option("--html", help="Also write each student's HTML report, linked from index.html.")
    ] = False,
) -> None:
    """Grade every student's submission of a homework, each model loaded once.

    Exit codes: 0 every submission was graded (whatever the verdicts), 2 some could not be graded (their rows
    say why), 3 a model is missing.
    """
    from grader import logs
    from grader.batch import run_batch
    from grader.batch.console import render_overview
    from grader.grading import Resources
    from grader.progress import class_progress
    from grader.tasks import load_task

    try:
        spec = load_task(task)
        # One cache for the class: a re-run grades only new or changed images.
        options = grading.options(spec.name)
        resources = Resources(open_cache(cache_dir))
        with class_progress(err, quiet=logs.QUIET) as progress:
            result = run_batch(
                spec, submissions, data, out_dir, options, resources, roster, engine, ray_address, html, progress
            )
    except GraderError as exc:
        raise fail(exc) from exc
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
    from grader.outputs import cannot_write, check_outputs
    from grader.report.files import atomic_write

    try:
        check_outputs({"--out": out_path}, {f"the run {p}": p for p in runs})
        gate = make_gate(runs)
        try:
            atomic_write(out_path, json.dumps(gate, indent=2) + "\n")
        except OSError as exc:
            raise cannot_write("--out", out_path, exc) from exc
    except GraderError as exc:
        raise fail(exc) from exc
    for subject in gate["subjects"]:
        bounds = ", ".join(
            f"{m['label']} {'>=' if m['higher_is_better'] else '<='} {m['value']:.2f}"
            for m in subject["metrics"].values()
        )
        out.print(shown(f"{subject['subject']}: {bounds or '-'}"), highlight=False)
    out.print(f"[dim]{shown(gate['method'])}; gate written to {shown(out_path)}[/]", highlight=False)
