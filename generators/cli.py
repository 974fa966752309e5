"""The ``generate`` command: write a task's submission with a base pipeline and an adapter, or sweep a setting."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from generators.adapters import (
    ADAPTERS,
    Adapter,
    AdapterError,
    BlipDiffusion,
    CustomDiffusion,
    IPAdapter,
    LoRA,
    TextualInversion,
)
from generators.schedulers import SCHEDULERS
from grader.cli.common import global_flags, new_app, report_console
from grader.cli.grading_options import GradingArgs, grading_options, without_grading
from grader.errors import GraderError, UsageError
from grader.keyvalues import key_values
from grader.progress import rich_progress

if TYPE_CHECKING:  # choices built from the registries at run time; a checker sees their type
    AdapterName = str
    SchedulerName = str
else:
    AdapterName = Literal[tuple(ADAPTERS)]
    SchedulerName = Literal[tuple(SCHEDULERS)]

app = new_app("Generate submissions in the layout the grader reads: run, sweep, interpolate, ddim-grid.")
app.callback()(global_flags)  # --quiet / --verbose as for grader: library warnings and loading bars hidden
out_console = report_console()
err = Console(stderr=True)


PromptKind = Literal["subject", "class"]


def _class_prompts(spec, template: str | None) -> str:
    """The prompt template of class images: the task's prompts with the unique token left out."""
    if template is not None:
        raise UsageError("--prompt-kind class sets the prompts itself: leave out --prompt-template")
    if not hasattr(spec.layout, "unique_token"):
        raise UsageError(
            f"--prompt-kind class needs a task whose prompts carry a unique token (dreambench, dreambench-pres); "
            f"{spec.name}'s do not"
        )
    return "{prompt_without_token}"


def build_adapter(
    name: str,
    weights: str | None,
    weight_name: str | None,
    scale: float | None,
    subject_scales: dict[str, str],
    embeddings: dict[str, str],
    tokens: list[str],
    image_encoder_folder: str | None,
    subfolder: str,
) -> Adapter:
    if name not in ADAPTERS:
        raise UsageError(f"unknown adapter {name!r}; adapters: {', '.join(ADAPTERS)}")
    needs_weights = name in ("ip-adapter", "lora", "custom-diffusion")
    if needs_weights and not weights:
        raise UsageError(f"--adapter {name} needs --weights (a file, a folder or a hub id)")
    weights = weights or ""
    if name == "ip-adapter":
        return IPAdapter(
            source=weights,
            subfolder=subfolder,
            weight_name=weight_name or "ip-adapter.safetensors",
            image_encoder_folder=image_encoder_folder,
            scale=0.6 if scale is None else scale,
            subject_scales={k: float(v) for k, v in subject_scales.items()},
        )
    if name == "lora":
        return LoRA(path=weights, weight_name=weight_name, scale=1.0 if scale is None else scale)
    if name == "textual-inversion":
        if not embeddings:
            raise UsageError("--adapter textual-inversion needs --embedding TOKEN=FILE (one per token)")
        return TextualInversion(embeddings=embeddings)
    if name == "custom-diffusion":
        return CustomDiffusion(
            path=weights, weight_name=weight_name or "pytorch_custom_diffusion_weights.bin", tokens=tokens
        )
    if name == "blip-diffusion":
        return BlipDiffusion()  # its weights are the base: --base Salesforce/blipdiffusion
    return Adapter()


