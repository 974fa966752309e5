"""``class/index.html``: the class overview as one offline page (no scripts), linking each student's report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.report.html import environment
from grader.result import meets


def strip(metric: dict[str, Any]) -> dict[str, Any] | None:
    """Where each student's score and the line sit on one axis (percent of its width), for a dot plot."""
    values = metric["values"]
    if not values:
        return None
    ends = [*values.values(), *([metric["line"]] if metric["line"] is not None else [])]
    low, high = min(ends), max(ends)
    span = (high - low) or 1.0

    def place(v: float) -> float:
        return 4 + 92 * (v - low) / span

    line = metric["line"]
    up = metric["higher_is_better"]
    dots = [
        {
            "student": s,
            "value": v,
            "left": place(v),
            "passed": None if line is None else meets(v, line, up),
        }
        for s, v in sorted(values.items(), key=lambda kv: kv[1])
    ]
    return {"dots": dots, "line": None if line is None else place(line), "low": low, "high": high}


def render_class_html(summary: dict[str, Any], rows: list[dict[str, Any]], reports: dict[str, str]) -> str:
    env = environment()
    env.globals["strip"] = strip
    return env.get_template("class.html.j2").render(summary=summary, rows=rows, reports=reports)


def write_class_html(summary: dict[str, Any], rows: list[dict[str, Any]], out: Path, folder: str) -> Path:
    """``out/index.html``, linking the reports found in ``out/folder``."""
    from urllib.parse import quote

    from grader.report.files import atomic_write

    reports = {
        r["student"]: f"{folder}/{quote(r['student'])}.html"
        for r in rows
        if (out / folder / f"{r['student']}.html").is_file()
    }
    path = out / "index.html"
    atomic_write(path, render_class_html(summary, rows, reports))
    return path
