"""The Python API for notebooks and scripts: ``grader.grade(...)`` and ``grader.grade_class(...)``.

Paths may be strings or ``Path`` objects; the embedding cache is on by default, as on the command line. Both take
the same grading options as ``grader check`` and ``grader batch``, built the same way (``GradeOptions.build``).
"""

from __future__ import annotations

import contextlib
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from grader.result import GradeResult

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from grader.batch import BatchResult
    from grader.grading import GradeOptions
    from grader.grading.options import GradingKeywords
    from grader.tasks.schema import Task

PathLike = str | Path


class NotebookResult(GradeResult):
    """The result of ``grader.grade()``: the one result object, shown in a notebook cell as its verdict and table.

    The display lives here, above the reports, so that the result model itself knows nothing of its views."""

    @classmethod
    def of(cls, result: GradeResult) -> NotebookResult:
        """The same result, with its notebook view."""
        return cls(**{f.name: getattr(result, f.name) for f in fields(result)})

    def _repr_html_(self) -> str:
        from grader.report.html import notebook_html

        return notebook_html(self)


def _task(task: str | Path | Task) -> Task:
    from grader.tasks import load_task

    return task if not isinstance(task, str | Path) else load_task(str(task))


def _options(spec: Task, baseline: str | None, given: GradingKeywords) -> GradeOptions:
    from grader.grading import GradeOptions

    return GradeOptions.build(baseline=baseline, task=spec.name, **given)


def grade(
    submission: PathLike,
    task: str | Path | Task,
    data: PathLike,
    baseline: str | None = None,
    *,
    cache: bool | PathLike = True,
    progress: bool = True,
    **options: Unpack[GradingKeywords],
) -> GradeResult:
    """Grade ``submission`` (a folder or a .zip) for ``task`` (a name, a task file or a Task) against the
    ``baseline`` tier (default: the task's first). ``cache``: True for the user cache, False for none, or a folder.
    ``progress``: bars while images are encoded, where someone watches (a terminal; in a notebook rich's bars with
    ipywidgets, else plain lines); never in a pipe or a log.
    The grading options are those of ``grader check`` (``grader.grading.options.GradingKeywords``): ``models``,
    ``thresholds``, ``text_template``, ``face_model``, ``face_detector``, ``classifiers``, ``dtype`` (fp32, the
    courses', or bf16), ``strict_copies``, ``gate`` (a file from ``grader calibrate``), and ``device`` (e.g.
    "cuda:0") and ``batch_size``, which change how fast the encoders run, not what they compute.
    Raises ``grader.errors.GraderError`` (with its ``exit_code``) when it cannot grade at all.

    Example:
        >>> result = grader.grade(f"{fixture}/submission", "ml2025-hw10", f"{fixture}/data",
        ...                       models=models, thresholds={"dino": -100, "clip_t": -100}, cache=False)
        >>> result.verdict.value, len(result.images), result.subjects[0].subject
        ('PASS', 90, 'object-1')
        >>> result.to_pandas()[["subject", "file"]].head(2).values.tolist()
        [['object-1', 'object-1/0.png'], ['object-1', 'object-1/1.png']]
    """
    from grader.grading import Resources
    from grader.grading import grade as run
    from grader.logs import hide_library_bars
    from grader.progress import SilentProgress, notebook_progress

    spec = _task(task)
    chosen = _options(spec, baseline, options)
    hide_library_bars()  # transformers' and the hub's own bars (tqdm's "IProgress not found" in notebooks)
    with notebook_progress() if progress else contextlib.nullcontext(SilentProgress()) as reporter:
        graded = run(spec, Path(submission), Path(data), chosen, reporter, Resources.with_cache(cache))
    graded.command = _call("grade", submission, spec.name, data, baseline, dict(options))
    return NotebookResult.of(graded)


def _call(function: str, submission: PathLike, task: str, data: PathLike, baseline: str | None, options: dict) -> str:
    """The call that made a result, as its report's ``command``: what to run again to get it."""
    given = {"baseline": baseline, **options} if baseline else dict(options)
    keywords = "".join(f", {k}={v!r}" for k, v in given.items())
    return f"grader.{function}({str(submission)!r}, {task!r}, {str(data)!r}{keywords})"


def grade_class(
    submissions: PathLike,
    task: str | Path | Task,
    data: PathLike,
    out: PathLike,
    baseline: str | None = None,
    *,
    roster: PathLike | None = None,
    engine: str = "local",
    cache: bool | PathLike = True,
    html: bool = False,
    **options: Unpack[GradingKeywords],
) -> BatchResult:
    """Grade every student's entry of ``submissions`` (``grader batch``), with the grading options of
    ``grade``; files are written to ``out``.

    Example:
        >>> classroom = grader.grade_class(f"{class_dir}/submissions", "ml2025-hw10", f"{fixture}/data", f"{out}/class",
        ...                                models=models, roster=f"{class_dir}/roster.csv", cache=False)
        >>> classroom.summary["status"], int(classroom.exit_code)
        ({'graded': 5, 'partly graded': 0, 'could not grade': 2, 'missing': 1}, 2)
    """
    from grader.batch import run_batch
    from grader.grading import Resources

    spec = _task(task)
    return run_batch(
        spec,
        Path(submissions),
        Path(data),
        Path(out),
        _options(spec, baseline, options),
        Resources.with_cache(cache),
        Path(roster) if roster else None,
        engine,
        html=html,
    )
