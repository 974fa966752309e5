"""The built-in rules, each a score function over the embeddings and its record."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from grader.embeddings import with_reading
from grader.metrics import face_distance, faceless_flags, reference_similarity, text_similarity
from grader.metrics.classification import softmax, zero_shot_predict
from grader.metrics.sets import (
    cmmd_contributions,
    kid_contributions,
    mean_within_groups,
    pairwise_diversity,
    vendi_score,
)
from grader.metrics.similarity import clip_score, l2_normalize, paired_similarity
from grader.problems import Problem, Severity
from grader.rules import RULES, ImageScores, Rule, RuleInput
from grader.text_templates import TemplateError, fill


def subject_texts(rin: RuleInput) -> list[str] | Problem:
    """The metric's text for each image, or the problem when the template needs a missing field."""
    subject, template = rin.subject, rin.metric.text_template or ""
    try:
        return [fill(template, subject.fields_of(i)) for i in range(len(subject.images))]
    except (KeyError, IndexError, TemplateError) as exc:
        message = f"{subject.subject}: text template {template!r} needs field {exc}"
        return Problem(rin.meta_file, message, subject.subject)


def long_text_notes(rin: RuleInput, texts: list[str]) -> list[str]:
    """After the texts were embedded: a note for each one that was cut to the encoder's token limit."""
    return [
        f"{rin.subject.subject}: text over {limit} tokens, cut to the limit: {text!r}"
        for text, limit in rin.embeddings.truncated(texts)
    ]


def _kept(rin: RuleInput) -> np.ndarray:
    """Images the metric scores: all, or those with a face for faces-only metrics."""
    if rin.metric.faces_only and rin.has_face is not None:  # the schema gives faces-only metrics a face encoder
        return rin.has_face
    return np.ones(len(rin.subject.images), dtype=bool)


