"""Schema of a task file: the task model alone. Unknown keys are rejected so that a typo names its field instead
of being ignored. Encoder and layout specs are validated by the class their ``kind`` names in its registry."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SerializeAsAny, field_validator, model_validator

from grader.encoders import ENCODERS
from grader.layouts import LAYOUTS
from grader.rules import RULES
from grader.specs import EncoderSpecBase, LayoutBase, Strict, by_kind

EncoderSpec = Annotated[SerializeAsAny[EncoderSpecBase], by_kind("encoder", lambda: ENCODERS)]


class MetricSpec(Strict):
    label: str
    rule: str = Field(description="A rule of the rule registry (`grader tasks kinds` lists them).")
    encoder: EncoderSpec
    text_template: str | None = Field(
        default=None, description="For text rules: a format string over the subject's and the image's fields."
    )
    faces_only: bool = Field(default=False, description="Leave out images in which the face encoder finds no face.")
    aggregation: Literal["mean", "sum"] = Field(
        default="mean", description="How the subject's value comes from its images; the rule's own when left out."
    )
    higher_is_better: bool = Field(
        default=True,
        description="The rule's direction (its own when left out), which a task file may state but never contradict.",
    )
    copy_line: float | None = Field(
        default=None,
        description="For reference rules: a generated image scoring at least this against one reference (with the "
        "task's own model) is flagged as a copy of it, e.g. DINO 95.",
    )
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _rule_defaults(cls, raw: Any) -> Any:
        """What the task file leaves out of direction and aggregation is the rule's."""
        if not isinstance(raw, dict) or not isinstance(raw.get("rule"), str) or raw["rule"] not in RULES:
            return raw
        rule = RULES.get(raw["rule"])
        return {"higher_is_better": rule.higher_is_better, "aggregation": rule.aggregation, **raw}

    @field_validator("text_template")
    @classmethod
    def _plain_template(cls, template: str | None) -> str | None:
        from grader.text_templates import check_template

        return None if template is None else check_template(template)  # a TemplateError is a ValueError

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, rule: str) -> str:
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; known: {', '.join(RULES.names())}")
        return rule

    @model_validator(mode="after")
    def _fits_rule(self) -> MetricSpec:
        rule = RULES.get(self.rule)
        texts = bool(rule.needs & {"texts", "label_texts"})
        if texts and not self.text_template:
            raise ValueError(f"{self.rule} needs a text_template")
        if not texts and self.text_template:
            raise ValueError(f"text_template is only used by text rules, not {self.rule}")
        if self.copy_line is not None and self.rule != "reference_similarity":
            raise ValueError(f"copy_line is a 100·cos line for reference_similarity, not {self.rule}")
        if self.higher_is_better != rule.higher_is_better:
            direction = "higher" if rule.higher_is_better else "lower"
            raise ValueError(
                f"higher_is_better: {str(self.higher_is_better).lower()} contradicts rule {self.rule}, for which "
                f"{direction} is better; leave higher_is_better out (the rule knows its direction)"
            )
        provides = ENCODERS.get(self.encoder.kind).provides
        if not rule.requires <= provides:
            missing = ", ".join(sorted(rule.requires - provides))
            raise ValueError(f"rule {self.rule} does not go with a {self.encoder.kind} encoder (it gives no {missing})")
        return self


Layout = Annotated[SerializeAsAny[LayoutBase], by_kind("layout", lambda: LAYOUTS)]


class Selection(Strict):
    """Keep the k images with the highest weighted sum of metrics before aggregating (DLCV HW2 P3: the 5
    images with the highest image + 2.5 x text score)."""

    k: int = Field(gt=0)
    weights: dict[str, float] = Field(min_length=1)
    ties: Literal["first-listed", "last-listed"] = Field(
        default="first-listed",
        description="Among equal totals at the k-th place, keep the images listed first, or those listed last in the "
        "folder's listing (os.listdir order), as sorted(range(n), key=total)[-k:] does.",
    )


class Gate(Strict):
    """A condition on a metric that zeroes the grade when it fails, whatever the tier."""

    op: Literal[">", ">=", "<", "<="]
    value: float
    description: str = ""

    def holds(self, value: Any) -> Any:
        """Whether the gate holds for ``value``, a number or an array of them (then elementwise)."""
        return {">": value > self.value, ">=": value >= self.value, "<": value < self.value, "<=": value <= self.value}[
            self.op
        ]


class Benchmark(Strict):
    """The size of the published benchmark a task's published rows were measured on: a grade of fewer subjects or
    images is marked partial beside them."""

    subjects: int = Field(gt=0, description="Subjects of the full benchmark.")
    images: int | None = Field(default=None, gt=0, description="Generated images of a full run, when fixed.")


