"""The class overview in the console: pass rate and scores per subject, who could not be graded, shared images."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from grader.batch import BatchResult
from grader.display import shown


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render_overview(batch: BatchResult, console: Console) -> None:
    s = batch.summary
    table = Table(title=shown(f"{s['task']} - class of {s['students']}, tier '{s['tier']}'"), title_justify="left")
    for column in ("subject", "pass rate", "metric", "line", "mean", "range", "closest to the line"):
        table.add_column(column, justify="right" if column in ("pass rate", "line", "mean") else "left")
    for subject, view in s["subjects"].items():
        rate = "-" if view["pass_rate"] is None else f"{view['passed']}/{view['graded']} {100 * view['pass_rate']:.0f}%"
        for i, m in enumerate(view["metrics"].values()):
            line = "-" if m["line"] is None else f"{'>=' if m['higher_is_better'] else '<='} {m['line']:g}"
            closest = shown(", ".join(f"{c['student']} ({c['margin']:+.2f})" for c in m["closest"]) or "-")
            spread = f"{_number(m['min'])} to {_number(m['max'])}"
            table.add_row(
                shown(subject) if i == 0 else "",
                rate if i == 0 else "",
                shown(m["label"]),
                line,
                _number(m["mean"]),
                spread,
                closest,
            )
        table.add_section()
    console.print(table)
    status = s["status"]
    verdicts = ", ".join(f"{n} {v}" for v, n in s["verdicts"].items())
    console.print(
        f"[bold]{status['graded']} graded[/] ({verdicts or 'none'}), {status['partly graded']} partly graded, "
        f"{status['could not grade']} could not be graded, {status['missing']} submitted nothing",
        highlight=False,
    )
    for row in s["partly_graded"]:
        console.print(
            f"  [yellow]partly graded[/] {shown(row['student'])}: {shown(row['error'])} (its other subjects count)",
            highlight=False,
            soft_wrap=True,
        )
    for row in s["not_graded"]:
        console.print(
            f"  [yellow]not graded[/] {shown(row['student'])}: {shown(row['error'])}", highlight=False, soft_wrap=True
        )
    for student in s["missing"]:
        console.print(f"  [dim]missing[/] {shown(student)}: on the roster, nothing submitted", highlight=False)
    for pair in batch.shared:
        console.print(f"  [magenta]shared images[/] {shown(pair.describe())}", highlight=False, soft_wrap=True)
    for note in s["notes"]:
        console.print(f"  [yellow]note[/] {shown(note)}", highlight=False, soft_wrap=True)
    console.print(
        f"[dim]written to {shown(batch.out)}: grades.csv, summary.json, index.html and one JSON per student[/]",
        highlight=False,
    )
