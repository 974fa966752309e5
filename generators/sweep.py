"""Run an adapter over a grid of one or two settings, grade every run, and say which setting to use: a table
(sweep.csv), plots (generators.sweep_plots), a page (sweep.html) and one recommended setting for all subjects."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from generators.adapters import Adapter, IPAdapter, LoRA
from generators.errors import AdapterError
from generators.jobs import plan
from generators.racing import rounds, survivors, worst_margin_bounds
from generators.run import GenerationSettings, generate, is_test_pipeline, load_base
from generators.sweep_model import SweepResult, folder_name, rank_settings, recommend, setting_text
from grader.grading import GradeOptions, Resources, grade
from grader.progress import PrefixedProgress, ProgressReporter, SilentProgress
from grader.result import GradeResult
from grader.submission.files import MANIFEST
from grader.tasks.schema import Task

CHECKPOINTS = "weights"  # the grid setting that swaps the adapter's checkpoint
# Settings a sweep can vary without reloading the pipeline; "weights" swaps the adapter's checkpoint.
SWEEPABLE = {"ip_adapter_scale", "lora_scale", "guidance", "steps", "eta", CHECKPOINTS}


def checkpoint_steps(paths: list[str]) -> dict[float, str]:
    """Each checkpoint by its training step, read from its name (``checkpoint-500``, ``learned_embeds-steps-1000
    .safetensors``); by its place in the list (1, 2, ...) when the names do not give distinct steps."""
    import re

    steps = []
    for path in paths:
        numbers = re.findall(r"\d+", Path(path.rstrip("/")).name)
        steps.append(float(numbers[-1]) if numbers else None)
    if None in steps or len(set(steps)) != len(steps):
        steps = [float(i) for i in range(1, len(paths) + 1)]
    return dict(zip(steps, paths, strict=True))  # type: ignore[arg-type]


def parse_grid(items: list[str]) -> dict[str, list[float]]:
    """``["ip_adapter_scale=0.4,0.6"]`` -> ``{"ip_adapter_scale": [0.4, 0.6]}``; ``weights=ckpt-500,ckpt-1000``
    -> ``{"weights": [500.0, 1000.0]}`` (``parse_checkpoints`` keeps which path each step is)."""
    grid: dict[str, list[float]] = {}
    for item in items:
        name, _, values = item.partition("=")
        if name not in SWEEPABLE:
            raise AdapterError(f"cannot sweep {name!r}; sweepable settings: {', '.join(sorted(SWEEPABLE))}")
        if name == CHECKPOINTS:
            grid[name] = list(checkpoint_steps([v for v in values.split(",") if v]))
            if not grid[name]:
                raise AdapterError(f"--grid {item}: no values")
            continue
        try:
            grid[name] = [float(v) for v in values.split(",") if v]
        except ValueError as exc:
            raise AdapterError(f"--grid {item}: values must be numbers") from exc
        if not grid[name]:
            raise AdapterError(f"--grid {item}: no values")
    if not 1 <= len(grid) <= 2:
        raise AdapterError("a sweep varies one or two settings")
    return grid


def parse_checkpoints(items: list[str]) -> dict[float, str]:
    """The checkpoints of a ``weights=...`` grid item, by the step ``parse_grid`` gives them; empty without one."""
    for item in items:
        name, _, values = item.partition("=")
        if name == CHECKPOINTS:
            return checkpoint_steps([v for v in values.split(",") if v])
    return {}


def _configure(pipe: Any, adapter: Adapter, settings: GenerationSettings, point: dict[str, float]):
    for name, value in point.items():
        if name == CHECKPOINTS:
            continue  # swapped by run_sweep, which knows which checkpoint is loaded
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
    checkpoints: dict[float, str] | None = None,
    adaptive: bool = False,
) -> SweepResult:
    """Generate and grade every point of ``grid``; ``checkpoints``: the paths of a ``weights`` grid by step;
    ``adaptive``: race the settings (``generators.racing``), dropping those that cannot be the recommendation."""
    from generators.sweep_page import write_sweep_html
    from generators.sweep_plots import plot_sweep

    progress = progress or SilentProgress()
    pipe, base_path = load_base(base, models_dir)
    loaded = next(iter(grid[CHECKPOINTS])) if CHECKPOINTS in grid else None
    if loaded is not None:
        adapter.set_weights((checkpoints or {})[loaded])
    adapter.apply(pipe)
    test_models = [f"{base} (tiny test pipeline)"] if is_test_pipeline(base_path) else []
    points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    options = grade_options or GradeOptions(models_dir=models_dir)
    jobs = plan(task, data, settings.prompt_template, settings.unique_token)
    full = max(Counter(job.subject for job in jobs).values(), default=0)  # a full run's images per subject
    sizes = rounds(full) if adaptive else [full]
    latest: dict[str, list[dict]] = {}
    examples: dict[str, list[Path]] = {}
    dropped: dict[str, int] = {}
    generated = 0
    alive = list(points)
    for size in sizes:
        for number, point in enumerate(alive, 1):
            if CHECKPOINTS in point and point[CHECKPOINTS] != loaded:
                loaded = point[CHECKPOINTS]
                adapter.swap(pipe, (checkpoints or {})[loaded])
            run_settings = _configure(pipe, adapter, settings, point)
            run_dir = out / folder_name(point)
            per = f" ({size}/subject)" if adaptive else ""
            step = PrefixedProgress(progress, f"[{number}/{len(alive)}] {setting_text(point)}{per}:")
            before = _images_in(run_dir)
            generate(task, data, adapter, base, run_dir, run_settings, models_dir, step, pipe=pipe,
                     per_subject=size if adaptive else None)  # fmt: skip
            generated += _images_in(run_dir) - before
            result = grade(task, run_dir, data, options.with_changes(partial=size < full), step, resources)
            latest[setting_text(point)] = _rows(result, point)
            examples[setting_text(point)] = _examples(result, run_dir)
        if size == full:
            break
        texts = [setting_text(p) for p in alive]
        bounds = worst_margin_bounds(pd.DataFrame([r for t in texts for r in latest[t]]))
        keep = set(survivors(bounds, texts))
        dropped.update({t: size for t in texts if t not in keep})
        alive = [p for p in alive if setting_text(p) in keep]
    rows = [row for point in points for row in latest[setting_text(point)]]
    table = pd.DataFrame(rows)
    table["dropped_after"] = [dropped.get(s) for s in table["setting"]]  # images per subject when dropped
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "sweep.csv", index=False)
    finished = table[table["dropped_after"].isna()]  # the full grid's rule, over the settings graded in full
    recommended = recommend(finished, grid, isinstance(adapter, IPAdapter))
    sweep = SweepResult(table, [], recommended, rank_settings(table), grid, examples=examples, test_models=test_models)
    sweep.images_generated, sweep.images_full, sweep.dropped = generated, len(jobs) * len(points), dropped
    sweep.adaptive = adaptive
    sweep.plots = plot_sweep(sweep, task, out)
    sweep.html = write_sweep_html(sweep, task, out)
    return sweep


def _rows(result: GradeResult, point: dict[str, float]) -> list[dict]:
    rows = []
    for subject in result.subjects:
        row: dict[str, Any] = {"setting": setting_text(point), "folder": folder_name(point), **point}
        row.update(subject=subject.subject, verdict=subject.verdict.value)
        margins, lows, highs = [], [], []
        for name, m in subject.metrics.items():
            row[name] = m.value
            row[f"{name}_line"] = m.threshold
            row[f"{name}_margin"] = m.margin
            if m.margin is not None:
                margins.append(m.margin)
                low, high = m.margin_interval or (m.margin, m.margin)
                lows.append(low)
                highs.append(high)
        row["worst_margin"] = min(margins) if margins else None
        row["worst_margin_low"] = min(lows) if lows else None  # the subject's worst margin, its interval
        row["worst_margin_high"] = min(highs) if highs else None
        row["pass_probability"] = subject.pass_probability
        row["images_per_subject"] = subject.n_images
        rows.append(row)
    return rows


def _images_in(folder: Path) -> int:
    """Images a run folder's manifest lists (0 before the first round)."""
    import json

    manifest = folder / MANIFEST
    return len(json.loads(manifest.read_text())["images"]) if manifest.is_file() else 0


def _examples(result: GradeResult, run_dir: Path, per_setting: int = 4) -> list[Path]:
    """The first image of each subject (up to ``per_setting``): what the page shows of a setting."""
    first: dict[str, Path] = {}
    for image in result.images:
        first.setdefault(image.subject, run_dir / image.file)
    return list(first.values())[:per_setting]