def _generation_command(mode: str):
    """``generate run`` and ``generate sweep``: one option list, one body, two commands with their own help."""

    def command(
        task: Annotated[str, typer.Option(help="Task whose layout and prompts to generate.")],
        data: Annotated[Path, typer.Option(help="The task's data folder.")],
        base: Annotated[str, typer.Option(help="Base diffusers pipeline: hub id or local folder.")],
        out: Annotated[Path, typer.Option(help="Output folder (the submission; a sweep's parent folder).")],
        adapter: Annotated[
            AdapterName, typer.Option(metavar="ADAPTER", help=f"How the base is personalised: {', '.join(ADAPTERS)}.")
        ] = "none",
        weights: Annotated[str | None, typer.Option(help="Adapter weights: file, folder or hub id.")] = None,
        weight_name: Annotated[str | None, typer.Option(help="File name inside --weights.")] = None,
        subfolder: Annotated[str, typer.Option(help="IP-Adapter: subfolder of --weights.")] = "",
        image_encoder_folder: Annotated[str | None, typer.Option(help="IP-Adapter: image encoder folder.")] = (
            "image_encoder"
        ),
        scale: Annotated[float | None, typer.Option(help="IP-Adapter scale (0.6) or LoRA scale (1.0).")] = None,
        subject_scale: Annotated[
            list[str] | None,
            typer.Option(metavar="SUBJECT=SCALE", help="IP-Adapter scale per subject: object-4=0.6,object-5=0.8."),
        ] = None,
        embedding: Annotated[
            list[str] | None, typer.Option(metavar="TOKEN=FILE", help="Textual inversion embedding (repeatable).")
        ] = None,
        token: Annotated[
            list[str] | None, typer.Option(metavar="TOKEN", help="Custom Diffusion modifier token (repeatable).")
        ] = None,
        prompt_template: Annotated[str | None, typer.Option(help="e.g. 'a photo of a {name} {text_cond}'.")] = None,
        prompt_kind: Annotated[
            PromptKind,
            typer.Option(
                help="subject: the task's prompts; class: the same prompts without the unique token (DreamBench's "
                "class images, graded for prior preservation by the task dreambench-pres).",
            ),
        ] = "subject",
        unique_token: Annotated[
            str | None, typer.Option(help="DreamBench: the rare token before the class word (default sks).")
        ] = None,
        scheduler: Annotated[
            SchedulerName | None,
            typer.Option(metavar="SCHEDULER", help=f"Sampler: {', '.join(SCHEDULERS)} (default: the base's own)."),
        ] = None,
        eta: Annotated[
            float | None, typer.Option(help="DDIM eta (0 deterministic ... 1 DDPM-like); needs ddim.")
        ] = None,
        seed: int = 0,
        steps: int = 30,
        guidance: float = 7.5,
        size: Annotated[int | None, typer.Option(help="Square image side (default: the task's size).")] = None,
        overwrite: Annotated[bool, typer.Option(help="Replace images already in --out.")] = False,
        models: Annotated[
            Path | None, typer.Option(help="Models folder (DIR/<org>/<name>) for base and grading.")
        ] = None,
        grid: Annotated[
            list[str] | None,
            typer.Option(
                metavar="SETTING=V1,V2,...",
                help="sweep: values of one setting (give two for a 2-D grid); weights=CKPT1,CKPT2,... compares "
                "checkpoints (LoRA folders, embedding files, Custom Diffusion folders).",
            ),
        ] = None,
        adaptive: Annotated[
            bool,
            typer.Option(
                "--adaptive",
                help="sweep: race the settings - a few images per subject each, then more only for those that may "
                "still be the recommendation (the full grid's rule decides among the survivors).",
            ),
        ] = False,
        grading: GradingArgs | None = None,  # sweep: the grading options of grader check
    ) -> None:
        # torch, diffusers and pandas load only when a command runs: `generate --help` stays quick
        from generators.run import GenerationSettings, generate
        from generators.sweep import parse_checkpoints, parse_grid, run_sweep
        from grader.cache import EmbeddingCache
        from grader.grading import Resources
        from grader.tasks import load_task

        try:
            spec = load_task(task)
            prompt_template = _class_prompts(spec, prompt_template) if prompt_kind == "class" else prompt_template
            checkpoints = parse_checkpoints(grid or []) if mode == "sweep" else {}
            chosen = build_adapter(
                adapter,
                weights or next(iter(checkpoints.values()), None),
                weight_name,
                scale,
                key_values(subject_scale, "--subject-scale"),
                key_values(embedding, "--embedding"),
                token or [],
                image_encoder_folder,
                subfolder,
            )
            settings = GenerationSettings(
                seed=seed,
                steps=steps,
                guidance=guidance,
                size=size,
                prompt_template=prompt_template,
                unique_token=unique_token,
                overwrite=overwrite,
                scheduler=scheduler,
                eta=eta,
            )
            with rich_progress(err) as progress:
                if mode == "run":
                    manifest = generate(spec, data, chosen, base, out, settings, models, progress)
                else:
                    if not grid:
                        raise UsageError("sweep needs --grid SETTING=V1,V2,...")
                    options = (grading or GradingArgs(models=models)).options(spec.name)
                    result = run_sweep(
                        spec,
                        data,
                        chosen,
                        base,
                        out,
                        settings,
                        parse_grid(grid),
                        models,
                        options,
                        progress,
                        Resources(EmbeddingCache()),
                        checkpoints,
                        adaptive,
                    )
        except (GraderError, AdapterError) as exc:
            raise _fail(exc) from exc
        if mode == "run":
            out_console.print(f"wrote {out} and {manifest}", highlight=False)
            return
        _print_sweep(result, out, spec)

    return grading_options(command, keep=("models",)) if mode == "sweep" else without_grading(command)


