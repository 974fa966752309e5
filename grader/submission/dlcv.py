"""Layouts of the DLCV 2024 HW2 tasks and DreamBench: subjects named by the data, not by the task file."""

from __future__ import annotations

from pathlib import Path

from grader.errors import InputError
from grader.result import Problem
from grader.submission.files import SubjectInput, count_problem, list_images, read_json_object
from grader.tasks.schema import DreamBenchLayout, LabelledImagesLayout, PairedFoldersLayout, PromptFoldersLayout


def _references(folder: Path, extensions: list[str], subject: str) -> tuple[list[Path], list[Problem]]:
    if not folder.is_dir():
        return [], [Problem(str(folder), "reference image folder not found", subject)]
    refs, problems = list_images(folder, extensions, subject)
    if not refs:
        problems.append(Problem(str(folder), "no readable reference images", subject))
    return refs, problems


def _images(folder: Path, extensions: list[str], subject: str, expected: int) -> tuple[list[Path], list[Problem]]:
    if not folder.is_dir():
        return [], [Problem(str(folder), "folder missing", subject)]
    images, problems = list_images(folder, extensions, subject)
    return images, problems + count_problem(folder, len(images), expected, subject)


def scan_prompt_folders(layout: PromptFoldersLayout, submission: Path, data_dir: Path):
    """One subject per (concept, prompt): ``<key>/<prompt index>``, with that prompt's baseline as its lines."""
    input_path = data_dir / layout.input
    spec = read_json_object(input_path, "input file", "concept keys to their settings")
    subjects = []
    for key, concept in spec.items():
        needed = ("src_image", "token_name", "prompt", "prompt_4_clip_eval", "baseline")
        missing = [f for f in needed if f not in concept]
        if missing:
            raise InputError(f"{input_path}: concept {key!r} lacks {', '.join(missing)}")
        refs, ref_problems = _references(
            data_dir / layout.references_dir / concept["src_image"], layout.extensions, key
        )
        for index, prompt in enumerate(concept["prompt"]):
            name = f"{key}/{index}"
            images, problems = _images(submission / key / str(index), layout.extensions, name, layout.images_per_prompt)
            try:
                eval_text = concept["prompt_4_clip_eval"][index]
                image_line, text_line = concept["baseline"][index]
            except (IndexError, ValueError, TypeError) as exc:
                raise InputError(f"{input_path}: concept {key!r} prompt {index}: no eval prompt or baseline") from exc
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
                    {"image": float(image_line), "text": float(text_line)},
                )
            )
    return subjects, []


def _label(path: Path, rule: str) -> str:
    return path.stem[:1] if rule == "first-char" else path.stem.split("_", 1)[0]


def scan_labelled_images(layout: LabelledImagesLayout, submission: Path, data_dir: Path):
    names: dict[str, str] = {}
    if layout.labels:
        raw = read_json_object(data_dir / layout.labels, "label file", "label ids to names")
        names = {str(k): str(v) for k, v in raw.items()}
    folders = [(s, submission / s) for s in layout.subjects] or [(layout.subject, submission)]
    subjects = []
    for name, folder in folders:
        if not folder.is_dir():
            subjects.append(SubjectInput(name, {}, [], [], None, [], [Problem(str(folder), "folder missing", name)]))
            continue
        images, problems = list_images(folder, layout.extensions, name)
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


def scan_paired_folders(layout: PairedFoldersLayout, submission: Path, data_dir: Path):
    reference_dir = data_dir / layout.reference_dir
    if not reference_dir.is_dir():
        raise InputError(f"{reference_dir}: reference folder not found")
    references, problems = list_images(reference_dir, layout.extensions, layout.subject)
    generated, gen_problems = list_images(submission, layout.extensions, layout.subject)
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
        Problem(str(by_stem[s]), "no reference image of that name; ignored", layout.subject, "warning") for s in extra
    ]
    subject = SubjectInput(layout.subject, {}, [], images, len(references), [], problems, pairs=pairs)
    return [subject], []


def scan_dreambench(layout: DreamBenchLayout, submission: Path, data_dir: Path):
    prompts_path = data_dir / layout.prompts
    prompts = read_json_object(prompts_path, "prompt file", "subjects to prompt lists")
    subjects = []
    for name, subject_prompts in prompts.items():
        refs, problems = _references(data_dir / name, layout.extensions, name)
        images, image_fields = [], []
        for index, prompt in enumerate(subject_prompts):
            found, found_problems = _images(
                submission / name / str(index), layout.extensions, name, layout.images_per_prompt
            )
            problems += found_problems
            images += found
            image_fields += [{"prompt": prompt}] * len(found)
        expected = layout.images_per_prompt * len(subject_prompts)
        subjects.append(SubjectInput(name, {"subject": name}, refs, images, expected, image_fields, problems))
    return subjects, []
