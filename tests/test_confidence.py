"""Bootstrap intervals and pass probabilities, checked against scipy and direct resampling loops."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from rich.console import Console
from scipy import stats

from grader import confidence
from grader.assertions import assert_passes
from grader.cache import EmbeddingCache
from grader.grading import GradeOptions, Resources, grade
from grader.grading.scores import select_top_k
from grader.report.console import render
from grader.tasks import load_task
from grader.tasks.schema import Selection

SCORES = np.array([61.2, 70.4, 55.0, 66.3, 72.9, 58.8, 64.1, 69.5, 60.7, 67.2, 63.3, 71.8, 57.4, 65.0, 62.6])


def test_interval_matches_scipy_bootstrap_with_the_same_seed():
    distribution = confidence.bootstrap_distributions({"dino": SCORES}, {"dino": "mean"})["dino"]
    spread = confidence.spread(distribution, None, True)
    reference = stats.bootstrap(
        (SCORES,),
        np.mean,
        n_resamples=confidence.RESAMPLES,
        method="percentile",
        confidence_level=confidence.CONFIDENCE,
        rng=np.random.default_rng(confidence.SEED),
    )
    assert spread.low == pytest.approx(reference.confidence_interval.low, abs=1e-9)
    assert spread.high == pytest.approx(reference.confidence_interval.high, abs=1e-9)
    np.testing.assert_allclose(np.sort(distribution), np.sort(reference.bootstrap_distribution), atol=1e-9)


def test_distribution_matches_a_direct_resampling_loop():
    rng = np.random.default_rng(confidence.SEED)
    rows = rng.integers(0, len(SCORES), (confidence.RESAMPLES, len(SCORES)))
    looped = np.array([np.mean([SCORES[i] for i in row]) for row in rows[:500]])
    ours = confidence.bootstrap_distributions({"s": SCORES}, {"s": "mean"})["s"][:500]
    np.testing.assert_allclose(ours, looped, atol=1e-9)


def test_resamples_drawn_in_blocks_are_those_of_one_draw():
    """The distributions are built a block of resamples at a time (memory); every resample, across the block
    boundaries, is the one scipy's single (RESAMPLES, n) draw makes, with and without a selection."""
    rng = np.random.default_rng(5)
    per_image = {"image": rng.uniform(50, 90, 151), "text": rng.uniform(20, 35, 151)}
    rows = np.random.default_rng(confidence.SEED).integers(0, 151, (confidence.RESAMPLES, 151))  # one draw
    assert confidence.RESAMPLES > 3 * confidence.BLOCK
    np.testing.assert_array_equal(confidence.resample_indices(151), rows)
    ours = confidence.bootstrap_distributions(per_image, {"image": "mean", "text": "mean"})
    np.testing.assert_allclose(ours["image"], per_image["image"][rows].mean(axis=1), atol=1e-12)
    weights = {"image": 1.0, "text": 2.5}
    select = functools.partial(confidence.select_rows, weights=weights, k=5, per_image=per_image)
    chosen = confidence.select_rows(rows, weights, 5, per_image)
    selected = confidence.bootstrap_distributions(per_image, {"image": "mean", "text": "mean"}, select)
    np.testing.assert_allclose(selected["text"], per_image["text"][chosen].mean(axis=1), atol=1e-12)


def test_pass_probability_on_known_cases():
    far_above = confidence.bootstrap_distributions({"s": SCORES + 50}, {"s": "mean"})["s"]
    assert confidence.spread(far_above, 60.0, True).pass_probability == 1.0
    assert confidence.spread(far_above, 60.0, False).pass_probability == 0.0
    symmetric = np.array([40.0, 60.0] * 10)  # mean 50, resampled means symmetric around it
    around = confidence.bootstrap_distributions({"s": symmetric}, {"s": "mean"})["s"]
    probability = confidence.spread(around, 50.0 + 1e-9, True).pass_probability
    assert 0.4 < probability < 0.6


def test_faces_only_resamples_skip_images_without_a_score():
    values = np.array([1.0, np.nan, 3.0, np.nan])
    distribution = confidence.bootstrap_distributions({"d": values}, {"d": "mean"})["d"]
    rows = confidence.resample_indices(4)
    for row, got in zip(rows[:200], distribution[:200], strict=True):
        picked = [values[i] for i in row if not np.isnan(values[i])]
        assert got == pytest.approx(np.mean(picked)) if picked else np.isnan(got)


def test_selection_is_reapplied_inside_each_resample():
    rng = np.random.default_rng(3)
    per_image = {"image": rng.uniform(50, 90, 25), "text": rng.uniform(20, 35, 25)}
    selection = Selection(k=5, weights={"image": 1.0, "text": 2.5})
    rows = confidence.resample_indices(25)[:100]
    chosen = confidence.select_rows(rows, selection.weights, selection.k, per_image)
    for row, kept in zip(rows, chosen, strict=True):
        resampled = {n: v[row] for n, v in per_image.items()}
        expected = row[select_top_k(resampled, selection)]
        assert sorted(kept.tolist()) == sorted(expected.tolist())


