"""``grader.Validator``: the grader as a training loop's validation step. The models load once; images are handed
over in memory (PIL images or ``uint8`` arrays, per subject, in the order of ``prompts()``), and each call returns
the same ``GradeResult`` as ``grader check`` on those images, cached like any grade. Fewer images than the task
asks for are a partial grade (``--partial``): each subject's pass probability is that of its completed images.

Example (every N steps of a training loop):
    validator = grader.Validator("ml2025-hw10", "hw10_data", models="models")
    images = {s: [pipe(p).images[0] for p in prompts] for s, prompts in validator.prompts().items()}
    result = validator.score(images)
    accelerator.log(validator.metrics(result), step=step)
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from grader.errors import UsageError

if TYPE_CHECKING:
    from grader.jobs import Job
    from grader.result import GradeResult
    from grader.tasks.schema import Task

ImageLike = Any  # a PIL image, or an HxWx3 uint8 array


def _pil(image: ImageLike, where: str) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise UsageError(f"{where}: an image is a PIL image or an HxW(x3) uint8 array, not {array.dtype} {array.shape}")
    return Image.fromarray(array)


class Validator:
    """Scores a training run's validation images against a task, its models loaded once for every call."""

    def __init__(
        self,
        task: str | Path | Task,
        data: str | Path,
        baseline: str | None = None,
        *,
        cache: bool | str | Path = True,
        prompt_template: str | None = None,
        unique_token: str | None = None,
        **options: Any,
    ) -> None:
        from grader.api import _task
        from grader.grading import GradeOptions, Resources
        from grader.jobs import plan

        self.task = _task(task)
        self.data = Path(data)
        self.options = GradeOptions.build(baseline=baseline, task=self.task.name, partial=True, **options)
        self.resources = Resources.with_cache(cache).keeping_models()
        self.jobs: dict[str, list[Job]] = {}
        for job in plan(self.task, self.data, prompt_template, unique_token):
            self.jobs.setdefault(job.subject, []).append(job)

    def prompts(self) -> dict[str, list[str]]:
        """Per subject, the prompts of its images in the order ``score`` takes them (what to generate)."""
        return {subject: [job.prompt for job in jobs] for subject, jobs in self.jobs.items()}

    def score(self, images: Mapping[str, Sequence[ImageLike]]) -> GradeResult:
        """Grade ``images`` (per subject, the first ones of its prompts, in order): the result ``grader check``
        gives on these images written as the task's layout (as PNG, lossless, wherever the task reads PNG, as every
        built-in task does), as a partial grade when some are missing."""
        from grader.grading import grade

        unknown = sorted(set(images) - set(self.jobs))
        if unknown:
            raise UsageError(
                f"not subjects of {self.task.name}: {', '.join(unknown)}; its subjects: {', '.join(self.jobs)}"
            )
        with tempfile.TemporaryDirectory(prefix="t2i-grader-validation-") as folder:
            root = Path(folder) / "submission"
            for subject, given in images.items():
                slots = self.jobs[subject]
                if len(given) > len(slots):
                    raise UsageError(f"{subject}: {len(given)} images, the task asks for {len(slots)}")
                for index, (image, job) in enumerate(zip(given, slots[: len(given)], strict=True)):
                    self._write(_pil(image, f"{subject} image {index}"), root / job.path)
            result = grade(self.task, root, self.data, self.options, resources=self.resources)
        result.submission = "(images in memory)"
        result.command = f"grader.Validator({self.task.name!r}, {str(self.data)!r}).score(...)"
        return result

    def _write(self, image: Image.Image, path: Path) -> None:
        """A lossless file under the job's name (PNG where the task reads PNG, else the job's own format)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        png = path.with_suffix(".png")
        target = png if self.task.layout.files.takes(png.name) else path
        image.save(target, **({"format": "PNG"} if target.suffix.lower() == ".png" else {}))

    @staticmethod
    def metrics(result: GradeResult) -> dict[str, float]:
        """Flat numbers for a tracker (``accelerator.log``, TensorBoard): per subject and metric its score and
        margin, each subject's pass probability, the mean of each metric over subjects, and the partial grade's
        probability that the completed submission passes."""
        found: dict[str, float] = {}
        for subject in result.subjects:
            for name, metric in subject.metrics.items():
                if metric.value is not None:
                    found[f"{subject.subject}/{name}"] = float(metric.value)
                if metric.margin is not None:
                    found[f"{subject.subject}/{name}_margin"] = float(metric.margin)
            if subject.pass_probability is not None:
                found[f"{subject.subject}/pass_probability"] = float(subject.pass_probability)
        for name in result.subjects[0].metrics if result.subjects else []:
            values = [v for s in result.subjects if (v := s.metrics[name].value) is not None]
            if values:
                found[f"mean/{name}"] = float(np.mean(values))
        partial = result.settings.get("partial") or {}
        if partial.get("pass_probability") is not None:
            found["pass_probability"] = float(partial["pass_probability"])
        return found
