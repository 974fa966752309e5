"""DreamBench as the DreamBooth authors publish it: ``dataset/<subject>/NN.jpg`` and ``prompts_and_classes.txt``.

That file holds a ``subject_name,class`` table, then an object prompt list and a live-subject prompt list, each
prompt written as Python source: ``'a {0} {1} in the jungle'.format(unique_token, class_token)``. Live subjects
(the cats and dogs) take the live list. A ``prompts.json`` (subject -> prompts) stands in for a custom set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from grader.errors import InputError
from grader.layouts import LAYOUTS, Job, LayoutKind
from grader.problems import Problem, Severity
from grader.specs import LayoutBase
from grader.submission.files import (
    PLAIN,
    ScanContext,
    SubjectInput,
    confined,
    image_folder,
    plain_name,
    read_json_object,
    reference_folder,
)
from grader.text_templates import TemplateError, fill_or_usage, template_fields


class DreamBenchLayout(LayoutBase):
    """DreamBench as published: ``DATA/<subject>/NN.jpg`` reference photos and ``DATA/prompts_and_classes.txt``
    (the subject/class table and the object and live-subject prompt lists); generated images in
    ``SUBMISSION/<subject>/<prompt index>/``. A ``prompts.json`` (subject -> prompt list) in the data folder
    replaces the published table for a custom subject set."""

    kind: Literal["dreambench"]
    classes: str = Field(default="prompts_and_classes.txt", description="The published subject/class/prompt file.")
    prompts: str = Field(default="prompts.json", description="Custom subject set: subject -> list of prompts.")
    unique_token: str = Field(default="sks", description="The rare token the prompts put before the class word.")
    live_classes: list[str] = Field(
        default_factory=lambda: ["cat", "dog"], description="Classes whose subjects take the live-subject prompts."
    )
    images_per_prompt: int = Field(default=4, gt=0)

    @property
    def data_markers(self) -> list[str]:
        return [self.prompts, self.classes]


_PROMPT = re.compile(r"""(['"])(.*?)\1\s*\.format\(""")


@dataclass
class BenchSubject:
    name: str
    class_word: str | None
    prompts: list[str]  # as generated, with the unique token
    clip_texts: list[str]  # the same prompts without the unique token


def without_token(prompt: str, token: str) -> str:
    """The prompt with the unique token removed as a word, spaces closed up."""
    return " ".join(w for w in prompt.split() if w != token)


def _prompt_list(lines: list[str], header: str, path: Path) -> list[str]:
    """The templates of the ``prompt_list = [...]`` that follows the line ``header``."""
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().lower() == header.lower())
    except StopIteration:
        raise InputError(f"{path}: no '{header}' section") from None
    templates = []
    for line in lines[start + 1 :]:
        if line.strip() == "]":
            break
        match = _PROMPT.search(line)
        if match:
            templates.append(match.group(2))
    if not templates:
        raise InputError(f"{path}: the '{header}' section lists no prompts")
    for template in templates:  # each is .format(unique_token, class_token): {0} and {1} only
        try:
            fields = template_fields(template, positional=True)
        except TemplateError as exc:
            raise InputError(f"{path}: {header}: {exc}") from None
        if any(int(f) > 1 for f in fields):
            raise InputError(f"{path}: {header}: prompt {template!r} uses a field past {{1}} (the class token)")
    return templates


def _class_table(lines: list[str], path: Path) -> dict[str, str]:
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().replace(" ", "") == "subject_name,class")
    except StopIteration:
        raise InputError(f"{path}: no 'subject_name,class' table") from None
    table = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        subject, sep, class_word = line.strip().partition(",")
        if not sep:
            raise InputError(f"{path}: table row {line.strip()!r} is not subject_name,class")
        table[subject.strip()] = class_word.strip()
    return table


