"""The one result object every report reads: per image, per subject, per task, with verdicts and margins."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from grader.errors import ExitCode
from grader.problems import Problem

if TYPE_CHECKING:
    import pandas as pd


class Verdict(str, Enum):
    """A subject's or a grade's outcome."""

    PASS = "PASS"
    FAIL = "FAIL"
    INCOMPLETE = "INCOMPLETE"  # something required was missing or unreadable; not a valid grade
    NOT_GRADED = "NOT GRADED"
    UNCALIBRATED = "UNCALIBRATED"  # scored with a model the tier's thresholds do not belong to
    SCORED = "SCORED"  # graded, with no line to compare with


SCHEMA_VERSION = "1"  # of the JSON report; bumped when a key changes meaning or goes away
NO_FACE = "no face"  # the flag of an image in which the face encoder found no face
# How a grade with a model the tier's lines do not belong to ends: every report states it in these words.
UNCALIBRATED_RULE = (
    "gates still apply: a gate not met is FAIL (exit 1) whatever the model; with every gate met, a metric without "
    "its line makes the verdict UNCALIBRATED (exit 2)"
)


@dataclass
class ImageScore:
    """One graded image: its scores, flags and details."""

    subject: str
    file: str
    scores: dict[str, float]
    flags: list[str] = field(default_factory=list)  # e.g. "no face": left out of faces-only metrics
    details: dict[str, str] = field(default_factory=dict)  # e.g. the label and the predicted label
    sha256: str = ""  # of the file's bytes: provenance, and how copies across submissions are found


def meets(value: float, line: float, higher_is_better: bool) -> bool:
    """Whether ``value`` is on the passing side of ``line`` (the line itself passes)."""
    return value >= line if higher_is_better else value <= line


def line_flag(label: str, higher_is_better: bool) -> str:
    """The flag of an image whose score is on the failing side of its subject's line."""
    return f"{label} below the line" if higher_is_better else f"{label} above the line (lower is better)"


def margin(value: float, line: float, higher_is_better: bool) -> float:
    """Distance from ``line`` to ``value``, positive on the passing side."""
    return value - line if higher_is_better else line - value


@dataclass
class MetricResult:
    """One metric of one subject: its value, line, interval, pass probability, ceiling and conventions."""

    metric: str
    label: str
    value: float | None
    n: int
    threshold: float | None
    higher_is_better: bool
    calibrated: bool = True  # False: computed with a model the tier has no threshold for
    model: str = ""
    is_count: bool = False  # a number of images (e.g. faceless), not a score
    ci_low: float | None = None  # 95% bootstrap interval of the value over the subject's images
    ci_high: float | None = None
    pass_probability: float | None = None  # share of bootstrap resamples on the passing side of the line
    ceiling: float | None = None  # the same score of the references against each other (real-vs-real)
    conventions: dict[str, float] = field(default_factory=dict)  # the value in other published conventions
    outcomes: dict[str, float] = field(default_factory=dict)  # counts: share of bootstrap resamples per value
    gate_op: str | None = None  # the task's gate on this metric (e.g. "> 22"), which zeroes the grade when not met
    gate_value: float | None = None

    @property
    def gate_margin(self) -> float | None:
        """Distance from the gate to the value, positive where the gate holds (zero fails a strict gate)."""
        if self.value is None or self.gate_op is None or self.gate_value is None:
            return None
        return self.value - self.gate_value if self.gate_op.startswith(">") else self.gate_value - self.value

    @property
    def gate_holds(self) -> bool | None:
        """Whether the gate holds; None without a gate or a value."""
        gap = self.gate_margin
        if gap is None:
            return None
        return gap > 0 or (gap == 0 and self.gate_op in (">=", "<="))

    @property
    def passed(self) -> bool | None:
        """Whether the value is on the passing side of the line; None without a value or a line."""
        if self.value is None or self.threshold is None:
            return None
        return meets(self.value, self.threshold, self.higher_is_better)

    @property
    def margin(self) -> float | None:
        """Distance to the threshold, positive on the passing side."""
        if self.value is None or self.threshold is None:
            return None
        return margin(self.value, self.threshold, self.higher_is_better)

    @property
    def margin_interval(self) -> tuple[float, float] | None:
        """The interval of the margin, low to high (the bootstrap interval seen from the line)."""
        if self.ci_low is None or self.ci_high is None or self.threshold is None:
            return None
        ends = sorted(margin(v, self.threshold, self.higher_is_better) for v in (self.ci_low, self.ci_high))
        return ends[0], ends[1]

    @property
    def beyond_ceiling(self) -> bool:
        """Better than real photos of the subject score against each other: a sign of copied references."""
        if self.value is None or self.ceiling is None:
            return False
        return self.value > self.ceiling if self.higher_is_better else self.value < self.ceiling

    @property
    def borderline(self) -> bool:
        """The interval reaches across the line: another draw of images could land on the other side."""
        interval = self.margin_interval
        return interval is not None and interval[0] < 0 <= interval[1]


