"""Run an adapter over a grid of one or two settings, grade every run, and say which setting to use: a table
(sweep.csv), plots (generators.sweep_plots), a page (sweep.html) and one recommended setting for all subjects."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from generators.adapters import Adapter, AdapterError, IPAdapter, LoRA
from generators.run import GenerationSettings, generate, load_base
from grader.progress import PrefixedProgress, ProgressReporter, SilentProgress
from grader.result import GradeResult
from grader.runner import GradeOptions, grade
from grader.tasks.schema import Task

# Settings a sweep can vary without reloading the pipeline.
SWEEPABLE = {"ip_adapter_scale", "lora_scale", "guidance", "steps", "eta"}


def parse_grid(items: list[str]) -> dict[str, list[float]]:
    """``["ip_adapter_scale=0.4,0.6"]`` -> ``{"ip_adapter_scale": [0.4, 0.6]}``."""
    grid: dict[str, list[float]] = {}
    for item in items:
        name, _, values = item.partition("=")
        if name not in SWEEPABLE:
            raise AdapterError(f"cannot sweep {name!r}; sweepable settings: {', '.join(sorted(SWEEPABLE))}")
        try:
            grid[name] = [float(v) for v in values.split(",") if v]
        except ValueError as exc:
            raise AdapterError(f"--grid {item}: values must be numbers") from exc
        if not grid[name]:
            raise AdapterError(f"--grid {item}: no values")
    if not 1 <= len(grid) <= 2:
        raise AdapterError("a sweep varies one or two settings")
    return grid


def _configure(pipe: Any, adapter: Adapter, settings: GenerationSettings, point: dict[str, float]):
    for name, value in point.items():
        if name == "ip_adapter_scale":
            if not isinstance(adapter, IPAdapter):
                raise AdapterError("ip_adapter_scale needs --adapter ip-adapter")
            adapter.scale, adapter.subject_scales = value, {}
            adapter.settings["ip_adapter_scale"] = value
        elif name == "lora_scale":
            if not isinstance(adapter, LoRA):
                raise AdapterError("lora_scale needs --adapter lora")
            adapter.scale = value
            adapter.settings["lora_scale"] = value
            pipe.set_adapters(["personal"], adapter_weights=[value])
        else:
            settings = replace(settings, **{name: int(value) if name == "steps" else value})
    return settings


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


def run_sweep(
    task: Task,
    data: Path,
    adapter: Adapter,
    base: str,
    out: Path,
    settings: GenerationSettings,
    grid: dict[str, list[float]],
    models_dir: Path | None = None,
    grade_options: GradeOptions | None = None,
    progress: ProgressReporter | None = None,
) -> SweepResult:
    from generators.sweep_page import write_sweep_html
    from generators.sweep_plots import plot_sweep

    progress = progress or SilentProgress()
    pipe, _ = load_base(base, models_dir)
    adapter.apply(pipe)
    rows, examples = [], {}
    points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    for number, point in enumerate(points, 1):
        run_settings = _configure(pipe, adapter, settings, point)
        run_dir = out / folder_name(point)
        step = PrefixedProgress(progress, f"[{number}/{len(points)}] {setting_text(point)}:")
        generate(task, data, adapter, base, run_dir, run_settings, models_dir, step, pipe=pipe)
        result = grade(task, run_dir, data, grade_options or GradeOptions(models_dir=models_dir), step)
        rows += _rows(result, point)
        examples[setting_text(point)] = _examples(result, run_dir)
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "sweep.csv", index=False)
    recommended = recommend(table, grid, isinstance(adapter, IPAdapter))
    sweep = SweepResult(table, [], recommended, rank_settings(table), grid, examples=examples)
    sweep.plots = plot_sweep(sweep, task, out)
    sweep.html = write_sweep_html(sweep, task, out)
    return sweep


def _rows(result: GradeResult, point: dict[str, float]) -> list[dict]:
    rows = []
    for subject in result.subjects:
        row: dict[str, Any] = {"setting": setting_text(point), "folder": folder_name(point), **point}
        row.update(subject=subject.subject, verdict=subject.verdict.value)
        margins = []
        for name, m in subject.metrics.items():
            row[name] = m.value
            row[f"{name}_line"] = m.threshold
            row[f"{name}_margin"] = m.margin
            if m.margin is not None:
                margins.append(m.margin)
        row["worst_margin"] = min(margins) if margins else None
        row["pass_probability"] = subject.pass_probability
        rows.append(row)
    return rows


def _examples(result: GradeResult, run_dir: Path, per_setting: int = 4) -> list[Path]:
    """The first image of each subject (up to ``per_setting``): what the page shows of a setting."""
    first: dict[str, Path] = {}
    for image in result.images:
        first.setdefault(image.subject, run_dir / image.file)
    return list(first.values())[:per_setting]


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
    passes = bool((rows["verdict"] == "PASS").all())
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
