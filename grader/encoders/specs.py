"""The built-in encoder specs: what a task file's ``encoder:`` holds for each built-in encoder kind."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from grader.specs import EncoderSpecBase, Strict

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The OpenAI clip package's Normalize (clip/clip.py, _transform).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ResizeCrop(Strict):
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
    preprocessing: Literal["checkpoint-processor", "resize-crop", "openai-clip"] = Field(
        default="checkpoint-processor",
        description="checkpoint-processor: the image processor saved with the checkpoint (transformers), as the course "
        "code uses; resize-crop: the steps in resize_crop, independent of the checkpoint's processor; openai-clip: "
        "the OpenAI clip package's transform (Resize and CenterCrop to the model's input size, bicubic, CLIP's "
        "mean and std), whose crop starts at round((h - n) / 2) where transformers' starts at (h - n) // 2: one "
        "pixel apart when the resized side has an odd remainder.",
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


class LpipsEncoder(EncoderSpecBase):
    """LPIPS (Zhang et al., 2018; the ``lpips`` package, v0.1, AlexNet): each image as its channel-normalised
    AlexNet feature maps, weighted by the learned linear layers, so that the squared distance of two images' vectors
    is their LPIPS distance. Needs torchvision's AlexNet weights and the ``lpips`` package's linear layers."""

    kind: Literal["lpips"]
    net: Literal["alex"] = "alex"
    size: int = Field(default=256, gt=15, description="Images are resized to size x size (bilinear) first.")

    @property
    def model(self) -> str:
        return f"lpips v0.1 ({self.net}, {self.size} px)"
