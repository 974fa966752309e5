"""Help and usage errors that read at any width: on a narrow console the plain help layout (rich's option table
would cut option names and choices), value names where a type tag would say nothing (no ``<bool>`` on a flag),
and a usage error as one ``error:`` line like every other error (not a boxed ``Error``)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from typing import Any

import typer

NARROW = 100  # columns below which help is the plain layout

_VALUE_NAMES = {"<str>": "TEXT", "<path>": "PATH", "<int>": "N", "<float>": "NUMBER"}


def _value_name(option: Any, ctx: Any) -> str | None:
    """The name shown after an option: nothing for a flag, a plain word for a plain type, the choices as is."""
    if getattr(option, "is_flag", False) or getattr(option, "count", False):
        return ""
    shown = option.display_type_rich(ctx) if hasattr(option, "display_type_rich") else None
    if shown in _VALUE_NAMES:
        return _VALUE_NAMES[shown]
    if shown and shown.startswith("<") and shown.endswith(">"):
        return f"[{shown[1:-1]}]"
    return None


def _argument_type(argument: Any, ctx: Any) -> str | None:
    """An argument is named already (SUBMISSION, FILE...): only choices are worth a tag."""
    shown = argument.display_type(ctx)
    return f"[{shown[1:-1]}]" if "|" in shown and not shown.startswith("<list[") else None


def tidy(command: Any, ctx: Any) -> Any:
    """``command`` with value names filled in and, on a narrow console, the plain help layout."""
    if shutil.get_terminal_size().columns < NARROW and hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None
    for param in command.params:
        kind = getattr(param, "param_type_name", "")
        if kind == "option" and param.metavar is None:
            param.metavar = _value_name(param, ctx)
        elif kind == "argument" and hasattr(param, "display_type"):
            param.display_type_rich = lambda ctx, argument=param: _argument_type(argument, ctx)
    return command


def usage_error(exc: Any) -> None:
    """A usage error as the grader prints errors: the usage line, where help is, and one ``error:`` line."""
    from rich.console import Console

    from grader.display import shown

    console = Console(stderr=True)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        console.print(ctx.get_usage(), highlight=False, markup=False)
        console.print(f"Try '{ctx.command_path} --help' for help.", style="dim", highlight=False, markup=False)
    console.print(f"[bold red]error:[/] {shown(exc.format_message())}", highlight=False, soft_wrap=True)


class ReadableHelpGroup(typer.core.TyperGroup):
    """A command group whose help, and its commands' help, reads at any width, and whose usage errors are one
    line."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.core._click.exceptions.ClickException as exc:  # typer's own click: usage errors
            if exc.__class__.__name__ == "NoArgsIsHelpError":  # no arguments: the help (rich has printed it already)
                if exc.format_message():
                    print(exc.format_message())
                sys.exit(exc.exit_code)
            usage_error(exc)
            sys.exit(exc.exit_code)
        except typer.Abort:
            print("Aborted.", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            return None
        help_option = command.get_help_option(ctx)
        if help_option is not None:
            help_option.metavar = ""
        return tidy(command, ctx)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    def format_help(self, ctx: Any, formatter: Any) -> None:
        tidy(self, ctx)
        super().format_help(ctx, formatter)
