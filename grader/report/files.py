"""File exports. Written next to a temporary name and renamed, so a failed write never leaves half a file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from grader.result import GradeResult, meets

if TYPE_CHECKING:
    import pandas as pd


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
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


def images_frame(result: GradeResult) -> pd.DataFrame:
    """One row per graded image: subject, file, each metric's score and whether it is on the passing side of
    the subject's line, the details (e.g. the text scored against), and the flags. Tasks of one kind get the
    same columns in the same order."""
    import pandas as pd  # only when a table is asked for: it costs half a second to import

    lines = {(s.subject, n): m for s in result.subjects for n, m in s.metrics.items()}
    names = _metric_names(result)
    rows = []
    for i in result.images:
        passed = {}
        for n in names:
            m = lines.get((i.subject, n))
            ok = (
                None
                if m is None or m.threshold is None or n not in i.scores
                else meets(i.scores[n], m.threshold, m.higher_is_better)
            )
            passed[f"{n}_passed"] = ok
        rows.append(
            {"subject": i.subject, "file": i.file, **i.scores, **passed, **i.details, "flags": "; ".join(i.flags)}
        )
    details = sorted({k for i in result.images for k in i.details})
    columns = ["subject", "file", *names, *(f"{n}_passed" for n in names), *details, "flags"]
    return pd.DataFrame(rows, columns=columns)


def _metric_names(result: GradeResult) -> list[str]:
    return list(result.subjects[0].metrics) if result.subjects else []


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
    atomic_write(path, images_frame(result).to_csv(index=False))


def write_subjects_csv(result: GradeResult, path: Path) -> None:
    atomic_write(path, subjects_frame(result).to_csv(index=False))
