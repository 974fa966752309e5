"""A task's generation jobs: which prompt goes to which file, with the subject's reference images."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import UsageError
from grader.submission.data_root import find_data_root, first_existing
from grader.submission.dlcv import concept_references
from grader.submission.dreambench import read_dreambench
from grader.submission.files import list_images, read_json_object
from grader.submission.single_subject import read_prompts
from grader.submission.subject_folders import find_reference
from grader.tasks.schema import Task

# ml2025-hw10 publishes no generation prompt; this is the usual one, and --prompt-template changes it.
DEFAULT_SUBJECT_TEMPLATE = "a photo of a {name} {text_cond}"


@dataclass
class Job:
    subject: str
    prompt: str
    path: Path  # relative to the output folder
    references: list[Path] = field(default_factory=list)


def _subject_folders(task: Task, data: Path, template: str | None, token: str | None) -> list[Job]:
    layout = task.layout
    metadata = read_json_object(data / layout.metadata, "metadata file", "subjects to their fields")
    jobs = []
    for subject in layout.subjects:
        fields = metadata.get(subject)
        if not isinstance(fields, dict):
            raise UsageError(f"{data / layout.metadata}: no entry for {subject}")
        prompt = (template or DEFAULT_SUBJECT_TEMPLATE).format(**fields)
        ref = fields[layout.reference_field]
        reference = find_reference(data / layout.metadata, ref) or data / ref
        jobs += [
            Job(subject, prompt, Path(subject) / f"{i}.jpg", [reference]) for i in range(layout.images_per_subject)
        ]
    return jobs


def _prompt_images(task: Task, data: Path, template: str | None, token: str | None) -> list[Job]:
    layout = task.layout
    training_dir = first_existing(data, layout.training_dir)
    training, _ = list_images(training_dir, layout.extensions, layout.subject, expected_others=(".txt",))
    prompts = read_prompts(first_existing(data, layout.prompts))
    return [
        Job(
            layout.subject,
            (template or "{prompt}").format(prompt=p),
            Path(layout.image_name.format(i=i + layout.first_index)),
            training,
        )
        for i, p in enumerate(prompts)
    ]


def _prompt_folders(task: Task, data: Path, template: str | None, token: str | None) -> list[Job]:
    layout = task.layout
    spec = read_json_object(data / layout.input, "input file", "concept keys to their settings")
    jobs = []
    for key, concept in spec.items():
        folder, _ = concept_references(layout, data, key, concept)
        refs, _ = list_images(folder, layout.extensions, key) if folder.is_dir() else ([], [])
        for index, prompt in enumerate(concept["prompt"]):
            text = (template or "{prompt}").format(prompt=prompt, token_name=concept["token_name"])
            jobs += [
                Job(f"{key}/{index}", text, Path(key) / str(index) / f"{i}.png", refs)
                for i in range(layout.images_per_prompt)
            ]
    return jobs


def _dreambench(task: Task, data: Path, template: str | None, token: str | None) -> list[Job]:
    layout = task.layout
    subjects, _ = read_dreambench(layout, data, token)
    jobs = []
    for subject in subjects:
        folder = data / subject.name
        refs, _ = list_images(folder, layout.extensions, subject.name) if folder.is_dir() else ([], [])
        for index, prompt in enumerate(subject.prompts):
            text = (template or "{prompt}").format(prompt=prompt, subject=subject.name, **{"class": subject.class_word})
            jobs += [
                Job(subject.name, text, Path(subject.name) / str(index) / f"{k}.png", refs)
                for k in range(layout.images_per_prompt)
            ]
    return jobs


_PLANNERS = {
    "subject-folders": _subject_folders,
    "prompt-images": _prompt_images,
    "prompt-folders": _prompt_folders,
    "dreambench": _dreambench,
}


def plan(task: Task, data: Path, template: str | None = None, token: str | None = None) -> list[Job]:
    """Every image the task's grader expects, with its prompt. ``token`` is DreamBench's unique token."""
    if task.layout.kind not in _PLANNERS:
        raise UsageError(
            f"task {task.name} does not grade prompted generations; generate for one of: "
            + ", ".join(sorted(k for k in _PLANNERS))
        )
    root, _ = find_data_root(data, task.layout.data_markers)
    return _PLANNERS[task.layout.kind](task, root, template, token)
