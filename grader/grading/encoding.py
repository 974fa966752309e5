"""Stage 2, reading and encoding: every model resolved before any loads, then each image decoded once, checked,
hashed and handed to every encoder that needs it. An image that does not decode, or that an encoder cannot read,
is left out with a problem: the inputs are read again (decoding nothing) so that counts stay right."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from grader.copies import Looks, looks_of
from grader.embeddings import Embeddings
from grader.encoders import ENCODERS, BuildContext, LazyEncoder
from grader.errors import ModelMissingError
from grader.grading.inputs import Inputs, read_inputs
from grader.grading.options import GradeOptions, Resources
from grader.grading.running import RunningTask, labels
from grader.models import resolve
from grader.problems import Problem
from grader.progress import ProgressReporter
from grader.reading import read_and_encode
from grader.rules import RULES
from grader.specs import EncoderSpecBase
from grader.submission import ScanContext
from grader.submission.files import DecodeMemo
from grader.tasks.schema import Task


@dataclass(frozen=True)
class Encoded:
    """Stage 2's output: the inputs as finally read, the encoders, every image's embeddings and looks."""

    inputs: Inputs  # as read again after the images that failed were left out
    encoders: dict[tuple, LazyEncoder]  # by encoder key
    embeddings: dict[tuple, Embeddings]  # by encoder key
    looks: dict[Path, Looks]  # perceptual hashes of every generated and reference image, for copies

    def is_test_model(self) -> bool:
        """Whether any encoder is a test model (their ceilings and copy lines mean nothing)."""
        return any(is_test_model(e) for e in self.embeddings.values())


def is_test_model(embeddings: Embeddings) -> bool:
    """Whether these embeddings come from a test model (random weights)."""
    return bool(getattr(embeddings.encoder.context.resolved, "is_test_model", False))


def build_encoders(task: Task, options: GradeOptions, resources: Resources) -> dict[tuple, LazyEncoder]:
    """Resolve every model before loading any, so a missing one is reported before minutes of work. Encoders
    are built only when something is not in the cache; those of ``resources.encoder_pool`` are reused."""
    pool = resources.encoder_pool if resources.encoder_pool is not None else {}
    needed = [spec for spec in task.encoders() if spec.key not in pool]
    resolved, missing = {}, []
    for spec in needed:
        if not ENCODERS.get(spec.kind).hub_model:
            continue
        try:
            resolved[spec.key] = resolve(
                spec.model, options.models_dir, getattr(spec, "revision", None), purpose="/".join(labels(task, spec))
            )
        except ModelMissingError as exc:
            missing.append(str(exc))
    if missing:  # every one the task needs, so the user fetches them all before the next run
        raise ModelMissingError("\n\n".join(missing))
    for spec in needed:
        context = BuildContext(
            options.models_dir, dict(options.classifiers), resolved.get(spec.key), options.device, options.batch_size
        )
        pool[spec.key] = LazyEncoder(spec, context)
    return {spec.key: pool[spec.key] for spec in task.encoders()}


def paths_for(task: Task, spec: EncoderSpecBase, inputs: Inputs) -> list[Path]:
    """The images an encoder must embed: generated ones always, references and pairs only if a metric of
    this encoder compares with them (a CLIP-T-only encoder never embeds the reference photos)."""
    needs = {n for m in task.metrics_of(spec).values() for n in RULES.get(m.rule).needs}
    paths = [p for s in inputs.subjects for p in s.images]
    if "references" in needs:
        paths += [p for s in inputs.subjects for p in s.references]
    if "pairs" in needs:
        paths += [p for s in inputs.subjects for p in s.pairs]
    return paths


def read_and_embed(
    run: RunningTask,
    folder: Path,
    data: Path,
    options: GradeOptions,
    resources: Resources,
    progress: ProgressReporter,
) -> Encoded:
    """Scan, build the encoders, and decode and embed every image the metrics need (what the cache has is not
    computed again)."""
    task = run.task
    memo = DecodeMemo(resources.cache, task.layout.loader)
    context = ScanContext.of_grade(folder, data, memo)
    inputs = read_inputs(run, folder, data, context)
    encoders = build_encoders(task, options, resources)
    embeddings = {
        spec.key: Embeddings(
            encoders[spec.key],
            paths_for(task, spec, inputs),
            progress,
            f"{'/'.join(labels(task, spec))} ({spec.model})",
            resources.cache,
            task.layout.loader,
        )
        for spec in task.encoders()
    }
    while read_and_encode(embeddings.values(), memo):
        # Some images did not decode, or an encoder could not read them: the scan, again, leaves them out with
        # a problem each (and counts what is left); it decodes nothing this time.
        inputs = read_inputs(run, folder, data, context)
        for spec in task.encoders():
            embeddings[spec.key].want(paths_for(task, spec, inputs))
    # A file removed while it was graded is no longer listed by the scan: say why it left the grade all the same.
    inputs.problems.extend(
        Problem(str(path), f"{why.removeprefix(f'{path}: ')}; left out of the grade", None)
        for path, why in memo.failed.items()
        if not os.path.lexists(path)
    )
    seen = [p for s in inputs.subjects for p in s.images] + [p for s in inputs.subjects for p in s.references]
    return Encoded(inputs, encoders, embeddings, looks_of(seen, memo.visual))
