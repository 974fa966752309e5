"""Sweeps that stop early: racing over a grid's settings. Every setting gets a few images per subject, is graded
as a partial grade (each subject's interval is that of its completed images), and a setting whose best plausible
worst-subject margin is below another's worst plausible one cannot be the recommendation and is dropped; the rest
get more images, until the survivors have the full count and are compared as the full grid would compare them."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd


def rounds(full: int) -> list[int]:
    """Images per subject at each round: a fifth, two fifths, two thirds, then all; never fewer than three (two
    images say too little about a subject's spread to drop anything on)."""
    return sorted({min(full, max(3, math.ceil(full * share))) for share in (1 / 5, 2 / 5, 2 / 3)} | {full})


def worst_margin_bounds(rows: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Per setting, the interval of its worst-subject margin: (the lowest margin any of its subjects may have, the
    highest its worst subject may reach), from each subject's interval over its metrics."""
    found = {}
    for setting, group in rows.groupby("setting", sort=False):
        if group["worst_margin_low"].isna().all():
            continue
        found[str(setting)] = (float(group["worst_margin_low"].min()), float(group["worst_margin_high"].min()))
    return found


def survivors(bounds: Mapping[str, tuple[float, float]], settings: list[str]) -> list[str]:
    """The settings that may still be the recommendation: those whose high end reaches the best low end. Settings
    without lines (no bounds) all stay."""
    if not bounds:
        return list(settings)
    best_low = max(low for low, _ in bounds.values())
    return [s for s in settings if s not in bounds or bounds[s][1] >= best_low]
