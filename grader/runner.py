"""Task + submission -> GradeResult: scan, resolve models, encode, score, aggregate, compare with the tier."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.cache import EmbeddingCache
from grader.embeddings import Embeddings
from grader.encoders import ENCODERS, BuildContext, LazyEncoder
from grader.errors import UsageError
from grader.metrics import AGGREGATIONS
from grader.metrics.classification import classification_summary
from grader.models import resolve
from grader.progress import ProgressReporter, SilentProgress
from grader.result import NO_FACE, GradeResult, ImageScore, MetricResult, Problem, SubjectResult, meets
from grader.rules import RULES
from grader.scoring import ImageScores, score_images, select_top_k
from grader.submission import SubjectInput, scan, unpacked
from grader.submission.files import MANIFEST, remembering_decodes
from grader.tasks.schema import EncoderSpecBase, Task, Tier
from grader.versions import library_versions

CUSTOM_TIER = "custom"


@dataclass
class GradeOptions:
    tier: str | None = None  # None: the task's first tier
    models_dir: Path | None = None
    text_template: str | None = None  # overrides every text metric's template
    dtype: str | None = None  # "bfloat16" to run the transformers encoders in bf16 (faster on some CPUs)
    cache: EmbeddingCache | None = None  # None: no cache
    face_model: str | None = None  # overrides the task's deepface model_name
    face_detector: str | None = None  # overrides the task's deepface detector_backend
    classifiers: dict[str, Path] = field(default_factory=dict)  # subject -> classifier checkpoint
    thresholds: dict[str, float] = field(default_factory=dict)  # metric -> line for every subject (tier "custom")
    encoder_pool: dict | None = None  # encoders kept across grades (grader watch): models load once


def check_tier(task: Task, tier: str | None) -> None:
    if tier is not None and tier not in task.tiers:
        known = ", ".join(task.tiers) or "none (scores only; set lines with --threshold METRIC=VALUE)"
        raise UsageError(f"task {task.name} has no tier {tier!r}; its tiers: {known}")


def with_options(task: Task, options: GradeOptions) -> Task:
    """The task as it will run: encoders, texts and lines overridden where the user asked."""
    metrics = {}
    for name, metric in task.metrics.items():
        update: dict = {"encoder": metric.encoder.with_options(options)}
        if "texts" in RULES.get(metric.rule).needs and options.text_template:
            update["text_template"] = options.text_template
        metrics[name] = metric.model_copy(update=update)
    unknown = sorted(set(options.thresholds) - set(task.metrics))
    if unknown:
        raise UsageError(f"--threshold names unknown metric(s) {', '.join(unknown)}; metrics: {', '.join(metrics)}")
    tiers = dict(task.tiers)
    if options.thresholds:
        tiers[CUSTOM_TIER] = Tier(description="lines given on the command line", all_subjects=options.thresholds)
    return task.model_copy(update={"metrics": metrics, "tiers": tiers})


def _labels(task: Task, spec: EncoderSpecBase) -> list[str]:
    return [m.label for m in task.metrics_of(spec).values()]


def _build_encoders(task: Task, options: GradeOptions) -> dict[tuple, LazyEncoder]:
    """Resolve every model before loading any, so a missing one is reported before minutes of work. Encoders
    are built only when something is not in the cache."""
    pool = options.encoder_pool if options.encoder_pool is not None else {}
    needed = [spec for spec in task.encoders() if spec.key not in pool]
    resolved = {
        spec.key: resolve(
            spec.model, options.models_dir, getattr(spec, "revision", None), purpose="/".join(_labels(task, spec))
        )
        for spec in needed
        if ENCODERS.get(spec.kind).hub_model
    }
    for spec in needed:
        context = BuildContext(options.models_dir, options.classifiers, resolved.get(spec.key))
        pool[spec.key] = LazyEncoder(spec, context)
    return {spec.key: pool[spec.key] for spec in task.encoders()}


def _paths_for(task: Task, spec: EncoderSpecBase, subjects: list[SubjectInput]) -> list[Path]:
    """The images an encoder must embed: generated ones always, references and pairs only if a metric of
    this encoder compares with them (a CLIP-T-only encoder never embeds the reference photos)."""
    needs = {n for m in task.metrics_of(spec).values() for n in RULES.get(m.rule).needs}
    paths = [p for s in subjects for p in s.images]
    if "references" in needs:
        paths += [p for s in subjects for p in s.references]
    if "pairs" in needs:
        paths += [p for s in subjects for p in s.pairs]
    return paths


def _subject_result(
    task: Task,
    running: Task,
    tier: Tier | None,
    subject: SubjectInput,
    encoded: dict,
    meta_file: str,
    notes: list[str],
    folder: Path,
) -> tuple[SubjectResult, list[ImageScore]]:
    face = running.face_encoder()
    has_face = encoded[face.key].has_face(subject.images) if face and subject.images else None
    scored: dict[str, ImageScores] = {}
    for name, metric in running.metrics.items():
        result = score_images(metric, subject, encoded[metric.encoder.key], has_face, meta_file, notes)
        if result is not None:
            scored[name] = result
    kept = np.arange(len(subject.images))
    if running.selection and all(n in scored for n in running.selection.weights):
        kept = np.sort(select_top_k({n: s.values for n, s in scored.items()}, running.selection))
    metrics: dict[str, MetricResult] = {}
    failures: list[str] = []
    for name, metric in running.metrics.items():
        value, n = None, 0
        if name in scored:
            chosen = scored[name].values[kept]
            valid = chosen[~np.isnan(chosen)]
            n = len(valid)
            if n:
                value = AGGREGATIONS[metric.aggregation](valid)
            elif metric.faces_only:
                failures.append(f"{metric.label}: no generated image has a face (the course scores this 0)")
        line, calibrated = (
            tier.line(subject.subject, name, task.metrics[name].encoder.model, metric.encoder.model, subject.thresholds)
            if tier
            else (None, True)
        )
        metrics[name] = MetricResult(
            metric=name,
            label=metric.label,
            value=value,
            n=n,
            threshold=line,
            higher_is_better=metric.higher_is_better,
            calibrated=calibrated,
            model=metric.encoder.model,
            is_count=RULES.get(metric.rule).is_count,
        )
    for name, gate in running.gates.items():
        value = metrics[name].value
        if value is not None and not gate.holds(value):
            failures.append(f"gate {metrics[name].label} {gate.op} {gate.value:g} not met ({value:.4g})")
    images = []
    selected = set(kept.tolist())
    for i, path in enumerate(subject.images):
        scores = {k: float(v.values[i]) for k, v in scored.items() if not np.isnan(v.values[i])}
        flags = [NO_FACE] if has_face is not None and not has_face[i] else []
        if running.selection and i in selected:
            flags.append(f"kept (top {running.selection.k})")
        details = {k: d for s in scored.values() if s.details for k, d in s.details[i].items()}
        images.append(ImageScore(subject.subject, _relative(path, folder), scores, flags, details))
    result = SubjectResult(
        subject.subject,
        len(subject.images),
        subject.expected_images or len(subject.images),
        metrics,
        [_relative_problem(p, folder) for p in subject.problems],
        failures,
        [str(p) for p in subject.references],
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


def _overall(task: Task, subjects: list[SubjectResult]) -> dict[str, float]:
    if task.overall != "mean":
        return {}
    overall = {}
    for name in task.metrics:
        values = [s.metrics[name].value for s in subjects if s.metrics[name].value is not None]
        if values:
            overall[name] = float(np.mean(values))
    return overall


def _extras(task: Task, images: list[ImageScore]) -> dict:
    """Classification summaries for metrics that predict labels."""
    extras = {}
    for name, metric in task.metrics.items():
        if not RULES.get(metric.rule).predicts_labels:
            continue
        for subject in sorted({i.subject for i in images}):
            rows = [i for i in images if i.subject == subject and "predicted" in i.details]
            if rows:
                extras[f"{name}:{subject}"] = classification_summary(
                    [r.details["label"] for r in rows],
                    [r.details["predicted"] for r in rows],
                    [float(r.details["p_true"] or "nan") for r in rows],
                    [r.file for r in rows],
                    {r.details["label"]: r.details.get("label_name", r.details["label"]) for r in rows}
                    | {r.details["predicted"]: r.details.get("predicted_name", r.details["predicted"]) for r in rows},
                )
    return extras


def _unknown_line_subjects(name: str | None, tier: Tier | None, subjects: list[SubjectInput]) -> list[Problem]:
    """Lines for subjects the data does not have (layouts whose subjects come with the data are checked here)."""
    known = {s.subject for s in subjects}
    unknown = sorted(set(tier.per_subject) - known) if tier else []
    return [
        Problem(f"tier {name}", f"per_subject line for {s!r}, which the data does not have; ignored", None, "warning")
        for s in unknown
    ]


def _default_tier(task: Task, options: GradeOptions) -> str | None:
    if options.thresholds:
        return CUSTOM_TIER
    if not task.tiers:
        return None  # nothing to compare with: scores only
    return options.tier or next(iter(task.tiers))


def grade(
    task: Task,
    submission: Path,
    data_dir: Path,
    options: GradeOptions | None = None,
    progress: ProgressReporter | None = None,
) -> GradeResult:
    options = options or GradeOptions()
    progress = progress or SilentProgress()
    running = with_options(task, options)
    tier_name = _default_tier(task, options)
    check_tier(running, tier_name)
    tier = running.tiers[tier_name] if tier_name else None
    with unpacked(submission) as folder:
        with remembering_decodes(options.cache):
            subjects, problems = scan(running.layout, folder, data_dir)
        problems += _unknown_line_subjects(tier_name, tier, subjects)
        encoders = _build_encoders(running, options)
        encoded = {
            spec.key: Embeddings(
                encoders[spec.key],
                _paths_for(running, spec, subjects),
                progress,
                f"{'/'.join(_labels(running, spec))} ({spec.model})",
                options.cache,
            )
            for spec in running.encoders()
        }
        markers = running.layout.data_markers
        meta_file = str(data_dir / markers[0]) if markers else str(data_dir)
        notes = [p.message for p in problems if p.severity == "note"]
        problems = [p for p in problems if p.severity != "note"]
        subject_results, image_scores = [], []
        for subject in subjects:
            result, images = _subject_result(task, running, tier, subject, encoded, meta_file, notes, folder)
            subject_results.append(result)
            image_scores += images
        problems = [_relative_problem(p, folder) for p in problems]
        manifest = _manifest(folder)

    if options.dtype == "bfloat16":
        notes.append("encoders ran in bfloat16: faster, but scores move from the course's float32 ones")
    if any(not m.calibrated for s in subject_results for m in s.metrics.values()):
        models = sorted({m.model for s in subject_results for m in s.metrics.values() if not m.calibrated})
        notes.append(
            f"the '{tier_name}' thresholds belong to the task's own models, not {', '.join(models)}: "
            "scores are shown without a verdict"
        )
    points = [t.points for t in task.tiers.values() if t.points is not None]
    return GradeResult(
        task=task.name,
        title=task.title,
        tier=tier_name or "",
        submission=str(submission),
        subjects=subject_results,
        images=image_scores,
        problems=problems,
        models=[encoders[spec.key].describe(_labels(running, spec)) for spec in running.encoders()],
        settings={
            "text_templates": {n: m.text_template for n, m in running.metrics.items() if m.text_template},
            "data": str(data_dir),
            "models_dir": str(options.models_dir) if options.models_dir else None,
            "encoders": [spec.model_dump() for spec in running.encoders()],
            "selection": running.selection.model_dump() if running.selection else None,
            "thresholds": options.thresholds,
            "cache": str(options.cache.path) if options.cache else None,
            "embeddings_computed": {
                "/".join(_labels(running, spec)): encoded[spec.key].computed for spec in running.encoders()
            },
            "manifest": manifest,
        },
        versions=library_versions(),
        notes=notes,
        points=course_points(task, subject_results),
        max_points=max(points) if points else None,
        overall=_overall(running, subject_results),
        published=running.published,
        extras=_extras(running, image_scores),
    )


def _manifest(folder: Path) -> dict | None:
    """How the images were generated, when a generator left its manifest beside them."""
    path = folder / MANIFEST
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    keys = ("adapter", "base", "settings", "generation")
    return {k: raw.get(k) for k in keys} if isinstance(raw, dict) else None


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _relative_problem(problem: Problem, root: Path) -> Problem:
    """Name files inside a (possibly temporary) submission folder by their path within it."""
    return Problem(_relative(Path(problem.file), root), problem.message, problem.subject, problem.severity)
