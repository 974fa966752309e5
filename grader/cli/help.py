"""Help that reads at any width: on a narrow console the plain layout (rich's option table would cut option names
and choices), and value names where a type tag would say nothing (no ``<bool>`` on a flag)."""

from __future__ import annotations

import shutil
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


class ReadableHelpGroup(typer.core.TyperGroup):
    """A command group whose help, and its commands' help, reads at any width."""

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
