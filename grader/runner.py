"""Task + submission -> GradeResult: scan, resolve models, encode, score, aggregate, compare with the tier."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from grader import confidence, copies
from grader.cache import EmbeddingCache
from grader.embeddings import Embeddings
from grader.encoders import ENCODERS, BuildContext, LazyEncoder
from grader.errors import UsageError
from grader.metrics import AGGREGATIONS
from grader.metrics.classification import classification_summary
from grader.metrics.similarity import cosine_matrix
from grader.models import resolve
from grader.problems import Problem
from grader.progress import ProgressReporter, SilentProgress
from grader.reading import read_and_encode
from grader.result import NO_FACE, GradeResult, ImageScore, MetricResult, SubjectResult, Verdict, line_flag, meets
from grader.rules import RULES, RuleInput
from grader.scoring import ImageScores, score_images, select_top_k
from grader.submission import SubjectInput, scan, unpacked
from grader.submission.files import MANIFEST, reading_within, remembering_decodes
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
    strict_copies: bool = False  # a copy of a reference or a duplicate image is a problem, not only a flag
    tiers: dict[str, Tier] = field(default_factory=dict)  # tiers besides the task's (a calibrated gate)
    device: str | None = None  # e.g. "cuda:0"; None: cuda if present, else cpu
    batch_size: int | None = None  # images per forward pass; None: the device's default

    def __post_init__(self) -> None:
        if self.models_dir is not None:
            self.models_dir = Path(self.models_dir)
        self.classifiers = {k: Path(v) for k, v in self.classifiers.items()}


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
    tiers = dict(task.tiers) | options.tiers
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
        context = BuildContext(
            options.models_dir, options.classifiers, resolved.get(spec.key), options.device, options.batch_size
        )
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
    looks: dict[Path, copies.Looks],
) -> tuple[SubjectResult, list[ImageScore], dict[str, np.ndarray]]:
    face = running.face_encoder()
    has_face = encoded[face.key].has_face(subject.images) if face and subject.images else None
    scored: dict[str, ImageScores] = {}
    for name, metric in running.metrics.items():
        result = score_images(metric, subject, encoded[metric.encoder.key], has_face, meta_file, notes)
        if result is not None:
            scored[name] = result
    per_image = {n: s.values for n, s in scored.items()}
    kept = np.arange(len(subject.images))
    select = None
    if running.selection and all(n in scored for n in running.selection.weights):
        kept = np.sort(select_top_k(per_image, running.selection))
        weights, k = running.selection.weights, running.selection.k
        select = functools.partial(confidence.select_rows, weights=weights, k=k, per_image=per_image)
    aggregations = {n: running.metrics[n].aggregation for n in scored}
    distributions = confidence.bootstrap_distributions(per_image, aggregations, select)
    metrics: dict[str, MetricResult] = {}
    conventions: dict[str, dict[str, float]] = {}
    failures: list[str] = []
    for name, metric in running.metrics.items():
        rule = RULES.get(metric.rule)
        value, n = None, 0
        if name in scored:
            chosen = scored[name].values[kept]
            valid = chosen[~np.isnan(chosen)]
            n = len(valid)
            if n:
                value = AGGREGATIONS[metric.aggregation](valid)
                if rule.conventions and metric.aggregation == "mean":
                    conventions[name] = rule.conventions(valid)
            elif metric.faces_only:
                failures.append(f"{metric.label}: no generated image has a face (the course scores this 0)")
        line, calibrated = (
            tier.line(subject.subject, name, task.metrics[name].encoder.model, metric.encoder.model, subject.thresholds)
            if tier
            else (None, True)
        )
        ceiling = (
            rule.ceiling(RuleInput(metric, subject, encoded[metric.encoder.key], has_face, meta_file, notes))
            if rule.ceiling and subject.references and value is not None
            else None
        )
        spread = (
            confidence.spread(distributions[name], line, metric.higher_is_better)
            if name in distributions and value is not None
            else confidence.Spread(None, None, None)
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
            is_count=rule.is_count,
            ci_low=spread.low,
            ci_high=spread.high,
            pass_probability=spread.pass_probability if calibrated else None,
            ceiling=ceiling,
            conventions=conventions.get(name, {}),
            outcomes=(
                confidence.outcome_probabilities(distributions[name]) if rule.is_count and name in distributions else {}
            ),
        )
    for name, gate in running.gates.items():
        value = metrics[name].value
        if value is not None and not gate.holds(value):
            failures.append(f"gate {metrics[name].label} {gate.op} {gate.value:g} not met ({value:.4g})")
    images = []
    selected = set(kept.tolist())
    copied = copies.reference_copies(
        subject.images, subject.references, looks, _copy_lines(task, running, encoded, subject)
    )
    for i, path in enumerate(subject.images):
        scores = {k: float(v.values[i]) for k, v in scored.items() if not np.isnan(v.values[i])}
        flags = [NO_FACE] if has_face is not None and not has_face[i] else []
        flags += [
            line_flag(m.label, m.higher_is_better)
            for n, m in metrics.items()
            if n in scores
            and m.threshold is not None
            and not m.is_count
            and not meets(scores[n], m.threshold, m.higher_is_better)
        ]
        if i in copied:
            flags.append(copied[i])
        if running.selection and i in selected:
            flags.append(f"kept (top {running.selection.k})")
        details = {k: d for s in scored.values() if s.details for k, d in s.details[i].items()}
        images.append(ImageScore(subject.subject, _relative(path, folder), scores, flags, details, looks[path].digest))
    result = SubjectResult(
        subject.subject,
        len(subject.images),
        subject.expected_images or len(subject.images),
        metrics,
        [_relative_problem(p, folder) for p in subject.problems],
        failures,
        [str(p) for p in subject.references],
    )
    if result.verdict in (Verdict.PASS, Verdict.FAIL):
        lines = {n: (m.threshold, m.higher_is_better) for n, m in metrics.items() if m.threshold is not None}
        joint = confidence.jointly_passing(lines, _gate_checks(running), distributions) if lines else None
        result.pass_probability = None if joint is None else float(joint.mean())
    return result, images, distributions


def _copy_lines(task: Task, running: Task, encoded: dict, subject: SubjectInput) -> list[tuple[str, np.ndarray, float]]:
    """Per metric with a copy line: its [images x references] scores, when computed with the task's own model
    (a line set for one encoder means nothing for another, nor for test models)."""
    found = []
    for name, metric in running.metrics.items():
        declared = task.metrics[name].encoder.model
        embeddings = encoded[metric.encoder.key]
        own = metric.encoder.model == declared and not _is_test_model(embeddings)
        if metric.copy_line is None or not own or not subject.images or not subject.references:
            continue
        generated, refs = embeddings.of(subject.images), embeddings.of(subject.references)
        found.append((metric.label, 100.0 * cosine_matrix(generated, refs), metric.copy_line))
    return found


def comparability(task: Task) -> dict[str, dict]:
    """Per metric, what a number must share to be compared with another: encoder and preprocessing, scale,
    text template, aggregation and selection."""
    block = {}
    for name, metric in task.metrics.items():
        rule = RULES.get(metric.rule)
        encoder = metric.encoder.model_dump()
        block[name] = {
            "label": metric.label,
            "rule": metric.rule,
            "encoder": encoder,
            "scale": rule.scale or rule.description,
            "text_template": metric.text_template,
            "aggregation": metric.aggregation,
            "faces_only": metric.faces_only,
            "selection": task.selection.model_dump() if task.selection else None,
        }
    return block


def _is_test_model(embeddings: Embeddings) -> bool:
    return bool(getattr(embeddings.encoder.context.resolved, "is_test_model", False))


def _gate_checks(task: Task) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    return {name: gate.holds for name, gate in task.gates.items()}


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


def points_probabilities(
    task: Task, subjects: list[SubjectResult], distributions: dict[str, dict[str, np.ndarray]]
) -> dict[str, float] | None:
    """How often each course-points outcome comes up over the resamples (subjects resampled independently),
    by the rule of ``course_points``; None where that gives no points."""
    if course_points(task, subjects) is None:
        return None
    gates = _gate_checks(task)
    reached = np.zeros(confidence.RESAMPLES)
    for tier in (t for t in task.tiers.values() if t.points is not None):
        ok = np.ones(confidence.RESAMPLES, dtype=bool)
        for s in subjects:
            lines = {
                n: (line, m.higher_is_better)
                for n, m in s.metrics.items()
                if (line := tier.threshold(s.subject, n)) is not None
            }
            joint = confidence.jointly_passing(lines, {}, distributions[s.subject]) if lines else None
            if joint is not None:
                ok &= joint
        reached = np.where(ok, np.maximum(reached, tier.points), reached)
    for s in subjects:
        gated = confidence.jointly_passing({}, gates, distributions[s.subject])
        if gated is not None:
            reached = np.where(gated, reached, 0.0)
    return confidence.outcome_probabilities(reached)


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
    if options.tiers and options.tier is None:
        return next(iter(options.tiers))
    if not task.tiers:
        return None  # nothing to compare with: scores only
    return options.tier or next(iter(task.tiers))


def grade(
    task: Task,
    submission: Path | str,
    data_dir: Path | str,
    options: GradeOptions | None = None,
    progress: ProgressReporter | None = None,
) -> GradeResult:
    options = options or GradeOptions()
    progress = progress or SilentProgress()
    submission, data_dir = Path(submission), Path(data_dir)  # strings from notebooks and scripts
    running = with_options(task, options)
    tier_name = _default_tier(task, options)
    check_tier(running, tier_name)
    tier = running.tiers[tier_name] if tier_name else None
    with unpacked(submission) as folder:
        with remembering_decodes(options.cache) as memo, reading_within(folder, data_dir):
            subjects, problems = scan(running.layout, folder, data_dir)
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
            while read_and_encode(encoded.values(), memo):
                # Some images did not decode, or an encoder could not read them: the scan, again, leaves them
                # out with a problem each (and counts what is left); it decodes nothing this time.
                subjects, problems = scan(running.layout, folder, data_dir)
                for spec in running.encoders():
                    encoded[spec.key].want(_paths_for(running, spec, subjects))
        problems += _unknown_line_subjects(tier_name, tier, subjects)
        markers = running.layout.data_markers
        meta_file = str(data_dir / markers[0]) if markers else str(data_dir)
        notes = [p.message for p in problems if p.severity == "note"]
        problems = [p for p in problems if p.severity != "note"]
        subject_results, image_scores = [], []
        generated = [p for s in subjects for p in s.images]
        looks = copies.looks_of(generated + [p for s in subjects for p in s.references], memo.visual)
        distributions = {}
        for subject in subjects:
            result, images, distributions[subject.subject] = _subject_result(
                task, running, tier, subject, encoded, meta_file, notes, folder, looks
            )
            subject_results.append(result)
            image_scores += images
        _flag_duplicates(generated, looks, image_scores, folder)
        _copies_as_problems(options, image_scores, subject_results)
        if not any(_is_test_model(e) for e in encoded.values()):  # test models' ceilings mean nothing
            notes += _ceiling_notes(subject_results)
        problems = [_relative_problem(p, folder) for p in problems]
        manifest = _manifest(folder)

    if options.cache is not None and options.cache.stats.moved_aside:
        message = (
            f"the embedding cache was damaged and is kept at {options.cache.stats.moved_aside}; "
            "a fresh one was started and this grade computed its embeddings afresh"
        )
        problems.append(Problem(str(options.cache.path), message, None, "warning"))
        options.cache.stats.moved_aside = ""
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
            "bootstrap": confidence.settings(),
            "cache": str(options.cache.path) if options.cache else None,
            "embeddings_computed": {
                "/".join(_labels(running, spec)): encoded[spec.key].computed for spec in running.encoders()
            },
            "manifest": manifest,
        },
        versions=library_versions(),
        notes=notes,
        points=course_points(task, subject_results),
        points_probability=points_probabilities(task, subject_results, distributions),
        comparability=comparability(running),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        max_points=max(points) if points else None,
        overall=_overall(running, subject_results),
        published=running.published,
        extras=_extras(running, image_scores),
    )


def _flag_duplicates(generated: list[Path], looks: dict, image_scores: list[ImageScore], folder: Path) -> None:
    names = {p: _relative(p, folder) for p in generated}
    repeated = copies.duplicates(generated, looks, names)
    by_file = {i.file: i for i in image_scores}
    for path, flag in repeated.items():
        by_file[names[path]].flags.append(flag)


def _copies_as_problems(options: GradeOptions, image_scores: list[ImageScore], subjects: list[SubjectResult]) -> None:
    """With --strict-copies, each copy or duplicate is an error of its subject."""
    if not options.strict_copies:
        return
    by_subject = {s.subject: s for s in subjects}
    for image in image_scores:
        for flag in image.flags:
            if flag.startswith((copies.COPY_FLAG, copies.DUPLICATE_FLAG)):
                by_subject[image.subject].problems.append(Problem(image.file, flag, image.subject))


def _ceiling_notes(subjects: list[SubjectResult]) -> list[str]:
    return [
        f"{s.subject}: {m.label} {m.value:.2f} is beyond its real-image ceiling {m.ceiling:.2f} (the references "
        "scored against each other): look for copies of the references"
        for s in subjects
        for m in s.metrics.values()
        if m.beyond_ceiling
    ]


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
