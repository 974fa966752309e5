"""Task + submission -> GradeResult: scan, resolve models, encode, score, aggregate, compare with the tier."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.encoders import Encoder, build_encoder
from grader.errors import UsageError
from grader.metrics import AGGREGATIONS, RULES
from grader.models import ResolvedModel, resolve
from grader.progress import ProgressReporter, SilentProgress
from grader.result import GradeResult, ImageScore, MetricResult, ModelInfo, Problem, SubjectResult
from grader.submission import SubjectInput, scan_subject_folders, unpacked
from grader.tasks.schema import MetricSpec, Task
from grader.versions import library_versions


@dataclass
class GradeOptions:
    tier: str = "boss"
    models_dir: Path | None = None
    text_template: str | None = None  # overrides every text metric's template


def check_tier(task: Task, tier: str) -> None:
    if tier not in task.tiers:
        raise UsageError(f"task {task.name} has no tier {tier!r}; its tiers: {', '.join(task.tiers)}")


def resolve_models(task: Task, models_dir: Path | None) -> dict[tuple, ResolvedModel]:
    resolved = {}
    for spec in task.encoders():
        labels = ", ".join(m.label for m in task.metrics.values() if m.encoder.key == spec.key)
        resolved[spec.key] = resolve(spec.model, models_dir, spec.revision, purpose=labels)
    return resolved


def _template(metric: MetricSpec, options: GradeOptions) -> str:
    return options.text_template or metric.text_template or ""


def _texts(subject: SubjectInput, metric: MetricSpec, template: str, meta_file: str) -> str | None:
    try:
        return template.format(**subject.fields)
    except (KeyError, IndexError) as exc:
        subject.problems.append(
            Problem(meta_file, f"{subject.subject}: text template {template!r} needs field {exc}", subject.subject)
        )
        return None


class _Embeddings:
    """Embeddings of every image once per encoder, shared by the metrics that use that encoder."""

    def __init__(self, encoder: Encoder, subjects: list[SubjectInput], progress: ProgressReporter, label: str):
        paths = sorted({p for s in subjects for p in s.images + s.references})
        advance = progress.task(label, len(paths))
        vectors = encoder.encode_images(paths, advance) if paths else np.zeros((0, 1))
        self.by_path = dict(zip(paths, vectors, strict=True))

    def of(self, paths: list[Path]) -> np.ndarray:
        return np.stack([self.by_path[p] for p in paths])


def _score_metric(
    name: str,
    metric: MetricSpec,
    subject: SubjectInput,
    embeddings: _Embeddings,
    encoder: Encoder,
    options: GradeOptions,
    meta_file: str,
    notes: list[str],
) -> np.ndarray | None:
    if not subject.images:
        return None
    generated = embeddings.of(subject.images)
    if metric.rule == "reference_similarity":
        if not subject.references:
            return None
        return RULES[metric.rule](generated, embeddings.of(subject.references))
    text = _texts(subject, metric, _template(metric, options), meta_file)
    if text is None:
        return None
    for long_text in encoder.too_long([text]):
        notes.append(f"{subject.subject}: text over {encoder.max_tokens} tokens, cut to the limit: {long_text!r}")
    return RULES[metric.rule](generated, encoder.encode_texts([text]))


def grade(
    task: Task,
    submission: Path,
    data_dir: Path,
    options: GradeOptions | None = None,
    progress: ProgressReporter | None = None,
) -> GradeResult:
    options = options or GradeOptions()
    progress = progress or SilentProgress()
    check_tier(task, options.tier)
    thresholds = task.tiers[options.tier].per_subject
    with unpacked(submission) as folder:
        subjects, problems = scan_subject_folders(task.layout, folder, data_dir)
        resolved = resolve_models(task, options.models_dir)
        encoders: dict[tuple, Encoder] = {}
        embeddings: dict[tuple, _Embeddings] = {}
        for spec in task.encoders():
            encoders[spec.key] = build_encoder(spec, resolved[spec.key])
            labels = "/".join(m.label for m in task.metrics.values() if m.encoder.key == spec.key)
            embeddings[spec.key] = _Embeddings(encoders[spec.key], subjects, progress, f"{labels} ({spec.model})")

        meta_file = str(data_dir / task.layout.metadata)
        notes: list[str] = []
        subject_results, image_scores = [], []
        for subject in subjects:
            per_image: dict[str, np.ndarray] = {}
            metrics = {}
            for name, metric in task.metrics.items():
                key = metric.encoder.key
                scores = _score_metric(name, metric, subject, embeddings[key], encoders[key], options, meta_file, notes)
                if scores is not None:
                    per_image[name] = scores
                metrics[name] = MetricResult(
                    metric=name,
                    label=metric.label,
                    value=None if scores is None else AGGREGATIONS[metric.aggregation](scores),
                    n=0 if scores is None else len(scores),
                    threshold=thresholds.get(subject.subject, {}).get(name),
                    higher_is_better=metric.higher_is_better,
                )
            for i, path in enumerate(subject.images):
                image_scores.append(
                    ImageScore(subject.subject, _relative(path, folder), {k: float(v[i]) for k, v in per_image.items()})
                )
            subject_results.append(
                SubjectResult(
                    subject.subject,
                    len(subject.images),
                    task.layout.images_per_subject,
                    metrics,
                    [_relative_problem(p, folder) for p in subject.problems],
                )
            )
        problems = [_relative_problem(p, folder) for p in problems]

    return GradeResult(
        task=task.name,
        title=task.title,
        tier=options.tier,
        submission=str(submission),
        subjects=subject_results,
        images=image_scores,
        problems=problems,
        models=[_model_info(task, spec_key, resolved[spec_key], encoders[spec_key]) for spec_key in resolved],
        settings={
            "text_templates": {
                n: _template(m, options) for n, m in task.metrics.items() if m.rule == "text_similarity"
            },
            "data": str(data_dir),
            "models_dir": str(options.models_dir) if options.models_dir else None,
            "device": str(next(iter(encoders.values())).device) if encoders else None,
        },
        versions=library_versions(),
        notes=notes,
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _relative_problem(problem: Problem, root: Path) -> Problem:
    """Name files inside a (possibly temporary) submission folder by their path within it."""
    return Problem(_relative(Path(problem.file), root), problem.message, problem.subject, problem.severity)


def _model_info(task: Task, key: tuple, model: ResolvedModel, encoder: Encoder) -> ModelInfo:
    return ModelInfo(
        metric_labels=[m.label for m in task.metrics.values() if m.encoder.key == key],
        model_id=model.model_id,
        source=model.source,
        path=str(model.path),
        fingerprint=encoder.fingerprint,
        is_test_model=model.is_test_model,
    )
