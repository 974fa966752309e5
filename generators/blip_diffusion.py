"""Loading a BLIP-Diffusion pipeline. diffusers keeps it under ``pipelines.deprecated``, where the classes a
checkpoint's ``model_index.json`` names for its own components no longer resolve (nor pass diffusers' check when
handed over), so every component is loaded by its class from its folder and the pipeline built from them."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from generators.errors import AdapterError

PIPELINE = "BlipDiffusionPipeline"


def blip_module(name: str = "") -> Any:
    """A module of diffusers' BLIP-Diffusion package, wherever this diffusers keeps it."""
    for package in ("diffusers.pipelines.deprecated.blip_diffusion", "diffusers.pipelines.blip_diffusion"):
        try:
            return importlib.import_module(f"{package}.{name}" if name else package)
        except ModuleNotFoundError:
            continue
    raise AdapterError("this diffusers has no BLIP-Diffusion pipeline")


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def incompatible(exc: Exception) -> Exception:
    """The error to show when diffusers' BLIP-Diffusion code fails against this transformers: it was written for
    transformers 4.4x (newer ones changed the Q-Former attention it calls into, 5.x removed helpers it uses)."""
    return AdapterError(
        f"diffusers' BLIP-Diffusion pipeline does not run with transformers {_version('transformers')} and diffusers "
        f"{_version('diffusers')} ({exc.__class__.__name__}: {exc}); it runs with the course's stack, transformers "
        "4.4x and diffusers 0.3x: pip install 'transformers>=4.41,<4.47' 'diffusers>=0.30,<0.32' "
        "'huggingface-hub<1' 'peft<0.14'"
    )


def is_blip_diffusion(path: Path) -> bool:
    try:
        return json.loads((Path(path) / "model_index.json").read_text()).get("_class_name") == PIPELINE
    except (OSError, ValueError):
        return False


def load_blip_diffusion(path: Path, dtype_kwarg: dict[str, Any]) -> Any:
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTokenizer

    qformer = blip_module("modeling_blip2").Blip2QFormerModel
    text_encoder = blip_module("modeling_ctx_clip").ContextCLIPTextModel
    processor = blip_module("blip_image_processing").BlipImageProcessor

    missing = [m for m in ("invert_attention_mask", "get_head_mask") if not hasattr(qformer, m)]
    if missing:
        raise incompatible(AttributeError(f"Blip2QFormerModel has no {', '.join(missing)}"))
    path = Path(path)
    index = json.loads((path / "model_index.json").read_text())
    dtype = next(iter(dtype_kwarg.values()))
    pipe = blip_module().BlipDiffusionPipeline(
        tokenizer=CLIPTokenizer.from_pretrained(path / "tokenizer"),
        text_encoder=text_encoder.from_pretrained(path / "text_encoder", torch_dtype=dtype),
        vae=AutoencoderKL.from_pretrained(path / "vae", **dtype_kwarg),
        unet=UNet2DConditionModel.from_pretrained(path / "unet", **dtype_kwarg),
        scheduler=PNDMScheduler.from_pretrained(path / "scheduler"),
        qformer=qformer.from_pretrained(path / "qformer", torch_dtype=dtype),
        image_processor=processor.from_pretrained(path / "image_processor"),
        **{k: index[k] for k in ("ctx_begin_pos", "mean", "std") if k in index},
    )
    return pipe
