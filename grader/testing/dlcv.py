"""Small synthetic data sets in the layouts of the DLCV 2024 HW2 tasks and DreamBench.

Shapes stand in for photos; they exercise the grading code, their scores mean nothing. Every builder is
deterministic (a seeded generator) and returns the data folder and the submission folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from grader.testing.synthetic import draw_shape

_SHAPES = ["ellipse", "rectangle", "rounded", "triangle", "star"]


def _shape_image(rng: np.random.Generator, shape: str, colour: tuple, size: int = 128) -> Image.Image:
    background = tuple(int(v) for v in rng.integers(60, 255, size=3))
    centre = tuple(float(v) for v in rng.uniform(200, 312, size=2))
    img = draw_shape(shape, colour, background, centre, float(rng.uniform(100, 160)))
    return img.resize((size, size), Image.Resampling.BICUBIC)


def build_textual_inversion(root: Path, images_per_prompt: int = 25, seed: int = 0) -> tuple[Path, Path]:
    """``data/input.json`` with two concepts of two prompts each, their reference folders, and
    ``output/<key>/<prompt index>/`` with ``images_per_prompt`` images each."""
    rng = np.random.default_rng(seed)
    data, output = root / "data", root / "output"
    concepts = {
        "0": (
            "dog",
            "<new1>",
            "triangle",
            (150, 100, 50),
            ["a {t} in front of Mount Fuji", "a {t} in the Colosseum"],
            ["a dog in front of Mount Fuji", "a dog in the Colosseum"],
            [[79, 34], [74, 35]],
        ),
        "1": (
            "david_revoy",
            "<new2>",
            "star",
            (40, 90, 200),
            ["the streets of Paris in the style of {t}", "Manhattan skyline in the style of {t}"],
            ["the streets of Paris", "Manhattan skyline"],
            [[70, 30], [70, 30]],
        ),
    }
    spec = {}
    for key, (src, token, shape, colour, prompts, evals, baseline) in concepts.items():
        (data / src).mkdir(parents=True, exist_ok=True)
        for i in range(4):
            _shape_image(rng, shape, colour).save(data / src / f"ref_{i}.png")
        spec[key] = {
            "src_image": src,
            "token_name": token,
            "prompt": [p.format(t=token) for p in prompts],
            "prompt_4_clip_eval": evals,
            "baseline": baseline,
        }
        for index in range(len(prompts)):
            folder = output / key / str(index)
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(images_per_prompt):
                shape_now = shape if i % 3 else _SHAPES[i % len(_SHAPES)]
                _shape_image(rng, shape_now, colour).save(folder / f"{i}.png")
    (data / "input.json").write_text(json.dumps(spec, indent=2))
    return data, output


def build_zero_shot(root: Path, per_class: int = 4, seed: int = 0) -> tuple[Path, Path]:
    """``data/id2label.json`` with five classes and ``val/{class_id}_{image_id}.png``."""
    rng = np.random.default_rng(seed)
    data, images = root / "data", root / "val"
    data.mkdir(parents=True, exist_ok=True)
    images.mkdir(parents=True, exist_ok=True)
    labels = {str(i): name for i, name in enumerate(["ball", "box", "badge", "tent", "starfish"])}
    (data / "id2label.json").write_text(json.dumps(labels))
    for class_id, shape in zip(labels, _SHAPES, strict=True):
        for i in range(per_class):
            _shape_image(rng, shape, (200, 60, 60)).save(images / f"{class_id}_{i:04d}.png")
    return data, images


def build_ddim(root: Path, count: int = 10, noise: float = 0.05, seed: int = 0) -> tuple[Path, Path]:
    """``gt/00.png`` ... and ``generated/00.png`` ...: the ground truth plus Gaussian noise of std ``noise``."""
    rng = np.random.default_rng(seed)
    gt, generated = root / "gt", root / "generated"
    gt.mkdir(parents=True, exist_ok=True)
    generated.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        truth = np.asarray(_shape_image(rng, _SHAPES[i % len(_SHAPES)], (220, 180, 150), size=64), dtype=np.float64)
        noisy = np.clip(truth + rng.normal(0, noise * 255, truth.shape), 0, 255)
        Image.fromarray(truth.astype(np.uint8)).save(gt / f"{i:02d}.png")
        Image.fromarray(noisy.round().astype(np.uint8)).save(generated / f"{i:02d}.png")
    return gt, generated


def build_digits(root: Path, per_digit: int = 3, seed: int = 0) -> Path:
    """``mnistm/{digit}_{i}.png`` (28 x 28) and ``svhn/{digit}_{i}.png`` (32 x 32) of random colour noise."""
    rng = np.random.default_rng(seed)
    for subject, size in (("mnistm", 28), ("svhn", 32)):
        folder = root / subject
        folder.mkdir(parents=True, exist_ok=True)
        for digit in range(10):
            for i in range(per_digit):
                pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{digit}_{i:03d}.png")
    return root


def build_dreambench(root: Path, images_per_prompt: int = 4, seed: int = 0) -> tuple[Path, Path]:
    """``data/prompts.json`` (two subjects, two prompts each), ``data/<subject>/`` real photos (non-square, so
    the preprocessing matters) and ``generated/<subject>/<prompt index>/``."""
    rng = np.random.default_rng(seed)
    data, generated = root / "data", root / "generated"
    subjects = {"dog": ("triangle", (150, 100, 50)), "backpack": ("rounded", (40, 90, 200))}
    prompts = {name: [f"a {name} in the jungle", f"a {name} on the beach"] for name in subjects}
    for name, (shape, colour) in subjects.items():
        (data / name).mkdir(parents=True, exist_ok=True)
        for i in range(3):
            _shape_image(rng, shape, colour, size=160).resize((200, 150), Image.Resampling.BICUBIC).save(
                data / name / f"{i}.jpg"
            )
        for index in range(len(prompts[name])):
            folder = generated / name / str(index)
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(images_per_prompt):
                _shape_image(rng, shape, colour).save(folder / f"{k}.png")
    (data / "prompts.json").write_text(json.dumps(prompts, indent=2))
    return data, generated
