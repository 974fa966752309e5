"""Each course's data and a submission, under the file and folder names the course ships (``fixtures/courses``).

Folder names, file names and JSON keys are the courses'; the pictures are tiny synthetic shapes (or the public-domain
face photos, shrunk), so the fixtures exercise reading the shipped layouts, not the scores. Deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from grader.testing.dlcv import _SHAPES, _shape_image
from grader.testing.faces import NO_FACE, SAME_PERSON, TRAINING, sources
from grader.testing.synthetic import OBJECTS

SIDE = 48  # pixels: enough for every encoder's preprocessing, small on disk


def _save(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **({"quality": 90} if path.suffix == ".jpg" else {"optimize": True}))


def _shape(rng: np.random.Generator, shape: str, colour: tuple) -> Image.Image:
    return _shape_image(rng, shape, colour, size=SIDE)


def ml2025_hw10(root: Path, rng: np.random.Generator) -> None:
    """``metadata.json`` with the reference image beside it; the upload's ``results/object-N/{i}.jpg``."""
    metadata = {}
    for subject, (name, context, shape, colour) in OBJECTS.items():
        _save(_shape(rng, shape, colour), root / "data" / f"{subject}.jpg")
        metadata[subject] = {"path": f"{subject}.jpg", "name": name, "text_cond": context}
        for i in range(15):
            _save(_shape(rng, shape, colour), root / "results" / subject / f"{i}.jpg")
    (root / "data" / "metadata.json").write_text(json.dumps(metadata, indent=4) + "\n")


def genai2024_hw10(root: Path, rng: np.random.Generator) -> None:
    """The notebook's ``Datasets/Brad`` (photos with a caption each) and ``Datasets/prompts/validation_prompt.txt``;
    its output ``valid_image_{i}.png`` for the 25 prompts."""
    astronaut, other = sources()  # the variants' crop boxes are in the 512 px photo's pixels: shrink afterwards

    def small(img: Image.Image) -> Image.Image:
        return img.resize((96, 96), Image.Resampling.BICUBIC)

    brad = root / "Datasets" / "Brad"
    for name, make in TRAINING.items():
        _save(small(make(astronaut)), brad / f"{name}.png")
        (brad / f"{name}.txt").write_text("a photo of a man, smiling\n")
    places = ["in a garden", "on the moon", "at a desk", "in the rain", "wearing a hat"]
    prompts = [f"a photo of a man {places[i % len(places)]}, portrait {i}" for i in range(25)]
    (root / "Datasets" / "prompts").mkdir(parents=True, exist_ok=True)
    (root / "Datasets" / "prompts" / "validation_prompt.txt").write_text("\n".join(prompts) + "\n")
    variants = list(SAME_PERSON.values())
    for i in range(25):
        image = NO_FACE(astronaut) if i == 24 else other if i == 23 else variants[i % len(variants)](astronaut)
        _save(small(image), root / "inference" / f"valid_image_{i}.png")


def dlcv2024_hw2_p3(root: Path, rng: np.random.Generator) -> None:
    """``hw2_data/textual_inversion/{input.json, 0/, 1/}`` (reference folders named by concept key, not by
    ``src_image``) and ``output/{key}/{prompt index}/{i}.png``, 25 images each."""
    data = root / "hw2_data" / "textual_inversion"
    concepts = {
        "0": ("dog", "<new1>", "triangle", (150, 100, 50), ["Mount Fuji", "the Colosseum"], [[79, 34], [74, 35]]),
        "1": ("David Revoy", "<new2>", "star", (40, 90, 200), ["Paris", "Manhattan"], [[70, 30], [70, 30]]),
    }
    spec = {}
    for key, (src, token, shape, colour, places, baseline) in concepts.items():
        for i in range(3):
            _save(_shape(rng, shape, colour), data / key / f"{i:02d}.jpg")
        spec[key] = {
            "src_image": src,
            "token_name": token,
            "prompt": [f"A {token} shown with {p}." for p in places],
            "prompt_4_clip_eval": [f"A picture shown with {p}." for p in places],
            "baseline": baseline,
        }
        for index in range(len(places)):
            for i in range(25):
                drawn = shape if i % 3 else _SHAPES[i % len(_SHAPES)]
                _save(_shape(rng, drawn, colour), root / "output" / key / str(index) / f"{i}.png")
    (data / "input.json").write_text(json.dumps(spec, indent=4) + "\n")


# The published file's format (a subject,class table, then prompt lists written as Python), with few prompts.
_PROMPTS_AND_CLASSES = """Classes

subject_name,class
backpack,backpack
dog6,dog


Prompts

Object Prompts

prompt_list = [
'a {0} {1} in the jungle'.format(unique_token, class_token),
'a {0} {1} on the beach'.format(unique_token, class_token),
'a red {0} {1}'.format(unique_token, class_token)
]

Live Subject Prompts

prompt_list = [
'a {0} {1} in the jungle'.format(unique_token, class_token),
'a {0} {1} wearing a red hat'.format(unique_token, class_token),
'a wet {0} {1}'.format(unique_token, class_token)
]
"""


