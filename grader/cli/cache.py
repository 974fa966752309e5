"""``grader cache``: what the embedding cache holds, and emptying it."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Annotated

import typer

from grader.cli.common import CacheDirOption, app, fail, open_cache, out
from grader.cli.help import ReadableHelpGroup
from grader.errors import ExitCode, GraderError, UsageError

cache_app = typer.Typer(help="Inspect or empty the embedding cache.", no_args_is_help=True, cls=ReadableHelpGroup)
app.add_typer(cache_app, name="cache")


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else 0


@cache_app.command("info")
def cache_info(cache_dir: CacheDirOption = None) -> None:
    """What the grader keeps: embeddings per model, deepface's weights, the test models."""
    from grader.faces.weights import weights_dir
    from grader.paths import cache_dir as default_dir

    cache = open_cache(cache_dir)
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
        days = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else math.nan  # a unit is needed
    except ValueError:
        days = math.nan
    if not math.isfinite(days) or days < 0:
        raise UsageError(f"--older-than takes a duration such as 30d, 12h or 2w, not {text!r}")
    return days


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
        raise fail(exc) from exc
    cache = open_cache(cache_dir)
    if cache is None:
        raise typer.Exit(int(ExitCode.CANNOT_GRADE))
    try:
        removed = cache.clear(days)
    except sqlite3.Error as exc:  # a read-only or locked cache file
        raise fail(UsageError(f"{cache.path}: cannot clear the cache ({exc})")) from exc
    out.print(f"removed {removed} embeddings from {cache.path}", highlight=False)
