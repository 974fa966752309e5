"""Progress reporting that the runner calls and the CLI renders (rich) or tests ignore."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class ProgressReporter(Protocol):
    def task(self, label: str, total: int) -> Callable[[int], None]: ...


class SilentProgress:
    def task(self, label: str, total: int) -> Callable[[int], None]:
        return lambda n: None


class RichProgress:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def task(self, label: str, total: int) -> Callable[[int], None]:
        task_id = self._progress.add_task(label, total=total)
        return lambda n: self._progress.advance(task_id, n)


@contextmanager
def rich_progress(console: Console) -> Iterator[RichProgress]:
    columns = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        yield RichProgress(progress)
