"""Classification scores over predictions (zero-shot CLIP, digit classifiers), through scikit-learn."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def zero_shot_predict(images: np.ndarray, label_texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the best-matching label text per image, and the softmax of 100·cos over the labels
    (CLIP's zero-shot classifier: logits_per_image for a logit scale of 100)."""
    from grader.metrics.similarity import cosine_matrix

    logits = 100.0 * cosine_matrix(images, label_texts)
    return logits.argmax(axis=1), softmax(logits)


def classification_summary(
    true: list[str], predicted: list[str], p_true: list[float], files: list[str], names: dict[str, str], cases: int = 5
) -> dict:
    """Accuracy (scikit-learn's ``accuracy_score``), per-class accuracy, confusion matrix and the most and least
    confident cases for the true label."""
    from sklearn.metrics import accuracy_score, confusion_matrix  # ~1.3 s to import: only when classifying

    labels = sorted(set(true) | set(predicted), key=lambda x: (len(x), x))
    matrix = confusion_matrix(true, predicted, labels=labels)
    per_class = {
        label: float(matrix[i, i] / matrix[i].sum()) * 100 if matrix[i].sum() else None
        for i, label in enumerate(labels)
    }
    order = np.argsort(np.asarray(p_true), kind="stable")

    def case(i: int) -> dict:
        return {
            "file": files[i],
            "label": names.get(true[i], true[i]),
            "predicted": names.get(predicted[i], predicted[i]),
            "p_true": float(p_true[i]),
        }

    return {
        "accuracy": float(accuracy_score(true, predicted)) * 100,
        "labels": labels,
        "label_names": {label: names[label] for label in labels if names.get(label, label) != label},  # id -> name
        "per_class_accuracy": per_class,
        "confusion_matrix": matrix.tolist(),
        "best": [case(int(i)) for i in order[::-1][:cases]],
        "worst": [case(int(i)) for i in order[:cases]],
    }
