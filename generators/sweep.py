"""Run an adapter over a grid of one or two settings, grade every run, and say which setting to use: a table
(sweep.csv), plots (generators.sweep_plots), a page (sweep.html) and one recommended setting for all subjects."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from generators.adapters import Adapter, IPAdapter, LoRA
from generators.errors import AdapterError
from generators.run import GenerationSettings, generate, is_test_pipeline, load_base
from generators.sweep_model import SweepResult, folder_name, rank_settings, recommend, setting_text
from grader.grading import GradeOptions, Resources, grade
from grader.progress import PrefixedProgress, ProgressReporter, SilentProgress
from grader.result import GradeResult
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
            settings = replace(settings, **{name: int(value) if name == "steps" else value})  # type: ignore[arg-type]
    return settings


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
    resources: Resources | None = None,
) -> SweepResult:
    from generators.sweep_page import write_sweep_html
    from generators.sweep_plots import plot_sweep

    progress = progress or SilentProgress()
    pipe, base_path = load_base(base, models_dir)
    adapter.apply(pipe)
    test_models = [f"{base} (tiny test pipeline)"] if is_test_pipeline(base_path) else []
    rows, examples = [], {}
    points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    for number, point in enumerate(points, 1):
        run_settings = _configure(pipe, adapter, settings, point)
        run_dir = out / folder_name(point)
        step = PrefixedProgress(progress, f"[{number}/{len(points)}] {setting_text(point)}:")
        generate(task, data, adapter, base, run_dir, run_settings, models_dir, step, pipe=pipe)
        options = grade_options or GradeOptions(models_dir=models_dir)
        result = grade(task, run_dir, data, options, step, resources)
        rows += _rows(result, point)
        test_models += [m.model_id for m in result.models if m.is_test_model and m.model_id not in test_models]
        examples[setting_text(point)] = _examples(result, run_dir)
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "sweep.csv", index=False)
    recommended = recommend(table, grid, isinstance(adapter, IPAdapter))
    sweep = SweepResult(table, [], recommended, rank_settings(table), grid, examples=examples, test_models=test_models)
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
