"""Schema of a task file. Unknown keys are rejected so that a typo names its field instead of being ignored."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TransformersEncoder(_Strict):
    kind: Literal["dinov2", "clip"] = Field(description="Which encoder family reads the images.")
    model: str = Field(description="Hugging Face model id (or a local directory).")
    revision: str | None = Field(default=None, description="Hub revision to pin; None takes the default branch.")
    preprocessing: Literal["checkpoint-processor"] = Field(
        default="checkpoint-processor",
        description="checkpoint-processor: the image processor saved with the checkpoint, as the course code uses.",
    )
    dtype: Literal["float32", "bfloat16"] = Field(
        default="float32",
        description="float32 as the courses run; bfloat16 is faster on CPUs with bf16 but moves scores.",
    )

    @property
    def key(self) -> tuple:
        return (self.kind, self.model, self.revision)


class FaceEncoder(_Strict):
    """deepface's ``represent``: detection, alignment and a face-recognition embedding."""

    kind: Literal["deepface"]
    model: str = Field(description="deepface model_name, e.g. GhostFaceNet or Dlib.")
    detector: str = Field(description="deepface detector_backend, e.g. ssd, centerface, opencv.")
    enforce_detection: bool = False
    align: bool = True
    normalization: str = "base"

    @property
    def key(self) -> tuple:
        return (self.kind, self.model, self.detector, self.enforce_detection, self.align, self.normalization)


EncoderSpec = Annotated[TransformersEncoder | FaceEncoder, Field(discriminator="kind")]

RuleName = Literal["reference_similarity", "text_similarity", "face_distance", "faceless_count"]


class MetricSpec(_Strict):
    label: str
    rule: RuleName = Field(
        description="reference_similarity: 100·cos(image, reference), mean over references; "
        "text_similarity: 100·cos(image, its text); face_distance: mean Euclidean distance between the "
        "L2-normalised face embedding and every reference's; faceless_count: 1 per image without a face."
    )
    encoder: EncoderSpec
    text_template: str | None = Field(
        default=None, description="For text rules: a format string over the subject's and the image's fields."
    )
    faces_only: bool = Field(default=False, description="Leave out images in which the face encoder finds no face.")
    aggregation: Literal["mean", "sum"] = "mean"
    higher_is_better: bool = True
    description: str = ""

    @model_validator(mode="after")
    def _fits_rule(self) -> MetricSpec:
        if self.rule == "text_similarity" and not self.text_template:
            raise ValueError("text_similarity needs a text_template")
        if self.rule != "text_similarity" and self.text_template:
            raise ValueError(f"text_template is only used by text_similarity, not {self.rule}")
        face_rule = self.rule in ("face_distance", "faceless_count")
        if face_rule != (self.encoder.kind == "deepface"):
            raise ValueError(f"rule {self.rule} does not go with a {self.encoder.kind} encoder")
        return self


class SubjectFoldersLayout(_Strict):
    """``metadata.json`` in the data folder; ``SUBMISSION/<subject>/*.jpg`` (ML2025 HW10)."""

    kind: Literal["subject-folders"]
    metadata: str = Field(description="File in the data folder mapping each subject to its fields.")
    reference_field: str = Field(description="Metadata field holding the reference image path.")
    required_fields: list[str] = Field(default_factory=list)
    subjects: list[str] = Field(min_length=1)
    images_per_subject: int = Field(gt=0)
    extensions: list[str] = Field(default_factory=lambda: [".jpg", ".jpeg", ".png"])
    image_size: tuple[int, int] | None = Field(default=None, description="Expected (width, height); warns otherwise.")


class PromptImagesLayout(_Strict):
    """One subject: training photos and a prompt file in the data folder; one generated image per prompt."""

    kind: Literal["prompt-images"]
    subject: str = Field(description="Name the report gives the one subject.")
    training_dir: str = Field(description="Folder of training photos, relative to the data folder.")
    prompts: str = Field(description="Prompt file (one per line), relative to the data folder.")
    image_name: str = Field(description="Generated file name, formatted with the prompt index i.")
    first_index: int = Field(default=0, description="Index of the first prompt's image.")
    extensions: list[str] = Field(default_factory=lambda: [".jpg", ".jpeg", ".png"])

    @property
    def subjects(self) -> list[str]:
        return [self.subject]


class IdentityFoldersLayout(_Strict):
    """One subject: training photos in the data folder; any number of generated images in the submission."""

    kind: Literal["identity-folders"]
    subject: str = "person"
    training_dir: str = Field(default=".", description="Folder of training photos, relative to the data folder.")
    extensions: list[str] = Field(default_factory=lambda: [".jpg", ".jpeg", ".png"])

    @property
    def subjects(self) -> list[str]:
        return [self.subject]


Layout = Annotated[SubjectFoldersLayout | PromptImagesLayout | IdentityFoldersLayout, Field(discriminator="kind")]


class Gate(_Strict):
    """A condition on a metric that zeroes the grade when it fails, whatever the tier."""

    op: Literal[">", ">=", "<", "<="]
    value: float
    description: str = ""

    def holds(self, value: float) -> bool:
        return {">": value > self.value, ">=": value >= self.value, "<": value < self.value, "<=": value <= self.value}[
            self.op
        ]


class Tier(_Strict):
    description: str = ""
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


class Task(_Strict):
    name: str
    title: str
    description: str
    layout: Layout
    metrics: dict[str, MetricSpec] = Field(min_length=1)
    gates: dict[str, Gate] = Field(default_factory=dict)
    tiers: dict[str, Tier] = Field(min_length=1)
    provenance: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_are_known(self) -> Task:
        subjects = set(self.layout.subjects)
        for name in self.gates:
            if name not in self.metrics:
                raise ValueError(f"gates: unknown metric {name!r}")
        for tier_name, tier in self.tiers.items():
            where = f"tiers.{tier_name}"
            metric_maps = [(f"{where}.all_subjects", tier.all_subjects)]
            metric_maps += [(f"{where}.per_model.{m}", t) for m, t in tier.per_model.items()]
            for subject, thresholds in tier.per_subject.items():
                if subject not in subjects:
                    raise ValueError(f"{where}.per_subject: unknown subject {subject!r}")
                metric_maps.append((f"{where}.per_subject.{subject}", thresholds))
            for place, thresholds in metric_maps:
                for metric in thresholds:
                    if metric not in self.metrics:
                        raise ValueError(f"{place}: unknown metric {metric!r}")
        if any(m.faces_only for m in self.metrics.values()) and self.face_encoder() is None:
            raise ValueError("faces_only needs a metric with a deepface encoder to find the faces")
        return self

    def encoders(self) -> list[TransformersEncoder | FaceEncoder]:
        """Distinct encoders the task needs, in metric order."""
        seen: dict[tuple, TransformersEncoder | FaceEncoder] = {}
        for metric in self.metrics.values():
            seen.setdefault(metric.encoder.key, metric.encoder)
        return list(seen.values())

    def face_encoder(self) -> FaceEncoder | None:
        return next((e for e in self.encoders() if isinstance(e, FaceEncoder)), None)
