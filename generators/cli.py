"""The ``generate`` command: write a task's submission with a base pipeline and an adapter, or sweep a setting."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from generators.adapters import ADAPTERS, Adapter, AdapterError, CustomDiffusion, IPAdapter, LoRA, TextualInversion
from generators.run import GenerationSettings, generate
from generators.sweep import parse_grid, run_sweep
from grader.cache import EmbeddingCache
from grader.errors import GraderError, UsageError
from grader.options import key_values
from grader.progress import rich_progress
from grader.runner import GradeOptions
from grader.tasks import load_task

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
out_console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120)
err = Console(stderr=True)


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
    return Adapter()


@app.command()
def main(
    mode: Annotated[str, typer.Argument(help="run (default) or sweep")] = "run",
    task: Annotated[str, typer.Option(help="Task whose layout and prompts to generate.")] = ...,
    data: Annotated[Path, typer.Option(help="The task's data folder.")] = ...,
    base: Annotated[str, typer.Option(help="Base diffusers pipeline: hub id or local folder.")] = ...,
    out: Annotated[Path, typer.Option(help="Output folder (the submission).")] = ...,
    adapter: Annotated[str, typer.Option(help=f"One of: {', '.join(ADAPTERS)}.")] = "none",
    weights: Annotated[str | None, typer.Option(help="Adapter weights: file, folder or hub id.")] = None,
    weight_name: Annotated[str | None, typer.Option(help="File name inside --weights.")] = None,
    subfolder: Annotated[str, typer.Option(help="IP-Adapter: subfolder of --weights.")] = "",
    image_encoder_folder: Annotated[str | None, typer.Option(help="IP-Adapter: image encoder folder.")] = (
        "image_encoder"
    ),
    scale: Annotated[float | None, typer.Option(help="IP-Adapter scale (0.6) or LoRA scale (1.0).")] = None,
    subject_scale: Annotated[list[str] | None, typer.Option(help="IP-Adapter scale per subject: object-4=0.6")] = None,
    embedding: Annotated[list[str] | None, typer.Option(help="Textual inversion: TOKEN=FILE (repeatable).")] = None,
    token: Annotated[list[str] | None, typer.Option(help="Custom Diffusion modifier token (repeatable).")] = None,
    prompt_template: Annotated[str | None, typer.Option(help="e.g. 'a photo of a {name} {text_cond}'.")] = None,
    unique_token: Annotated[
        str | None, typer.Option(help="DreamBench: the rare token before the class word (default sks).")
    ] = None,
    seed: int = 0,
    steps: int = 30,
    guidance: float = 7.5,
    size: Annotated[int | None, typer.Option(help="Square image side (default: the task's size).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace images already in --out.")] = False,
    models: Annotated[Path | None, typer.Option(help="Models folder (DIR/<org>/<name>) for base and grading.")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="sweep: SETTING=V1,V2,... (one or two).")] = None,
) -> None:
    """Generate a task's submission (manifest.json records every setting and seed), or sweep settings.

    generate --task ml2025-hw10 --data hw10 --base stabilityai/stable-diffusion-xl-base-1.0 --adapter ip-adapter
    --weights h94/IP-Adapter --subfolder sdxl_models --weight-name ip-adapter_sdxl.safetensors --out results
    """
    try:
        spec = load_task(task)
        chosen = build_adapter(
            adapter,
            weights,
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
        )
        with rich_progress(err) as progress:
            if mode == "run":
                manifest = generate(spec, data, chosen, base, out, settings, models, progress)
            elif mode == "sweep":
                if not grid:
                    raise UsageError("sweep needs --grid SETTING=V1,V2,...")
                options = GradeOptions(models_dir=models, cache=EmbeddingCache())
                result = run_sweep(spec, data, chosen, base, out, settings, parse_grid(grid), models, options, progress)
            else:
                raise UsageError(f"unknown mode {mode!r}: run or sweep")
    except (GraderError, AdapterError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(int(exc.exit_code)) from exc
    if mode == "run":
        out_console.print(f"wrote {out} and {manifest}", highlight=False)
        return
    _print_sweep(result, out)


def _print_sweep(result, out: Path) -> None:
    table = Table(title="Sweep", title_justify="left")
    columns = [c for c in result.table.columns if not c.endswith("_line")]
    for column in columns:
        table.add_column(column)
    for _, row in result.table.iterrows():
        table.add_row(*(f"{row[c]:.2f}" if isinstance(row[c], float) else str(row[c]) for c in columns))
    out_console.print(table)
    for subject, text in result.best.items():
        out_console.print(f"best for {subject}: {text}", highlight=False)
    ranking = ", ".join(f"{name} ({'-' if p is None else f'{p:.0%}'})" for name, p in result.ranking)
    out_console.print(f"settings by worst pass probability over subjects: {ranking}", highlight=False, soft_wrap=True)
    out_console.print(f"table: {out / 'sweep.csv'}; plots: {', '.join(str(p) for p in result.plots)}", highlight=False)


def entry() -> None:
    app()
