"""``grader models`` (what a task needs and whether it is here) and ``grader demo`` (a bundled example)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from grader.cli.common import HtmlOption, ModelsOption, app, err, fail, out
from grader.display import shown
from grader.errors import ExitCode, GraderError


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
            table.add_column(column, overflow="fold")
        details = []
        for encoder in spec.encoders():
            used_by = ", ".join(m.label for m in spec.metrics_of(encoder).values())
            check = ENCODERS.get(encoder.kind).status
            status = check(encoder, models, fetch) if check else None
            if status is None:
                table.add_row(used_by, encoder.model, "-")
                continue
            missing += status.missing
            table.add_row(used_by, status.model, status.text)
            if status.detail:
                details.append(f"{status.model}: {status.detail}")
        out.print(table)
        for detail in details:  # whole, never cut or wrapped by us: these are paths and commands to copy
            out.print(shown(detail), highlight=False, soft_wrap=True, markup=False)
    except GraderError as exc:
        raise fail(exc) from exc
    raise typer.Exit(int(ExitCode.MODEL_MISSING if missing else ExitCode.PASSED))


@app.command()
def demo(
    task: Annotated[
        str,
        typer.Option(
            help="Any task (see `grader tasks`): face-identity grades with real offline face models, every other "
            "task its course example on tiny test models."
        ),
    ] = "face-identity",
    html_path: HtmlOption = None,
) -> None:
    """Grade a bundled example submission offline."""
    from grader.demo import run_demo

    try:
        code = run_demo(task, out, err, html_path)
    except GraderError as exc:
        raise fail(exc) from exc
    raise typer.Exit(int(code))