class Tier(Strict):
    description: str = ""
    from_data: bool = Field(default=False, description="Thresholds come with the data (e.g. input.json baselines).")
    points: float | None = Field(default=None, description="Points the course gives for reaching this tier.")
    all_subjects: dict[str, float] = Field(default_factory=dict, description="metric -> threshold, every subject")
    per_subject: dict[str, dict[str, float]] = Field(default_factory=dict, description="subject -> metric -> line")
    per_model: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="model -> metric -> threshold, for encoders other than the one the metric names. Without an "
        "entry, a metric computed with another model has no threshold (uncalibrated).",
    )

    def threshold(self, subject: str, metric: str) -> float | None:
        return self.per_subject.get(subject, {}).get(metric, self.all_subjects.get(metric))

    def line(
        self,
        subject: str,
        metric: str,
        declared_model: str,
        running_model: str,
        data_lines: dict[str, float] | None = None,
    ) -> tuple[float | None, bool]:
        """The line for ``metric`` of ``subject`` and whether it belongs to the model that computed the score
        (False: the task's line was set for ``declared_model`` and ``per_model`` has none for this one).
        ``data_lines`` are the lines that came with the data, for ``from_data`` tiers."""
        line = (data_lines or {}).get(metric) if self.from_data else self.threshold(subject, metric)
        if line is None or declared_model == running_model:
            return line, True
        line = self.per_model.get(running_model, {}).get(metric)
        return line, line is not None


class Task(Strict):
    name: str
    title: str
    description: str
    layout: Layout
    metrics: dict[str, MetricSpec] = Field(min_length=1)
    gates: dict[str, Gate] = Field(default_factory=dict)
    selection: Selection | None = None
    overall: Literal["none", "mean"] = Field(default="none", description="mean: a row averaging the subjects.")
    overall_by: str | None = Field(
        default=None,
        description="A subject field (e.g. category) to also average the subjects by, group by group (a note each).",
    )
    tiers: dict[str, Tier] = Field(default_factory=dict)
    published: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Published results (method -> metric -> value), shown beside the user's."
    )
    data_folder: str = Field(
        default="",
        description="What --data points to, as the course ships it (for the documentation and `grader tasks`).",
    )
    submission_folder: str = Field(
        default="", description="What the submission folder holds, as the course expects it."
    )
    benchmark: Benchmark | None = Field(
        default=None, description="The full benchmark's size, when published rows belong to it: partial runs say so."
    )
    provenance: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(
        default_factory=list,
        description="What the task file had to assume where the course's material is silent: every report says it.",
    )

    @model_validator(mode="after")
    def _names_are_known(self) -> Task:
        subjects = set(self.layout.named_subjects)
        named_elsewhere: list[tuple[str, Any]] = [
            ("gates", self.gates),
            ("selection.weights", self.selection.weights if self.selection else {}),
            ("layout.baseline_metrics", getattr(self.layout, "baseline_metrics", ())),
            *((f"published.{m}", v) for m, v in self.published.items()),
        ]
        for place, names in named_elsewhere:
            for name in names:
                if name not in self.metrics:
                    raise ValueError(f"{place}: unknown metric {name!r}")
        for tier_name, tier in self.tiers.items():
            where = f"tiers.{tier_name}"
            metric_maps = [(f"{where}.all_subjects", tier.all_subjects)]
            metric_maps += [(f"{where}.per_model.{m}", t) for m, t in tier.per_model.items()]
            for subject, thresholds in tier.per_subject.items():
                # Layouts whose subjects come with the data have their lines checked at grade time.
                if subjects and subject not in subjects:
                    raise ValueError(f"{where}.per_subject: unknown subject {subject!r}")
                metric_maps.append((f"{where}.per_subject.{subject}", thresholds))
            for place, thresholds in metric_maps:
                for metric in thresholds:
                    if metric not in self.metrics:
                        raise ValueError(f"{place}: unknown metric {metric!r}")
        if any(m.faces_only for m in self.metrics.values()) and self.face_encoder() is None:
            raise ValueError("faces_only needs a metric whose encoder finds faces")
        return self

    def encoders(self) -> list[EncoderSpecBase]:
        """Distinct encoders the task needs, in metric order."""
        seen: dict[tuple, EncoderSpecBase] = {}
        for metric in self.metrics.values():
            seen.setdefault(metric.encoder.key, metric.encoder)
        return list(seen.values())

    def face_encoder(self) -> EncoderSpecBase | None:
        """The encoder that decides which images have a face (for faces-only metrics), if any."""
        return next((e for e in self.encoders() if "face" in ENCODERS.get(e.kind).provides), None)

    def metrics_of(self, encoder: EncoderSpecBase) -> dict[str, MetricSpec]:
        """The metrics computed with ``encoder``."""
        return {n: m for n, m in self.metrics.items() if m.encoder.key == encoder.key}
