"""Equal to the courses' own scripts in the corners where a natural reading differs from them: which files a script
reads as images, and which images its top-5 keeps among equal totals. Each case is laid out as the script reads it
and scored here the way the script does (its listing, its loop, its sort), on the same tiny models."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from PIL import Image

import grader
from grader.paths import fixtures_dir

pytestmark = pytest.mark.transformers

P3 = fixtures_dir() / "courses" / "dlcv2024-hw2-p3"
B32 = "openai/clip-vit-base-patch32"
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")  # evaluation/clip_image_score.py, load_images_from_folder


def _course_listing(folder: Path) -> list[tuple[str, Image.Image]]:
    """The folder as the course's loader reads it: os.listdir order, any-case suffixes, unopenable files skipped."""
    images = []
    for name in os.listdir(folder):
        if name.lower().endswith(SUFFIXES):
            try:
                with Image.open(folder / name) as img:
                    images.append((name, img.convert("RGB")))
            except OSError:
                continue
    return images


@torch.no_grad()
def _features(model, processor, images: list[Image.Image]) -> np.ndarray:
    """One image per forward pass. The course passes 32 at a time, which can move the last bits of a row's features
    with its place in the batch: equal images then do not quite tie. Alone, equal images give equal totals, and
    the course's sort decides between them as it would between true ties."""
    rows = []
    for image in images:
        pixels = processor(images=[image], return_tensors="pt")["pixel_values"]
        rows.append(model.vision_model(pixel_values=pixels).pooler_output.matmul(model.visual_projection.weight.T))
    return torch.cat(rows).numpy()


@torch.no_grad()
def _text(model, processor, text: str) -> np.ndarray:
    tokens = processor.tokenizer([text], padding=True, return_tensors="pt")
    return model.text_projection(model.text_model(**tokens).pooler_output).numpy()


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=-1, keepdims=True)) @ (b / np.linalg.norm(b, axis=-1, keepdims=True)).T


def _course_p3(data: Path, output: Path, models: Path) -> dict[str, tuple[float, float, set[str]]]:
    """Per key/prompt: the kept images' image and text means and their names, as grade_hw2_3.py computes them."""
    model = transformers.CLIPModel.from_pretrained(models / B32).eval()
    processor = transformers.CLIPProcessor.from_pretrained(models / B32)
    results = {}
    for key, value in json.loads((data / "input.json").read_text()).items():
        references = _course_listing(data / key)
        ref_features = _features(model, processor, [img for _, img in references])
        for index, eval_text in enumerate(value["prompt_4_clip_eval"]):
            images = _course_listing(output / key / str(index))
            features = _features(model, processor, [img for _, img in images])
            image_scores = (100 * _cos(features, ref_features)).mean(axis=1).tolist()
            text_scores = (100 * _cos(features, _text(model, processor, eval_text)))[:, 0].tolist()
            total = [i + 2.5 * j for i, j in zip(image_scores, text_scores, strict=True)]
            kept = sorted(range(len(total)), key=lambda k: total[k])[-5:]
            image = sum(image_scores[i] for i in kept) / len(kept)
            text = sum(text_scores[i] for i in kept) / len(kept)
            results[f"{key}/{index}"] = (image, text, {images[i][0] for i in kept})
    return results


def _kept(result, subject: str) -> set[str]:
    return {Path(i.file).name for i in result.images if i.subject == subject and any("kept" in f for f in i.flags)}


