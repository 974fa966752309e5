"""Layouts of the DLCV 2024 HW2 tasks: subjects named by the data, not by the task file."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field

from grader.errors import InputError
from grader.layouts import LAYOUTS, Job, LayoutKind
from grader.problems import Problem, Severity
from grader.specs import Candidates, LayoutBase, OneSubjectLayout
from grader.submission.data_root import first_existing
from grader.submission.files import (
    PLAIN,
    ScanContext,
    SubjectInput,
    image_folder,
    list_images,
    listing_places,
    plain_name,
    read_json_object,
    reference_folder,
)
from grader.text_templates import fill_or_usage


class PromptFoldersLayout(LayoutBase):
    """Textual inversion (DLCV 2024 HW2 P3): ``input.json`` with each concept's source-image folder, prompts,
    CLIP-eval prompts and baselines; generated images in ``SUBMISSION/<key>/<prompt index>/``."""

    kind: Literal["prompt-folders"]
    input: str = Field(default="input.json", description="The course's input.json, relative to the data folder.")
    baseline_metrics: tuple[str, str] = Field(
        default=("image", "text"),
        description="The metrics that each [image, text] pair of input.json's baseline lists is a line for.",
    )
    references_dir: str = Field(
        default=".",
        description="Folder holding each concept's reference folder: <key>/ as the course's grader reads it, "
        "or <src_image>/ when no <key>/ folder exists.",
    )
    images_per_prompt: int = Field(default=25, gt=0, description="The course's grader requires exactly this many.")

    @property
    def data_markers(self) -> list[str]:
        return [self.input]


class LabelledImagesLayout(LayoutBase):
    """Images whose label is in the file name: ``SUBMISSION/<subject>/*.png`` (or the submission folder itself
    as one subject), label = the first character, or the part before the first underscore."""

    kind: Literal["labelled-images"]
    subjects: list[str] = Field(default_factory=list, description="Sub-folders graded as subjects; [] = one folder.")

    @property
    def named_subjects(self) -> list[str]:
        return self.subjects or [self.subject]

    subject: str = Field(default="images", description="The subject's name when subjects is empty.")
    label_from: Literal["first-char", "prefix"] = "prefix"
    labels: str | None = Field(default=None, description="JSON mapping label ids to names, in the data folder.")

    @property
    def data_markers(self) -> list[str]:
        return [self.labels] if self.labels else []


class PairedFoldersLayout(OneSubjectLayout):
    """Generated images paired by file name with reference images (e.g. DDIM outputs vs ground truth)."""

    kind: Literal["paired-folders"]
    subject: str = "images"
    reference_dir: Candidates = Field(default_factory=lambda: ["."], description="Ground-truth folder.")

    @property
    def data_markers(self) -> list[str]:
        return [c for c in self.reference_dir if c != "."]


def concept_references(layout: PromptFoldersLayout, data_dir: Path, key: str, concept: dict) -> tuple[Path, str]:
    """The folder of a concept's reference photos: ``<key>/`` as the course's grader reads it (its
    ``--input_dir`` holds ``0/`` and ``1/``), or ``<src_image>/`` when no ``<key>/`` folder exists."""
    base = data_dir / layout.references_dir
    source = concept.get("src_image")
    by_key, by_source = base / key, base / str(source)
    if by_key.is_dir() or not plain_name(source) or not by_source.is_dir():
        return by_key, f"concept {key}: reference photos from {by_key}"
    return by_source, f"concept {key}: reference photos from {by_source} (src_image; there is no {by_key} folder)"


def scan_prompt_folders(
    layout: PromptFoldersLayout, submission: Path, data_dir: Path, context: ScanContext = PLAIN
) -> tuple[list[SubjectInput], list[Problem]]:
    """One subject per (concept, prompt): ``<key>/<prompt index>``, with that prompt's baseline as its lines."""
    input_path = data_dir / layout.input
    spec = read_json_object(input_path, "input file", "concept keys to their settings")
    subjects, notes = [], []
    for key, concept in spec.items():
        if not plain_name(key):  # it names folders in the data and the submission: never one outside them
            message = f"concept key {key!r} is not a plain folder name (it would lead out of its folder); not graded"
            notes.append(Problem(str(input_path), message, None))
            continue
        if not isinstance(concept, dict):
            notes.append(Problem(str(input_path), f"concept {key!r} is not an object of settings; not graded", None))
            continue
        needed = ("src_image", "token_name", "prompt", "prompt_4_clip_eval", "baseline")
        missing = [f for f in needed if f not in concept]
        if missing:
            raise InputError(f"{input_path}: concept {key!r} lacks {', '.join(missing)}")
        if not isinstance(concept["prompt"], list):
            raise InputError(f"{input_path}: concept {key!r}: prompt must be a list of prompts")
        folder, where = concept_references(layout, data_dir, key, concept)
        refs, ref_problems = reference_folder(folder, layout.files, key, context)
        notes.append(Problem(str(folder), where, None, Severity.NOTE))
        for index, prompt in enumerate(concept["prompt"]):
            name = f"{key}/{index}"
            images, problems = image_folder(
                submission / key / str(index), layout.files, name, layout.images_per_prompt, context
            )
            try:
                eval_text = concept["prompt_4_clip_eval"][index]
                lines = [float(v) for v in concept["baseline"][index]]
                image_line, text_line = lines
            except (IndexError, ValueError, TypeError, KeyError) as exc:
                raise InputError(f"{input_path}: concept {key!r} prompt {index}: no eval prompt or baseline") from exc
            if not all(math.isfinite(v) for v in lines):
                raise InputError(f"{input_path}: concept {key!r} prompt {index}: a baseline is not a finite number")
            fields = {"prompt": prompt, "prompt_4_clip_eval": eval_text, "token_name": concept["token_name"]}
            subjects.append(
                SubjectInput(
                    name,
                    fields,
                    refs,
                    images,
                    layout.images_per_prompt,
                    [],
                    list(ref_problems) + problems,
                    dict(zip(layout.baseline_metrics, (image_line, text_line), strict=True)),
                    listing=listing_places(images),
                )
            )
    return subjects, notes


def _label(path: Path, rule: str) -> str:
    return path.stem[:1] if rule == "first-char" else path.stem.split("_", 1)[0]


def _one_folder(layout: LabelledImagesLayout, submission: Path) -> Path:
    """The folder of a one-folder layout: the submission itself, or its sub-folder named after the subject
    (``clip_zeroshot/`` holds ``val/``) when the submission has no images of its own."""
    inner = submission / layout.subject
    has_images = any(layout.files.takes(p.name) for p in submission.iterdir() if p.is_file())
    return inner if inner.is_dir() and not has_images else submission


def scan_labelled_images(
    layout: LabelledImagesLayout, submission: Path, data_dir: Path, context: ScanContext = PLAIN
) -> tuple[list[SubjectInput], list[Problem]]:
    names: dict[str, str] = {}
    if layout.labels:
        path = data_dir / layout.labels
        raw = read_json_object(path, "label file", "label ids to names")
        if not raw:
            raise InputError(f"{path}: names no label; zero-shot classification needs at least one")
        odd = next((k for k, v in raw.items() if not isinstance(v, (str, int, float)) or isinstance(v, bool)), None)
        if odd is not None:
            raise InputError(f"{path}: label {odd!r} is {type(raw[odd]).__name__}, not a name")
        names = {str(k): str(v) for k, v in raw.items()}
    folders = [(s, submission / s) for s in layout.subjects] or [(layout.subject, _one_folder(layout, submission))]
    subjects = []
    for name, folder in folders:
        if not folder.is_dir():
            subjects.append(SubjectInput(name, {}, [], [], None, [], [Problem(str(folder), "folder missing", name)]))
            continue
        images, problems = list_images(folder, layout.files, name, context=context)
        labels = [_label(p, layout.label_from) for p in images]
        if names:
            unknown = [p for p, label in zip(images, labels, strict=True) if label not in names]
            problems += [
                Problem(str(p), f"label {_label(p, layout.label_from)!r} not in the label file; ignored", name)
                for p in unknown
            ]
            keep = [i for i, p in enumerate(images) if p not in unknown]
            images, labels = [images[i] for i in keep], [labels[i] for i in keep]
        if not images:
            problems.append(Problem(str(folder), "no readable images", name))
        subjects.append(SubjectInput(name, {}, [], images, None, [], problems, {}, labels, names))
    return subjects, []


def scan_paired_folders(
    layout: PairedFoldersLayout, submission: Path, data_dir: Path, context: ScanContext = PLAIN
) -> tuple[list[SubjectInput], list[Problem]]:
    reference_dir = first_existing(data_dir, layout.reference_dir)
    if not reference_dir.is_dir():
        raise InputError(f"{reference_dir}: reference folder not found")
    references, problems = list_images(reference_dir, layout.files, layout.subject, context=context)
    generated, gen_problems = list_images(submission, layout.files, layout.subject, context=context)
    problems += gen_problems
    by_stem = {p.stem: p for p in generated}
    images, pairs = [], []
    for ref in references:
        if ref.stem in by_stem:
            images.append(by_stem[ref.stem])
            pairs.append(ref)
        else:
            problems.append(
                Problem(str(submission / ref.name), f"missing: no generated image for {ref.name}", layout.subject)
            )
    extra = sorted(set(by_stem) - {r.stem for r in references})
    problems += [
        Problem(str(by_stem[s]), "no reference image of that name; ignored", layout.subject, Severity.WARNING)
        for s in extra
    ]
    subject = SubjectInput(layout.subject, {}, [], images, len(references), [], problems, pairs=pairs)
    return [subject], []


def plan_prompt_folders(layout: PromptFoldersLayout, data: Path, template: str | None, token: str | None):
    spec = read_json_object(data / layout.input, "input file", "concept keys to their settings")
    jobs = []
    for key, concept in spec.items():
        if not plain_name(key) or not isinstance(concept, dict):
            raise InputError(f"{data / layout.input}: concept {key!r}: not a plain folder name with its settings")
        folder, _ = concept_references(layout, data, key, concept)
        refs, _ = reference_folder(folder, layout.files, key)
        for index, prompt in enumerate(concept["prompt"]):
            fields = {"prompt": prompt, "token_name": concept["token_name"]}
            text = fill_or_usage(template or "{prompt}", fields, "--prompt-template")
            jobs += [
                Job(f"{key}/{index}", text, Path(key) / str(index) / f"{i}.png", refs)
                for i in range(layout.images_per_prompt)
            ]
    return jobs


LAYOUTS.register(LayoutKind("prompt-folders", PromptFoldersLayout, scan_prompt_folders, plan_prompt_folders))
LAYOUTS.register(LayoutKind("labelled-images", LabelledImagesLayout, scan_labelled_images))
LAYOUTS.register(LayoutKind("paired-folders", PairedFoldersLayout, scan_paired_folders))
