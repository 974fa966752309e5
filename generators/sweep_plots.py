"""Plots of a sweep: per subject, score against score with the pass region shaded; per metric, the margin over
the line against the swept setting (one grid axis) or a heat-map of the worst subject's margin (two axes)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from generators.sweep_model import SweepResult
from grader.result import Verdict
from grader.rules import RULES
from grader.tasks.schema import Task

PASS_FILL = "#d9f2e0"
PASS_COLOUR, FAIL_COLOUR, BEST_COLOUR = "#1b7f3b", "#b3261e", "#f2a900"


def metric_axis(task: Task, name: str) -> str:
    """``DINO (100·cos)``: the metric's label and the unit of its values."""
    scale = RULES.get(task.metrics[name].rule).scale
    unit = "100·cos" if "100·cos" in scale else "L2 distance" if "distance" in scale else scale.split(",")[0]
    return f"{task.metrics[name].label} ({unit})" if unit else task.metrics[name].label


def plot_sweep(sweep: SweepResult, task: Task, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    metrics = [name for name in task.metrics if f"{name}_line" in sweep.table.columns]
    paths = []
    if len(metrics) >= 2:
        paths += [_scatter(sweep, task, metrics[:2], subject, out) for subject in sweep.table["subject"].unique()]
    for name in metrics:
        if sweep.table[f"{name}_margin"].notna().any():
            plot = _margin_lines if len(sweep.grid) == 1 else _margin_heatmap
            paths.append(plot(sweep, task, name, out))
    return paths


def _short(point: dict[str, float]) -> str:
    return ", ".join(f"{v:g}" for v in point.values())


def _span(values: list[float], pad: float = 0.12) -> tuple[float, float]:
    low, high = min(values), max(values)
    room = (high - low) * pad or max(abs(high) * 0.01, 0.01)
    return low - room, high + room


def _frame_and_shade(ax, task: Task, x: str, y: str, rows: pd.DataFrame) -> None:
    """Axes that hold the points and both lines, and the region where both scores pass their lines shaded."""
    x_line, y_line = rows[f"{x}_line"].dropna(), rows[f"{y}_line"].dropna()
    xl = [float(x_line.iloc[0])] if not x_line.empty else []
    yl = [float(y_line.iloc[0])] if not y_line.empty else []
    (x0, x1), (y0, y1) = _span([*rows[x], *xl]), _span([*rows[y], *yl])
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    if not (xl and yl):
        return
    xs = (xl[0], x1) if task.metrics[x].higher_is_better else (x0, xl[0])
    ys = (yl[0], y1) if task.metrics[y].higher_is_better else (y0, yl[0])
    ax.fill_between(xs, ys[0], ys[1], color=PASS_FILL, zorder=0, label="passes both lines")
    ax.axvline(xl[0], color="#555", linestyle="--", linewidth=1, zorder=1)
    ax.axhline(yl[0], color="#555", linestyle="--", linewidth=1, zorder=1)


def _scatter(sweep: SweepResult, task: Task, metrics: list[str], subject: str, out: Path) -> Path:
    import matplotlib.pyplot as plt
    from adjustText import adjust_text

    x, y = metrics
    rows = sweep.table[sweep.table["subject"] == subject]
    settings = list(sweep.grid)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    if len(settings) == 1:  # one axis: the points have an order worth a line
        ordered = rows.sort_values(settings[0])
        ax.plot(ordered[x], ordered[y], color="#999", linewidth=1, zorder=2)
    colours = [PASS_COLOUR if v == Verdict.PASS.value else FAIL_COLOUR for v in rows["verdict"]]
    ax.scatter(rows[x], rows[y], c=colours, s=36, zorder=3, edgecolors="white", linewidths=0.5)
    _frame_and_shade(ax, task, x, y, rows)
    best = sweep.recommended
    if best is not None:
        chosen = rows[rows["setting"] == best.setting]
        ax.scatter(chosen[x], chosen[y], marker="*", s=260, color=BEST_COLOUR, edgecolors="black", zorder=4,
                   label=f"recommended: {best.setting}")  # fmt: skip
    texts = [
        ax.text(row[x], row[y], _short({k: row[k] for k in settings}), fontsize=8, zorder=5)
        for _, row in rows.iterrows()
    ]
    ax.scatter([], [], c=PASS_COLOUR, s=36, label="subject passes")
    ax.scatter([], [], c=FAIL_COLOUR, s=36, label="subject fails")
    ax.set_xlabel(metric_axis(task, x))
    ax.set_ylabel(metric_axis(task, y))
    ax.set_title(f"{subject}: one point per setting ({', '.join(settings)})", fontsize=10)
    ax.legend(fontsize=8, loc="best", framealpha=0.9)
    fig.tight_layout()
    # Settings with near-equal scores would print on top of each other: move the labels apart, with leaders.
    adjust_text(
        texts,
        ax=ax,
        expand=(1.4, 1.8),
        force_text=(0.6, 0.8),
        arrowprops={"arrowstyle": "-", "color": "#888", "lw": 0.5},
    )
    return _save(fig, out / f"scores_{subject.replace('/', '_')}.png")


def _margin_lines(sweep: SweepResult, task: Task, name: str, out: Path) -> Path:
    import matplotlib.pyplot as plt

    (setting,) = sweep.grid
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    for subject, rows in sweep.table.groupby("subject", sort=False):
        rows = rows.sort_values(setting)
        ax.plot(rows[setting], rows[f"{name}_margin"], marker="o", markersize=4, linewidth=1.2, label=str(subject))
    ax.margins(x=0.05, y=0.15)
    y0, y1 = ax.get_ylim()
    ax.axhspan(0, max(y1, 0.0), color=PASS_FILL, zorder=0)
    ax.axhline(0, color="#555", linestyle="--", linewidth=1)
    ax.set_ylim(min(y0, 0.0), max(y1, 0.0))
    if sweep.recommended is not None:
        ax.axvline(sweep.recommended.point[setting], color=BEST_COLOUR, linewidth=2, label="recommended")
    ax.set_xlabel(setting)
    ax.set_ylabel(f"{metric_axis(task, name)}: margin over the line")
    ax.set_title(f"{task.metrics[name].label} per subject (shaded: passes the line)", fontsize=10)
    ax.legend(fontsize=7, ncol=2 if sweep.table["subject"].nunique() > 8 else 1, loc="best", framealpha=0.9)
    fig.tight_layout()
    return _save(fig, out / f"margins_{name}.png")


def _margin_heatmap(sweep: SweepResult, task: Task, name: str, out: Path) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.patches import Rectangle

    across, down = sweep.grid
    worst = sweep.table.groupby([down, across])[f"{name}_margin"].min().unstack(across)
    worst = worst.reindex(index=sorted(sweep.grid[down]), columns=sorted(sweep.grid[across]))
    reach = max(float(abs(worst).max().max()), 1e-9)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    image = ax.imshow(worst.to_numpy(), cmap="RdYlGn", norm=TwoSlopeNorm(0.0, -reach, reach), origin="lower")
    for (i, j), value in pd.DataFrame(worst.to_numpy()).stack().items():
        ax.text(j, i, f"{value:+.2f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(worst.columns)), [f"{v:g}" for v in worst.columns])
    ax.set_yticks(range(len(worst.index)), [f"{v:g}" for v in worst.index])
    ax.set_xlabel(across)
    ax.set_ylabel(down)
    best = sweep.recommended
    if best is not None:
        j, i = list(worst.columns).index(best.point[across]), list(worst.index).index(best.point[down])
        ax.add_patch(Rectangle((j - 0.46, i - 0.46), 0.92, 0.92, fill=False, edgecolor="black", linewidth=2.5))
    unit = metric_axis(task, name).removeprefix(task.metrics[name].label).strip(" ()")
    fig.colorbar(image, ax=ax, label=f"margin over the line ({unit}); > 0 passes")
    ax.set_title(f"{task.metrics[name].label}: worst subject's margin per setting (box: recommended)", fontsize=10)
    fig.tight_layout()
    return _save(fig, out / f"margins_{name}.png")


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path)
    plt.close(fig)
    return path
