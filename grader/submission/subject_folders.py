"""The ``subject-folders`` layout: ``metadata.json`` in the data folder, ``SUBMISSION/<subject>/*.jpg``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from grader.errors import UsageError
from grader.layouts import LAYOUTS, Job, LayoutKind
from grader.problems import Problem, Severity
from grader.specs import LayoutBase
from grader.submission.files import (
    PLAIN,
    ScanContext,
    SubjectInput,
    check_image,
    count_problem,
    list_images,
    read_json_object,
)
from grader.text_templates import fill_or_usage


class SubjectFoldersLayout(LayoutBase):
    """``metadata.json`` in the data folder; ``SUBMISSION/<subject>/*.jpg`` (ML2025 HW10)."""

    kind: Literal["subject-folders"]
    metadata: str = Field(description="File in the data folder mapping each subject to its fields.")
    reference_field: str = Field(description="Metadata field holding the reference image path.")
    required_fields: list[str] = Field(default_factory=list)
    subjects: list[str] = Field(min_length=1)
    images_per_subject: int = Field(gt=0)
    image_size: tuple[int, int] | None = Field(default=None, description="Expected (width, height); warns otherwise.")

    @property
    def named_subjects(self) -> list[str]:
        return self.subjects

    @property
    def data_markers(self) -> list[str]:
        return [self.metadata]


def read_metadata(data_dir: Path, layout: SubjectFoldersLayout) -> dict:
    return read_json_object(data_dir / layout.metadata, "metadata file", "subjects to their fields")


def find_subject_root(submission: Path, subjects: list[str]) -> Path:
    """The folder holding the subject folders; the course zips them inside ``results/``."""
    if any((submission / s).is_dir() for s in subjects):
        return submission
    for child in sorted(p for p in submission.iterdir() if p.is_dir()):
        if any((child / s).is_dir() for s in subjects):
            return child
    return submission


def _subject_fields(entry: object, layout: SubjectFoldersLayout, meta_path: Path, subject: str) -> tuple[dict, list]:
    if not isinstance(entry, dict):
        return {}, [Problem(str(meta_path), f"no entry for {subject}", subject)]
    missing = [f for f in layout.required_fields if not isinstance(entry.get(f), str) or not entry.get(f)]
    problems = [Problem(str(meta_path), f"{subject}: missing field {f!r}", subject) for f in missing]
    return {k: v for k, v in entry.items() if isinstance(v, str)}, problems


def find_reference(meta_path: Path, ref: str) -> Path | None:
    """A metadata ``path`` is read beside the metadata file, or beside its folder (paths such as
    ``data/object-1.jpg`` written from the folder above), and only where it stays inside the metadata's folder."""
    folder = meta_path.parent.resolve()
    candidates = [meta_path.parent / ref, meta_path.parent.parent / ref]
    inside = (c for c in candidates if c.resolve() == folder or folder in c.resolve().parents)
    return next((c for c in inside if c.is_file()), None)


def _references(
    fields: dict, layout: SubjectFoldersLayout, meta_path: Path, subject: str, context: ScanContext
) -> tuple[list, list]:
    ref = fields.get(layout.reference_field)
    if not ref:
        return [], []  # already reported as a missing field
    path = find_reference(meta_path, ref)
    if path is None:
        message = f"{subject}: reference image {ref!r} not found in its folder (a path may not lead out of it)"
        return [], [Problem(str(meta_path), message, subject)]
    problem = check_image(path, subject, context=context)
    return ([], [problem]) if problem else ([path], [])


def scan_subject_folders(
    layout: SubjectFoldersLayout, submission: Path, data_dir: Path, context: ScanContext = PLAIN
) -> tuple[list[SubjectInput], list[Problem]]:
    """Every subject the task expects, with what could be read and what could not."""
    metadata = read_metadata(data_dir, layout)
    meta_path = data_dir / layout.metadata
    root = find_subject_root(submission, layout.subjects)
    subjects = []
    for subject in layout.subjects:
        fields, problems = _subject_fields(metadata.get(subject), layout, meta_path, subject)
        references, ref_problems = _references(fields, layout, meta_path, subject, context)
        folder = root / subject
        if folder.is_dir():
            images, image_problems = list_images(folder, layout.files, subject, layout.image_size, context=context)
            image_problems += count_problem(folder, len(images), layout.images_per_subject, subject)
        else:
            images, image_problems = [], [Problem(str(folder), "subject folder missing", subject)]
        problems += ref_problems + image_problems
        subjects.append(SubjectInput(subject, fields, references, images, layout.images_per_subject, [], problems))
    extra = [
        Problem(str(p), "folder is not a subject of this task; ignored", None, Severity.WARNING)
        for p in sorted(root.iterdir())
        if p.is_dir() and p.name not in layout.subjects and not p.name.startswith(".")
    ]
    return subjects, extra


# ml2025-hw10 publishes no generation prompt; this is the usual one, and --prompt-template changes it.
DEFAULT_SUBJECT_TEMPLATE = "a photo of a {name} {text_cond}"


def plan_subject_folders(layout: SubjectFoldersLayout, data: Path, template: str | None, token: str | None):
    metadata = read_metadata(data, layout)
    jobs = []
    for subject in layout.subjects:
        fields = metadata.get(subject)
        if not isinstance(fields, dict):
            raise UsageError(f"{data / layout.metadata}: no entry for {subject}")
        prompt = fill_or_usage(template or DEFAULT_SUBJECT_TEMPLATE, fields, "--prompt-template")
        ref = fields[layout.reference_field]
        reference = find_reference(data / layout.metadata, ref) or data / ref
        jobs += [
            Job(subject, prompt, Path(subject) / f"{i}.jpg", [reference], str(fields.get("name", "")))
            for i in range(layout.images_per_subject)
        ]
    return jobs


LAYOUTS.register(LayoutKind("subject-folders", SubjectFoldersLayout, scan_subject_folders, plan_subject_folders))