@pytest.fixture
def p3(tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(P3, tmp_path / "course")
    return tmp_path / "course" / "hw2_data" / "textual_inversion", tmp_path / "course" / "output"


def _resave(path: Path, name: str, fmt: str) -> None:
    with Image.open(path) as img:
        img.convert("RGB").save(path.with_name(name), fmt)
    path.unlink()


def test_p3_reads_the_files_the_course_reads(p3, tiny_models, tmp_path):
    """A .bmp reference and output, an upper-case .GIF and a macOS ._x.png beside the images: the course reads the
    first three and skips the last (it does not open); so does the grade, with the same scores."""
    data, output = p3
    with Image.open(next((data / "0").iterdir())) as img:
        img.convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(data / "0" / "extra.bmp", "BMP")
    _resave(output / "0" / "0" / "3.png", "3.bmp", "BMP")
    _resave(output / "1" / "0" / "7.png", "7.GIF", "GIF")
    (output / "0" / "1" / "._0.png").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    course = _course_p3(data, output, tiny_models)
    result = grader.grade(output, "dlcv2024-hw2-p3", data, models=tiny_models, cache=tmp_path / "cache")
    assert int(result.exit_code) in (0, 1), [p.message for p in result.all_problems if p.severity == "error"]
    for subject in result.subjects:
        image, text, kept = course[subject.subject]
        assert subject.metrics["image"].value == pytest.approx(image, abs=1e-4)
        assert subject.metrics["text"].value == pytest.approx(text, abs=1e-4)
        assert _kept(result, subject.subject) == kept
    assert any("extra.bmp" in r for s in result.subjects if s.subject == "0/0" for r in s.references)
    skipped = [p for p in result.all_problems if p.file.endswith("._0.png")]
    assert skipped and skipped[0].severity == "warning" and "skipped" in skipped[0].message


def test_p3_ties_keep_what_the_course_keeps(p3, tiny_models, tmp_path):
    """Every image of one prompt the same picture: every total ties, and the course keeps the five that
    os.listdir gives last. The grade keeps the same five and says a tie decided."""
    data, output = p3
    folder = output / "0" / "0"
    same = (folder / "0.png").read_bytes()
    for path in folder.iterdir():
        path.write_bytes(same)
    course = _course_p3(data, output, tiny_models)
    result = grader.grade(output, "dlcv2024-hw2-p3", data, models=tiny_models, cache=tmp_path / "cache")
    assert _kept(result, "0/0") == course["0/0"][2]
    assert any("0/0:" in n and "tie at the top-5 boundary" in n for n in result.notes)
    listed = [n for n in os.listdir(folder)]
    assert course["0/0"][2] == set(listed[-5:])  # what the course keeps is the file system's order, not 20..24


def _hand_clip_pixels(image: Image.Image, size: int, rounded: bool) -> torch.Tensor:
    """Resize the short edge to ``size`` (bicubic, long edge int(size * long / short)), centre-crop at
    round((h - size) / 2) (the clip package, torchvision) or (h - size) // 2 (transformers), scale, normalise."""
    w, h = image.size
    scale = size / min(w, h)
    new = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
    assert min(new) == size and scale > 0
    resized = image.resize(new, Image.Resampling.BICUBIC)
    left = round((new[0] - size) / 2) if rounded else (new[0] - size) // 2
    top = round((new[1] - size) / 2) if rounded else (new[1] - size) // 2
    crop = np.asarray(resized.crop((left, top, left + size, top + size)), dtype=np.float32) / np.float32(255)
    mean = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
    std = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
    return torch.from_numpy(((crop - mean) / std).transpose(2, 0, 1).copy())[None]


@pytest.mark.parametrize(
    ("size", "odd"), [((640, 427), True), ((427, 640), True), ((299, 224), True), ((301, 257), False)]
)
def test_clip_crops_equal_a_hand_computation_of_each_package(size, odd, tiny_models):
    """Where the resized side has an odd remainder the clip package's crop and transformers' are a pixel apart;
    each preprocessing setting equals its package's crop written out by hand, and the two differ only there."""
    from grader.encoders.clip import ClipEncoder
    from grader.encoders.specs import TransformersEncoder
    from grader.images import DecodedImage
    from grader.models import resolve

    rng = np.random.default_rng(sum(size))
    image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    decoded = DecodedImage(Path("odd.png"), image, "PNG", "RGB", 1)
    resolved = resolve(B32, tiny_models)
    model = transformers.CLIPModel.from_pretrained(tiny_models / B32).eval()
    vectors = {}
    for preprocessing, rounded in (("openai-clip", True), ("checkpoint-processor", False)):
        spec = TransformersEncoder(kind="clip", model=B32, preprocessing=preprocessing)
        vectors[preprocessing] = ClipEncoder(spec, resolved).encode_decoded([decoded])[0]
        with torch.no_grad():
            pooled = model.vision_model(pixel_values=_hand_clip_pixels(image, 224, rounded)).pooler_output
            hand = model.visual_projection(pooled)[0].numpy()
        assert np.allclose(vectors[preprocessing], hand, atol=1e-5), preprocessing
    same = np.allclose(vectors["openai-clip"], vectors["checkpoint-processor"], atol=1e-6)
    assert same != odd  # one pixel of crop apart, or the same crop


CC101 = fixtures_dir() / "courses" / "customconcept101"
CC101_SUFFIXES = (".png", ".jpg", ".jpeg", ".tiff", ".JPG")  # customconcept101/evaluate.py, case as written


def _listed(folder: Path) -> list[Path]:
    return [folder / n for n in os.listdir(folder) if n.endswith(CC101_SUFFIXES)]


def _hand_dino_pixels(image: Image.Image) -> torch.Tensor:
    """Resize(256) bicubic, CenterCrop(224) at round(...), ToTensor, ImageNet Normalize, written out."""
    w, h = image.size
    new = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
    resized = image.resize(new, Image.Resampling.BICUBIC)
    left, top = round((new[0] - 224) / 2), round((new[1] - 224) / 2)
    crop = np.asarray(resized.crop((left, top, left + 224, top + 224)), dtype=np.float32) / np.float32(255)
    mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)
    return torch.from_numpy(((crop - mean) / std).transpose(2, 0, 1).copy())[None]


