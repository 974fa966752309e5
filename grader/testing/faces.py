"""Face fixtures derived from two public-domain photos (see ``fixtures/faces/LICENSE.md``).

The astronaut is the person being personalised; variants of her photo stand in for generated images, Grace
Hopper is another person, and the lower part of the astronaut photo (suit and flag) has no face.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps

from grader.paths import fixtures_dir

Variant = Callable[[Image.Image], Image.Image]


def sources() -> tuple[Image.Image, Image.Image]:
    folder = fixtures_dir() / "faces"
    return (
        Image.open(folder / "astronaut.png").convert("RGB"),
        Image.open(folder / "grace_hopper.jpg").convert("RGB"),
    )


def _crop(box: tuple[int, int, int, int]) -> Variant:
    return lambda img: img.crop(box).resize((512, 512), Image.Resampling.BICUBIC)


def _enhance(kind: type, factor: float) -> Variant:
    return lambda img: kind(img).enhance(factor)


# Training photos: the astronaut, lightly varied as a real photo set would be.
TRAINING: dict[str, Variant] = {
    "photo_01": lambda img: img,
    "photo_02": _crop((40, 0, 440, 400)),
    "photo_03": _enhance(ImageEnhance.Brightness, 1.15),
    "photo_04": _crop((120, 20, 360, 260)),
}
# "Generated" images of the same person.
SAME_PERSON: dict[str, Variant] = {
    "mirrored": ImageOps.mirror,
    "close_crop": _crop((100, 0, 400, 300)),
    "warm_colours": _enhance(ImageEnhance.Color, 1.6),
    "darker": _enhance(ImageEnhance.Brightness, 0.7),
    "grayscale": lambda img: ImageOps.grayscale(img).convert("RGB"),
    "low_resolution": lambda img: img.resize((160, 160), Image.Resampling.BICUBIC).resize(
        (512, 512), Image.Resampling.BICUBIC
    ),
}
NO_FACE: Variant = _crop((0, 330, 512, 512))


def build_face_identity(root: Path) -> tuple[Path, Path]:
    """``root/training`` (4 photos of the astronaut) and ``root/generated`` (6 variants of her, one photo of
    another person, one image with no face). Returns both folders."""
    astronaut, other = sources()
    training, generated = root / "training", root / "generated"
    training.mkdir(parents=True, exist_ok=True)
    generated.mkdir(parents=True, exist_ok=True)
    for name, make in TRAINING.items():
        make(astronaut).save(training / f"{name}.png")
    for name, make in SAME_PERSON.items():
        make(astronaut).save(generated / f"{name}.png")
    other.save(generated / "other_person.png")
    NO_FACE(astronaut).save(generated / "no_face.png")
    return training, generated


def build_genai2024_fixture(root: Path, prompts: int = 25, faceless: int = 1, other: int = 1) -> tuple[Path, Path]:
    """A genai2024-hw10 layout: ``root/data`` (training photos with captions, ``prompts.txt``) and
    ``root/submission`` (``valid_image_{i}.png``); the last ``faceless`` images have no face and the
    ``other`` images before them show another person."""
    astronaut, other_person = sources()
    data, submission = root / "data", root / "submission"
    (data / "training").mkdir(parents=True, exist_ok=True)
    submission.mkdir(parents=True, exist_ok=True)
    for name, make in TRAINING.items():
        make(astronaut).save(data / "training" / f"{name}.png")
        (data / "training" / f"{name}.txt").write_text("a photo of the astronaut\n")
    settings = ["in a garden", "on the moon", "at a desk", "in the rain", "wearing a hat"]
    lines = [f"a photo of the astronaut {settings[i % len(settings)]}, style {i}" for i in range(prompts)]
    (data / "prompts.txt").write_text("\n".join(lines) + "\n")
    variants = list(SAME_PERSON.values())
    for i in range(prompts):
        if i >= prompts - faceless:
            image = NO_FACE(astronaut)
        elif i >= prompts - faceless - other:
            image = other_person
        else:
            image = variants[i % len(variants)](astronaut)
        image.save(submission / f"valid_image_{i}.png")
    return data, submission
