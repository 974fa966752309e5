"""Schema of a task file. Unknown keys are rejected so that a typo names its field instead of being ignored."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EncoderSpec(_Strict):
    kind: Literal["dinov2", "clip"] = Field(description="Which encoder family reads the images.")
    model: str = Field(description="Hugging Face model id (or a local directory).")
    revision: str | None = Field(default=None, description="Hub revision to pin; None takes the default branch.")
    preprocessing: Literal["checkpoint-processor"] = Field(
        default="checkpoint-processor",
        description="checkpoint-processor: the image processor saved with the checkpoint, as the course code uses.",
    )
    dtype: Literal["float32"] = "float32"

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.kind, self.model, self.revision)


class MetricSpec(_Strict):
    label: str
    rule: Literal["reference_similarity", "text_similarity"] = Field(
        description="reference_similarity: 100·cos(image, reference), mean over references; "
        "text_similarity: 100·cos(image, text)."
    )
    encoder: EncoderSpec
    text_template: str | None = Field(
        default=None, description="For text rules: a format string over the subject's metadata fields."
    )
    aggregation: Literal["mean"] = "mean"
    higher_is_better: bool = True
    description: str = ""

    @model_validator(mode="after")
    def _template_matches_rule(self) -> MetricSpec:
        if self.rule == "text_similarity" and not self.text_template:
            raise ValueError("text_similarity needs a text_template")
        if self.rule != "text_similarity" and self.text_template:
            raise ValueError(f"text_template is only used by text_similarity, not {self.rule}")
        return self


class SubjectFoldersLayout(_Strict):
    kind: Literal["subject-folders"]
    metadata: str = Field(description="File in the data folder mapping each subject to its fields.")
    reference_field: str = Field(description="Metadata field holding the reference image path.")
    required_fields: list[str] = Field(default_factory=list)
    subjects: list[str] = Field(min_length=1)
    images_per_subject: int = Field(gt=0)
    extensions: list[str] = Field(default_factory=lambda: [".jpg", ".jpeg", ".png"])
    image_size: tuple[int, int] | None = Field(default=None, description="Expected (width, height); warns otherwise.")


class Tier(_Strict):
    description: str = ""
    per_subject: dict[str, dict[str, float]] = Field(description="subject -> metric -> threshold")


class Task(_Strict):
    name: str
    title: str
    description: str
    layout: SubjectFoldersLayout
    metrics: dict[str, MetricSpec] = Field(min_length=1)
    tiers: dict[str, Tier] = Field(min_length=1)
    provenance: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _tiers_name_known_things(self) -> Task:
        subjects = set(self.layout.subjects)
        for tier_name, tier in self.tiers.items():
            for subject, thresholds in tier.per_subject.items():
                if subject not in subjects:
                    raise ValueError(f"tiers.{tier_name}.per_subject: unknown subject {subject!r}")
                for metric in thresholds:
                    if metric not in self.metrics:
                        raise ValueError(f"tiers.{tier_name}.per_subject.{subject}: unknown metric {metric!r}")
        return self

    def encoders(self) -> list[EncoderSpec]:
        """Distinct encoders the task needs, in metric order."""
        seen: dict[tuple, EncoderSpec] = {}
        for metric in self.metrics.values():
            seen.setdefault(metric.encoder.key, metric.encoder)
        return list(seen.values())
