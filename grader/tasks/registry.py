"""Finding and loading task files."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from grader.errors import TaskFileError, UsageError
from grader.tasks import validated  # the module, not the package API
from grader.tasks.schema import Task

TASKS_ENV = "T2I_GRADER_TASKS"
_PACKAGE = Path(__file__).resolve().parent.parent


def task_dirs() -> list[Path]:
    """Where task files are looked for: $T2I_GRADER_TASKS, then the copy inside the package, then the repo's."""
    dirs = [Path(p) for p in os.environ.get(TASKS_ENV, "").split(os.pathsep) if p]
    dirs += [_PACKAGE / "_baselines", _PACKAGE.parent / "baselines"]
    return [d for d in dirs if d.is_dir()]


def available_tasks() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in task_dirs():
        for path in sorted(directory.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def read_task_file(path: Path, fresh: bool = False) -> Task:
    """The task in ``path``; ``fresh`` validates it even if the same bytes validated before."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TaskFileError(f"{path}: cannot read task file: {exc}") from exc
    task = None if fresh else validated.recall(data)
    if task is None:
        task = _validate_task_file(path, data)
        validated.remember(data, task)
    if task.name != path.stem:
        raise TaskFileError(
            f"{path}: the task is named {task.name!r} but its file {path.name!r}; name the file {task.name}.yaml "
            "(tasks are found by file name)"
        )
    return task


def _validate_task_file(path: Path, data: bytes) -> Task:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: several times faster
    try:
        raw = yaml.load(data.decode("utf-8"), Loader=loader)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TaskFileError(f"{path}: cannot read task file: {exc}") from exc
    if not isinstance(raw, dict):
        raise TaskFileError(f"{path}: a task file is a mapping of fields, got {type(raw).__name__}")
    try:
        task = Task.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: invalid task file"]
        for loc, message in _flat_errors(exc):
            lines.append(f"  {'.'.join(map(str, loc)) or '(top level)'}: {message}")
        raise TaskFileError("\n".join(lines)) from exc
    return task


def _flat_errors(exc: ValidationError) -> list[tuple[tuple, str]]:
    """Each error with its full path, including those inside a spec chosen by its ``kind``."""
    flat = []
    for err in exc.errors():
        inner = (err.get("ctx") or {}).get("errors") if err["type"] == "by_kind" else None
        if inner:
            flat += [((*err["loc"], *e["loc"]), e["msg"]) for e in inner]
        else:
            flat.append((tuple(err["loc"]), err["msg"]))
    return flat


def load_task(name_or_path: str) -> Task:
    """A task by name (``ml2025-hw10``) or by the path of a task file."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} and path.is_file():
        return read_task_file(path)
    tasks = available_tasks()
    if name_or_path not in tasks:
        known = ", ".join(sorted(tasks)) or "none found"
        raise UsageError(f"unknown task {name_or_path!r}; known tasks: {known}")
    return read_task_file(tasks[name_or_path])