def dreambench(root: Path, rng: np.random.Generator) -> None:
    """``dataset/prompts_and_classes.txt`` and ``dataset/<subject>/NN.jpg``; ``results/<subject>/<prompt>/k.png``."""
    dataset = root / "dataset"
    dataset.mkdir(parents=True, exist_ok=True)
    (dataset / "prompts_and_classes.txt").write_text(_PROMPTS_AND_CLASSES)
    subjects = {"backpack": ("rounded", (40, 90, 200)), "dog6": ("triangle", (150, 100, 50))}
    for subject, (shape, colour) in subjects.items():
        for i in range(3):
            _save(_shape(rng, shape, colour).resize((64, SIDE)), dataset / subject / f"{i:02d}.jpg")
        for index in range(3):
            for k in range(4):
                _save(_shape(rng, shape, colour), root / "results" / subject / str(index) / f"{k}.png")


def dlcv2024_clip_zeroshot(root: Path, rng: np.random.Generator) -> None:
    """``hw2_data/clip_zeroshot/{id2label.json, val/{class_id}_{image_id}.png}``."""
    data = root / "hw2_data" / "clip_zeroshot"
    labels = {str(i): name for i, name in enumerate(["ball", "box", "badge", "tent", "starfish"])}
    for class_id, shape in zip(labels, _SHAPES, strict=True):
        for i in range(3):
            _save(_shape(rng, shape, (200, 60, 60)), data / "val" / f"{class_id}_{450 + i}.png")
    (data / "id2label.json").write_text(json.dumps(labels, indent=4) + "\n")


def dlcv2024_hw2_p1(root: Path, rng: np.random.Generator) -> None:
    """The output folder's ``mnistm/`` (28 px) and ``svhn/`` (32 px), ``{digit}_{index:03d}.png``."""
    for subject, size in (("mnistm", 28), ("svhn", 32)):
        for digit in range(10):
            for i in range(2):
                pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
                _save(Image.fromarray(pixels), root / "output" / subject / f"{digit}_{i + 1:03d}.png")


def dlcv2024_hw2_p2(root: Path, rng: np.random.Generator) -> None:
    """``hw2_data/face/GT/00.png`` ... ``09.png`` (the noises ``noise/00.pt`` ... are the generator's input, not
    the grader's, and are left out); the generated ``output/00.png`` ..."""
    for i in range(10):
        truth = np.asarray(_shape(rng, _SHAPES[i % len(_SHAPES)], (220, 180, 150)), dtype=np.float64)
        noisy = np.clip(truth + rng.normal(0, 12, truth.shape), 0, 255)
        _save(Image.fromarray(truth.astype(np.uint8)), root / "hw2_data" / "face" / "GT" / f"{i:02d}.png")
        _save(Image.fromarray(noisy.round().astype(np.uint8)), root / "output" / f"{i:02d}.png")


def customconcept101(root: Path, rng: np.random.Generator) -> None:
    """The repository's ``customconcept101/{dataset.json, prompts/*.txt, benchmark_dataset/<concept>/}`` (three
    concepts, two of them generated) and a run's ``results/<concept>/{samples/<i>.png, prompts.json}``."""
    data = root / "customconcept101"
    concepts = {"pet_cat1": ("cat", "triangle", (150, 100, 50)), "toy_bear": ("bear", "rounded", (90, 60, 30))}
    places = ["{} on a beach.", "a {} in the snow.", "a painting of a {}.", "{} next to a red car.", "a tiny {}."]
    entries = []
    for concept, (word, shape, colour) in {**concepts, "scene_barn": ("barn", "star", (160, 40, 40))}.items():
        prompt_file = f"prompts/{concept.split('_')[0]}.txt"
        entries.append(
            {
                "instance_prompt": f"photo of a <new1> {word}",
                "class_prompt": word,
                "instance_data_dir": f"./benchmark_dataset/{concept}",
                "class_data_dir": f"./regularization/{concept}",
                "prompt_filename": prompt_file,
            }
        )
        (data / prompt_file).parent.mkdir(parents=True, exist_ok=True)
        (data / prompt_file).write_text("\n".join(places))
        for i in range(3):  # 64 x 43: resized to 224 its long side has an odd remainder (the crops differ)
            _save(_shape(rng, shape, colour).resize((64, 43)), data / "benchmark_dataset" / concept / f"{i:02d}.jpg")
        if concept not in concepts:
            continue
        prompts = {}
        for i, place in enumerate(places):
            _save(_shape(rng, shape, colour), root / "results" / concept / "samples" / f"{i}.png")
            prompts[str(i)] = place.format(f"<new1> {word}")
        (root / "results" / concept / "prompts.json").write_text(json.dumps(prompts, indent=4) + "\n")
    (data / "dataset.json").write_text(json.dumps(entries, indent=4) + "\n")


