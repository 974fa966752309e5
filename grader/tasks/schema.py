"""Schema of a task file. Unknown keys are rejected so that a typo names its field instead of being ignored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EncoderSpecBase(_Strict):
    """What every encoder spec has. ``kind`` names a record of the encoder registry (grader.encoders); a
    subclass also has ``model`` (a field or a property): the name reports give the model."""

    kind: str

    @property
    def key(self) -> tuple:
        """Specs with equal keys share one encoder (and its embeddings) within a grade."""
        return (self.kind, self.model_dump_json())

    def with_options(self, options: Any) -> EncoderSpecBase:
        """This spec with the grade's overrides (dtype, face model...) applied where they concern it."""
        return self


# Paths relative to the data folder, tried in order (the course's own name first); a single string is one.
Candidates = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v), Field(min_length=1)]


class LayoutBase(_Strict):
    """What every layout spec has. ``kind`` names a record of the layout registry (grader.layouts)."""

    kind: str
    extensions: list[str] = Field(default_factory=lambda: [".jpg", ".jpeg", ".png"])

    @property
    def named_subjects(self) -> list[str]:
        """Subjects named by the task file; [] when the data names them (then lines are checked at grade time)."""
        return []

    @property
    def data_markers(self) -> list[str]:
        """Files or folders whose presence marks the data folder (see grader.submission.data_root)."""
        return []


