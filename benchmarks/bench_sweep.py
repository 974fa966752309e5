"""Adaptive sweeps (``generate sweep --adaptive``) against the full grid, from one run: images generated over the
full grid's count, and whether the recommendation agreed.

1. Synthetic score distributions where the best setting is known: a 3x3 grid of settings, six subjects of 15
   images and two metrics each, per-image scores drawn around each setting's true means. Both the full grid and
   the race are decided by the grader's own code (``confidence.completion_distributions``, the partial grade's
   intervals, ``generators.racing``); a case is clear when the full grid's choice beats the runner-up's worst margin
   by more than the runner-up's interval.
2. The real command on tiny test pipelines and models: ml2025-hw10's 90 images per setting over a 3x3 grid of
   lora_scale x guidance (810 images in full), adaptive and full, on one cache.

Usage: python benchmarks/bench_sweep.py [--scenarios 200] [--no-pipeline] [--work DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from generators.racing import rounds, survivors, worst_margin_bounds
from grader import confidence
from grader.result import margin

SUBJECTS, METRICS, SETTINGS, FULL = 6, 2, 9, 15


def _rows(setting: str, scores: np.ndarray, lines: np.ndarray) -> list[dict]:
    """A setting's sweep rows, as ``generators.sweep`` writes them, from per-image scores (subject, metric, image)
    graded as a partial grade of FULL images per subject."""
    rows = []
    for s in range(scores.shape[0]):
        per_image = {f"m{m}": scores[s, m] for m in range(scores.shape[1])}
        drawn = confidence.completion_distributions(per_image, dict.fromkeys(per_image, "mean"), FULL)
        margins, lows, highs = [], [], []
        for m, name in enumerate(per_image):
            value = float(per_image[name].mean())
            spread = confidence.spread(drawn[name], float(lines[s, m]), True)
            margins.append(margin(value, float(lines[s, m]), True))
            lows.append(margin(spread.low, float(lines[s, m]), True))
            highs.append(margin(spread.high, float(lines[s, m]), True))
        rows.append({"setting": setting, "subject": s, "worst_margin": min(margins),
                     "worst_margin_low": min(lows), "worst_margin_high": min(highs)})  # fmt: skip
    return rows


def _best(table: pd.DataFrame) -> tuple[str, float, str, tuple[float, float]]:
    """The full grid's rule: the setting with the best worst-subject margin; and the runner-up with its interval."""
    worst = table.groupby("setting", sort=False)["worst_margin"].min().sort_values(ascending=False)
    bounds = worst_margin_bounds(table)
    first, second = worst.index[0], worst.index[1]
    return first, float(worst.iloc[0] - worst.iloc[1]), second, bounds[second]


def _true_means(rng: np.random.Generator) -> np.ndarray:
    """Each setting's true mean margin per subject and metric, as a sweep's grid moves them: a subject's own level,
    plus the setting's effect on each metric (smooth over the 3x3 grid, one metric trading against the other, as an
    adapter's scale trades subject fidelity for prompt fidelity), plus a little per subject and setting."""
    a, b = np.meshgrid(np.linspace(-1, 1, 3), np.linspace(-1, 1, 3))
    a, b = a.ravel(), b.ravel()
    optimum = rng.uniform(-1, 1, 2)
    strength = rng.uniform(2.0, 10.0)  # how much the grid matters, against per-image noise of 3-9
    bowl = -strength * ((a - optimum[0]) ** 2 + (b - optimum[1]) ** 2)
    trade = rng.uniform(1.0, 5.0) * a
    effect = np.stack([bowl + trade, bowl - trade], axis=1)  # (settings, metrics)
    subject = rng.normal(4.0, 4.0, (SUBJECTS, METRICS))
    return effect[:, None, :] + subject[None] + rng.normal(0, 1.0, (SETTINGS, SUBJECTS, METRICS))


