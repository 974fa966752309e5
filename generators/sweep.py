"""Run an adapter over a grid of one or two settings, grade every run, and show which setting suits each
subject: a table, a score-vs-score plot per subject with the baseline lines, and the best passing setting."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from generators.adapters import Adapter, AdapterError, IPAdapter, LoRA
from generators.run import GenerationSettings, generate, load_base
from grader.progress import ProgressReporter, SilentProgress
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


@dataclass
class SweepResult:
    table: pd.DataFrame
    plots: list[Path]
    best: dict[str, str]
    ranking: list[tuple[str, float | None]]  # settings by their worst pass probability over subjects, best first


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
    progress = progress or SilentProgress()
    pipe, _ = load_base(base, models_dir)
    adapter.apply(pipe)
    rows = []
    for values in itertools.product(*grid.values()):
        point = dict(zip(grid, values, strict=True))
        label = ",".join(f"{k}={v:g}" for k, v in point.items())
        run_settings = _configure(pipe, adapter, settings, point)
        run_dir = out / label
        generate(task, data, adapter, base, run_dir, run_settings, models_dir, progress, pipe=pipe)
        result = grade(task, run_dir, data, grade_options or GradeOptions(models_dir=models_dir))
        rows += _rows(result, label, point)
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "sweep.csv", index=False)
    best = _best(table)
    plots = [_plot(table, subject, out) for subject in table["subject"].unique()]
    return SweepResult(table, [p for p in plots if p], best, rank_settings(table))


def _rows(result: GradeResult, label: str, point: dict[str, float]) -> list[dict]:
    rows = []
    for subject in result.subjects:
        row: dict[str, Any] = {"setting": label, **point, "subject": subject.subject, "verdict": subject.verdict.value}
        margins = []
        for name, m in subject.metrics.items():
            row[name] = m.value
            row[f"{name}_line"] = m.threshold
            if m.margin is not None:
                margins.append(m.margin)
        row["worst_margin"] = min(margins) if margins else None
        row["pass_probability"] = subject.pass_probability
        rows.append(row)
    return rows


def _ranked(rows: pd.DataFrame) -> pd.DataFrame:
    """Most likely to pass first (over bootstrap resamples of the images, not one draw), then by margin."""
    return rows.dropna(subset=["worst_margin"]).sort_values(
        ["pass_probability", "worst_margin"], ascending=False, na_position="last"
    )


def _best(table: pd.DataFrame) -> dict[str, str]:
    """Per subject: the setting most likely to pass, then with the largest worst-case margin (or the closest miss)."""
    best = {}
    for subject, rows in table.groupby("subject", sort=False):
        ranked = _ranked(rows)
        if ranked.empty:
            continue
        top = ranked.iloc[0]
        passing = top["verdict"] == "PASS"
        chance = "" if pd.isna(top["pass_probability"]) else f", pass probability {top['pass_probability']:.0%}"
        best[subject] = (
            f"{top['setting']} (passes, worst margin {top['worst_margin']:+.2f}{chance})"
            if passing
            else f"none passes; closest: {top['setting']} (worst margin {top['worst_margin']:+.2f}{chance})"
        )
    return best


def rank_settings(table: pd.DataFrame) -> list[tuple[str, float | None]]:
    """Settings ordered by the worst pass probability over their subjects (the subject least sure to pass)."""
    worst = table.groupby("setting", sort=False).agg(
        pass_probability=("pass_probability", "min"), worst_margin=("worst_margin", "min")
    )
    worst = worst.sort_values(["pass_probability", "worst_margin"], ascending=False, na_position="last")
    return [(name, None if pd.isna(p) else float(p)) for name, p in worst["pass_probability"].items()]


def _plot(table: pd.DataFrame, subject: str, out: Path) -> Path | None:
    """Score against score (the first two metrics) for each setting, with the baseline lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [c for c in table.columns if f"{c}_line" in table.columns]
    if len(metrics) < 2:
        return None
    x, y = metrics[:2]
    rows = table[table["subject"] == subject]
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(rows[x], rows[y], "o-", color="tab:blue")
    for _, row in rows.iterrows():
        ax.annotate(row["setting"], (row[x], row[y]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    for column, draw in ((f"{x}_line", ax.axvline), (f"{y}_line", ax.axhline)):
        line = rows[column].dropna()
        if not line.empty:
            draw(float(line.iloc[0]), color="tab:red", linestyle="--", linewidth=1)
    ax.margins(x=0.2, y=0.15)  # room for the setting labels
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{subject}: {x} vs {y} (dashed: baseline)")
    fig.tight_layout()
    path = out / f"sweep_{subject.replace('/', '_')}.png"
    fig.savefig(path)
    plt.close(fig)
    return path
