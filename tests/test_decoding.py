"""One decoding per image and grade: deepface is handed pixels equal to its own reading of the file, and an image
that does not decode, or that an encoder cannot read, is that image's problem only."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from grader.errors import InputError
from grader.grading import GradeOptions, grade
from grader.images import decode
from grader.tasks import load_task

# Their outcome depends on transformers (its models, processors or tokenizers): also run on 4.x.
pytestmark = pytest.mark.transformers


def _picture() -> Image.Image:
    rng = np.random.default_rng(0)
    noise = (rng.random((48, 64, 3)) * 255).astype(np.uint8)
    return Image.fromarray(cv2.GaussianBlur(noise, (7, 7), 3))  # JPEG-like content, not pure noise


def _alpha() -> Image.Image:
    return Image.fromarray((np.random.default_rng(1).random((48, 64)) * 255).astype(np.uint8))


def _with_alpha(image: Image.Image) -> Image.Image:
    image = image.copy()
    image.putalpha(_alpha())
    return image


SOURCES = {  # name -> (image, file suffix, save options)
    "jpeg 4:2:0": (lambda: _picture(), ".jpg", {"quality": 90}),
    "jpeg 4:4:4": (lambda: _picture(), ".jpg", {"quality": 90, "subsampling": 0}),
    "jpeg progressive": (lambda: _picture(), ".jpg", {"quality": 75, "progressive": True}),
    "jpeg greyscale": (lambda: _picture().convert("L"), ".jpg", {}),
    "png rgb": (lambda: _picture(), ".png", {}),
    "png rgba": (lambda: _with_alpha(_picture()), ".png", {}),
    "png greyscale": (lambda: _picture().convert("L"), ".png", {}),
    "png greyscale+alpha": (lambda: _with_alpha(_picture().convert("L")), ".png", {}),
    "png palette": (lambda: _picture().convert("P"), ".png", {}),
    "png palette+transparency": (lambda: _picture().convert("P"), ".png", {"transparency": 0}),
    "webp": (lambda: _picture(), ".webp", {"quality": 80}),
    "bmp": (lambda: _picture(), ".bmp", {}),
}


def _save(tmp_path: Path, name: str, orientation: int = 1) -> Path:
    make, suffix, options = SOURCES[name]
    image = make()
    if orientation != 1:
        exif = image.getexif()
        exif[0x0112] = orientation
        options = {**options, "exif": exif}
    path = tmp_path / f"{name.replace(' ', '_').replace(':', '').replace('+', '_')}-{orientation}{suffix}"
    image.save(path, **options)
    return path


@pytest.mark.parametrize("name", SOURCES)
def test_pixels_handed_to_deepface_equal_opencvs_reading_of_the_file(name, tmp_path):
    path = _save(tmp_path, name)
    ours = decode(path).as_opencv()
    assert ours is not None and ours.dtype == np.uint8
    np.testing.assert_array_equal(ours, cv2.imread(str(path)))


@pytest.mark.parametrize("orientation", range(2, 9))
@pytest.mark.parametrize("name", ["jpeg 4:2:0", "png rgb"])
def test_exif_orientation_is_applied_as_opencv_applies_it(name, orientation, tmp_path):
    path = _save(tmp_path, name, orientation)
    ours = decode(path).as_opencv()
    theirs = cv2.imread(str(path))
    assert ours.shape == theirs.shape and (ours.shape[0] == 64) == (orientation >= 5)  # 5-8 turn the image
    np.testing.assert_array_equal(ours, theirs)


def test_sources_that_could_differ_are_left_to_opencv(tmp_path):
    cmyk = tmp_path / "cmyk.jpg"
    _picture().convert("CMYK").save(cmyk)
    wide = tmp_path / "wide.png"
    Image.fromarray(np.asarray(_picture().convert("L")).astype(np.uint16) * 257).save(wide)
    for path in (cmyk, wide):
        assert decode(path).as_opencv() is None
    # They do differ: a step for CMYK, the 16-bit scaling for wide greyscale.
    assert not np.array_equal(np.asarray(decode(cmyk).rgb)[:, :, ::-1], cv2.imread(str(cmyk)))


def test_an_image_an_encoder_cannot_read_is_that_images_problem(ml2025, tiny_models, monkeypatch):
    from grader.encoders.clip import ClipEncoder

    real = ClipEncoder.encode_decoded
    unreadable = (ml2025 / "submission" / "object-2" / "5.png").resolve()

    def refusing(self, images, progress=None):
        if any(i.path.resolve() == unreadable for i in images):
            raise InputError(f"{unreadable}: the model cannot read it")
        return real(self, images, progress)

    monkeypatch.setattr(ClipEncoder, "encode_decoded", refusing)
    result = grade(
        load_task("ml2025-hw10"), ml2025 / "submission", ml2025 / "data", GradeOptions(models_dir=tiny_models)
    )
    subjects = {s.subject: s for s in result.subjects}
    problems = {p.file: p.message for p in subjects["object-2"].problems}
    assert problems["object-2/5.png"] == "the model cannot read it; left out of the grade"
    assert problems["object-2"] == "14 usable images, the task asks for 15"
    assert "object-2/5.png" not in {i.file for i in result.images}
    # The other images of its chunk, and every other subject, are graded by both encoders.
    assert subjects["object-2"].metrics["clip_t"].n == subjects["object-2"].metrics["dino"].n == 14
    assert all(s.metrics["clip_t"].n == 15 for name, s in subjects.items() if name != "object-2")


def test_a_strip_that_preprocessing_would_blow_up_is_refused_before_the_resize(tiny_models, tmp_path):
    from grader.encoders import BuildContext, build_encoder
    from grader.models import resolve

    strip = tmp_path / "strip.png"
    Image.new("RGB", (1, 20000), (9, 99, 199)).save(strip)
    task = load_task("ml2025-hw10")
    edges = {}
    for spec in task.encoders():
        encoder = build_encoder(spec, BuildContext(resolved=resolve(spec.model, tiny_models)))
        edges[spec.kind] = encoder.short_edge
        # 256 x 5,120,000 (DINO), 336 x 6,720,000 (CLIP): both far over Pillow's 89 MP limit.
        with pytest.raises(InputError, match=r"is 1x20000; .* would be \d+x\d+ \(\d+ MP\): too large to preprocess"):
            encoder.encode_images([strip])
    assert edges == {"dinov2": 256, "clip": 336}
    # A merely long image is preprocessed as the course would: 1x300 becomes 256x76800 (19.7 MP), under the limit.
    long = tmp_path / "long.png"
    Image.new("RGB", (1, 300), (9, 99, 199)).save(long)
    assert len(encoder.encode_images([long])) == 1
