"""What a result records of how it was made: the settings and the models, what a number must share to be compared
with another, the generator's manifest, the grade-wide notes, and the task's summaries (overall row,
classification tables)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from grader import confidence
from grader.embeddings import with_reading
from grader.grading.encoding import Encoded
from grader.grading.options import GradeOptions, Resources
from grader.grading.running import RunningTask, labels
from grader.metrics.classification import classification_summary
from grader.problems import Problem, Severity
from grader.result import UNCALIBRATED_RULE, ImageScore, SubjectResult
from grader.rules import RULES
from grader.submission.files import MANIFEST
from grader.tasks.schema import Task


def comparability(task: Task) -> dict[str, dict]:
    """Per metric, what a number must share to be compared with another: encoder and preprocessing, scale,
    text template, aggregation and selection."""
    block = {}
    for name, metric in task.metrics.items():
        rule = RULES.get(metric.rule)
        block[name] = {
            "label": metric.label,
            "rule": metric.rule,
            "encoder": metric.encoder.model_dump(),
            "scale": rule.scale or rule.description,
            "text_template": metric.text_template,
            "aggregation": metric.aggregation,
            "faces_only": metric.faces_only,
            "selection": task.selection.model_dump() if task.selection else None,
        }
    return block


def manifest(folder: Path) -> dict | None:
    """How the images were generated, when a generator left its manifest beside them."""
    try:
        raw = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    keys = ("adapter", "base", "settings", "generation")
    return {k: raw.get(k) for k in keys} if isinstance(raw, dict) else None


def settings(run: RunningTask, options: GradeOptions, resources: Resources, encoded: Encoded, data: Path) -> dict:
    """The result's settings: texts, data, models folder, encoders, selection, lines, bootstrap, cache, the work
    done and the generator's manifest."""
    task = run.task
    return {
        "text_templates": {n: m.text_template for n, m in task.metrics.items() if m.text_template},
        "data": str(data),
        "models_dir": str(options.models_dir) if options.models_dir else None,
        "encoders": [spec.model_dump() for spec in task.encoders()],
        "selection": task.selection.model_dump() if task.selection else None,
        "thresholds": dict(options.thresholds),
        "bootstrap": confidence.settings(),
        # How fast, not what: per-image scores agree across batch sizes and file orders to float rounding
        # (tests/test_invariance.py), so neither is part of the cache key. None: the default (CUDA when present,
        # else the CPU; 32 images per pass on a GPU, 1 on a CPU).
        "device": options.device,
        "batch_size": options.batch_size,
        "cache": str(resources.cache.path) if resources.cache else None,
        "embeddings_computed": {
            "/".join(labels(task, spec)): encoded.embeddings[spec.key].computed for spec in task.encoders()
        },
        "manifest": manifest(encoded.inputs.folder),
    }


def cache_problems(resources: Resources) -> list[Problem]:
    """A damaged cache, moved aside during this grade (said once)."""
    cache = resources.cache
    if cache is None:
        return []
    problems = []
    if cache.stats.moved_aside:
        message = (
            f"the embedding cache was damaged and is kept at {cache.stats.moved_aside}; "
            "a fresh one was started and this grade computed its embeddings afresh"
        )
        problems.append(Problem(str(cache.path), message, None, Severity.WARNING))
    if cache.stats.write_failed:
        message = f"cannot write to the embedding cache ({cache.stats.write_failed}); graded without storing"
        problems.append(Problem(str(cache.path), message, None, Severity.WARNING))
    cache.stats.moved_aside = cache.stats.write_failed = ""
    return problems


def grade_notes(run: RunningTask, options: GradeOptions, subjects: list[SubjectResult]) -> list[str]:
    """Notes on the grade as a whole: a precision other than the course's, lines that belong to other models."""
    notes = []
    if options.dtype == "bfloat16":
        notes.append("encoders ran in bfloat16: faster, but scores move from the course's float32 ones")
    uncalibrated = [m for s in subjects for m in s.metrics.values() if not m.calibrated]
    if uncalibrated:
        models = ", ".join(sorted({m.model for m in uncalibrated}))
        labels = sorted({m.label for m in uncalibrated})
        notes.append(
            f"the '{run.tier_name}' lines belong to the task's own models, not {models}: {', '.join(labels)} "
            f"{'has' if len(labels) == 1 else 'have'} no line here; {UNCALIBRATED_RULE}"
        )
    return notes


