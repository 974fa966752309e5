"""Per-image scores of one metric for one subject, from the encoded images and texts (each rule a branch)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grader.encoded import EncodedImages
from grader.metrics import PAIR_RULES, faceless_flags, text_similarity
from grader.metrics.classification import softmax, zero_shot_predict
from grader.result import Problem
from grader.submission import SubjectInput
from grader.tasks.schema import MetricSpec, Selection


@dataclass
class ImageScores:
    """Scores aligned with the subject's images (NaN: left out), plus per-image details (e.g. predictions)."""

    values: np.ndarray
    details: list[dict[str, str]] = field(default_factory=list)


def _texts(subject: SubjectInput, template: str, meta_file: str) -> list[str] | None:
    try:
        return [template.format(**subject.fields_of(i)) for i in range(len(subject.images))]
    except (KeyError, IndexError) as exc:
        message = f"{subject.subject}: text template {template!r} needs field {exc}"
        subject.problems.append(Problem(meta_file, message, subject.subject))
        return None


def _long_texts(encoded: EncodedImages, texts: list[str], subject: str, notes: list[str]) -> None:
    for text in encoded.encoder.too_long(sorted(set(texts))):
        notes.append(f"{subject}: text over {encoded.encoder.max_tokens} tokens, cut to the limit: {text!r}")


def _zero_shot(metric: MetricSpec, subject: SubjectInput, encoded: EncodedImages, notes: list[str]) -> ImageScores:
    ids = sorted(subject.label_names, key=lambda x: (len(x), x))
    texts = [(metric.text_template or "").format(label=subject.label_names[i], id=i) for i in ids]
    _long_texts(encoded, texts, subject.subject, notes)
    best, probabilities = zero_shot_predict(encoded.of(subject.images), encoded.texts(texts))
    predicted = [ids[b] for b in best]
    p_true = [float(probabilities[n, ids.index(t)]) for n, t in enumerate(subject.labels)]
    values = np.array([100.0 * (p == t) for p, t in zip(predicted, subject.labels, strict=True)])
    names = subject.label_names
    details = [
        {"label": t, "predicted": p, "p_true": f"{q:.4f}", "label_name": names[t], "predicted_name": names[p]}
        for t, p, q in zip(subject.labels, predicted, p_true, strict=True)
    ]
    return ImageScores(values, details)


def _classifier(subject: SubjectInput, encoded: EncodedImages) -> ImageScores:
    logits = np.stack([encoded.by_path[p] for p in subject.images])
    predicted = [str(i) for i in logits.argmax(axis=1)]
    p_true = softmax(logits)
    values = np.array([100.0 * (p == t) for p, t in zip(predicted, subject.labels, strict=True)])
    details = [
        {"label": t, "predicted": p, "p_true": f"{p_true[n, int(t)]:.4f}" if t.isdigit() else ""}
        for n, (t, p) in enumerate(zip(subject.labels, predicted, strict=True))
    ]
    return ImageScores(values, details)


def _pixel_mse(subject: SubjectInput, encoded: EncodedImages) -> ImageScores:
    values = np.full(len(subject.images), np.nan)
    for i, (image, reference) in enumerate(zip(subject.images, subject.pairs, strict=True)):
        a, b = encoded.by_path[image], encoded.by_path[reference]
        if a.shape != b.shape:
            message = f"is {a.shape[1]}x{a.shape[0]}, its reference {reference.name} is {b.shape[1]}x{b.shape[0]}"
            subject.problems.append(Problem(str(image), message, subject.subject))
            continue
        values[i] = float(np.mean((a - b) ** 2))
    return ImageScores(values)


def score_images(
    metric: MetricSpec,
    subject: SubjectInput,
    encoded: EncodedImages,
    has_face: np.ndarray | None,
    meta_file: str,
    notes: list[str],
) -> ImageScores | None:
    """None when the subject cannot be scored on this metric (no images, no references, a bad template)."""
    images = subject.images
    if not images:
        return None
    if metric.rule == "faceless_count":
        return ImageScores(faceless_flags(has_face))
    if metric.rule == "zero_shot_correct":
        return _zero_shot(metric, subject, encoded, notes)
    if metric.rule == "classifier_correct":
        return _classifier(subject, encoded)
    if metric.rule == "pixel_mse":
        return _pixel_mse(subject, encoded)
    keep = has_face if metric.faces_only else np.ones(len(images), dtype=bool)
    values = np.full(len(images), np.nan)
    if not keep.any():
        return ImageScores(values)
    generated = encoded.of([p for p, k in zip(images, keep, strict=True) if k])
    if metric.rule in PAIR_RULES:
        refs = encoded.of(subject.references)
        refs = refs[~np.isnan(refs).any(axis=1)] if len(refs) else refs
        if len(refs) == 0:
            return None
        values[keep] = PAIR_RULES[metric.rule](generated, refs)
        return ImageScores(values)
    texts = _texts(subject, metric.text_template or "", meta_file)
    if texts is None:
        return None
    texts = [t for t, k in zip(texts, keep, strict=True) if k]
    _long_texts(encoded, texts, subject.subject, notes)
    values[keep] = text_similarity(generated, encoded.texts(texts))
    return ImageScores(values)


def select_top_k(per_image: dict[str, np.ndarray], selection: Selection) -> np.ndarray:
    """Indices of the k images with the highest weighted sum of the named metrics (ties keep file order).

    Example:
        >>> select_top_k({"image": np.array([70.0, 80, 75]), "text": np.array([30.0, 20, 29])},
        ...              Selection(k=2, weights={"image": 1.0, "text": 2.5})).tolist()
        [2, 0]
    """
    total = sum(weight * per_image[name] for name, weight in selection.weights.items())
    total = np.where(np.isnan(total), -np.inf, total)
    return np.argsort(-total, kind="stable")[: selection.k]