app.command(
    "run",
    help="Generate a task's submission; manifest.json records every setting and seed.\n\n"
    "generate run --task ml2025-hw10 --data hw10 --base stabilityai/stable-diffusion-xl-base-1.0 --adapter ip-adapter "
    "--weights h94/IP-Adapter --subfolder sdxl_models --weight-name ip-adapter_sdxl.safetensors --out results",
)(_generation_command("run"))
app.command(
    "sweep",
    help="Generate and grade each point of a grid of settings (--grid SETTING=V1,V2,...; one or two settings), "
    "then write sweep.csv, plots and the settings most likely to pass.",
)(_generation_command("sweep"))


BaseOption = Annotated[str, typer.Option(help="Base diffusers pipeline: hub id or local folder.")]
ModelsDirOption = Annotated[Path | None, typer.Option(help="Models folder (DIR/<org>/<name>) holding the base.")]
PromptOption = Annotated[str, typer.Option(help="Text prompt ('' for the unconditional homework setting).")]


def _sampler(base: str, models: Path | None, scheduler: str | None) -> tuple[object, list[str]]:
    from generators.run import load_base
    from generators.schedulers import use_scheduler

    pipe, _ = load_base(base, models)
    return pipe, use_scheduler(pipe, scheduler) if scheduler else []


def _write_manifest(out: Path, record: dict) -> Path:
    import json

    from grader.report.files import atomic_write
    from grader.submission.files import MANIFEST

    path = out / MANIFEST
    atomic_write(path, json.dumps(record, indent=2) + "\n")
    return path


