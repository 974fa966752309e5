"""The ``grader`` command: one module per command group, the options they share defined once
(``grader.cli.common``, ``grader.cli.grading_options``)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from grader.cli import batch, cache, check, models, tasks  # noqa: F401  (each registers its commands)
from grader.cli.common import app, err
from grader.display import shown
from grader.errors import ExitCode

__all__ = ["app", "main"]


def main() -> None:
    """The console script: any unexpected exception ends in one line and exit code 4, never a bare traceback
    (the traceback with --verbose)."""
    _end_cleanly_on_sigterm()
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
            f"[bold red]internal error:[/] {shown(f'{exc.__class__.__name__}: {exc}')} "
            f"(in {Path(where.filename).name}:{where.lineno}; run with --verbose for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(int(ExitCode.INTERNAL_ERROR))


TERMINATED = 128 + 15  # the shell's code for a process ended by SIGTERM


def _end_cleanly_on_sigterm() -> None:
    """SIGTERM (a scheduler's timeout, ``kill``) unwinds like Ctrl-C: a zip's unpacked copy is removed, the cache
    keeps what was finished, and the command ends with 143."""
    import signal

    def terminate(signum: int, frame: object) -> None:
        err.print("terminated: the cache keeps every embedding finished so far; run again to resume")
        raise SystemExit(TERMINATED)

    with contextlib.suppress(ValueError):  # not the main thread (the CLI inside another program): leave it be
        signal.signal(signal.SIGTERM, terminate)