@dataclass
class SubjectResult:
    """One subject's metrics, problems, gate failures and references."""

    subject: str
    n_images: int
    expected_images: int
    metrics: dict[str, MetricResult]
    problems: list[Problem] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # gates that failed, whatever the tier
    references: list[str] = field(default_factory=list)  # the reference images the subject was compared with
    pass_probability: float | None = None  # share of bootstrap resamples in which every line and gate holds

    @property
    def verdict(self) -> Verdict:
        """INCOMPLETE or NOT GRADED on errors, FAIL below a line or a gate, UNCALIBRATED, SCORED without lines,
        else PASS."""
        if any(p.severity == "error" for p in self.problems):
            has_scores = any(m.value is not None for m in self.metrics.values())
            return Verdict.INCOMPLETE if has_scores else Verdict.NOT_GRADED
        if self.failures or any(m.passed is False for m in self.metrics.values()):
            return Verdict.FAIL
        if any(not m.calibrated for m in self.metrics.values()):
            return Verdict.UNCALIBRATED
        if all(m.threshold is None for m in self.metrics.values()):
            return Verdict.SCORED
        if any(m.threshold is not None and m.value is None for m in self.metrics.values()):
            return Verdict.INCOMPLETE
        return Verdict.PASS


@dataclass
class ModelInfo:
    """A model as the reports name it: the metrics it served, its id, where it was loaded from, its fingerprint."""

    metric_labels: list[str]
    model_id: str
    source: str
    path: str
    fingerprint: str
    is_test_model: bool