def test_points_outcomes_are_shares_of_resamples():
    assert confidence.outcome_probabilities(np.array([0.0, 10, 10, 6])) == {"0": 0.25, "6": 0.25, "10": 0.5}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, tiny_models):
    """The ml2025 fixture with DINO's line set at object-1's own mean: a pass that a re-draw could lose."""
    from grader.paths import fixtures_dir

    root = fixtures_dir() / "ml2025-hw10"
    cache = EmbeddingCache(tmp_path_factory.mktemp("cache") / "e.sqlite")
    task = load_task("ml2025-hw10")
    resources = Resources(cache)
    first = grade(task, root / "submission", root / "data", GradeOptions(models_dir=tiny_models), resources=resources)
    line = first.subjects[0].metrics["dino"].value
    options = GradeOptions(models_dir=tiny_models, thresholds={"dino": line})
    return grade(task, root / "submission", root / "data", options, resources=resources)


def test_a_mean_on_its_line_is_borderline_with_about_even_odds(graded):
    dino = graded.subjects[0].metrics["dino"]
    assert dino.passed and dino.borderline
    low, high = dino.margin_interval
    assert low < 0 <= high and low == pytest.approx(dino.ci_low - dino.threshold)
    assert 0.3 < dino.pass_probability < 0.7
    assert graded.subjects[0].pass_probability == dino.pass_probability  # the only line of the subject
    exported = graded.to_dict()["subjects"][0]
    assert exported["metrics"]["dino"]["borderline"] is True
    assert exported["pass_probability"] == dino.pass_probability
    assert graded.settings["bootstrap"]["resamples"] == confidence.RESAMPLES


def test_min_probability_gate_fails_a_borderline_pass(graded):
    subject = graded.subjects[0]
    with pytest.raises(AssertionError, match=rf"{subject.subject}: passes in .*% of bootstrap resamples"):
        assert_passes(graded, min_probability=0.9)


@pytest.mark.parametrize("width", [80, 160])
def test_console_shows_the_interval_whole_at_any_width(graded, width):
    console = Console(width=width, record=True, color_system=None)
    render(graded, console)
    text = console.export_text()
    low, high = graded.subjects[0].metrics["dino"].margin_interval
    assert f"[{low:+.2f}, {high:+.2f}]" in text
    assert "borderline" in text
    assert max(len(line) for line in text.splitlines()[:30]) <= width
    # the line stays beside each score, every column is labelled, nothing is cut
    for s in graded.subjects:
        for m in (m for m in s.metrics.values() if m.threshold is not None):
            row = next(line for line in text.splitlines() if f"{m.value:.2f}" in line)
            assert f">= {m.threshold:g}" in row, (row, text)
    assert "P(pass)" in text and "margin" in text and "…" not in text


def test_clip_score_conventions_are_computed_from_the_per_image_values(graded):
    subject = graded.subjects[0]
    values = np.array([i.scores["clip_t"] for i in graded.images if i.subject == subject.subject])
    conventions = subject.metrics["clip_t"].conventions
    assert conventions["cos"] == pytest.approx(values.mean() / 100)
    assert conventions["torchmetrics clip_score (max(mean 100·cos, 0))"] == pytest.approx(max(values.mean(), 0))
    assert conventions["CLIPScore, Hessel et al. (2.5·max(cos,0))"] == pytest.approx(
        2.5 * np.maximum(values / 100, 0).mean()
    )
    block = graded.to_dict()["comparability"]
    assert block["clip_t"]["text_template"] == "{text_cond}"
    assert block["dino"]["encoder"]["model"] == "facebook/dinov2-large"


def test_subjects_csv_carries_intervals_and_probabilities(graded, tmp_path):
    import pandas as pd

    from grader.report import write_subjects_csv

    write_subjects_csv(graded, tmp_path / "subjects.csv")
    table = pd.read_csv(tmp_path / "subjects.csv")
    row = table[(table.subject == graded.subjects[0].subject) & (table.metric == "dino")].iloc[0]
    dino = graded.subjects[0].metrics["dino"]
    assert row.ci_low == pytest.approx(dino.ci_low) and row.pass_probability == pytest.approx(dino.pass_probability)
    assert bool(row.borderline) and len(table) == 2 * len(graded.subjects)


def test_images_on_the_failing_side_carry_the_flag_in_the_json(graded):
    subject = graded.subjects[0]
    line = subject.metrics["dino"].threshold
    for image in graded.to_dict()["images"]:
        if image["subject"] == subject.subject:
            assert ("DINO below the line" in image["flags"]) == (image["scores"]["dino"] < line)
