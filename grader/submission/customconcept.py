"""The ``concept-samples`` layout: CustomConcept101 as adobe-research/custom-diffusion ships it, and as its
``customconcept101/evaluate.py`` reads a run.

Data (``customconcept101/``): ``dataset.json``, a list of concepts with their ``instance_data_dir`` (the reference
photos, ``./benchmark_dataset/<concept>``), ``class_prompt`` and ``prompt_filename`` (``prompts/<x>.txt``, 20
prompts with ``{}`` for the concept). Submission: one folder per concept, named like its ``instance_data_dir``, each
holding what evaluate.py's ``--sample_root`` holds: ``samples/`` with the generated images and ``prompts.json``
mapping each image's stem to the prompt it is scored against.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import Field

from grader.errors import InputError
from grader.layouts import LAYOUTS, LayoutKind
from grader.problems import Problem, Severity
from grader.specs import LayoutBase
from grader.submission.files import (
    PLAIN,
    ScanContext,
    SubjectInput,
    confined,
    count_problem,
    list_images,
    plain_name,
    read_json,
    read_json_object,
    reference_folder,
)


class ConceptSamplesLayout(LayoutBase):
    """``DATA/dataset.json`` and each concept's reference folder; ``SUBMISSION/<concept>/samples/`` and
    ``SUBMISSION/<concept>/prompts.json`` (CustomConcept101)."""

    kind: Literal["concept-samples"]
    dataset: str = Field(default="dataset.json", description="The concept list in the data folder.")
    samples: str = Field(default="samples", description="Each concept's image folder (evaluate.py's sample_root).")
    prompts: str = Field(default="prompts.json", description="Each concept's {image stem: prompt} file.")
    images_per_concept: int | None = Field(
        default=None, gt=0, description="evaluate.py's --numgen, when the run fixes one (None: any count)."
    )

    @property
    def data_markers(self) -> list[str]:
        return [self.dataset]


def read_concepts(layout: ConceptSamplesLayout, data_dir: Path) -> tuple[list[dict], Path]:
    """The concepts of ``dataset.json``, each a mapping with at least ``instance_data_dir``."""
    path = data_dir / layout.dataset
    concepts = read_json(path, "concept list")
    if not isinstance(concepts, list) or not all(
        isinstance(c, dict) and isinstance(c.get("instance_data_dir"), str) for c in concepts
    ):
        raise InputError(f"{path}: expected a list of concepts, each with its instance_data_dir")
    return concepts, path


def _reference_dir(data_dir: Path, concept: dict, source: Path) -> Path:
    """The concept's reference folder, ``./benchmark_dataset/<concept>``, read inside the data folder only."""
    parts = PurePosixPath(concept["instance_data_dir"].replace("\\", "/")).parts
    parts = tuple(p for p in parts if p != ".")
    folder = data_dir
    for part in parts:
        folder = confined(folder, part, source, "instance_data_dir part")
    return folder


def _texts(path: Path, images: list[Path], subject: str) -> tuple[list[Path], list[dict[str, str]], list[Problem]]:
    """Each image's prompt from the concept's prompts.json (evaluate.py looks each image's stem up in it)."""
    try:
        prompts = read_json_object(path, "prompt file", "image stems to prompts")
    except InputError as exc:
        return [], [], [Problem(str(path), str(exc).removeprefix(f"{path}: "), subject)]
    kept, fields, problems = [], [], []
    for image in images:
        prompt = prompts.get(image.stem)
        if not isinstance(prompt, str):
            problems.append(Problem(str(image), f"no prompt for {image.stem!r} in {path.name}; left out", subject))
            continue
        kept.append(image)
        fields.append({"prompt": prompt})
    return kept, fields, problems


def scan_concept_samples(
    layout: ConceptSamplesLayout, submission: Path, data_dir: Path, context: ScanContext = PLAIN
) -> tuple[list[SubjectInput], list[Problem]]:
    """The concepts of dataset.json that the submission has a folder for (a run of a part of the benchmark is
    said so in a note)."""
    concepts, source = read_concepts(layout, data_dir)
    subjects, notes = [], []
    for concept in concepts:
        name = PurePosixPath(concept["instance_data_dir"].replace("\\", "/")).name
        if not plain_name(name) or not (submission / name).is_dir():
            continue
        references, problems = reference_folder(_reference_dir(data_dir, concept, source), layout.files, name, context)
        folder = submission / name / layout.samples
        if folder.is_dir():
            found, found_problems = list_images(folder, layout.files, name, context=context)
        else:
            found, found_problems = [], [Problem(str(folder), "folder missing", name)]
        images, fields, text_problems = _texts(submission / name / layout.prompts, found, name)
        expected = layout.images_per_concept
        if expected is not None:
            problems += count_problem(folder, len(images), expected, name)
        class_word = str(concept.get("class_prompt", ""))
        subjects.append(
            SubjectInput(
                name,
                {"concept": name, "class": class_word},
                references,
                images,
                expected,
                fields,
                problems + found_problems + text_problems,
            )
        )
    notes.append(
        Problem(
            str(source), f"{len(subjects)} of the {len(concepts)} concepts of {source.name} graded", None, Severity.NOTE
        )
    )
    return subjects, notes


LAYOUTS.register(LayoutKind("concept-samples", ConceptSamplesLayout, scan_concept_samples))