@app.command()
def interpolate(
    base: BaseOption,
    noise_a: Annotated[Path, typer.Option(help="The first initial noise (.pt tensor, e.g. 00.pt).")],
    noise_b: Annotated[Path, typer.Option(help="The second initial noise (.pt tensor).")],
    out: Annotated[Path, typer.Option(help="Folder for the frames, strip.png and manifest.json.")],
    steps: Annotated[int, typer.Option(help="Frames, both noises included (alpha from 0 to 1).")] = 11,
    mode: Annotated[
        Literal["slerp", "lerp"], typer.Option(help="slerp (spherical, keeps the noise's norm) or lerp.")
    ] = "slerp",
    prompt: PromptOption = "",
    sampling_steps: Annotated[int, typer.Option(help="Denoising steps per frame.")] = 50,
    guidance: float = 7.5,
    scheduler: Annotated[
        SchedulerName | None,
        typer.Option(metavar="SCHEDULER", help=f"Sampler: {', '.join(SCHEDULERS)} (default: the base's own)."),
    ] = None,
    eta: Annotated[float | None, typer.Option(help="DDIM eta; needs --scheduler ddim.")] = None,
    models: ModelsDirOption = None,
) -> None:
    """Images along the path between two initial noises (DLCV HW2 P2): frame_00.png ... and strip.png."""
    from generators.interpolate import MODES, alphas, load_noise, render, strip
    from generators.schedulers import check_eta, scheduler_name

    try:
        a, b = load_noise(noise_a), load_noise(noise_b)
        if a.shape != b.shape:
            raise UsageError(f"{noise_a} is {tuple(a.shape)} but {noise_b} is {tuple(b.shape)}")
        points = alphas(steps)
        pipe, warnings = _sampler(base, models, scheduler)
        call = check_eta(pipe, eta)
        out.mkdir(parents=True, exist_ok=True)
        frames = []
        with rich_progress(err) as progress:
            advance = progress.task(f"{mode} frames", len(points))
            for i, alpha in enumerate(points):
                frame = render(pipe, prompt, MODES[mode](a, b, alpha), sampling_steps, guidance, call)
                frame.save(out / f"frame_{i:02d}.png")
                frames.append(frame)
                advance(1)
        strip(frames).save(out / "strip.png")
        manifest = _write_manifest(
            out,
            {
                "command": "interpolate",
                "base": base,
                "noises": [str(noise_a), str(noise_b)],
                "mode": mode,
                "alphas": points,
                "prompt": prompt,
                "steps": sampling_steps,
                "guidance": guidance,
                "scheduler": scheduler_name(pipe),
                "eta": eta,
                "warnings": warnings,
            },
        )
    except (GraderError, AdapterError) as exc:
        raise _fail(exc) from exc
    out_console.print(f"wrote {len(frames)} frames, {out / 'strip.png'} and {manifest}", highlight=False)


@app.command("ddim-grid")
def ddim_grid(
    base: BaseOption,
    out: Annotated[Path, typer.Option(help="The figure to write (.png); manifest.json goes beside it.")],
    noise: Annotated[
        list[Path] | None, typer.Option(metavar="FILE", help="An initial noise .pt per column (repeatable).")
    ] = None,
    seeds: Annotated[str | None, typer.Option(help="Or seeds for the columns: 0,1,2,3.")] = None,
    etas: Annotated[str, typer.Option(help="One row per eta.")] = "0,0.25,0.5,0.75,1",
    prompt: PromptOption = "",
    sampling_steps: Annotated[int, typer.Option(help="Denoising steps per image.")] = 50,
    guidance: float = 7.5,
    models: ModelsDirOption = None,
) -> None:
    """The homework's DDIM figure: the same initial noises (columns) denoised with each eta (rows)."""
    from generators.interpolate import grid, load_noise, render, seeded_noise
    from generators.schedulers import check_eta

    try:
        rows_eta = [float(v) for v in etas.split(",") if v.strip()]
        pipe, _ = _sampler(base, models, "ddim")
        if noise:
            columns = [load_noise(p) for p in noise]
        elif seeds:
            columns = [seeded_noise(pipe, int(v)) for v in seeds.split(",") if v.strip()]
        else:
            raise UsageError("give --noise FILE (repeatable) or --seeds 0,1,2")
        rows = []
        with rich_progress(err) as progress:
            advance = progress.task("ddim grid", len(rows_eta) * len(columns))
            for value in rows_eta:
                call = check_eta(pipe, value)
                row = []
                for column in columns:
                    row.append(render(pipe, prompt, column, sampling_steps, guidance, call))
                    advance(1)
                rows.append(row)
        out.parent.mkdir(parents=True, exist_ok=True)
        grid(rows).save(out)
        manifest = _write_manifest(
            out.parent,
            {
                "command": "ddim-grid",
                "base": base,
                "figure": out.name,
                "rows_eta": rows_eta,
                "columns": [str(p) for p in noise]
                if noise
                else [f"seed {v.strip()}" for v in (seeds or "").split(",")],
                "prompt": prompt,
                "steps": sampling_steps,
                "guidance": guidance,
                "scheduler": "ddim",
            },
        )
    except ValueError as exc:
        raise _fail(UsageError(f"--etas and --seeds take numbers: {exc}")) from exc
    except (GraderError, AdapterError) as exc:
        raise _fail(exc) from exc
    out_console.print(f"wrote {out} ({len(rows)} etas x {len(columns)} noises) and {manifest}", highlight=False)


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(int(getattr(exc, "exit_code", 2)))