@torch.no_grad()
def _cc101_by_hand(run: Path, data: Path, concept: str, models: Path) -> dict[str, float]:
    """evaluate.py's three numbers for one concept, x100: text alignment 2.5 * max(cos, 0) per image, CLIP-I and
    DINO as the mean over all generated x reference pairs."""
    clip = transformers.CLIPModel.from_pretrained(models / B32).eval()
    tokenizer = transformers.CLIPTokenizer.from_pretrained(models / B32)
    dino = transformers.ViTModel.from_pretrained(models / "facebook/dino-vits16", add_pooling_layer=False).eval()
    samples, references = _listed(run / concept / "samples"), _listed(data / "benchmark_dataset" / concept)
    prompts = json.loads((run / concept / "prompts.json").read_text())

    def clip_image(paths):
        rows = [clip.vision_model(pixel_values=_hand_clip_pixels(_rgb(p), 224, True)).pooler_output for p in paths]
        return clip.visual_projection(torch.cat(rows)).numpy()

    def dino_image(paths):
        return torch.cat([dino(pixel_values=_hand_dino_pixels(_rgb(p))).last_hidden_state[:, 0] for p in paths]).numpy()

    tokens = tokenizer(
        [prompts[p.stem] for p in samples], padding=True, truncation=True, max_length=77, return_tensors="pt"
    )
    text = clip.text_projection(clip.text_model(**tokens).pooler_output).numpy()
    generated = clip_image(samples)
    per_image = 2.5 * np.clip(np.sum(_unit(generated) * _unit(text), axis=1), 0, None)
    return {
        "text": 100 * float(np.mean(per_image)),
        "clip_i": 100 * float(np.mean(_unit(generated) @ _unit(clip_image(references)).T)),
        "dino": 100 * float(np.mean(_unit(dino_image(samples)) @ _unit(dino_image(references)).T)),
    }