def _by_kind(what: str, registry: Callable[[], Any]) -> BeforeValidator:
    """Validate a mapping with the spec class its ``kind`` names in ``registry``: the open equivalent of a
    discriminated union, so plugins add kinds. Inner errors keep their paths (see tasks.registry)."""

    def validate(value: Any) -> Any:
        if isinstance(value, BaseModel):
            return value
        known = registry()
        kind = value.get("kind") if isinstance(value, dict) else None
        if kind not in known:
            message = "unknown {what} kind {kind!r}; known: {known}" if kind else "a {what} needs a 'kind'"
            ctx = {"what": what, "kind": kind, "known": ", ".join(known.names()), "errors": []}
            raise PydanticCustomError("by_kind", message, ctx)
        try:
            return known.get(kind).spec.model_validate(value)
        except ValidationError as exc:
            errors = [{"loc": (kind, *e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
            ctx = {"what": what, "kind": kind, "detail": detail, "errors": errors}
            raise PydanticCustomError("by_kind", "invalid {kind} {what}: {detail}", ctx) from None

    return BeforeValidator(validate)


def _encoders():
    from grader.encoders import ENCODERS

    return ENCODERS


def _layouts():
    from grader.layouts import LAYOUTS

    return LAYOUTS


def _rules():
    from grader.rules import RULES

    return RULES


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ResizeCrop(_Strict):
    """Resize the short edge, centre-crop, scale to [0, 1], normalise: written out, as papers describe it."""

    resize: int = 256
    crop: int = 224
    interpolation: Literal["bicubic", "bilinear"] = "bicubic"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


class TransformersEncoder(EncoderSpecBase):
    kind: Literal["dinov2", "clip", "vit"] = Field(
        description="dinov2: Dinov2Model CLS (pooler_output); clip: projected CLIP features; vit: ViTModel CLS "
        "token of the last layer (DINO v1)."
    )
    model: str = Field(description="Hugging Face model id (or a local directory).")
    revision: str | None = Field(default=None, description="Hub revision to pin; None takes the default branch.")
    preprocessing: Literal["checkpoint-processor", "resize-crop"] = Field(
        default="checkpoint-processor",
        description="checkpoint-processor: the image processor saved with the checkpoint, as the course code uses; "
        "resize-crop: the steps in resize_crop, independent of the checkpoint's processor.",
    )
    resize_crop: ResizeCrop | None = None
    dtype: Literal["float32", "bfloat16"] = Field(
        default="float32",
        description="float32 as the courses run; bfloat16 is faster on CPUs with bf16 but moves scores.",
    )

    @model_validator(mode="after")
    def _crop_settings(self) -> TransformersEncoder:
        if self.preprocessing == "resize-crop" and self.resize_crop is None:
            return self.model_copy(update={"resize_crop": ResizeCrop()})
        return self

    @property
    def key(self) -> tuple:
        return (self.kind, self.model, self.revision, self.preprocessing, self.resize_crop)

    def with_options(self, options: Any) -> TransformersEncoder:
        return self.model_copy(update={"dtype": options.dtype}) if options.dtype else self


class FaceEncoder(EncoderSpecBase):
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

    def with_options(self, options: Any) -> FaceEncoder:
        if not (options.face_model or options.face_detector):
            return self
        return self.model_copy(
            update={"model": options.face_model or self.model, "detector": options.face_detector or self.detector}
        )


class PixelEncoder(EncoderSpecBase):
    """The image itself as a vector of pixel values (for pixel-space errors such as MSE)."""

    kind: Literal["pixels"]
    scale: Literal["unit", "byte"] = Field(description="unit: values in [0, 1]; byte: values in [0, 255].")

    @property
    def model(self) -> str:
        return f"pixels ({self.scale})"

    @property
    def key(self) -> tuple:
        return (self.kind, self.scale)


class ClassifierEncoder(EncoderSpecBase):
    """A user-supplied image classifier (TorchScript, or a state dict for a named architecture), one per subject."""

    kind: Literal["classifier"]
    architecture: Literal["auto", "torchscript", "lenet"] = Field(
        default="auto",
        description="torchscript: a scripted/traced module; lenet: a state dict of the course's LeNet-5 shape; "
        "auto: TorchScript when the file is one, else a LeNet-5 state dict. A .pt2 file (torch.export) always "
        "loads as such.",
    )
    image_size: int = Field(default=28, description="Resize(image_size) before ToTensor and Normalize.")
    mean: float = 0.5
    std: float = 0.5

    @property
    def model(self) -> str:
        return f"classifier ({self.architecture})"

    @property
    def key(self) -> tuple:
        return (self.kind, self.architecture, self.image_size, self.mean, self.std)


EncoderSpec = Annotated[SerializeAsAny[EncoderSpecBase], _by_kind("encoder", _encoders)]


class MetricSpec(_Strict):
    label: str
    rule: str = Field(description="A rule of the rule registry (`grader tasks kinds` lists them).")
    encoder: EncoderSpec
    text_template: str | None = Field(
        default=None, description="For text rules: a format string over the subject's and the image's fields."
    )
    faces_only: bool = Field(default=False, description="Leave out images in which the face encoder finds no face.")
    aggregation: Literal["mean", "sum"] = "mean"
    higher_is_better: bool = True
    copy_line: float | None = Field(
        default=None,
        description="For reference rules: a generated image scoring at least this against one reference (with the "
        "task's own model) is flagged as a copy of it, e.g. DINO 95.",
    )
    description: str = ""

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, rule: str) -> str:
        if rule not in _rules():
            raise ValueError(f"unknown rule {rule!r}; known: {', '.join(_rules().names())}")
        return rule

    @model_validator(mode="after")
    def _fits_rule(self) -> MetricSpec:
        rule = _rules().get(self.rule)
        texts = bool(rule.needs & {"texts", "label_texts"})
        if texts and not self.text_template:
            raise ValueError(f"{self.rule} needs a text_template")
        if not texts and self.text_template:
            raise ValueError(f"text_template is only used by text rules, not {self.rule}")
        if self.copy_line is not None and self.rule != "reference_similarity":
            raise ValueError(f"copy_line is a 100·cos line for reference_similarity, not {self.rule}")
        provides = _encoders().get(self.encoder.kind).provides
        if not rule.requires <= provides:
            missing = ", ".join(sorted(rule.requires - provides))
            raise ValueError(f"rule {self.rule} does not go with a {self.encoder.kind} encoder (it gives no {missing})")
        return self


class _OneSubjectLayout(LayoutBase):
    subject: str

    @property
    def named_subjects(self) -> list[str]:
        return [self.subject]


class SubjectFoldersLayout(LayoutBase):
    """``metadata.json`` in the data folder; ``SUBMISSION/<subject>/*.jpg`` (ML2025 HW10)."""

    kind: Literal["subject-folders"]
    metadata: str = Field(description="File in the data folder mapping each subject to its fields.")
    reference_field: str = Field(description="Metadata field holding the reference image path.")
    required_fields: list[str] = Field(default_factory=list)
    subjects: list[str] = Field(min_length=1)
    images_per_subject: int = Field(gt=0)
    image_size: tuple[int, int] | None = Field(default=None, description="Expected (width, height); warns otherwise.")

    @property
    def named_subjects(self) -> list[str]:
        return self.subjects

    @property
    def data_markers(self) -> list[str]:
        return [self.metadata]


class PromptImagesLayout(_OneSubjectLayout):
    """One subject: training photos and a prompt file in the data folder; one generated image per prompt."""

    kind: Literal["prompt-images"]
    subject: str = Field(description="Name the report gives the one subject.")
    training_dir: Candidates = Field(description="Folder of training photos (captions beside them are skipped).")
    prompts: Candidates = Field(description="Prompt file (one per line).")
    image_name: str = Field(description="Generated file name, formatted with the prompt index i.")
    first_index: int = Field(default=0, description="Index of the first prompt's image.")

    @property
    def data_markers(self) -> list[str]:
        return self.prompts


class IdentityFoldersLayout(_OneSubjectLayout):
    """One subject: training photos in the data folder; any number of generated images in the submission."""

    kind: Literal["identity-folders"]
    subject: str = "person"
    training_dir: Candidates = Field(default=".", description="Folder of training photos.")


class PromptFoldersLayout(LayoutBase):
    """Textual inversion (DLCV 2024 HW2 P3): ``input.json`` with each concept's source-image folder, prompts,
    CLIP-eval prompts and baselines; generated images in ``SUBMISSION/<key>/<prompt index>/``."""

    kind: Literal["prompt-folders"]
    input: str = Field(default="input.json", description="The course's input.json, relative to the data folder.")
    baseline_metrics: tuple[str, str] = Field(
        default=("image", "text"),
        description="The metrics that each [image, text] pair of input.json's baseline lists is a line for.",
    )
    references_dir: str = Field(
        default=".",
        description="Folder holding each concept's reference folder: <key>/ as the course's grader reads it, "
        "or <src_image>/ when no <key>/ folder exists.",
    )
    images_per_prompt: int = Field(default=25, gt=0, description="The course's grader requires exactly this many.")

    @property
    def data_markers(self) -> list[str]:
        return [self.input]


class LabelledImagesLayout(LayoutBase):
    """Images whose label is in the file name: ``SUBMISSION/<subject>/*.png`` (or the submission folder itself
    as one subject), label = the first character, or the part before the first underscore."""

    kind: Literal["labelled-images"]
    subjects: list[str] = Field(default_factory=list, description="Sub-folders graded as subjects; [] = one folder.")

    @property
    def named_subjects(self) -> list[str]:
        return self.subjects or [self.subject]

    subject: str = Field(default="images", description="The subject's name when subjects is empty.")
    label_from: Literal["first-char", "prefix"] = "prefix"
    labels: str | None = Field(default=None, description="JSON mapping label ids to names, in the data folder.")

    @property
    def data_markers(self) -> list[str]:
        return [self.labels] if self.labels else []


class PairedFoldersLayout(_OneSubjectLayout):
    """Generated images paired by file name with reference images (e.g. DDIM outputs vs ground truth)."""

    kind: Literal["paired-folders"]
    subject: str = "images"
    reference_dir: Candidates = Field(default=".", description="Ground-truth folder.")

    @property
    def data_markers(self) -> list[str]:
        return [c for c in self.reference_dir if c != "."]


class DreamBenchLayout(LayoutBase):
    """DreamBench as published: ``DATA/<subject>/NN.jpg`` reference photos and ``DATA/prompts_and_classes.txt``
    (the subject/class table and the object and live-subject prompt lists); generated images in
    ``SUBMISSION/<subject>/<prompt index>/``. A ``prompts.json`` (subject -> prompt list) in the data folder
    replaces the published table for a custom subject set."""

    kind: Literal["dreambench"]
    classes: str = Field(default="prompts_and_classes.txt", description="The published subject/class/prompt file.")
    prompts: str = Field(default="prompts.json", description="Custom subject set: subject -> list of prompts.")
    unique_token: str = Field(default="sks", description="The rare token the prompts put before the class word.")
    live_classes: list[str] = Field(
        default_factory=lambda: ["cat", "dog"], description="Classes whose subjects take the live-subject prompts."
    )
    images_per_prompt: int = Field(default=4, gt=0)

    @property
    def data_markers(self) -> list[str]:
        return [self.prompts, self.classes]


Layout = Annotated[SerializeAsAny[LayoutBase], _by_kind("layout", _layouts)]


class Selection(_Strict):
    """Keep the k images with the highest weighted sum of metrics before aggregating (DLCV HW2 P3: the 5
    images with the highest image + 2.5 x text score)."""

    k: int = Field(gt=0)
    weights: dict[str, float] = Field(min_length=1)


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


class Task(_Strict):
    name: str
    title: str
    description: str
    layout: Layout
    metrics: dict[str, MetricSpec] = Field(min_length=1)
    gates: dict[str, Gate] = Field(default_factory=dict)
    selection: Selection | None = None
    overall: Literal["none", "mean"] = Field(default="none", description="mean: a row averaging the subjects.")
    tiers: dict[str, Tier] = Field(default_factory=dict)
    published: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Published results (method -> metric -> value), shown beside the user's."
    )
    provenance: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_are_known(self) -> Task:
        subjects = set(self.layout.named_subjects)
        named_elsewhere = [
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
        return next((e for e in self.encoders() if "face" in _encoders().get(e.kind).provides), None)

    def metrics_of(self, encoder: EncoderSpecBase) -> dict[str, MetricSpec]:
        """The metrics computed with ``encoder``."""
        return {n: m for n, m in self.metrics.items() if m.encoder.key == encoder.key}
