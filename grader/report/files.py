"""File exports. Written next to a temporary name and renamed, so a failed write never leaves half a file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from grader.display import printable
from grader.result import GradeResult

if TYPE_CHECKING:
    import pandas as pd


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # backslashreplace: a lone surrogate (a non-UTF-8 file name) that a view left unescaped is still written.
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a report is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(result: GradeResult, path: Path) -> None:
    atomic_write(path, json.dumps(result.to_dict(), indent=2) + "\n")


def subjects_frame(result: GradeResult) -> pd.DataFrame:
    """One row per subject and metric: score, line, margin, its bootstrap interval, pass probability, ceiling."""
    import pandas as pd

    rows = [
        {
            "subject": s.subject,
            "verdict": s.verdict.value,
            "subject_pass_probability": s.pass_probability,
            "images": s.n_images,
            "metric": name,
            "label": m.label,
            "value": m.value,
            "ci_low": m.ci_low,
            "ci_high": m.ci_high,
            "line": m.threshold,
            "higher_is_better": m.higher_is_better,
            "margin": m.margin,
            "passed": m.passed,
            "borderline": m.borderline,
            "pass_probability": m.pass_probability,
            "ceiling": m.ceiling,
            "model": m.model,
        }
        for s in result.subjects
        for name, m in s.metrics.items()
    ]
    return pd.DataFrame(rows)


def write_csv(result: GradeResult, path: Path) -> None:
    atomic_write(path, printable(result.to_pandas().to_csv(index=False)))


def write_subjects_csv(result: GradeResult, path: Path) -> None:
    atomic_write(path, printable(subjects_frame(result).to_csv(index=False)))