def _rgb(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt(np.sum(x**2, axis=1, keepdims=True))


def test_customconcept101_equals_its_evaluate_script_by_hand(tmp_path, tiny_models):
    """The three numbers per concept of customconcept101/evaluate.py, computed by hand on the fixture laid out as
    the repository ships it; one prompt per concept is chosen so that some cosines are positive and some are not
    (the clamp matters)."""
    run, data = tmp_path / "results", CC101 / "customconcept101"
    shutil.copytree(CC101 / "results", run)
    clip = transformers.CLIPModel.from_pretrained(tiny_models / B32).eval()
    tokenizer = transformers.CLIPTokenizer.from_pretrained(tiny_models / B32)
    words = ["a red cat", "a photo", "sunset", "a bear toy", "night sky", "a beach", "snow", "a car", "green"]
    with torch.no_grad():
        tokens = tokenizer(words, padding=True, return_tensors="pt")
        text = _unit(clip.text_projection(clip.text_model(**tokens).pooler_output).numpy())
    for concept in ("pet_cat1", "toy_bear"):
        samples = sorted(_listed(run / concept / "samples"))
        with torch.no_grad():
            rows = [
                clip.vision_model(pixel_values=_hand_clip_pixels(_rgb(p), 224, True)).pooler_output for p in samples
            ]
            image = _unit(clip.visual_projection(torch.cat(rows)).numpy())
        cos = image @ text.T  # images x words: give each image the word that is most positive, and one the least
        chosen = {p.stem: words[int(np.argmax(cos[i]))] for i, p in enumerate(samples)}
        chosen[samples[0].stem] = words[int(np.argmin(cos[0]))]
        (run / concept / "prompts.json").write_text(json.dumps(chosen))
    result = grader.grade(run, "customconcept101", data, models=tiny_models, cache=tmp_path / "cache")
    assert int(result.exit_code) == 0, [p.message for p in result.all_problems]
    assert any("2 of the 3 concepts" in n for n in result.notes)
    positive = 0
    for subject in result.subjects:
        hand = _cc101_by_hand(run, data, subject.subject, tiny_models)
        positive += hand["text"] > 0
        for name, value in hand.items():
            assert subject.metrics[name].value == pytest.approx(value, abs=1e-4), (subject.subject, name)
    assert positive  # a clamp that zeroes everything would prove nothing


DBPP = fixtures_dir() / "courses" / "dreambench-plus"


def _dreambench_plus_load(path: Path) -> Image.Image:
    """As DreamBench++'s load_image: the EXIF orientation applied, an RGBA image laid on white, then RGB."""
    from PIL import ImageOps

    with Image.open(path) as img:
        image = ImageOps.exif_transpose(img)
        if image.mode == "RGBA":
            image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
        return image.convert("RGB")


@torch.no_grad()
def test_dreambench_plus_equals_its_scorers_by_hand(tmp_path, tiny_models):
    """Each generated image against its own source photo and prompt, through each scorer's own model and
    preprocessing (dino_vits8 behind torchvision's Resize/CenterCrop; DINOv2-small, CLIP-I and CLIP-T through the
    checkpoints' processors), on the fixture laid out as the run folder its scripts read."""
    run = DBPP / "results"
    dino = transformers.ViTModel.from_pretrained(tiny_models / "facebook/dino-vits8", add_pooling_layer=False).eval()
    dinov2 = transformers.Dinov2Model.from_pretrained(tiny_models / "facebook/dinov2-small").eval()
    bit = transformers.AutoImageProcessor.from_pretrained(tiny_models / "facebook/dinov2-small")
    clip = transformers.CLIPModel.from_pretrained(tiny_models / B32).eval()
    processor = transformers.CLIPProcessor.from_pretrained(tiny_models / B32)

    def scores(target: Path) -> dict[str, float]:
        key = target.relative_to(run / "tgt_image").with_suffix("")
        source = next((run / "src_image" / key.parent).glob(f"{key.name}.*"))
        text = (run / "text" / key).with_suffix(".txt").read_text("utf-8")
        a, b = _dreambench_plus_load(target), _dreambench_plus_load(source)
        v1 = [dino(pixel_values=_hand_dino_pixels(x)).last_hidden_state[0, 0].numpy() for x in (a, b)]
        v2 = [dinov2(**bit(images=x, return_tensors="pt")).last_hidden_state[0, 0].numpy() for x in (a, b)]
        pixels = [processor(images=x, return_tensors="pt")["pixel_values"] for x in (a, b)]
        ci = [clip.visual_projection(clip.vision_model(pixel_values=x).pooler_output)[0].numpy() for x in pixels]
        tokens = processor(text=[text], padding=True, return_tensors="pt")
        ct = clip.text_projection(clip.text_model(**tokens).pooler_output)[0].numpy()

        def cos(u, v):
            return float(100 * _cos(u[None], v[None])[0, 0])

        return {"dino_v1": cos(*v1), "dinov2": cos(*v2), "clip_i": cos(*ci), "clip_t": cos(ci[0], ct)}

    result = grader.grade(run, "dreambench-plus", DBPP / "data", models=tiny_models, cache=tmp_path / "cache")
    assert int(result.exit_code) == 0, [p.message for p in result.all_problems]
    by_file = {i.file: i.scores for i in result.images}
    for target in sorted((run / "tgt_image").rglob("*.png")):
        hand = scores(target)
        graded = by_file[str(target.relative_to(run))]
        for name, value in hand.items():
            assert graded[name] == pytest.approx(value, abs=1e-4), (target.name, name)
    animal = next(n for n in result.notes if n.startswith("category animal"))
    dog = next(s for s in result.subjects if s.subject == "live_subject_animal_00_dog")
    assert f"DINO {dog.metrics['dino_v1'].value:.2f}" in animal


def test_genai_reads_the_training_photos_the_notebooks_glob_reads(tmp_path):
    """The notebook lists its training photos with one glob per suffix of IMAGE_EXTENSIONS: case-sensitive, no
    hidden names. A .Png is not read (and is named), a .PNG is, a macOS ._x.png is not."""
    import glob

    from grader.submission.files import list_images
    from grader.tasks import load_task

    brad = tmp_path / "Brad"
    shutil.copytree(fixtures_dir() / "courses" / "genai2024-hw10" / "Datasets" / "Brad", brad)
    photo = next(brad.glob("*.png"))
    for name in ("mixed.Png", "upper.PNG", "._hidden.png", "other.JPEG"):
        shutil.copy(photo, brad / name)
    notebook = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".PNG", ".JPG", ".JPEG", ".WEBP", ".BMP"]
    course = sorted(p for ext in notebook for p in glob.glob(f"{brad}/*{ext}"))
    files = load_task("genai2024-hw10").layout.files
    ours, problems = list_images(brad, files, "face", expected_others=(".txt",))
    assert sorted(str(p) for p in ours) == course
    assert any(p.file.endswith("mixed.Png") and "not read" in p.message for p in problems)
