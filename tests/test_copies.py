"""Copies of references, duplicates inside a submission, and the real-image ceiling."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from grader.cache import EmbeddingCache
from grader.copies import Looks, duplicates
from grader.fingerprints import INSETS, VisualHash, hamming, visual_hash
from grader.grading import GradeOptions, Resources, grade
from grader.result import Verdict
from grader.rules import RULES, RuleInput
from grader.submission.files import SubjectInput
from grader.tasks import load_task


def test_hamming_counts_differing_bits():
    a = np.array([0b1011, 0], dtype=np.uint64)
    b = np.array([0b0001, 2**64 - 1], dtype=np.uint64)
    assert hamming(a, b).tolist() == [[2, 61], [1, 64]]


def test_visual_hash_round_trips_through_its_text():
    image = Image.new("RGB", (64, 48), (200, 30, 10))
    found = visual_hash(image)
    assert VisualHash.decode(found.encode()) == found
    assert found.colour == (200, 30, 10)
    assert VisualHash.decode("not a hash") is None


@pytest.fixture
def copied(ml2025: Path) -> Path:
    """object-1's slots filled with its reference as is, mirrored, blurred by resizing, zoomed in (6% off each
    side), and one image twice."""
    reference = ml2025 / "data" / "references" / "object-1.png"
    folder = ml2025 / "submission" / "object-1"
    shutil.copyfile(reference, folder / "0.png")
    photo = Image.open(reference).convert("RGB")
    ImageOps.mirror(photo).save(folder / "1.png")
    w, h = photo.size
    photo.resize((w // 3, h // 3), Image.LANCZOS).resize((w, h), Image.BICUBIC).save(folder / "2.png")
    photo.crop((w // 16, h // 16, w - w // 16, h - h // 16)).resize((w, h), Image.BICUBIC).save(folder / "3.png")
    shutil.copyfile(folder / "4.png", folder / "5.png")
    return ml2025


def _flags(result) -> dict[str, list[str]]:
    """Per image, its copy and duplicate flags (lines crossed are flagged too, and left out here)."""
    return {i.file: [f for f in i.flags if f.startswith(("copy of", "duplicate of"))] for i in result.images}


def test_copies_and_duplicates_are_flagged_and_keep_their_scores(copied, tiny_models):
    task = load_task("ml2025-hw10")
    result = grade(task, copied / "submission", copied / "data", GradeOptions(models_dir=tiny_models))
    flags = _flags(result)
    assert flags["object-1/0.png"] == ["copy of reference 1 (object-1.png): same file"]
    assert "copy of reference 1 (object-1.png): mirrored" in flags["object-1/1.png"][0]
    assert flags["object-1/2.png"][0].startswith("copy of reference 1 (object-1.png): perceptual hash")
    assert flags["object-1/3.png"][0].startswith("copy of reference 1 (object-1.png): perceptual hash")
    assert flags["object-1/5.png"] == ["duplicate of object-1/4.png: same file"]
    assert not flags["object-1/4.png"] and not flags["object-1/6.png"]
    assert sum(bool(f) for f in flags.values()) == 5  # nothing else in the submission looks copied
    scores = {i.file: i.scores for i in result.images}
    assert scores["object-1/0.png"]["dino"] == pytest.approx(100.0, abs=1e-3)  # the course would count it
    assert not result.all_problems


def test_strict_copies_makes_each_copy_a_problem(copied, tiny_models):
    options = GradeOptions(models_dir=tiny_models, strict_copies=True)
    result = grade(load_task("ml2025-hw10"), copied / "submission", copied / "data", options)
    problems = {p.file: p.message for p in result.all_problems}
    assert set(problems) == {f"object-1/{n}.png" for n in (0, 1, 2, 3, 5)}
    assert result.subjects[0].verdict is Verdict.INCOMPLETE and int(result.exit_code) == 2


def test_a_regrade_finds_copies_from_the_cache_without_decoding(copied, tiny_models, tmp_path, decodes):
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    options, resources = GradeOptions(models_dir=tiny_models), Resources(cache)
    task = load_task("ml2025-hw10")
    first = _flags(grade(task, copied / "submission", copied / "data", options, resources=resources))
    assert decodes and set(decodes.values()) == {1}
    decodes.clear()
    assert _flags(grade(task, copied / "submission", copied / "data", options, resources=resources)) == first
    assert not decodes


def test_each_duplicate_names_the_first_earlier_image_it_repeats():
    def looks(digest: str, shown: int, mirrored: int, colour=(90, 90, 90)) -> Looks:
        return Looks(digest, VisualHash((shown,) * len(INSETS), (mirrored,) * len(INSETS), colour))

    a, b, c, d, e = (Path(n) for n in "abcde")
    table = {
        a: looks("1", 0x0F0F_0F0F_0F0F_0F0F, 0xFFFF_0000_FFFF_0000),
        b: looks("2", 0xFFFF_0000_FFFF_0007, 0x0F0F_0F0F_0F0F_0F0F),  # a mirrored: its hash is 3 bits off a's
        c: looks("3", 0x1234_5678_9ABC_DEF0, 0x0FED_CBA9_8765_4321),  # like nothing else
        d: looks("1", 0x0F0F_0F0F_0F0F_0F0F, 0xFFFF_0000_FFFF_0000),  # a's bytes again (and so b's mirror)
        e: looks("4", 0x0F0F_0F0F_0F0F_0F0E, 0x0, colour=(200, 90, 90)),  # a's layout in another colour
    }
    flags = duplicates([a, b, c, d, e], table, {p: p.name for p in table})
    assert flags == {
        b: "duplicate of a: mirrored, perceptual hash 3 bits apart",
        d: "duplicate of a: same file",  # the first earlier match, though it mirrors b too
    }


class _Vectors:
    def __init__(self, table: dict[Path, np.ndarray]) -> None:
        self.table = table

    def of(self, paths):
        return np.stack([self.table[p] for p in paths])


def test_ceiling_is_each_reference_against_the_others():
    refs = [Path(f"r{i}.png") for i in range(3)]
    vectors = {refs[0]: np.array([1.0, 0.0]), refs[1]: np.array([0.0, 1.0]), refs[2]: np.array([1.0, 1.0])}
    subject = SubjectInput("dog", {}, refs, [Path("g.png")])
    metric = load_task("dreambench").metrics["dino"]
    rin = RuleInput(metric, subject, _Vectors(vectors), None, "")
    # cos: r0-r1 0, r0-r2 and r1-r2 1/sqrt(2); per reference the mean over the other two, then the mean.
    c = 100 / np.sqrt(2)
    expected = np.mean([(0 + c) / 2, (0 + c) / 2, (c + c) / 2])
    assert RULES.get("reference_similarity").ceiling(rin) == pytest.approx(expected)
    rin_one = RuleInput(metric, SubjectInput("dog", {}, refs[:1], []), _Vectors(vectors), None, "")
    assert RULES.get("reference_similarity").ceiling(rin_one) is None


def test_face_ceiling_leaves_out_references_without_a_face():
    refs = [Path(f"r{i}.png") for i in range(3)]
    vectors = {refs[0]: np.array([1.0, 0.0]), refs[1]: np.array([0.0, 1.0]), refs[2]: np.array([np.nan, np.nan])}
    metric = load_task("genai2024-hw10").metrics["face_distance"]
    rin = RuleInput(metric, SubjectInput("face", {}, refs, []), _Vectors(vectors), None, "")
    assert RULES.get("face_distance").ceiling(rin) == pytest.approx(np.sqrt(2))


def test_copy_line_flags_images_close_to_a_reference_with_the_tasks_own_model(ml2025, tiny_models, monkeypatch):
    import yaml

    from grader.tasks.registry import available_tasks

    raw = yaml.safe_load(available_tasks()["ml2025-hw10"].read_text())
    raw["metrics"]["dino"]["copy_line"] = -100.0  # every image is "close": the line is what is under test
    path = ml2025 / "ml2025-hw10.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    options = GradeOptions(models_dir=tiny_models)
    on_test_models = grade(load_task(str(path)), ml2025 / "submission", ml2025 / "data", options)
    assert not any(f.startswith("copy of") for i in on_test_models.images for f in i.flags)  # no line for them

    monkeypatch.setattr("grader.grading.encoding.is_test_model", lambda embeddings: False)
    monkeypatch.setattr("grader.grading.flags.is_test_model", lambda embeddings: False)
    result = grade(load_task(str(path)), ml2025 / "submission", ml2025 / "data", options)
    first = result.images[0]
    assert _flags(result)[first.file] == [
        f"copy of reference 1 (object-1.png): DINO {first.scores['dino']:.1f} >= -100"
    ]
    assert all(flags[0].startswith("copy of reference") for flags in _flags(result).values())
