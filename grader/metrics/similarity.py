"""Cosine-based scores on the ×100 scale the courses use (no clamping at 0)."""

from __future__ import annotations

import numpy as np


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, computed in float64."""
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[len(a), len(b)]`` cosine similarities."""
    return l2_normalize(a) @ l2_normalize(b).T


def reference_similarity(generated: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Per generated image: 100 · cos(generated, reference), averaged over the references.

    Args:
        generated: ``[n, d]`` embeddings of the generated images.
        references: ``[m, d]`` embeddings of the subject's reference images (``m >= 1``).

    Returns:
        ``[n]`` scores. With one reference this is the ML2025 DINO score of each image.

    Example:
        >>> reference_similarity(np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 0.0]])).round(2)
        array([100.  ,  70.71])
    """
    if len(references) == 0:
        raise ValueError("at least one reference embedding is needed")
    return 100.0 * cosine_matrix(generated, references).mean(axis=1)


def paired_similarity(generated: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Per image: 100 · cos(image, its own source image), row by row (DreamBench++ pairs each generated image with
    the one photo it was made from, not with every reference).

    Example:
        >>> paired_similarity(np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])).round(2)
        array([100.  ,  70.71])
    """
    if generated.shape != sources.shape:
        raise ValueError(f"one source per image: {len(generated)} images, {len(sources)} sources")
    return 100.0 * np.sum(l2_normalize(generated) * l2_normalize(sources), axis=-1)


def clip_score(images: np.ndarray, texts: np.ndarray, w: float = 2.5) -> np.ndarray:
    """Per image: 100 · w · max(cos(image, its text), 0), Hessel et al.'s CLIPScore (w = 2.5) on a x100 scale, as
    CustomConcept101's evaluate.py computes its text alignment (there on 0-1).

    Example:
        >>> clip_score(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.2], [1.0, 0.0]])).round(2)
        array([245.15,   0.  ])
    """
    return w * np.clip(text_similarity(images, texts), 0.0, None)


def text_similarity(images: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """Per image: 100 · cos(image, its text). ``texts`` is ``[n, d]`` (one per image) or ``[1, d]`` (shared).

    Equals CLIP's ``logits_per_image`` for OpenAI checkpoints (``logit_scale.exp() == 100``), and
    torchmetrics' ``clip_score`` before its clamp at 0.

    Example:
        >>> text_similarity(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 1.0]])).round(2)
        array([70.71, 70.71])
    """
    img, txt = l2_normalize(images), l2_normalize(texts)
    if len(txt) not in (1, len(img)):
        raise ValueError(f"need one text or one per image; got {len(txt)} texts for {len(img)} images")
    return 100.0 * np.sum(img * txt, axis=-1)


# The named scores of the literature are these rules on a given encoder's embeddings.
dino_score = reference_similarity  # DINO(v1/v2) CLS embeddings
clip_i = reference_similarity  # CLIP image embeddings
clip_t = text_similarity  # CLIP image vs text embeddings