def parse_prompts_and_classes(path: Path, layout: DreamBenchLayout, token: str | None = None) -> list[BenchSubject]:
    """Every subject of the published file with its 25 prompts, the unique token filled in."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    token = token or layout.unique_token
    table = _class_table(lines, path)
    object_prompts = _prompt_list(lines, "Object Prompts", path)
    live_prompts = _prompt_list(lines, "Live Subject Prompts", path)
    subjects = []
    for name, class_word in table.items():
        templates = live_prompts if class_word in layout.live_classes else object_prompts
        prompts = [" ".join(t.format(token, class_word).split()) for t in templates]
        clip_texts = [" ".join(t.format("", class_word).split()) for t in templates]
        subjects.append(BenchSubject(name, class_word, prompts, clip_texts))
    return subjects


def read_dreambench(
    layout: DreamBenchLayout, data_dir: Path, token: str | None = None
) -> tuple[list[BenchSubject], Path]:
    """The subjects and prompts, from ``prompts.json`` when the data folder has one, else the published file."""
    custom = data_dir / layout.prompts
    if custom.is_file():
        raw = read_json_object(custom, "prompt file", "subjects to prompt lists")
        token = token or layout.unique_token
        subjects = []
        for name, prompts in raw.items():
            if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
                raise InputError(f"{custom}: {name!r} must map to a list of prompts")
            subjects.append(BenchSubject(name, None, prompts, [without_token(p, token) for p in prompts]))
        return subjects, custom
    published = data_dir / layout.classes
    if not published.is_file():
        raise InputError(
            f"{data_dir}: neither {layout.classes} (the published DreamBench file) nor {layout.prompts} found "
            "(is --data the dataset folder?)"
        )
    return parse_prompts_and_classes(published, layout, token), published


def scan_dreambench(
    layout: DreamBenchLayout, submission: Path, data_dir: Path, context: ScanContext = PLAIN
) -> tuple[list[SubjectInput], list[Problem]]:
    subjects_spec, source = read_dreambench(layout, data_dir)
    subjects, unsafe = [], []
    for spec in subjects_spec:
        if not plain_name(spec.name):  # it names folders in the data and the submission: never one outside them
            message = f"subject {spec.name!r} is not a plain folder name (it would lead out of its folder); not graded"
            unsafe.append(Problem(str(source), message, None))
            continue
        refs, problems = reference_folder(data_dir / spec.name, layout.files, spec.name, context)
        images, image_fields = [], []
        for index, (prompt, clip_text) in enumerate(zip(spec.prompts, spec.clip_texts, strict=True)):
            found, found_problems = image_folder(
                submission / spec.name / str(index), layout.files, spec.name, layout.images_per_prompt, context
            )
            problems += found_problems
            images += found
            image_fields += [{"prompt": prompt, "prompt_without_token": clip_text}] * len(found)
        fields = {"subject": spec.name, "class": spec.class_word or ""}
        expected = layout.images_per_prompt * len(spec.prompts)
        subjects.append(SubjectInput(spec.name, fields, refs, images, expected, image_fields, problems))
    return subjects, [*unsafe, Problem(str(source), f"subjects and prompts read from {source}", None, Severity.NOTE)]


def plan_dreambench(layout: DreamBenchLayout, data: Path, template: str | None, token: str | None) -> list[Job]:
    subjects, source = read_dreambench(layout, data, token)
    jobs = []
    for subject in subjects:
        confined(data, subject.name, source, "subject")
        refs, _ = reference_folder(data / subject.name, layout.files, subject.name)
        for index, prompt in enumerate(subject.prompts):
            fields = {
                "prompt": prompt,
                "prompt_without_token": subject.clip_texts[index],  # --prompt-kind class generates from it
                "subject": subject.name,
                "class": subject.class_word,
            }
            text = fill_or_usage(template or "{prompt}", fields, "--prompt-template")
            jobs += [
                Job(subject.name, text, Path(subject.name) / str(index) / f"{k}.png", refs, subject.class_word or "")
                for k in range(layout.images_per_prompt)
            ]
    return jobs


LAYOUTS.register(LayoutKind("dreambench", DreamBenchLayout, scan_dreambench, plan_dreambench))
