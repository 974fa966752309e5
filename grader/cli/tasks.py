"""``grader tasks``: list, validate and describe task files, and what they may name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from grader.cli.common import app, err, out
from grader.cli.help import ReadableHelpGroup
from grader.errors import ExitCode, GraderError


class _TaskNames(ReadableHelpGroup):
    """``grader tasks NAME`` describes the task NAME: a word that is not a subcommand is a task to show."""

    def resolve_command(self, ctx, args):
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            return "show", self.commands["show"], args
        return super().resolve_command(ctx, args)


tasks_app = typer.Typer(help="List, check and describe task files.", invoke_without_command=True, cls=_TaskNames)
app.add_typer(tasks_app, name="tasks")


@tasks_app.callback()
def tasks(context: typer.Context) -> None:
    """List the tasks and their tiers; `grader tasks NAME` describes one (subcommands: validate, schema, kinds)."""
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


@tasks_app.command("show", hidden=True)
def tasks_show(name: Annotated[str, typer.Argument(metavar="TASK", help="A task name or a task file.")]) -> None:
    """What a task grades and how: metrics and their models, the data layout, tiers, assumptions, provenance."""
    from grader.cli.common import fail
    from grader.display import shown
    from grader.tasks import load_task

    try:
        task = load_task(name)
    except GraderError as exc:
        raise fail(exc) from exc
    from grader.tasks.describe import describe

    out.print(f"[bold]{shown(task.name)}[/]: {shown(task.title)}", highlight=False)
    out.print(shown(task.description), highlight=False, soft_wrap=True)
    for title, lines in describe(task):
        out.print(f"[bold]{title}[/]", highlight=False)
        for line in lines:  # wrapped but never cut: model ids and paths are copied by users
            out.print(f"  {shown(line)}", highlight=False, soft_wrap=True)