@dataclass
class GradeResult:
    """The one result object every report reads: per image, per subject, per task."""

    task: str
    title: str
    tier: str
    submission: str
    subjects: list[SubjectResult]
    images: list[ImageScore]
    problems: list[Problem]
    models: list[ModelInfo]
    settings: dict[str, Any]
    versions: dict[str, str]
    notes: list[str] = field(default_factory=list)
    points: float | None = None  # what the course would give, for tasks whose tiers carry points
    max_points: float | None = None
    points_probability: dict[str, float] | None = None  # points -> share of bootstrap resamples giving them
    overall: dict[str, float] = field(default_factory=dict)  # metric -> mean over subjects, where the task asks
    published: dict[str, dict[str, float]] = field(default_factory=dict)  # reference rows, not measured here
    coverage: dict[str, Any] = field(default_factory=dict)  # of the task's benchmark: subjects, images, partial
    pooled: dict[str, float] = field(default_factory=dict)  # set distances over the whole submission at once
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. classification summaries
    comparability: dict[str, dict] = field(default_factory=dict)  # metric -> encoder, scale, template, ...
    created_at: str = ""  # UTC, ISO 8601
    command: str = ""  # the command line that made it, when it came from one

    @property
    def passed_count(self) -> tuple[int, int]:
        """Subjects that pass, out of all subjects (the course's "passed k/n")."""
        return sum(s.verdict is Verdict.PASS for s in self.subjects), len(self.subjects)

    @property
    def all_problems(self) -> list[Problem]:
        """The grade's problems, then each subject's."""
        return self.problems + [p for s in self.subjects for p in s.problems]

    @property
    def overall_label(self) -> str:
        """The overall row's name in every view; a partial run of a benchmark says how partial."""
        if not self.coverage.get("partial"):
            return "overall (mean)"
        return f"overall (mean, partial: {self.coverage['subjects']}/{self.coverage['benchmark_subjects']} subjects)"

    @property
    def uses_test_models(self) -> bool:
        """Whether any model was a test model (random weights)."""
        return any(m.is_test_model for m in self.models)

    @property
    def verdict(self) -> Verdict:
        """INCOMPLETE if anything is, else FAIL if any subject fails, UNCALIBRATED, SCORED, or PASS."""
        verdicts = {s.verdict for s in self.subjects}
        if any(p.severity == "error" for p in self.problems) or verdicts & {Verdict.INCOMPLETE, Verdict.NOT_GRADED}:
            return Verdict.INCOMPLETE
        if Verdict.FAIL in verdicts:
            return Verdict.FAIL
        if Verdict.UNCALIBRATED in verdicts:
            return Verdict.UNCALIBRATED
        return Verdict.SCORED if verdicts == {Verdict.SCORED} else Verdict.PASS

    @property
    def exit_code(self) -> ExitCode:
        """The exit code grader check ends with for this result."""
        return {
            Verdict.PASS: ExitCode.PASSED,
            Verdict.SCORED: ExitCode.PASSED,
            Verdict.FAIL: ExitCode.BELOW_BASELINE,
        }.get(self.verdict, ExitCode.CANNOT_GRADE)

    def __repr__(self) -> str:
        passed, total = self.passed_count
        return (
            f"GradeResult(task={self.task!r}, tier={self.tier!r}, verdict={self.verdict.value}, "
            f"passed={passed}/{total}, images={len(self.images)}, problems={len(self.all_problems)}, "
            f"exit_code={int(self.exit_code)})"
        )

    def to_json(self, indent: int | None = 2) -> str:
        """The JSON that ``grader check --json`` writes."""
        import json

        return json.dumps(self.to_dict(), indent=indent)

    def to_pandas(self) -> pd.DataFrame:
        """One row per graded image: subject, file, each metric's score and whether it is on the passing side of
        the subject's line, the details (e.g. the text scored against), and the flags. Tasks of one kind get the
        same columns in the same order."""
        import pandas as pd  # only when a table is asked for: it costs half a second to import

        lines = {(s.subject, n): m for s in self.subjects for n, m in s.metrics.items()}
        names = list(self.subjects[0].metrics) if self.subjects else []
        rows: list[dict[str, Any]] = []
        for i in self.images:
            passed: dict[str, bool | None] = {}
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
        details = sorted({k for i in self.images for k in i.details})
        columns = ["subject", "file", *names, *(f"{n}_passed" for n in names), *details, "flags"]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report as a dict (schema in docs/report.schema.json)."""

        def subject_dict(s: SubjectResult) -> dict[str, Any]:
            return {
                "subject": s.subject,
                "verdict": s.verdict.value,
                "n_images": s.n_images,
                "expected_images": s.expected_images,
                "metrics": {k: _metric_dict(m) for k, m in s.metrics.items()},
                "pass_probability": s.pass_probability,
                "problems": [asdict(p) for p in s.problems],
                "failures": s.failures,
                "references": s.references,
            }

        return {
            "schema_version": SCHEMA_VERSION,
            "created_at": self.created_at,
            "command": self.command,
            "task": self.task,
            "title": self.title,
            "tier": self.tier,
            "submission": self.submission,
            "verdict": self.verdict.value,
            "exit_code": int(self.exit_code),
            "uses_test_models": self.uses_test_models,
            "subjects": [subject_dict(s) for s in self.subjects],
            "images": [asdict(i) for i in self.images],
            "problems": [asdict(p) for p in self.problems],
            "all_problems": [asdict(p) for p in self.all_problems],  # the grade's and every subject's, as counted
            "models": [asdict(m) for m in self.models],
            "settings": self.settings,
            "versions": self.versions,
            "notes": self.notes,
            "points": self.points,
            "max_points": self.max_points,
            "points_probability": self.points_probability,
            "overall": self.overall,
            "published": self.published,
            "coverage": self.coverage,
            "pooled": self.pooled,
            "extras": self.extras,
            "comparability": self.comparability,
        }


def _metric_dict(m: MetricResult) -> dict[str, Any]:
    interval = m.margin_interval
    return {
        **asdict(m),
        "passed": m.passed,
        "margin": m.margin,
        "margin_interval": list(interval) if interval else None,
        "borderline": m.borderline,
        "beyond_ceiling": m.beyond_ceiling,
        "gate_margin": m.gate_margin,
    }
