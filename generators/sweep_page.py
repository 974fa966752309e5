"""sweep.html: one self-contained page for a sweep (its plots, every setting's scores and verdicts, and a few
generated images per setting), drawn from the same table sweep.csv is written from."""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd

from generators.sweep_model import SweepResult, setting_summary
from grader.report.files import atomic_write
from grader.report.html import environment, thumbnail
from grader.result import Verdict
from grader.tasks.schema import Task


def _png(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _fmt(value, pattern: str = "%.2f", factor: float = 1.0) -> str:
    """A table cell: ``-`` for a missing value (NaN or None)."""
    return "-" if value is None or value != value else pattern % (factor * value)


def _caption(plot: Path, task: Task, settings: int) -> str:
    kind, _, name = plot.stem.partition("_")
    if kind == "margins" and name in task.metrics:
        shown = "the worst subject's margin" if settings == 2 else "each subject's margin"
        return f"{task.metrics[name].label}: {shown} over its line, per setting"
    return f"{name}: the scores of each setting against the lines"


def render_sweep_html(sweep: SweepResult, task: Task) -> str:
    from generators.sweep_plots import metric_axis

    metrics = [name for name in task.metrics if name in sweep.table.columns]
    summary = setting_summary(sweep.table)
    settings = []
    for setting, rows in sweep.table.groupby("setting", sort=False):
        row = summary.loc[setting]
        settings.append(
            {
                "name": setting,
                "folder": rows["folder"].iloc[0],
                "passed": int((rows["verdict"] == Verdict.PASS.value).sum()),
                "subjects": len(rows),
                "worst_margin": None if pd.isna(row["worst_margin"]) else float(row["worst_margin"]),
                "least_probability": None if pd.isna(row["pass_probability"]) else float(row["pass_probability"]),
                "rows": rows.to_dict("records"),
                "thumbs": [
                    thumbnail(p, f"{setting}: {p.parent.name}/{p.name}", link=True)
                    for p in sweep.examples.get(setting, [])
                ],
                "recommended": sweep.recommended is not None and sweep.recommended.setting == setting,
            }
        )
    env = environment()
    env.globals["fmt"] = _fmt
    return env.get_template("sweep.html.j2").render(
        task=task,
        grid=sweep.grid,
        recommended=sweep.recommended,
        ranking=sweep.ranking,
        settings=settings,
        metrics=[(name, metric_axis(task, name)) for name in metrics],
        plots=[(_caption(p, task, len(sweep.grid)), _png(p)) for p in sweep.plots],
        test_models=sweep.test_models,
    )


def write_sweep_html(sweep: SweepResult, task: Task, out: Path) -> Path:
    path = out / "sweep.html"
    atomic_write(path, render_sweep_html(sweep, task))
    return path
