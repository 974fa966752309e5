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


_COLUMNS = (
    TextColumn("[progress.description]{task.description}"),
    BarColumn(),
    MofNCompleteColumn(),
    TimeElapsedColumn(),
    TimeRemainingColumn(),
)


class LineProgress:
    """Progress as plain lines (a start and an end per bar, and each quarter between): what a notebook without
    ipywidgets can show, where rich's live bars cannot redraw."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def task(self, label: str, total: int) -> Callable[[int], None]:
        import time

        start, done, said = time.monotonic(), 0, 0
        self._console.print(f"{label}: {total} to do", highlight=False, markup=False)

        def advance(n: int) -> None:
            nonlocal done, said
            done += n
            quarter = 4 * done // total if total else 4
            if quarter > said:
                said = quarter
                elapsed = time.monotonic() - start
                self._console.print(f"{label}: {done}/{total} ({elapsed:.0f} s)", highlight=False, markup=False)

        return advance


@contextmanager
def notebook_progress(console: Console | None = None) -> Iterator[ProgressReporter]:
    """Bars for ``grader.grade()`` where someone watches: rich's live bars where they can redraw (a terminal, or
    Jupyter with ipywidgets), plain lines in a notebook without ipywidgets (instead of rich's warning), nothing in
    a pipe or a log file."""
    from importlib.util import find_spec

    console = console or Console()
    if not (console.is_terminal or console.is_jupyter):
        yield SilentProgress()
        return
    if console.is_jupyter and find_spec("ipywidgets") is None:
        yield LineProgress(console)
        return
    with rich_progress(console) as progress:
        yield progress


@contextmanager
def rich_progress(console: Console, quiet: bool = False, transient: bool = False) -> Iterator[ProgressReporter]:
    """Bars on ``console``; none with ``quiet`` (``--quiet`` prints the verdict line alone); ``transient`` bars are
    cleared when done."""
    if quiet:
        yield SilentProgress()
        return
    with Progress(*_COLUMNS, console=console, transient=transient) as progress:
        yield RichProgress(progress)


class ClassProgress:
    """Two bars for a whole class: students, and images encoded (all encoders and students on one bar)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._students = progress.add_task("students", total=None)
        self._images = progress.add_task("images encoded", total=0)

    def expect(self, students: int) -> None:
        """The class's size, once its folder has been read."""
        self._progress.update(self._students, total=students)

    def task(self, label: str, total: int) -> Callable[[int], None]:
        self._progress.update(self._images, total=(self._progress.tasks[self._images].total or 0) + total)
        return lambda n: self._progress.advance(self._images, n)

    def student_done(self) -> None:
        self._progress.advance(self._students, 1)


class SilentClassProgress(SilentProgress):
    """A class graded without bars."""

    def expect(self, students: int) -> None:
        pass

    def student_done(self) -> None:
        pass


@contextmanager
def class_progress(console: Console, quiet: bool = False) -> Iterator[ClassProgress | SilentClassProgress]:
    """The class's two bars on ``console``; none with ``quiet``."""
    if quiet:
        yield SilentClassProgress()
        return
    with Progress(*_COLUMNS, console=console, transient=False) as progress:
        yield ClassProgress(progress)


class PrefixedProgress:
    """Bars of one step of a longer job, each named with the step (e.g. a sweep's grid point)."""

    def __init__(self, inner: ProgressReporter, prefix: str) -> None:
        self._inner, self._prefix = inner, prefix

    def task(self, label: str, total: int) -> Callable[[int], None]:
        return self._inner.task(f"{self._prefix} {label}", total)
