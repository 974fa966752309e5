"""Generate a task's images with a base pipeline and an adapter, and record how (``manifest.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from generators.adapters import Adapter
from generators.blip_diffusion import is_blip_diffusion, load_blip_diffusion
from generators.errors import AdapterError
from generators.jobs import Job, plan
from generators.schedulers import check_eta, scheduler_name, use_scheduler
from grader.errors import InputError
from grader.models import resolve
from grader.progress import ProgressReporter, SilentProgress
from grader.submission.files import MANIFEST
from grader.tasks.schema import Task
from grader.versions import library_versions


@dataclass
class GenerationSettings:
    seed: int = 0
    steps: int = 30
    guidance: float = 7.5
    size: int | None = None  # square side in pixels; None: the task's image size, else the pipeline's default
    prompt_template: str | None = None
    unique_token: str | None = None  # DreamBench: the rare token before the class word (task default: sks)
    overwrite: bool = False
    scheduler: str | None = None  # a name of generators.schedulers.SCHEDULERS; None: the base's own
    eta: float | None = None  # DDIM only: 0 deterministic, 1 as stochastic as DDPM


def device_and_dtype() -> tuple[torch.device, torch.dtype]:
    """CUDA in fp16 when there is one (as the course notebooks run), else the CPU in fp32."""
    if torch.cuda.is_available():
        return torch.device("cuda"), torch.float16
    return torch.device("cpu"), torch.float32


TEST_PIPELINE_FLAG = "_t2i_grader_test_pipeline"  # in model_index.json; diffusers ignores keys starting with "_"


def mark_test_pipeline(folder: Path) -> None:
    """Flag a pipeline folder as a random-weight test pipeline, so that what is made with it says so."""
    index = folder / "model_index.json"
    index.write_text(json.dumps({**json.loads(index.read_text()), TEST_PIPELINE_FLAG: True}, indent=2) + "\n")


def is_test_pipeline(folder: str | Path) -> bool:
    """Whether ``folder`` holds a pipeline built as a test stand-in (``mark_test_pipeline``)."""
    try:
        return bool(json.loads((Path(folder) / "model_index.json").read_text()).get(TEST_PIPELINE_FLAG))
    except (OSError, ValueError):
        return False


def load_base(base: str, models_dir: Path | None = None) -> tuple[Any, str]:
    """A diffusers text-to-image pipeline from a local folder, ``--models`` or the Hugging Face cache."""
    from diffusers import AutoPipelineForText2Image

    from grader.logs import quiet_loading_bars

    quiet_loading_bars()
    resolved = resolve(base, models_dir, purpose="generation", marker="model_index.json")
    device, dtype = device_and_dtype()
    try:
        if is_blip_diffusion(resolved.path):  # not a text-to-image pipeline AutoPipeline knows
            pipe = load_blip_diffusion(resolved.path, _dtype_kwarg(dtype))
        else:
            pipe = AutoPipelineForText2Image.from_pretrained(resolved.path, **_dtype_kwarg(dtype))
    except (OSError, ValueError) as exc:
        raise AdapterError(
            f"base model {base} at {resolved.path} does not load as a diffusers pipeline: {exc}"
        ) from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device), str(resolved.path)


def _dtype_kwarg(dtype: torch.dtype) -> dict[str, torch.dtype]:
    """diffusers renamed ``torch_dtype`` to ``dtype``; pass whichever this version takes."""
    import diffusers.utils.deprecation_utils as deprecation

    return {"dtype": dtype} if hasattr(deprecation, "_resolve_dtype") else {"torch_dtype": dtype}


def _check_output(out: Path, jobs: list[Job], overwrite: bool) -> None:
    existing = [j.path for j in jobs if (out / j.path).exists()]
    if existing and not overwrite:
        raise InputError(
            f"{out}: {len(existing)} of the images already exist (e.g. {existing[0]}); "
            "choose another --out or pass --overwrite"
        )


def generate(
    task: Task,
    data: Path,
    adapter: Adapter,
    base: str,
    out: Path,
    settings: GenerationSettings,
    models_dir: Path | None = None,
    progress: ProgressReporter | None = None,
    pipe: Any = None,
    per_subject: int | None = None,
) -> Path:
    """Write every image the task expects under ``out`` plus ``manifest.json``; returns the manifest's path.

    Image k uses seed ``settings.seed + k``, so the same settings give the same images. ``per_subject``: only the
    first images of each subject, keeping those already written (an adaptive sweep's rounds add to them; each
    image is the one a full run would write).
    """
    progress = progress or SilentProgress()
    jobs = plan(task, data, settings.prompt_template, settings.unique_token)
    wanted = _first_of_each_subject(jobs, per_subject)
    kept = {i for i, job in wanted if per_subject is not None and (out / job.path).is_file()}
    _check_output(out, [job for i, job in wanted if i not in kept], settings.overwrite)
    base_path = base
    if pipe is None:
        pipe, base_path = load_base(base, models_dir)
        adapter.apply(pipe)
    warnings = use_scheduler(pipe, settings.scheduler) if settings.scheduler else []
    eta = check_eta(pipe, settings.eta)
    size = settings.size or getattr(task.layout, "image_size", None) or None
    size_kwargs = (
        {"height": size[1], "width": size[0]}
        if isinstance(size, tuple | list)
        else ({"height": size, "width": size} if size else {})
    )
    device = pipe.device
    advance = progress.task(f"generating with {adapter.name}", len(wanted) - len(kept))
    records = [_record(job, settings.seed + index) for index, job in wanted if index in kept]
    for index, job in wanted:
        if index in kept:
            continue
        seed = settings.seed + index
        generator = torch.Generator(device="cpu").manual_seed(seed)
        try:
            image = pipe(
                adapter.prompt(job),
                num_inference_steps=settings.steps,
                guidance_scale=settings.guidance,
                generator=generator,
                **eta,
                **size_kwargs,
                **adapter.call_kwargs(pipe, job),
            ).images[0]
        except Exception as exc:
            failure = adapter.failure(exc)
            if failure is exc:
                raise
            raise failure from exc
        target = out / job.path
        target.parent.mkdir(parents=True, exist_ok=True)
        options = {"quality": 95} if target.suffix.lower() in (".jpg", ".jpeg") else {}
        image.save(target, **options)
        records.append(_record(job, seed))
        advance(1)
    manifest = {
        "task": task.name,
        "adapter": adapter.name,
        "base": base,
        "base_path": base_path,
        "settings": adapter.settings,
        "generation": {
            "seed": settings.seed,
            "steps": settings.steps,
            "guidance": settings.guidance,
            "size": size_kwargs or "pipeline default",
            "prompt_template": settings.prompt_template,
            "unique_token": settings.unique_token or getattr(task.layout, "unique_token", None),
            "scheduler": scheduler_name(pipe),
            "eta": settings.eta,
            "device": str(device),
            "dtype": str(pipe.dtype).removeprefix("torch."),
        },
        "warnings": warnings,
        "images": records,
        "versions": {**library_versions(), **_diffusers_version()},
    }
    path = out / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def _first_of_each_subject(jobs: list[Job], per_subject: int | None) -> list[tuple[int, Job]]:
    """(index in the task's jobs, job) of the first ``per_subject`` jobs of each subject; every job with None."""
    seen: dict[str, int] = {}
    chosen = []
    for index, job in enumerate(jobs):
        seen[job.subject] = seen.get(job.subject, 0) + 1
        if per_subject is None or seen[job.subject] <= per_subject:
            chosen.append((index, job))
    return chosen


def _record(job: Job, seed: int) -> dict[str, Any]:
    """An image as the manifest lists it."""
    return {"file": str(job.path), "subject": job.subject, "prompt": job.prompt, "seed": seed}


def _diffusers_version() -> dict[str, str]:
    from importlib.metadata import version

    return {"diffusers": version("diffusers")}
