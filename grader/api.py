"""The Python API for notebooks and scripts: ``grader.grade(...)`` and ``grader.grade_class(...)``.

Paths may be strings or ``Path`` objects; the embedding cache is on by default, as on the command line.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from grader.result import GradeResult

if TYPE_CHECKING:
    from grader.batch import BatchResult
    from grader.runner import GradeOptions
    from grader.tasks.schema import Task

PathLike = str | Path


def _options(
    baseline: str | None,
    models: PathLike | None,
    cache: bool | PathLike,
    thresholds: dict[str, float] | None,
    text_template: str | None,
    face_model: str | None,
    face_detector: str | None,
    classifiers: dict[str, PathLike] | None,
    dtype: str | None,
    strict_copies: bool,
    device: str | None = None,
    batch_size: int | None = None,
) -> GradeOptions:
    from grader.cache import EmbeddingCache
    from grader.runner import GradeOptions

    if cache is True:
        store = EmbeddingCache()
    elif cache is False or cache is None:
        store = None
    else:
        folder = Path(cache)
        store = EmbeddingCache(folder if folder.suffix == ".sqlite" else folder / "embeddings.sqlite")
    return GradeOptions(
        tier=baseline,
        models_dir=Path(models) if models is not None else None,
        text_template=text_template,
        dtype={"bf16": "bfloat16"}.get(dtype or "", dtype) if dtype not in (None, "fp32", "float32") else None,
        cache=store,
        face_model=face_model,
        face_detector=face_detector,
        classifiers={k: Path(v) for k, v in (classifiers or {}).items()},
        thresholds=dict(thresholds or {}),
        strict_copies=strict_copies,
        device=device,
        batch_size=batch_size,
    )


class NotebookResult(GradeResult):
    """The result of ``grader.grade()``: the one result object, shown in a notebook cell as its verdict and table.

    The display lives here, above the reports, so that the result model itself knows nothing of its views."""

    @classmethod
    def of(cls, result: GradeResult) -> NotebookResult:
        return cls(**{f.name: getattr(result, f.name) for f in fields(result)})

    def _repr_html_(self) -> str:
        from grader.report.html import notebook_html

        return notebook_html(self)


def _task(task: str | Path | Task) -> Task:
    from grader.tasks import load_task

    return task if not isinstance(task, str | Path) else load_task(str(task))


def grade(
    submission: PathLike,
    task: str | Path | Task,
    data: PathLike,
    baseline: str | None = None,
    *,
    models: PathLike | None = None,
    cache: bool | PathLike = True,
    thresholds: dict[str, float] | None = None,
    text_template: str | None = None,
    face_model: str | None = None,
    face_detector: str | None = None,
    classifiers: dict[str, PathLike] | None = None,
    dtype: str | None = None,
    strict_copies: bool = False,
    device: str | None = None,
    batch_size: int | None = None,
) -> GradeResult:
    """Grade ``submission`` (a folder or a .zip) for ``task`` (a name, a task file or a Task) against the
    ``baseline`` tier (default: the task's first). ``cache``: True for the user cache, False for none, or a folder.
    ``device`` (e.g. "cuda:0") and ``batch_size`` change how fast the encoders run, not what they compute.
    Raises ``grader.errors.GraderError`` (with its ``exit_code``) when it cannot grade at all.

    Example:
        >>> result = grader.grade(f"{fixture}/submission", "ml2025-hw10", f"{fixture}/data", "boss",
        ...                       models=models, thresholds={"dino": -100, "clip_t": -100}, cache=False)
        >>> result.verdict.value, len(result.images), result.subjects[0].subject
        ('PASS', 90, 'object-1')
        >>> result.to_pandas()[["subject", "file"]].head(2).values.tolist()
        [['object-1', 'object-1/0.png'], ['object-1', 'object-1/1.png']]
    """
    from grader.runner import grade as run

    options = _options(
        baseline,
        models,
        cache,
        thresholds,
        text_template,
        face_model,
        face_detector,
        classifiers,
        dtype,
        strict_copies,
        device,
        batch_size,
    )
    return NotebookResult.of(run(_task(task), Path(submission), Path(data), options))


def grade_class(
    submissions: PathLike,
    task: str | Path | Task,
    data: PathLike,
    out: PathLike,
    baseline: str | None = None,
    *,
    roster: PathLike | None = None,
    engine: str = "local",
    models: PathLike | None = None,
    cache: bool | PathLike = True,
    thresholds: dict[str, float] | None = None,
    html: bool = False,
) -> BatchResult:
    """Grade every student's entry of ``submissions`` (``grader batch``); files are written to ``out``.

    Example:
        >>> classroom = grader.grade_class(f"{class_dir}/submissions", "ml2025-hw10", f"{fixture}/data", f"{out}/class",
        ...                                models=models, roster=f"{class_dir}/roster.csv", cache=False)
        >>> classroom.summary["status"], int(classroom.exit_code)
        ({'graded': 5, 'could not grade': 2, 'missing': 1}, 2)
    """
    from grader.batch import run_batch

    options = _options(baseline, models, cache, thresholds, None, None, None, None, None, False)
    return run_batch(
        _task(task),
        Path(submissions),
        Path(data),
        Path(out),
        options,
        Path(roster) if roster else None,
        engine,
        html=html,
    )