def synthetic(scenarios: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    ratios, clear, agreed_clear, agreed = [], 0, 0, 0
    for _ in range(scenarios):
        lines = rng.uniform(15, 70, (SUBJECTS, METRICS))
        means = lines[None] + _true_means(rng)
        noise = rng.uniform(3.0, 9.0, (SETTINGS, SUBJECTS, METRICS))
        images = means[..., None] + noise[..., None] * rng.standard_normal((SETTINGS, SUBJECTS, METRICS, FULL))
        names = [f"s{i}" for i in range(SETTINGS)]
        full = pd.DataFrame([r for i, n in enumerate(names) for r in _rows(n, images[i], lines)])
        choice, lead, _, (low, high) = _best(full)
        alive, used = list(names), 0
        sizes = rounds(FULL)
        reached = dict.fromkeys(names, 0)
        for size in sizes:
            for name in alive:
                reached[name] = size
            if size == FULL:
                break
            part = pd.DataFrame([r for n in alive for r in _rows(n, images[names.index(n), :, :, :size], lines)])
            alive = survivors(worst_margin_bounds(part), alive)
        used = sum(reached.values()) * SUBJECTS
        final = full[full["setting"].isin(alive)]
        raced = final.groupby("setting", sort=False)["worst_margin"].min().idxmax()
        ratios.append(used / (SETTINGS * SUBJECTS * FULL))
        is_clear = lead > high - low
        clear += is_clear
        agreed_clear += is_clear and raced == choice
        agreed += raced == choice
    print(f"\nSynthetic: {scenarios} scenarios, a 3x3 grid, {SUBJECTS} subjects x {FULL} images x {METRICS} metrics")
    print(f"  images generated / full grid  mean {np.mean(ratios):.1%}, median {np.median(ratios):.1%} (target <= 40%)")
    print(f"  same recommendation, clear cases  {agreed_clear}/{clear} (target: all)")
    print(f"  same recommendation, all cases    {agreed}/{scenarios}")


def pipeline(work: Path) -> None:
    """The real command, adaptive and full, on tiny pipelines: images generated and the recommendations."""
    from generators.adapters import LoRA
    from generators.run import GenerationSettings
    from generators.sweep import parse_grid, run_sweep
    from generators.testing import build_tiny_lora, build_tiny_sd
    from grader.cache import EmbeddingCache
    from grader.grading import GradeOptions, Resources
    from grader.paths import fixtures_dir
    from grader.tasks import load_task
    from grader.testing.tiny_models import build_tiny_models

    base = build_tiny_sd(work / "tiny-sd")
    from diffusers import UNet2DConditionModel

    lora = build_tiny_lora(work / "lora", UNet2DConditionModel.from_pretrained(base / "unet"), seed=1)
    models = build_tiny_models(work / "models", ["facebook/dinov2-large", "openai/clip-vit-large-patch14-336"])
    task, data = load_task("ml2025-hw10"), fixtures_dir() / "ml2025-hw10" / "data"
    # lines the tiny models' scores straddle, so that the settings differ in what passes
    options = GradeOptions(models_dir=models, thresholds={"dino": 60.0, "clip_t": -10.0}, tier="custom")
    grid = parse_grid(["lora_scale=0,0.5,1", "guidance=1,4,7.5"])
    settings = GenerationSettings(seed=0, steps=2, guidance=7.5, size=64)
    outcome = {}
    for adaptive in (True, False):
        started = time.perf_counter()
        sweep = run_sweep(task, data, LoRA(path=str(lora)), str(base), work / f"sweep-{adaptive}", settings, grid,
                          models, options, None, Resources(EmbeddingCache(work / "cache")), None, adaptive)  # fmt: skip
        outcome[adaptive] = (sweep, time.perf_counter() - started)
    (race, race_s), (full, full_s) = outcome[True], outcome[False]
    pick = {k: (s.recommended.setting if s.recommended else None) for k, (s, _) in outcome.items()}
    print("\nTiny pipelines: ml2025-hw10, 3x3 grid of lora_scale x guidance (810 images in full)")
    print(f"  full grid   {full.images_generated} images in {full_s:.0f} s, recommends {pick[False]}")
    share = race.images_generated / full.images_full
    print(f"  adaptive    {race.images_generated} images in {race_s:.0f} s ({share:.0%} of the full grid), recommends "
          f"{pick[True]}; dropped {len(race.dropped)} of 9 settings")  # fmt: skip
    print(f"  same recommendation: {pick[True] == pick[False]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--no-pipeline", action="store_true", help="only the synthetic scenarios")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    synthetic(args.scenarios)
    if not args.no_pipeline:
        with tempfile.TemporaryDirectory() as tmp:
            pipeline(args.work or Path(tmp))


if __name__ == "__main__":
    main()