def dreambench_plus(root: Path, rng: np.random.Generator) -> None:
    """The benchmark's ``data/{images,captions}/<category>/<index>.*`` and a run folder as its generation script
    writes one: ``results/{src_image,tgt_image,text}/<collection>/<k>.*``. One source photo carries an EXIF
    rotation and one generated image is transparent in places (DreamBench++'s loader handles both)."""
    collections = {
        ("animal", "live_subject_animal", "dog"): ("triangle", (150, 100, 50)),
        ("human", "live_subject_human", "woman"): ("rounded", (200, 160, 140)),
        ("object", "object", "backpack"): ("star", (40, 90, 200)),
        ("style", "style", "watercolor"): ("ellipse", (90, 160, 90)),
    }
    prompts = ["{} on a beach", "{} in the snow", "a painting of {}"]
    for (folder, category, subject), (shape, colour) in collections.items():
        photo = _shape(rng, shape, colour).resize((64, 43))  # resized, its long side has an odd remainder
        _save(photo, root / "data" / "images" / folder / "00.jpg")
        captions = root / "data" / "captions" / folder / "00.txt"
        captions.parent.mkdir(parents=True, exist_ok=True)
        captions.write_text("\n".join([subject.capitalize(), *(p.format(subject) for p in prompts)]) + "\n")
        collection = f"{category}_00_{subject}"
        for k, prompt in enumerate(prompts):
            source = root / "results" / "src_image" / collection / f"{k}.jpg"
            source.parent.mkdir(parents=True, exist_ok=True)
            if folder == "object":  # stored sideways with an EXIF orientation: the loader turns it upright
                exif = Image.Exif()
                exif[0x0112] = 6
                photo.transpose(Image.Transpose.ROTATE_90).save(source, quality=90, exif=exif.tobytes())
            else:
                _save(photo, source)
            image = _shape(rng, shape, colour)
            if folder == "style" and k == 0:  # transparent where it is dark: laid on white by the loader
                alpha = Image.fromarray((np.asarray(image.convert("L")) > 60).astype(np.uint8) * 255)
                image = image.convert("RGBA")
                image.putalpha(alpha)
            _save(image, root / "results" / "tgt_image" / collection / f"{k}.png")
            text = root / "results" / "text" / collection / f"{k}.txt"
            text.parent.mkdir(parents=True, exist_ok=True)
            text.write_text(prompt.format(f"a {subject}"))


BUILDERS: dict[str, Callable[[Path, np.random.Generator], None]] = {
    "ml2025-hw10": ml2025_hw10,
    "genai2024-hw10": genai2024_hw10,
    "dlcv2024-hw2-p3": dlcv2024_hw2_p3,
    "dreambench": dreambench,
    "dlcv2024-clip-zeroshot": dlcv2024_clip_zeroshot,
    "dlcv2024-hw2-p1": dlcv2024_hw2_p1,
    "dlcv2024-hw2-p2": dlcv2024_hw2_p2,
    "customconcept101": customconcept101,
    "dreambench-plus": dreambench_plus,
}


# task -> (its submission, the data folder the course names), inside fixtures/courses/<task>.
SHIPPED: dict[str, tuple[str, str]] = {
    "ml2025-hw10": ("results", "data"),
    "genai2024-hw10": ("inference", "Datasets"),
    "dlcv2024-hw2-p3": ("output", "hw2_data/textual_inversion"),
    "dreambench": ("results", "dataset"),
    "dlcv2024-clip-zeroshot": ("hw2_data/clip_zeroshot/val", "hw2_data/clip_zeroshot"),
    "dlcv2024-hw2-p1": ("output", "output"),
    "dlcv2024-hw2-p2": ("output", "hw2_data/face"),
    "customconcept101": ("results", "customconcept101"),
    "dreambench-plus": ("results", "data"),
}
# Tasks that grade another task's layout read its fixture (class images are laid out as subject images).
FIXTURE_OF = {"dreambench-pres": "dreambench", "dreambench-div": "dreambench"}
# Offline stand-ins for the course's face models (GhostFaceNet and SSD do not ship on PyPI): real ones that do.
OFFLINE_FACES = {"face_model": "Dlib", "face_detector": "centerface"}


def build_test_classifiers(folder: Path) -> dict[str, Path]:
    """Seeded random LeNet-5 digit classifiers for dlcv2024-hw2-p1, one per subject: a state dict for mnistm and
    a TorchScript file for svhn (the two forms the grader reads)."""
    import torch

    from grader.encoders.classifier import LeNet

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    paths = {"mnistm": folder / "Classifier.pth", "svhn": folder / "svhn.pt"}
    torch.save({"state_dict": LeNet().state_dict()}, paths["mnistm"])
    torch.jit.script(LeNet().eval()).save(str(paths["svhn"]))
    return paths


def build_course_fixtures(root: Path) -> Path:
    """Write ``root/<task>/`` for every task with a shipped layout; returns ``root``."""
    for seed, (task, build) in enumerate(BUILDERS.items()):
        build(root / task, np.random.default_rng(seed))
    return root