def coverage(task: Task, subjects: list[SubjectResult], rows: list[ImageScore]) -> dict[str, Any]:
    """How much of the task's published benchmark this grade covers (subjects, prompts, images) and whether it is
    partial; empty for tasks without a benchmark size."""
    if task.benchmark is None:
        return {}
    graded = [s for s in subjects if s.n_images]
    prompts = {(i.subject, i.details["text"]) for i in rows if "text" in i.details}
    full = task.benchmark
    partial = len(graded) < full.subjects or (full.images is not None and len(rows) < full.images)
    return {
        "subjects": len(graded),
        "benchmark_subjects": full.subjects,
        "prompts": len(prompts) or None,
        "images": len(rows),
        "benchmark_images": full.images,
        "partial": partial,
    }


def coverage_note(found: dict[str, Any], published: bool) -> list[str]:
    """The note of a partial run: what it covers, and that the published rows cover the whole benchmark."""
    if not found.get("partial"):
        return []
    images = f"{found['images']} images" + (
        f" of its {found['benchmark_images']}" if found["benchmark_images"] is not None else ""
    )
    prompts = f" ({found['prompts']} subject-prompt pairs)" if found["prompts"] else ""
    rows = "; the published rows are over the whole benchmark, not comparable one to one" if published else ""
    return [
        f"partial run: {found['subjects']} of the benchmark's {found['benchmark_subjects']} subjects, {images}"
        f"{prompts}; the overall row averages these only{rows}"
    ]


def pooled(task: Task, encoded: Encoded) -> dict[str, float]:
    """The set distances over the whole submission: every generated image against every reference photo at once
    (not the mean of the subjects' values); metrics whose two sets have fewer than two images are left out."""
    found = {}
    subjects = encoded.inputs.subjects
    for name, metric in task.metrics.items():
        rule = RULES.get(metric.rule)
        if rule.pooled is None:
            continue
        embeddings = encoded.embeddings[metric.encoder.key]
        generated = with_reading(embeddings.of([p for s in subjects for p in s.images]))
        references = with_reading(embeddings.of(list(dict.fromkeys(p for s in subjects for p in s.references))))
        if len(generated) >= 2 and len(references) >= 2:
            found[name] = rule.pooled(generated, references)
    return found


def overall(task: Task, subjects: list[SubjectResult]) -> dict[str, float]:
    """The mean over subjects of each metric, for tasks that report one row (DreamBench)."""
    if task.overall != "mean":
        return {}
    found = {}
    for name in task.metrics:
        values = [v for s in subjects if (v := s.metrics[name].value) is not None]
        if values:
            found[name] = float(np.mean(values))
    return found


def group_notes(task: Task, subjects: list[SubjectResult], fields: dict[str, dict[str, str]]) -> list[str]:
    """Per value of the task's ``overall_by`` field, the mean of its subjects' values (DreamBench++'s categories)."""
    if not task.overall_by:
        return []
    groups: dict[str, list[SubjectResult]] = {}
    for subject in subjects:
        groups.setdefault(fields.get(subject.subject, {}).get(task.overall_by, "?"), []).append(subject)
    notes = []
    for group, members in sorted(groups.items()):
        means = []
        for name, metric in task.metrics.items():
            values = [v for s in members if (v := s.metrics[name].value) is not None]
            if values:
                means.append(f"{metric.label} {float(np.mean(values)):.2f}")
        notes.append(f"{task.overall_by} {group} ({len(members)} subjects): {', '.join(means)}")
    return notes


def extras(task: Task, images: list[ImageScore]) -> dict:
    """Classification summaries for metrics that predict labels."""
    found = {}
    for name, metric in task.metrics.items():
        if not RULES.get(metric.rule).predicts_labels:
            continue
        for subject in sorted({i.subject for i in images}):
            rows = [i for i in images if i.subject == subject and "predicted" in i.details]
            if rows:
                found[f"{name}:{subject}"] = classification_summary(
                    [r.details["label"] for r in rows],
                    [r.details["predicted"] for r in rows],
                    [float(r.details["p_true"] or "nan") for r in rows],
                    [r.file for r in rows],
                    {r.details["label"]: r.details.get("label_name", r.details["label"]) for r in rows}
                    | {r.details["predicted"]: r.details.get("predicted_name", r.details["predicted"]) for r in rows},
                )
    return found
