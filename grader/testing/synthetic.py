"""A small synthetic dataset and submission in the ml2025-hw10 layout, drawn deterministically.

Each object is a coloured shape; its "generated" images move, scale and recolour the background around it.
The pictures exist to exercise the grader's code paths, not to be scored meaningfully.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# (class word, context phrase) as in the course's metadata; the shapes stand in for the photos.
OBJECTS = {
    "object-1": ("cat", "on the grass", "ellipse", (200, 120, 60)),
    "object-2": ("sunglasses", "on a cobblestone street", "rectangle", (230, 80, 160)),
    "object-3": ("backpack", "in the jungle", "rounded", (40, 90, 200)),
    "object-4": ("dog", "with sunglasses", "triangle", (150, 100, 50)),
    "object-5": ("toy", "in the snow", "star", (220, 40, 40)),
    "object-6": ("plushie", "on a plate", "ellipse", (120, 200, 120)),
}
SIZE = 512


def draw_shape(shape: str, colour: tuple, background: tuple, centre: tuple, radius: float) -> Image.Image:
    img = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(img)
    cx, cy = centre
    box = [cx - radius, cy - radius, cx + radius, cy + radius]
    if shape == "ellipse":
        draw.ellipse(box, fill=colour)
    elif shape == "rectangle":
        draw.rectangle([cx - radius, cy - radius / 2, cx + radius, cy + radius / 2], fill=colour)
    elif shape == "rounded":
        draw.rounded_rectangle(box, radius=radius / 3, fill=colour)
    elif shape == "triangle":
        draw.polygon([(cx, cy - radius), (cx - radius, cy + radius), (cx + radius, cy + radius)], fill=colour)
    else:
        points = []
        for k in range(10):
            r = radius if k % 2 == 0 else radius / 2.5
            angle = np.pi / 2 + k * np.pi / 5
            points.append((cx + r * np.cos(angle), cy - r * np.sin(angle)))
        draw.polygon(points, fill=colour)
    # A band of "context" so images of one object differ in more than position.
    draw.rectangle([0, SIZE * 0.8, SIZE, SIZE], fill=tuple(int(c * 0.6) for c in background))
    return img


def build_ml2025_fixture(root: Path, images_per_object: int = 15, seed: int = 0) -> tuple[Path, Path]:
    """Write ``root/data`` (metadata.json + references) and ``root/submission``; return both folders."""
    rng = np.random.default_rng(seed)
    data, submission = root / "data", root / "submission"
    (data / "references").mkdir(parents=True, exist_ok=True)
    metadata = {}
    for subject, (name, context, shape, colour) in OBJECTS.items():
        ref = Path("references") / f"{subject}.png"
        draw_shape(shape, colour, (235, 235, 225), (SIZE / 2, SIZE / 2), 150).save(data / ref)
        metadata[subject] = {"path": str(ref), "name": name, "text_cond": context}
        folder = submission / subject
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(images_per_object):
            background = tuple(int(v) for v in rng.integers(60, 255, size=3))
            centre = tuple(float(v) for v in rng.uniform(170, 342, size=2))
            radius = float(rng.uniform(90, 160))
            draw_shape(shape, colour, background, centre, radius).save(folder / f"{i}.png", optimize=True)
    (data / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return data, submission
