"""Scores against independent computations on the tiny models: the models called directly, torchmetrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from PIL import Image

from grader.encoders.base import projected
from grader.grading import GradeOptions, grade
from grader.images import open_rgb
from grader.tasks import load_task

# Their outcome depends on transformers (its models, processors or tokenizers): also run on 4.x.
pytestmark = pytest.mark.transformers

TRANSFORMERS_5 = int(transformers.__version__.split(".")[0]) >= 5


@pytest.fixture
def graded(ml2025: Path, tiny_models: Path):
    result = grade(
        load_task("ml2025-hw10"), ml2025 / "submission", ml2025 / "data", GradeOptions(models_dir=tiny_models)
    )
    return result, ml2025


def _images(root: Path, subject: str) -> list[Path]:
    return sorted((root / "submission" / subject).glob("*.png"), key=lambda p: int(p.stem))


def _reference_preprocess(img: Image.Image, short: int, crop: int, mean, std) -> torch.Tensor:
    """Resize the short edge (bicubic), centre crop, scale to [0,1], normalise: written from the paper text."""
    w, h = img.size
    scale = short / min(w, h)
    img = img.resize((round(w * scale), round(h * scale)), Image.BICUBIC)
    w, h = img.size
    left, top = (w - crop) // 2, (h - crop) // 2
    arr = np.asarray(img.crop((left, top, left + crop, top + crop)), dtype=np.float32) / 255.0
    arr = (arr - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return torch.from_numpy(arr).permute(2, 0, 1)


def test_dino_equals_hand_computation(graded, tiny_models: Path):
    result, root = graded
    model = transformers.Dinov2Model.from_pretrained(tiny_models / "facebook/dinov2-large").eval()
    refs = {s: root / "data" / "references" / f"{s}.png" for s in ("object-1", "object-4")}
    for subject, ref in refs.items():
        paths = [ref, *_images(root, subject)]
        pixels = torch.stack(
            [
                _reference_preprocess(
                    Image.open(p).convert("RGB"), 256, 224, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
                )
                for p in paths
            ]
        )
        with torch.no_grad():
            cls = model(pixel_values=pixels).last_hidden_state[:, 0]  # layer-normed CLS token
        cos = torch.nn.functional.cosine_similarity(cls[1:], cls[:1])
        expected = float(100 * cos.mean())
        got = next(s for s in result.subjects if s.subject == subject).metrics["dino"].value
        assert got == pytest.approx(expected, abs=1e-4)


def test_clip_t_equals_logits_per_image(graded, tiny_models: Path):
    """CLIPModel's own forward: logits_per_image is 100·cos for a logit scale of 100, as in OpenAI checkpoints."""
    result, root = graded
    path = tiny_models / "openai/clip-vit-large-patch14-336"
    model = transformers.CLIPModel.from_pretrained(path).eval()
    processor = transformers.CLIPProcessor.from_pretrained(path)
    assert float(model.logit_scale.detach().exp()) == pytest.approx(100.0, rel=1e-5)
    for subject, text in (("object-2", "on a cobblestone street"), ("object-5", "in the snow")):
        images = [Image.open(p).convert("RGB") for p in _images(root, subject)]
        inputs = processor(text=[text], images=images, return_tensors="pt", padding=True)
        with torch.no_grad():
            logits = model(**inputs).logits_per_image[:, 0]
        per_image = [i.scores["clip_t"] for i in result.images if i.subject == subject]
        np.testing.assert_allclose(per_image, logits.numpy(), atol=1e-4)


def _clip_loader(tiny_models: Path):
    """The task's CLIP (model and processor) as torchmetrics' ``clip_score`` takes a model: a function loading it."""
    path = tiny_models / "openai/clip-vit-large-patch14-336"

    def load():
        return transformers.CLIPModel.from_pretrained(path), transformers.CLIPProcessor.from_pretrained(path)

    return load


@pytest.mark.skipif(TRANSFORMERS_5, reason="torchmetrics 1.9 clip_score calls .norm on transformers 5 outputs")
def test_clip_t_equals_torchmetrics(graded, tiny_models: Path):
    from torchmetrics.functional.multimodal import clip_score

    result, root = graded
    load = _clip_loader(tiny_models)

    compared = 0
    metadata = {"object-1": "on the grass", "object-2": "on a cobblestone street", "object-4": "with sunglasses"}
    for subject, text in metadata.items():
        for item, img_path in zip(
            (i for i in result.images if i.subject == subject), _images(root, subject), strict=True
        ):
            ours = item.scores["clip_t"]
            if ours <= 0:
                continue  # torchmetrics clamps at 0; compare where both are defined the same way
            pixels = torch.from_numpy(np.array(Image.open(img_path).convert("RGB"))).permute(2, 0, 1)
            theirs = float(clip_score(pixels, text, load).detach())
            assert ours == pytest.approx(theirs, abs=1e-4)
            compared += 1
    assert compared >= 10


@pytest.mark.skipif(TRANSFORMERS_5, reason="torchmetrics 1.9 clip_score calls .norm on transformers 5 outputs")
def test_the_torchmetrics_convention_is_torchmetrics_clip_score_over_the_subject(graded, tiny_models: Path):
    """torchmetrics clamps the mean of a batch, not each image: on subjects with negative cosines the two differ."""
    from torchmetrics.functional.multimodal import clip_score

    result, root = graded
    load = _clip_loader(tiny_models)

    seen_negative = False
    for subject in result.subjects:
        images = [i for i in result.images if i.subject == subject.subject]
        texts = [i.details["text"] for i in images]
        seen_negative |= any(i.scores["clip_t"] < 0 for i in images)
        pixels = [torch.from_numpy(np.array(open_rgb(p))).permute(2, 0, 1) for p in _images(root, subject.subject)]
        theirs = float(clip_score(pixels, texts, load).detach())
        ours = subject.metrics["clip_t"].conventions["torchmetrics clip_score (max(mean 100·cos, 0))"]
        assert ours == pytest.approx(theirs, abs=1e-4), subject.subject
    assert seen_negative  # the case where clamping each image would not be torchmetrics' number


def test_embeddings_do_not_depend_on_the_batch_size(ml2025: Path, tiny_models: Path):
    from grader.encoders import BuildContext, build_encoder
    from grader.models import resolve

    spec = next(s for s in load_task("ml2025-hw10").encoders() if s.kind == "clip")
    encoder = build_encoder(spec, BuildContext(resolved=resolve(spec.model, tiny_models)))
    paths = _images(ml2025, "object-1") + _images(ml2025, "object-2")
    one_by_one = encoder.encode_images(paths)
    encoder.batch_size = 4  # 30 images: seven full batches and a partial one, in the prefetch queue
    in_batches = encoder.encode_images(paths)
    with torch.inference_mode():  # the last image alone, straight through the model
        by_model = projected(encoder.model.get_image_features(pixel_values=encoder._pixels([open_rgb(paths[-1])])))
    np.testing.assert_allclose(in_batches, one_by_one, atol=1e-5)
    np.testing.assert_allclose(in_batches[-1], by_model[0].numpy(), atol=1e-5)
