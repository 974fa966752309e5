"""Layouts with one subject: training photos in the data folder and generated images in the submission.

``prompt-images`` pairs image i with prompt i (GenAI 2024 HW10); ``identity-folders`` takes every image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from grader.errors import InputError
from grader.layouts import LAYOUTS, Job, LayoutKind
from grader.problems import Problem, Severity
from grader.specs import Candidates, FileRule, OneSubjectLayout
from grader.submission.data_root import first_existing
from grader.submission.files import MANIFEST, PLAIN, ScanContext, SubjectInput, check_image, list_images
from grader.text_templates import fill_or_usage


class PromptImagesLayout(OneSubjectLayout):
    """One subject: training photos and a prompt file in the data folder; one generated image per prompt."""

    kind: Literal["prompt-images"]
    subject: str = Field(description="Name the report gives the one subject.")
    training_dir: Candidates = Field(description="Folder of training photos (captions beside them are skipped).")
    prompts: Candidates = Field(description="Prompt file (one per line).")
    image_name: str = Field(description="Generated file name, formatted with the prompt index i.")
    first_index: int = Field(default=0, description="Index of the first prompt's image.")

    @property
    def data_markers(self) -> list[str]:
        return self.prompts


class IdentityFoldersLayout(OneSubjectLayout):
    """One subject: training photos in the data folder; any number of generated images in the submission."""

    kind: Literal["identity-folders"]
    subject: str = "person"
    training_dir: Candidates = Field(default_factory=lambda: ["."], description="Folder of training photos.")


def read_training(
    data_dir: Path, training_dir: list[str], files: FileRule, subject: str, context: ScanContext = PLAIN
) -> tuple[list[Path], list[Problem]]:
    folder = first_existing(data_dir, training_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: training photo folder not found (is --data the task's data folder?)")
    photos, problems = list_images(folder, files, subject, expected_others=(".txt",), context=context)
    if not photos:
        raise InputError(f"{folder}: no readable training photos ({', '.join(files.extensions)})")
    return photos, problems


def read_prompts(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError(f"{path}: prompt file not found")
    try:
        prompts = [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read prompts: {exc}") from exc
    if not prompts:
        raise InputError(f"{path}: no prompts in the file")
    return prompts


def scan_prompt_images(
    layout: PromptImagesLayout, submission: Path, data_dir: Path, context: ScanContext = PLAIN
) -> tuple[list[SubjectInput], list[Problem]]:
    subject = layout.subject
    training, problems = read_training(data_dir, layout.training_dir, layout.files, subject, context)
    prompts = read_prompts(first_existing(data_dir, layout.prompts))
    images, image_fields = [], []
    for index, prompt in enumerate(prompts):
        path = submission / layout.image_name.format(i=index + layout.first_index)
        if not path.is_file():
            problems.append(Problem(str(path), f"missing: the image for prompt {index + 1} ({prompt!r})", subject))
            continue
        problem = check_image(path, subject, context=context)
        if problem is not None:
            problems.append(problem)
            if problem.severity == "error":
                continue
        images.append(path)
        image_fields.append({"prompt": prompt})
    expected = {layout.image_name.format(i=i + layout.first_index) for i in range(len(prompts))}
    problems += [
        Problem(str(p), "not one of the task's image names; ignored", subject, Severity.WARNING)
        for p in sorted(submission.iterdir())
        if p.is_file() and p.name not in expected and not p.name.startswith(".") and p.name != MANIFEST
    ]
    fields = {"subject": subject}
    return [SubjectInput(subject, fields, training, images, len(prompts), image_fields, problems)], []


def scan_identity_folders(
    layout: IdentityFoldersLayout, submission: Path, data_dir: Path, context: ScanContext = PLAIN
) -> tuple[list[SubjectInput], list[Problem]]:
    subject = layout.subject
    training, problems = read_training(data_dir, layout.training_dir, layout.files, subject, context)
    images, image_problems = list_images(submission, layout.files, subject, context=context)
    problems += image_problems
    if not images:
        problems.append(Problem(str(submission), "no readable generated images", subject))
    return [SubjectInput(subject, {"subject": subject}, training, images, None, [], problems)], []


def plan_prompt_images(layout: PromptImagesLayout, data: Path, template: str | None, token: str | None):
    training, _ = list_images(
        first_existing(data, layout.training_dir), layout.files, layout.subject, expected_others=(".txt",)
    )
    prompts = read_prompts(first_existing(data, layout.prompts))
    return [
        Job(
            layout.subject,
            fill_or_usage(template or "{prompt}", {"prompt": p}, "--prompt-template"),
            Path(layout.image_name.format(i=i + layout.first_index)),
            training,
        )
        for i, p in enumerate(prompts)
    ]


LAYOUTS.register(LayoutKind("prompt-images", PromptImagesLayout, scan_prompt_images, plan_prompt_images))
LAYOUTS.register(LayoutKind("identity-folders", IdentityFoldersLayout, scan_identity_folders))