def _against_references(score: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable:
    def rule(rin: RuleInput) -> ImageScores | None:
        keep = _kept(rin)
        values = np.full(len(rin.subject.images), np.nan)
        if not keep.any():
            return ImageScores(values)
        refs = _reference_embeddings(rin)
        if len(refs) == 0:
            return None
        generated = rin.embeddings.of([p for p, k in zip(rin.subject.images, keep, strict=True) if k])
        values[keep] = score(generated, refs)
        return ImageScores(values)

    return rule


def _reference_embeddings(rin: RuleInput) -> np.ndarray:
    return with_reading(rin.embeddings.of(rin.subject.references))


def _leave_one_out(score: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable:
    """Each reference scored against the others, averaged: the real-vs-real ceiling (two references or more)."""

    def ceiling(rin: RuleInput) -> float | None:
        refs = _reference_embeddings(rin)
        if len(refs) < 2:
            return None
        return float(np.mean([score(refs[i : i + 1], np.delete(refs, i, axis=0))[0] for i in range(len(refs))]))

    return ceiling


def _against_texts(score: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable:
    def rule(rin: RuleInput) -> ImageScores | None:
        return _scored_texts(rin, score)

    return rule


def _scored_texts(rin: RuleInput, score: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> ImageScores | None:
    keep = _kept(rin)
    values = np.full(len(rin.subject.images), np.nan)
    if not keep.any():
        return ImageScores(values)
    texts = subject_texts(rin)
    if isinstance(texts, Problem):
        return ImageScores.unscorable(texts)
    details = [{"text": t} for t in texts]  # the text each image was scored against, for the reports
    texts = [t for t, k in zip(texts, keep, strict=True) if k]
    generated = rin.embeddings.of([p for p, k in zip(rin.subject.images, keep, strict=True) if k])
    values[keep] = score(generated, rin.embeddings.texts(texts))
    return ImageScores(values, details, notes=long_text_notes(rin, texts))


def _against_the_references_as_a_set(contributions: Callable[[np.ndarray, np.ndarray], np.ndarray], what: str):
    """A distance between the subject's generated images and its references as sets (CMMD, KID), as per-image
    contributions to its unbiased estimate; a note-level problem when either side has fewer than two images."""

    def rule(rin: RuleInput) -> ImageScores | None:
        refs = _reference_embeddings(rin)
        generated = rin.embeddings.of(rin.subject.images)
        if len(refs) < 2 or len(generated) < 2:
            message = (
                f"{rin.subject.subject}: {what} compares two sets and needs two images or more on each side "
                f"({len(generated)} generated, {len(refs)} references); not computed"
            )
            return ImageScores.unscorable(Problem(rin.meta_file, message, rin.subject.subject, Severity.NOTE))
        return ImageScores(contributions(l2_normalize(generated), l2_normalize(refs)))

    return rule


def _prompts(rin: RuleInput) -> list[str]:
    """Each image's prompt (one group for a subject whose images carry none): the groups diversity is taken in."""
    return [rin.subject.fields_of(i).get("prompt", "") for i in range(len(rin.subject.images))]


def _diversity(rin: RuleInput) -> ImageScores:
    """Per image, its mean 1 - cos to the other images of its prompt."""
    return ImageScores(100.0 * pairwise_diversity(rin.embeddings.of(rin.subject.images), _prompts(rin)))


def _lpips_diversity(rin: RuleInput) -> ImageScores:
    """Per image, its mean LPIPS distance to the other images of its prompt (DreamBooth's DIV, per image)."""
    from grader.encoders.lpips import lpips_distance

    vectors = rin.embeddings.of(rin.subject.images)
    return ImageScores(mean_within_groups(lpips_distance(vectors, vectors), _prompts(rin)))


def _vendi(rin: RuleInput) -> ImageScores:
    """The subject's Vendi score, carried by every image (a value of the set: no interval)."""
    generated = rin.embeddings.of(rin.subject.images)
    return ImageScores(np.full(len(generated), vendi_score(generated) if len(generated) else np.nan))


def _faceless(rin: RuleInput) -> ImageScores:
    assert rin.has_face is not None  # a face rule's encoder finds faces
    return ImageScores(faceless_flags(rin.has_face))


def _label_details(labels: list[str], predicted: list[str], p_true: list[str], names: dict[str, str]) -> list[dict]:
    return [
        {"label": t, "predicted": p, "p_true": q}
        | ({"label_name": names[t], "predicted_name": names[p]} if names else {})
        for t, p, q in zip(labels, predicted, p_true, strict=True)
    ]


def _correct(predicted: list[str], labels: list[str]) -> np.ndarray:
    return np.array([100.0 * (p == t) for p, t in zip(predicted, labels, strict=True)])


def _zero_shot(rin: RuleInput) -> ImageScores:
    subject = rin.subject
    ids = sorted(subject.label_names, key=lambda x: (len(x), x))
    texts = [fill(rin.metric.text_template or "", {"label": subject.label_names[i], "id": i}) for i in ids]
    best, probabilities = zero_shot_predict(rin.embeddings.of(subject.images), rin.embeddings.texts(texts))
    predicted = [ids[b] for b in best]
    p_true = [f"{float(probabilities[n, ids.index(t)]):.4f}" for n, t in enumerate(subject.labels)]
    details = _label_details(subject.labels, predicted, p_true, subject.label_names)
    return ImageScores(_correct(predicted, subject.labels), details, notes=long_text_notes(rin, texts))


def _classifier(rin: RuleInput) -> ImageScores:
    subject = rin.subject
    logits = rin.embeddings.of(subject.images)
    predicted = [str(i) for i in logits.argmax(axis=1)]
    probabilities = softmax(logits)
    p_true = [f"{probabilities[n, int(t)]:.4f}" if t.isdigit() else "" for n, t in enumerate(subject.labels)]
    return ImageScores(_correct(predicted, subject.labels), _label_details(subject.labels, predicted, p_true, {}))


def _paired(rin: RuleInput) -> ImageScores:
    subject = rin.subject
    return ImageScores(paired_similarity(rin.embeddings.of(subject.images), rin.embeddings.of(subject.pairs)))


def _pixel_mse(rin: RuleInput) -> ImageScores:
    subject = rin.subject
    values = np.full(len(subject.images), np.nan)
    problems = []
    for i, (image, reference) in enumerate(zip(subject.images, subject.pairs, strict=True)):
        a, b = rin.embeddings.by_path[image], rin.embeddings.by_path[reference]
        if a.shape != b.shape:
            message = f"is {a.shape[1]}x{a.shape[0]}, its reference {reference.name} is {b.shape[1]}x{b.shape[0]}"
            problems.append(Problem(str(image), message, subject.subject))
            continue
        values[i] = float(np.mean((a - b) ** 2))
    return ImageScores(values, problems=problems)


def _cosine_conventions(values: np.ndarray) -> dict[str, float]:
    """A mean of 100·cos as a plain cosine (papers that print 0.774 for DINO)."""
    return {"cos": float(np.mean(values)) / 100.0, "100·cos": float(np.mean(values))}


def _clip_score_conventions(values: np.ndarray) -> dict[str, float]:
    """Also CLIPScore in its two published conventions: torchmetrics' ``clip_score`` clamps the mean,
    max(mean(100·cos), 0) (its functional ``clip_score`` and ``CLIPScore.compute``); Hessel et al. clamp each
    image, mean(2.5·max(cos, 0))."""
    return _cosine_conventions(values) | {
        "torchmetrics clip_score (max(mean 100·cos, 0))": max(float(np.mean(values)), 0.0),
        "CLIPScore, Hessel et al. (2.5·max(cos,0))": float(np.mean(2.5 * np.maximum(values / 100.0, 0.0))),
    }


COSINE_SCALE = "100·cos per image, not clamped at 0"


# What a rule reads: the subject's reference images, each image's text (from the template), the pairs of a
# paired layout, each image's label, the texts of every label (from the template).
REFERENCES, TEXTS, PAIRS, LABELS, LABEL_TEXTS = "references", "texts", "pairs", "labels", "label_texts"


def _set_distance(name: str, description: str, contributions: Callable, scale: str) -> Rule:
    """A distance between the generated images and the references as sets: lower is closer; per image its
    contribution, whose mean is the distance; over the whole submission too (``pooled``)."""

    def pooled(generated: np.ndarray, references: np.ndarray) -> float:
        return float(contributions(l2_normalize(generated), l2_normalize(references)).mean())

    return Rule(
        name,
        f"{description}; per image its contribution, whose mean is the {name.upper()}.",
        frozenset({"image"}),
        _against_the_references_as_a_set(contributions, name.upper()),
        frozenset({REFERENCES}),
        higher_is_better=False,
        scale=scale,
        pooled=pooled,
    )


for _rule in (
    Rule(
        "reference_similarity",
        "100·cos(image, reference), mean over the subject's references.",
        frozenset({"image"}),
        _against_references(reference_similarity),
        frozenset({REFERENCES}),
        ceiling=_leave_one_out(reference_similarity),
        scale=COSINE_SCALE,
        conventions=_cosine_conventions,
    ),
    Rule(
        "paired_similarity",
        "100·cos(image, its own source image) (DreamBench++: each image against the one photo it was made from).",
        frozenset({"image"}),
        _paired,
        frozenset({PAIRS}),
        scale=COSINE_SCALE,
    ),
    Rule(
        "text_similarity",
        "100·cos(image, its text).",
        frozenset({"image", "text"}),
        _against_texts(text_similarity),
        frozenset({TEXTS}),
        scale=COSINE_SCALE,
        conventions=_clip_score_conventions,
    ),
    Rule(
        "clip_score",
        "100·2.5·max(cos(image, its text), 0): Hessel et al.'s CLIPScore per image (CustomConcept101's text).",
        frozenset({"image", "text"}),
        _against_texts(clip_score),
        frozenset({TEXTS}),
        scale="100 x 2.5 x max(cosine, 0) (CLIPScore, w = 2.5)",
    ),
    Rule(
        "face_distance",
        "Mean Euclidean distance between the L2-normalised face embedding and every reference's.",
        frozenset({"face"}),
        _against_references(face_distance),
        frozenset({REFERENCES}),
        ceiling=_leave_one_out(face_distance),
        scale="Euclidean distance between L2-normalised face embeddings",
        higher_is_better=False,
    ),
    Rule(
        "faceless_count",
        "1 per image without a face.",
        frozenset({"face"}),
        _faceless,
        is_count=True,
        scale="number of images",
        higher_is_better=False,
        aggregation="sum",
    ),
    Rule(
        "zero_shot_correct",
        "100 when the best-matching label text is the image's label.",
        frozenset({"image", "text"}),
        _zero_shot,
        frozenset({LABEL_TEXTS, LABELS}),
        predicts_labels=True,
    ),
    Rule(
        "pixel_mse",
        "Mean squared error against the paired reference image.",
        frozenset({"pixels"}),
        _pixel_mse,
        frozenset({PAIRS}),
        higher_is_better=False,
    ),
    Rule(
        "prior_preservation",
        "100·cos(image, reference), mean over the references, of images made from the class prompt without the "
        "subject's token (DreamBooth's PRES): lower is better, the class is not overwritten by the subject.",
        frozenset({"image"}),
        _against_references(reference_similarity),
        frozenset({REFERENCES}),
        higher_is_better=False,
        scale=COSINE_SCALE,
    ),
    _set_distance(
        "cmmd",
        "CMMD: 1000·MMD² (Gaussian RBF, sigma 10, unbiased) between the L2-normalised embeddings of the generated "
        "images and of the references",
        cmmd_contributions,
        "1000 x MMD² of the set (per image: its contribution)",
    ),
    _set_distance(
        "kid",
        "KID over one subset of all images: unbiased MMD² with the cubic polynomial kernel between the generated "
        "images and the references",
        kid_contributions,
        "MMD² of the set, polynomial kernel (per image: its contribution)",
    ),
    Rule(
        "diversity",
        "100·(1 - cos) between an image and the other images of its prompt, mean: an embedding-based diversity "
        "(not DreamBooth's LPIPS-based DIV).",
        frozenset({"image"}),
        _diversity,
        scale="100 x (1 - cos), mean over pairs of one prompt",
    ),
    Rule(
        "lpips_diversity",
        "LPIPS between an image and the other images of its prompt, mean: DreamBooth's DIV.",
        frozenset({"lpips"}),
        _lpips_diversity,
        scale="LPIPS distance (v0.1, AlexNet), mean over pairs of one prompt",
    ),
    Rule(
        "vendi",
        "The Vendi score of the subject's images (cosine kernel): the effective number of distinct images.",
        frozenset({"image"}),
        _vendi,
        set_level=True,
        scale="effective number of images (1 to n); a value of the set",
    ),
    Rule(
        "classifier_correct",
        "100 when the classifier's argmax is the image's label.",
        frozenset({"logits"}),
        _classifier,
        frozenset({LABELS}),
        predicts_labels=True,
    ),
):
    RULES.register(_rule)
