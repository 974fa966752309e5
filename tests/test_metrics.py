import doctest

import numpy as np
import pytest

from grader.metrics import aggregate, similarity
from grader.metrics.similarity import cosine_matrix, reference_similarity, text_similarity


def test_doc_examples_hold():
    for module in (similarity, aggregate):
        assert doctest.testmod(module).failed == 0


def test_reference_similarity_by_hand():
    gen = np.array([[3.0, 4.0], [0.0, 2.0]])
    refs = np.array([[1.0, 0.0], [0.0, 1.0]])
    # image 0: cos to refs = 0.6, 0.8 -> mean 0.7; image 1: 0, 1 -> 0.5
    np.testing.assert_allclose(reference_similarity(gen, refs), [70.0, 50.0])


def test_scale_invariance_and_no_clamp():
    gen = np.array([[1.0, 0.0]])
    np.testing.assert_allclose(reference_similarity(5 * gen, np.array([[-2.0, 0.0]])), [-100.0])


def test_text_similarity_pairs_rows():
    img = np.array([[1.0, 0.0], [0.0, 1.0]])
    txt = np.array([[0.0, 1.0], [0.0, 3.0]])
    np.testing.assert_allclose(text_similarity(img, txt), [0.0, 100.0])


def test_text_similarity_rejects_mismatched_counts():
    with pytest.raises(ValueError, match="one text or one per image"):
        text_similarity(np.ones((3, 2)), np.ones((2, 2)))


def test_cosine_matrix_matches_sklearn():
    from sklearn.metrics.pairwise import cosine_similarity

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 8)), rng.normal(size=(3, 8))
    np.testing.assert_allclose(cosine_matrix(a, b), cosine_similarity(a, b), atol=1e-12)


def test_mean_refuses_empty():
    with pytest.raises(ValueError):
        aggregate.mean(np.array([]))
