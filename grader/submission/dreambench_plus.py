"""The ``source-target-pairs`` layout: DreamBench++ (yuangpeng/dreambench_plus) as its ``eval_clip_and_dino.py``
reads a run.

A run folder (the submission) holds ``src_image/``, ``tgt_image/`` and ``text/`` with one file per generated image
under the same relative path: ``tgt_image/<collection>/<k>.png`` was made from ``src_image/<collection>/<k>.*``
for the prompt in ``text/<collection>/<k>.txt``. Each image is scored against its own source photo (not every
reference) and its own prompt. A collection id is ``<category>_<index>_<subject>``, the category one of
``live_subject_animal``, ``live_subject_human``, ``object`` or ``style``. The data folder is the benchmark's
``data/`` (``images/<category>/<index>.jpg`` and ``captions/``): it tells how much of the benchmark was run.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import Field

from grader.layouts import LAYOUTS, LayoutKind
from grader.problems import Problem, Severity
from grader.specs import LayoutBase
from grader.submission.files import PLAIN, ScanContext, SubjectInput, check_image, natural_key

CATEGORIES = {
    "live_subject_animal": "animal",
    "live_subject_human": "human",
    "object": "object",
    "style": "style",
}


class SourceTargetPairsLayout(LayoutBase):
    """``SUBMISSION/{src_image,tgt_image,text}/<collection>/<k>.*``; ``DATA/images/<category>/<index>.jpg``."""

    kind: Literal["source-target-pairs"]
    sources: str = Field(default="src_image", description="The run's folder of source photos.")
    targets: str = Field(default="tgt_image", description="The run's folder of generated images.")
    texts: str = Field(default="text", description="The run's folder of prompts, one .txt per image.")
    benchmark_images: str = Field(default="images", description="The benchmark's photos in the data folder.")

    @property
    def data_markers(self) -> list[str]:
        return [self.benchmark_images, "captions"]


def category(collection: str) -> str:
    """animal, human, object or style, from a collection id (``live_subject_animal_00_dog`` -> animal)."""
    return next((name for prefix, name in CATEGORIES.items() if collection.startswith(prefix + "_")), "other")


def _files(folder: Path, layout: SourceTargetPairsLayout) -> list[Path]:
    """Every image under ``folder``, at any depth, as the script's ``**/*.<ext>`` globs find them."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.rglob("*") if p.is_file() and layout.files.takes(p.name)), key=natural_key)


def _key(path: Path, root: Path) -> PurePosixPath:
    return PurePosixPath(path.relative_to(root).as_posix()).with_suffix("")


def scan_source_target_pairs(
    layout: SourceTargetPairsLayout, submission: Path, data_dir: Path, context: ScanContext = PLAIN
) -> tuple[list[SubjectInput], list[Problem]]:
    sources_root, targets_root = submission / layout.sources, submission / layout.targets
    texts_root = submission / layout.texts
    notes: list[Problem] = []
    if not targets_root.is_dir():
        return [], [Problem(str(targets_root), "folder missing: a DreamBench++ run holds tgt_image/", None)]
    sources = {_key(p, sources_root): p for p in _files(sources_root, layout)}
    grouped: dict[str, SubjectInput] = {}
    for target in _files(targets_root, layout):
        key = _key(target, targets_root)
        collection = key.parts[0] if len(key.parts) > 1 else "(top level)"
        subject = grouped.setdefault(
            collection,
            SubjectInput(collection, {"collection": collection, "category": category(collection)}, [], [], None),
        )
        problem = check_image(target, collection, context=context)
        source, text_file = sources.get(key), texts_root / f"{key}.txt"
        if problem is not None and problem.severity != Severity.WARNING:
            subject.problems.append(problem)
            continue
        if source is None:
            subject.problems.append(
                Problem(str(target), f"no source photo {layout.sources}/{key}.*; left out", collection)
            )
            continue
        try:
            prompt = text_file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            subject.problems.append(
                Problem(str(text_file), f"prompt cannot be read ({exc}); image left out", collection)
            )
            continue
        source_problem = check_image(source, collection, context=context)
        if source_problem is not None and source_problem.severity != Severity.WARNING:
            subject.problems.append(source_problem)
            continue
        subject.images.append(target)
        subject.pairs.append(source)
        subject.references.append(source)
        subject.image_fields.append({"prompt": prompt})
    total = len(list((data_dir / layout.benchmark_images).rglob("*.jpg"))) if data_dir.is_dir() else 0
    if total:
        notes.append(
            Problem(
                str(data_dir), f"{len(grouped)} of the {total} collections of the benchmark graded", None, Severity.NOTE
            )
        )
    subjects = [grouped[c] for c in sorted(grouped)]
    for subject in subjects:
        subject.references = list(dict.fromkeys(subject.references))
        subject.expected_images = len(subject.images) + sum(p.severity == Severity.ERROR for p in subject.problems)
    return subjects, notes


LAYOUTS.register(LayoutKind("source-target-pairs", SourceTargetPairsLayout, scan_source_target_pairs))
