"""Where a class is graded: in this process (``local``) or on a Ray cluster (``ray``).

Both yield one outcome per student as it is ready; the caller writes it at once and sorts at the end, so the
files do not depend on the engine or on the order in which students finish.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from grader.batch.grading import INTERNAL_ERROR, NOT_GRADED, StudentOutcome, grade_student
from grader.batch.students import Student
from grader.errors import ModelMissingError, UsageError
from grader.grading import GradeOptions, Resources
from grader.progress import ProgressReporter, SilentProgress
from grader.tasks.schema import Task

RAY_INSTALL = "pip install 't2i-grader[ray]'"
Engine = Callable[..., Iterator[StudentOutcome]]


def run_local(
    task: Task,
    students: list[Student],
    data: Path,
    options: GradeOptions,
    progress: ProgressReporter,
    resources: Resources,
    **_: object,
) -> Iterator[StudentOutcome]:
    """One process, the models loaded once for the whole class (a shared encoder pool and cache)."""
    shared = resources.keeping_models()
    for student in students:
        yield grade_student(task, student, data, options, progress, shared)


class _Grader:
    """A Ray actor: holds the models once and grades the students sent to it, one after another."""

    def __init__(self, task: Task, data: Path, options: GradeOptions, cache_path: Path | None) -> None:
        from grader.cache import EmbeddingCache

        self.task, self.data, self.options = task, data, options
        # Its own connection to the class's cache, and its own models, loaded once.
        self.resources = Resources(EmbeddingCache(cache_path) if cache_path else None, {})

    def grade(self, student: Student) -> StudentOutcome:
        return grade_student(self.task, student, self.data, self.options, SilentProgress(), self.resources)


def run_ray(
    task: Task,
    students: list[Student],
    data: Path,
    options: GradeOptions,
    progress: ProgressReporter,
    resources: Resources,
    address: str | None = None,
    workers: int | None = None,
) -> Iterator[StudentOutcome]:
    """Students sharded round-robin over actors (one per GPU, else one per CPU); an actor that dies is
    restarted and its pending students retried by Ray (``max_restarts``, ``max_task_retries``)."""
    try:
        import ray
    except ImportError:
        raise UsageError(f"--engine ray needs Ray, which is not installed: {RAY_INSTALL}") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        cluster = ray.cluster_resources()
        gpus = int(cluster.get("GPU", 0))
        count = max(1, min(workers or gpus or int(cluster.get("CPU", 1)), len(students)))
        cache_path = resources.cache.path if resources.cache else None  # the options travel as they are
        remote = ray.remote(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1, max_restarts=2, max_task_retries=2)
        actor: Any = remote(_Grader)
        graders = [actor.remote(task, data, options, cache_path) for _ in range(count)]
        pending = {graders[i % count].grade.remote(s): s for i, s in enumerate(students)}
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            student = pending.pop(ref)
            try:
                yield ray.get(ref)
            except ModelMissingError:
                raise
            except ray.exceptions.RayError as exc:
                yield StudentOutcome(student.id, NOT_GRADED, INTERNAL_ERROR, error=f"worker failed: {exc}")
    finally:
        if started:
            ray.shutdown()


ENGINES: dict[str, Engine] = {"local": run_local, "ray": run_ray}
