"""Task + submission -> GradeResult: scan, resolve models, encode, score, aggregate, compare with the tier."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.cache import EmbeddingCache
from grader.encoded import EncodedImages
from grader.encoders import build_encoder
from grader.encoders.face import DeepFaceEncoder
from grader.errors import UsageError
from grader.metrics import AGGREGATIONS, PAIR_RULES, faceless_flags, text_similarity
from grader.models import resolve
from grader.progress import ProgressReporter, SilentProgress
from grader.result import GradeResult, ImageScore, MetricResult, ModelInfo, Problem, SubjectResult, meets
from grader.submission import SubjectInput, scan, unpacked
from grader.tasks.schema import FaceEncoder, MetricSpec, Task, Tier
from grader.versions import library_versions


@dataclass
class GradeOptions:
    tier: str = "boss"
    models_dir: Path | None = None
    text_template: str | None = None  # overrides every text metric's template
    dtype: str | None = None  # "bfloat16" to run the transformers encoders in bf16 (faster on some CPUs)
    cache: EmbeddingCache | None = None  # None: no cache
    face_model: str | None = None  # overrides the task's deepface model_name
    face_detector: str | None = None  # overrides the task's deepface detector_backend


def check_tier(task: Task, tier: str) -> None:
    if tier not in task.tiers:
        raise UsageError(f"task {task.name} has no tier {tier!r}; its tiers: {', '.join(task.tiers)}")


def with_options(task: Task, options: GradeOptions) -> Task:
    """The task as it will run: face model/detector and CLIP text overridden where the user asked."""
    metrics = {}
    for name, metric in task.metrics.items():
        update: dict = {}
        if isinstance(metric.encoder, FaceEncoder) and (options.face_model or options.face_detector):
            encoder = metric.encoder.model_copy(
                update={
                    "model": options.face_model or metric.encoder.model,
                    "detector": options.face_detector or metric.encoder.detector,
                }
            )
            update["encoder"] = encoder
        if metric.rule == "text_similarity" and options.text_template:
            update["text_template"] = options.text_template
        if options.dtype and not isinstance(metric.encoder, FaceEncoder):
            update["encoder"] = metric.encoder.model_copy(update={"dtype": options.dtype})
        metrics[name] = metric.model_copy(update=update)
    return task.model_copy(update={"metrics": metrics})


def _labels(task: Task, key: tuple) -> str:
    return "/".join(m.label for m in task.metrics.values() if m.encoder.key == key)


def _build_encoders(task: Task, options: GradeOptions) -> dict[tuple, object]:
    """Resolve every model before loading any, so a missing one is reported before minutes of work."""
    resolved = {
        spec.key: resolve(spec.model, options.models_dir, spec.revision, purpose=_labels(task, spec.key))
        for spec in task.encoders()
        if not isinstance(spec, FaceEncoder)
    }
    return {
        spec.key: DeepFaceEncoder(spec) if isinstance(spec, FaceEncoder) else build_encoder(spec, resolved[spec.key])
        for spec in task.encoders()
    }


def _texts(subject: SubjectInput, template: str, meta_file: str) -> list[str] | None:
    try:
        return [template.format(**subject.fields_of(i)) for i in range(len(subject.images))]
    except (KeyError, IndexError) as exc:
        message = f"{subject.subject}: text template {template!r} needs field {exc}"
        subject.problems.append(Problem(meta_file, message, subject.subject))
        return None


def _per_image(
    metric: MetricSpec,
    subject: SubjectInput,
    encoded: EncodedImages,
    has_face: np.ndarray | None,
    meta_file: str,
    notes: list[str],
) -> np.ndarray | None:
    """Scores aligned with ``subject.images``; NaN where the image is left out (no face)."""
    images = subject.images
    if not images:
        return None
    if metric.rule == "faceless_count":
        return faceless_flags(has_face)
    keep = has_face if metric.faces_only else np.ones(len(images), dtype=bool)
    scores = np.full(len(images), np.nan)
    if not keep.any():
        return scores
    kept = [p for p, k in zip(images, keep, strict=True) if k]
    generated = encoded.of(kept)
    if metric.rule in PAIR_RULES:
        refs = encoded.of(subject.references)
        refs = refs[~np.isnan(refs).any(axis=1)] if len(refs) else refs
        if len(refs) == 0:
            return None
        scores[keep] = PAIR_RULES[metric.rule](generated, refs)
        return scores
    texts = _texts(subject, metric.text_template or "", meta_file)
    if texts is None:
        return None
    texts = [t for t, k in zip(texts, keep, strict=True) if k]
    for long_text in encoded.encoder.too_long(sorted(set(texts))):
        notes.append(
            f"{subject.subject}: text over {encoded.encoder.max_tokens} tokens, cut to the limit: {long_text!r}"
        )
    scores[keep] = text_similarity(generated, encoded.texts(texts))
    return scores


def _threshold(tier: Tier, subject: str, name: str, declared: MetricSpec, running: MetricSpec):
    """The tier's line for this metric and whether it belongs to the model that computed the score."""
    line = tier.threshold(subject, name)
    if line is None or declared.encoder.model == running.encoder.model:
        return line, True
    line = tier.per_model.get(running.encoder.model, {}).get(name)
    return line, line is not None