def _print_sweep(result, out: Path, spec) -> None:
    """Per setting and subject: each metric as score, line and margin (the task's labels), the worst margin, the
    pass probability and the verdict; then the recommendation and where the page and plots are."""
    import pandas as pd
    from rich.panel import Panel

    if result.test_models:
        out_console.print(
            Panel(
                f"TEST MODELS: made and scored with random-weight stand-ins ({', '.join(result.test_models)}). "
                "The scores below exercise the sweep; they carry no meaning.",
                style="bold magenta",
            )
        )
    table = Table(title="Sweep", title_justify="left")
    grid = list(result.grid)
    metrics = [(name, m) for name, m in spec.metrics.items() if name in result.table.columns]
    for column in [*grid, "subject"]:
        table.add_column(column, no_wrap=True)
    for _, m in metrics:
        table.add_column(f"{escape(m.label)}\n(line, margin)", justify="right", no_wrap=True)
    for column in ("worst margin", "P(pass)", "verdict"):
        table.add_column(column, justify="right" if column != "verdict" else "left", no_wrap=True)

    def number(value, spec: str = ".2f") -> str:
        return "-" if value is None or pd.isna(value) else format(value, spec)

    for _, row in result.table.iterrows():
        cells = [f"{row[g]:g}" for g in grid] + [escape(str(row["subject"]))]
        for name, m in metrics:
            line = row.get(f"{name}_line")
            op = ">=" if m.higher_is_better else "<="
            shown_line = "" if line is None or pd.isna(line) else f" {op} {line:g}"
            cells.append(f"{number(row[name])}{shown_line}\n{number(row.get(f'{name}_margin'), '+.2f')}")
        chance = row["pass_probability"]
        cells += [number(row["worst_margin"], "+.2f"), "-" if pd.isna(chance) else f"{chance:.0%}", row["verdict"]]
        table.add_row(*cells)
    out_console.print(table)
    if result.recommended is None:
        out_console.print("no lines in this tier: no setting is recommended", highlight=False)
    else:
        out_console.print(f"recommended for every subject: {result.recommended.sentence()}", highlight=False)
    if result.adaptive:
        share = result.images_generated / result.images_full if result.images_full else 0.0
        gone = ", ".join(f"{name} (after {n} per subject)" for name, n in result.dropped.items())
        out_console.print(
            f"adaptive: generated {result.images_generated} of the full grid's {result.images_full} images "
            f"({share:.0%}); dropped {gone or 'none'}",
            highlight=False,
            soft_wrap=True,
        )
    ranking = ", ".join(f"{name} ({'-' if p is None else f'{p:.0%}'})" for name, p in result.ranking)
    out_console.print(f"settings by worst pass probability over subjects: {ranking}", highlight=False, soft_wrap=True)
    plots = ", ".join(p.name for p in result.plots)
    out_console.print(f"page: {result.html}; table: {out / 'sweep.csv'}; plots in {out}: {plots}", highlight=False)


COMMANDS = ("run", "sweep", "interpolate", "ddim-grid")


GENERATE_EXTRA = "pip install 't2i-grader[generate]'"


def _missing_generation_libraries() -> list[str]:
    from importlib.util import find_spec

    return [name for name in ("diffusers", "peft", "matplotlib", "adjustText") if find_spec(name) is None]


def entry() -> None:
    """The console script. ``generate --task ...`` (no command) still means ``generate run --task ...``."""
    missing = _missing_generation_libraries()
    if missing and not {"--help", "-h"} & set(sys.argv[1:]):
        err.print(
            f"[bold red]error:[/] generate needs {', '.join(missing)}, which the grader alone does not install: "
            f"{GENERATE_EXTRA}",
            highlight=False,
        )
        sys.exit(2)
    if len(sys.argv) > 1 and sys.argv[1] not in (*COMMANDS, "--help", "-h"):
        sys.argv.insert(1, "run")
    app()
