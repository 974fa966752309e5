"""A sweep's result and how its table is read: one summary per setting, the ranking, the one recommendation.

Kept apart from the sweep's runner so that its views (plots, page) read the model without importing the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from grader.result import Verdict


def setting_text(point: dict[str, float]) -> str:
    """``ip_adapter_scale=0.6, guidance=7.5``: how a grid point reads in tables and messages."""
    return ", ".join(f"{k}={v:g}" for k, v in point.items())


def folder_name(point: dict[str, float]) -> str:
    """``ip_adapter_scale-0.6_guidance-7.5``: a grid point's output folder, safe to type in any shell."""
    return "_".join(f"{k}-{v:g}" for k, v in point.items())


@dataclass
class Recommendation:
    """The one setting for every subject: the best worst-subject margin (then the best worst pass probability)."""

    setting: str
    point: dict[str, float]
    worst_margin: float
    worst_subject: str
    pass_probability: float | None
    passes: bool  # every subject passes at this setting
    subject_scales: dict[str, float] = field(default_factory=dict)  # IP-Adapter: a scale per subject, if it helps

    def sentence(self) -> str:
        chance = "" if self.pass_probability is None else f", least pass probability {self.pass_probability:.0%}"
        verdict = "every subject passes" if self.passes else "not every subject passes"
        text = f"{self.setting} ({verdict}; worst margin {self.worst_margin:+.2f} on {self.worst_subject}{chance})"
        if self.subject_scales:
            scales = ",".join(f"{k}={v:g}" for k, v in self.subject_scales.items())
            text += f"; per subject: --subject-scale {scales}"
        return text


@dataclass
class SweepResult:
    table: pd.DataFrame
    plots: list[Path]
    recommended: Recommendation | None  # None when the tier draws no lines
    ranking: list[tuple[str, float | None]]  # settings by their worst pass probability over subjects, best first
    grid: dict[str, list[float]] = field(default_factory=dict)
    html: Path | None = None
    examples: dict[str, list[Path]] = field(default_factory=dict)  # setting -> a generated image per subject
    test_models: list[str] = field(default_factory=list)  # test stand-ins used (grading models, the base): no meaning
    adaptive: bool = False  # raced (generators.racing) rather than run in full
    images_generated: int = 0  # by this sweep (an adaptive one generates fewer than the full grid)
    images_full: int = 0  # what the full grid generates
    dropped: dict[str, int] = field(default_factory=dict)  # setting -> images per subject when the race dropped it


def setting_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per setting, in grid order: its worst subject's margin (and that subject) and its least pass
    probability. What the recommendation, the ranking and the page read."""
    grouped = table.groupby("setting", sort=False)
    summary = grouped.agg(worst_margin=("worst_margin", "min"), pass_probability=("pass_probability", "min"))
    summary["worst_subject"] = [
        None if rows["worst_margin"].isna().all() else str(rows.loc[rows["worst_margin"].idxmin(), "subject"])
        for _, rows in grouped
    ]
    return summary


def recommend(table: pd.DataFrame, grid: dict[str, list[float]], per_subject_scale: bool) -> Recommendation | None:
    """The setting whose least-passing subject passes by the most; with an IP-Adapter sweep, also each subject's
    own best scale at the other settings of that point (the adapter applies a scale per subject)."""
    scored = table.dropna(subset=["worst_margin"])
    if scored.empty:
        return None
    summary = setting_summary(scored)
    chances = summary["pass_probability"].fillna(-1.0)
    setting = max(summary.index, key=lambda name: (summary.at[name, "worst_margin"], chances[name]))
    top, rows = summary.loc[setting], scored[scored["setting"] == setting]
    point = {name: float(rows[name].iloc[0]) for name in grid}
    chance = None if pd.isna(top["pass_probability"]) else float(top["pass_probability"])
    passes = bool((rows["verdict"] == Verdict.PASS.value).all())
    best = Recommendation(setting, point, float(top["worst_margin"]), top["worst_subject"], chance, passes)
    if per_subject_scale and "ip_adapter_scale" in grid and len(grid["ip_adapter_scale"]) > 1:
        others = [name for name in grid if name != "ip_adapter_scale"]
        same = scored[(scored[others] == pd.Series(point)[others]).all(axis=1)] if others else scored
        scales = {
            str(subject): float(rows.loc[rows["worst_margin"].idxmax(), "ip_adapter_scale"])
            for subject, rows in same.groupby("subject", sort=False)
        }
        if len(set(scales.values())) > 1:  # one scale for all is already the recommendation
            best.subject_scales = scales
    return best


def rank_settings(table: pd.DataFrame) -> list[tuple[str, float | None]]:
    """Settings ordered by the worst pass probability over their subjects (the subject least sure to pass)."""
    worst = setting_summary(table).sort_values(
        ["pass_probability", "worst_margin"], ascending=False, na_position="last"
    )
    return [(name, None if pd.isna(p) else float(p)) for name, p in worst["pass_probability"].items()]