def _subject_result(
    task: Task,
    running: Task,
    tier: Tier,
    subject: SubjectInput,
    encoded: dict,
    meta_file: str,
    notes: list[str],
    folder: Path,
) -> tuple[SubjectResult, list[ImageScore]]:
    face = running.face_encoder()
    has_face = encoded[face.key].has_face(subject.images) if face and subject.images else None
    per_image: dict[str, np.ndarray] = {}
    metrics: dict[str, MetricResult] = {}
    failures: list[str] = []
    for name, metric in running.metrics.items():
        scores = _per_image(metric, subject, encoded[metric.encoder.key], has_face, meta_file, notes)
        value = None
        if scores is not None:
            per_image[name] = scores
            valid = scores[~np.isnan(scores)]
            if len(valid):
                value = AGGREGATIONS[metric.aggregation](valid)
            else:
                failures.append(f"{metric.label}: no generated image has a face (the course scores this 0)")
        line, calibrated = _threshold(tier, subject.subject, name, task.metrics[name], metric)
        metrics[name] = MetricResult(
            metric=name,
            label=metric.label,
            value=value,
            n=0 if scores is None else int((~np.isnan(scores)).sum()),
            threshold=line,
            higher_is_better=metric.higher_is_better,
            calibrated=calibrated,
            model=metric.encoder.model,
            is_count=metric.rule == "faceless_count",
        )
    for name, gate in running.gates.items():
        value = metrics[name].value
        if value is not None and not gate.holds(value):
            failures.append(f"gate {metrics[name].label} {gate.op} {gate.value:g} not met ({value:.4g})")
    images = []
    for i, path in enumerate(subject.images):
        scores = {k: float(v[i]) for k, v in per_image.items() if not np.isnan(v[i])}
        flags = ["no face"] if has_face is not None and not has_face[i] else []
        images.append(ImageScore(subject.subject, _relative(path, folder), scores, flags))
    result = SubjectResult(
        subject.subject,
        len(subject.images),
        subject.expected_images or len(subject.images),
        metrics,
        [_relative_problem(p, folder) for p in subject.problems],
        failures,
    )
    return result, images


def course_points(task: Task, subjects: list[SubjectResult]) -> float | None:
    """Points of the best tier every subject reaches; 0 when a gate fails; None when thresholds do not apply."""
    tiers = [t for t in task.tiers.values() if t.points is not None]
    if not tiers:
        return None
    if any(s.failures for s in subjects):
        return 0.0
    if any(not m.calibrated for s in subjects for m in s.metrics.values()):
        return None
    reached = [0.0]
    for tier in tiers:
        if all(
            line is None or (m.value is not None and meets(m.value, line, m.higher_is_better))
            for s in subjects
            for n, m in s.metrics.items()
            for line in [tier.threshold(s.subject, n)]
        ):
            reached.append(tier.points)
    return max(reached)


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
    running = with_options(task, options)
    tier = task.tiers[options.tier]
    with unpacked(submission) as folder:
        subjects, problems = scan(running.layout, folder, data_dir)
        encoders = _build_encoders(running, options)
        paths = [p for s in subjects for p in s.images + s.references]
        encoded = {
            spec.key: EncodedImages(
                encoders[spec.key], paths, progress, f"{_labels(running, spec.key)} ({spec.model})", options.cache
            )
            for spec in running.encoders()
        }
        meta_file = str(data_dir / getattr(running.layout, "metadata", getattr(running.layout, "prompts", "")))
        notes: list[str] = []
        subject_results, image_scores = [], []
        for subject in subjects:
            result, images = _subject_result(task, running, tier, subject, encoded, meta_file, notes, folder)
            subject_results.append(result)
            image_scores += images
        problems = [_relative_problem(p, folder) for p in problems]

    if options.dtype == "bfloat16":
        notes.append("encoders ran in bfloat16: faster, but scores move from the course's float32 ones")
    if any(not m.calibrated for s in subject_results for m in s.metrics.values()):
        models = sorted({m.model for s in subject_results for m in s.metrics.values() if not m.calibrated})
        notes.append(
            f"the '{options.tier}' thresholds belong to the task's own models, not {', '.join(models)}: "
            "scores are shown without a verdict"
        )
    points = [t.points for t in task.tiers.values() if t.points is not None]
    return GradeResult(
        task=task.name,
        title=task.title,
        tier=options.tier,
        submission=str(submission),
        subjects=subject_results,
        images=image_scores,
        problems=problems,
        models=[_model_info(running, spec, encoders[spec.key]) for spec in running.encoders()],
        settings={
            "text_templates": {n: m.text_template for n, m in running.metrics.items() if m.text_template},
            "data": str(data_dir),
            "models_dir": str(options.models_dir) if options.models_dir else None,
            "encoders": [spec.model_dump() for spec in running.encoders()],
            "cache": str(options.cache.path) if options.cache else None,
            "embeddings_computed": {_labels(running, k): e.computed for k, e in encoded.items()},
        },
        versions=library_versions(),
        notes=notes,
        points=course_points(task, subject_results),
        max_points=max(points) if points else None,
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _relative_problem(problem: Problem, root: Path) -> Problem:
    """Name files inside a (possibly temporary) submission folder by their path within it."""
    return Problem(_relative(Path(problem.file), root), problem.message, problem.subject, problem.severity)


def _model_info(task: Task, spec, encoder) -> ModelInfo:
    if isinstance(encoder, DeepFaceEncoder):
        return ModelInfo(
            metric_labels=[m.label for m in task.metrics.values() if m.encoder.key == spec.key],
            model_id=f"deepface {spec.model} + {spec.detector} detector ({encoder.backend})",
            source=str(encoder.home),
            path=str(encoder.home / ".deepface" / "weights"),
            fingerprint=encoder.fingerprint,
            is_test_model=False,
        )
    return ModelInfo(
        metric_labels=[m.label for m in task.metrics.values() if m.encoder.key == spec.key],
        model_id=encoder.resolved.model_id,
        source=encoder.resolved.source,
        path=str(encoder.resolved.path),
        fingerprint=encoder.fingerprint,
        is_test_model=encoder.resolved.is_test_model,
    )
