"""What every ``grader`` command shares: the app, its consoles, the global flags, errors as exit codes, and the
options that are not about grading (cache, models, outputs)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from grader.cli.help import ReadableHelpGroup
from grader.display import shown
from grader.errors import GraderError

if TYPE_CHECKING:
    from grader.cache import EmbeddingCache

# Each command imports what it needs when it runs: `grader --help` and a fully cached `grader check` never pay
# for torch, transformers, scikit-learn or pandas.


class GlobalFlagsAnywhere(ReadableHelpGroup):
    """A command group whose own flags (--quiet, --verbose, --version) may also come after the subcommand, as a user
    types them at the end of a line (``grader check results/ ... -q``): they are moved before it."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        flags = {opt for param in self.params if getattr(param, "is_flag", False) for opt in param.opts}
        end = args.index("--") if "--" in args else len(args)
        hoisted = [a for a in args[:end] if a in flags]
        rest = [a for a in args[:end] if a not in flags] + args[end:]
        return super().parse_args(ctx, hoisted + rest)


def new_app(help_text: str) -> typer.Typer:
    """A command group as ``grader`` and ``generate`` have them: help without arguments, errors as one line, its
    global flags accepted after the subcommand too."""
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        cls=GlobalFlagsAnywhere,
    )


def report_console() -> Console:
    """Standard output for reports. Off a terminal rich assumes 80 columns; reports read better a little wider
    (COLUMNS still wins)."""
    return Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120)


app = new_app("Grade personalized text-to-image submissions exactly as the courses do.")
out = report_console()
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        from grader import __version__

        out.print(f"t2i-grader {__version__}", highlight=False)
        raise typer.Exit()


def global_flags(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the verdict line and errors.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also show library warnings and progress output, and tracebacks.")
    ] = False,
) -> None:
    """How loud a command is (``grader`` and ``generate`` alike): library output is hidden unless --verbose."""
    from grader.logs import configure

    configure(quiet=quiet, verbose=verbose)


app.callback()(global_flags)


ModelsOption = Annotated[
    Path | None,
    typer.Option("--models", help="Folder holding models as DIR/<org>/<name>; used alone when given."),
]


CacheDirOption = Annotated[
    Path | None, typer.Option("--cache-dir", help="Embedding cache folder (default: the user cache directory).")
]


def open_cache(folder: Path | None) -> EmbeddingCache | None:
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


def fail(exc: GraderError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {shown(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(int(exc.exit_code))


def command_line() -> str:
    import shlex

    return shlex.join(["grader", *sys.argv[1:]])


TaskOption = Annotated[str, typer.Option(help="Task name (see `grader tasks`) or a task file.")]
DataOption = Annotated[Path, typer.Option(help="The task's data folder (e.g. the one with metadata.json).")]
HtmlOption = Annotated[
    Path | None, typer.Option("--html", help="Write a self-contained HTML report (images as thumbnails).")
]
