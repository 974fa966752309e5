"""Stage 5, flags: each image's row (its scores and why it is flagged: no face, on the failing side of its line,
a copy of a reference, a duplicate, kept by the selection), copies as problems under --strict-copies, and notes
for subjects beyond their real-vs-real ceiling."""

from __future__ import annotations

import numpy as np

from grader import copies
from grader.grading.encoding import Encoded, is_test_model
from grader.grading.inputs import relative
from grader.grading.judgement import Judgement
from grader.grading.running import RunningTask
from grader.grading.scores import SubjectScores
from grader.metrics.similarity import cosine_matrix
from grader.problems import Problem
from grader.result import NO_FACE, ImageScore, SubjectResult, line_flag, meets


def copy_lines(run: RunningTask, encoded: Encoded, scores: SubjectScores) -> list[tuple[str, np.ndarray, float]]:
    """Per metric with a copy line: its [images x references] scores, when computed with the task's own model
    (a line set for one encoder means nothing for another, nor for test models)."""
    subject, found = scores.subject, []
    for name, metric in run.task.metrics.items():
        embeddings = encoded.embeddings[metric.encoder.key]
        own = metric.encoder.model == run.declared.metrics[name].encoder.model and not is_test_model(embeddings)
        if metric.copy_line is None or not own or not subject.images or not subject.references:
            continue
        generated, refs = embeddings.of(subject.images), embeddings.of(subject.references)
        found.append((metric.label, 100.0 * cosine_matrix(generated, refs), metric.copy_line))
    return found


def image_rows(run: RunningTask, scores: SubjectScores, judgement: Judgement, encoded: Encoded) -> list[ImageScore]:
    """One row per generated image of the subject, with its scores, flags and details."""
    subject, metrics, folder = scores.subject, judgement.metrics, encoded.inputs.folder
    selection = run.task.selection
    selected = set(judgement.kept.tolist())
    copied = copies.reference_copies(
        subject.images, subject.references, encoded.looks, copy_lines(run, encoded, scores)
    )
    rows = []
    for i, path in enumerate(subject.images):
        values = {k: float(v[i]) for k, v in scores.per_image().items() if not np.isnan(v[i])}
        flags = [NO_FACE] if scores.has_face is not None and not scores.has_face[i] else []
        flags += [
            line_flag(m.label, m.higher_is_better)
            for n, m in metrics.items()
            if n in values
            and m.threshold is not None
            and not m.is_count
            and not meets(values[n], m.threshold, m.higher_is_better)
        ]
        if i in copied:
            flags.append(copied[i])
        if selection and i in selected:
            flags.append(f"kept (top {selection.k})")
        details = {k: d for s in scores.scored.values() if s.details for k, d in s.details[i].items()}
        digest = encoded.looks[path].digest
        rows.append(ImageScore(subject.subject, relative(path, folder), values, flags, details, digest))
    return rows


def flag_duplicates(encoded: Encoded, rows: list[ImageScore]) -> None:
    """Flag each generated image that repeats an earlier one of the submission."""
    generated = [p for s in encoded.inputs.subjects for p in s.images]
    names = {p: relative(p, encoded.inputs.folder) for p in generated}
    by_file = {row.file: row for row in rows}
    for path, flag in copies.duplicates(generated, encoded.looks, names).items():
        by_file[names[path]].flags.append(flag)


def copies_as_problems(rows: list[ImageScore], subjects: list[SubjectResult]) -> None:
    """With --strict-copies: each copy or duplicate is an error of its subject."""
    by_subject = {s.subject: s for s in subjects}
    for row in rows:
        for flag in row.flags:
            if flag.startswith((copies.COPY_FLAG, copies.DUPLICATE_FLAG)):
                by_subject[row.subject].problems.append(Problem(row.file, flag, row.subject))


def ceiling_notes(subjects: list[SubjectResult]) -> list[str]:
    """A note for each metric whose mean is beyond the real-vs-real ceiling of its subject."""
    return [
        f"{s.subject}: {m.label} {m.value:.2f} is beyond its real-image ceiling {m.ceiling:.2f} (the references "
        "scored against each other): look for copies of the references"
        for s in subjects
        for m in s.metrics.values()
        if m.beyond_ceiling
    ]


__all__ = ["ceiling_notes", "copies_as_problems", "copy_lines", "flag_duplicates", "image_rows"]
