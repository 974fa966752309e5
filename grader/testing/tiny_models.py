"""Deterministic tiny random-weight stand-ins for the grading models, saved in Hugging Face format.

They keep the real models' preprocessing (processor configs) and output shapes' meaning, so every code
path of the grader runs on them; their scores carry no meaning. Each config carries ``TEST_MODEL_FLAG`` so
reports can say so.
"""

from __future__ import annotations

import json
import shutil
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from grader.testing.clip_vocab import clip_tokenizer

TEST_MODEL_FLAG = "t2i_grader_test_model"
_IMAGENET_MEAN = [0.485, 0.456, 0.406]
_IMAGENET_STD = [0.229, 0.224, 0.225]
_OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
_OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]
_TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
# The real architectures' sizes, for benchmarks: random weights, real cost.
_FULL: dict[str, Any] = {
    "facebook/dinov2-large": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16},
    "openai/clip-vit-large-patch14-336": {
        "text": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
        "vision": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096},
        "projection_dim": 768,
    },
    "facebook/dino-vits16": {
        "hidden_size": 384,
        "num_hidden_layers": 12,
        "num_attention_heads": 6,
        "intermediate_size": 1536,
    },
    "facebook/dino-vits8": {
        "hidden_size": 384,
        "num_hidden_layers": 12,
        "num_attention_heads": 6,
        "intermediate_size": 1536,
    },
    "facebook/dinov2-small": {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 6},
    "openai/clip-vit-base-patch32": {
        "text": {"hidden_size": 512, "num_hidden_layers": 12, "num_attention_heads": 8, "intermediate_size": 2048},
        "vision": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
        "projection_dim": 512,
    },
}


def _dinov2_processor() -> dict:
    # Same values as facebook/dinov2-large's preprocessor_config.json.
    return {
        "image_processor_type": "BitImageProcessor",
        "do_resize": True,
        "size": {"shortest_edge": 256},
        "resample": 3,
        "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": _IMAGENET_MEAN,
        "image_std": _IMAGENET_STD,
        "do_convert_rgb": True,
    }


def _clip_processor(size: int) -> dict:
    # Same values as the OpenAI CLIP checkpoints' preprocessor_config.json.
    return {
        "image_processor_type": "CLIPImageProcessor",
        "processor_class": "CLIPProcessor",
        "do_resize": True,
        "size": {"shortest_edge": size},
        "resample": 3,
        "do_center_crop": True,
        "crop_size": {"height": size, "width": size},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": _OPENAI_MEAN,
        "image_std": _OPENAI_STD,
        "do_convert_rgb": True,
    }


def _dinov2_builder(model_id: str) -> Callable[[Path, bool], None]:
    def build(out: Path, full: bool = False) -> None:
        from transformers import Dinov2Config, Dinov2Model

        size = _FULL[model_id] if full else {k: v for k, v in _TINY.items() if k != "intermediate_size"}
        config = Dinov2Config(**size, patch_size=14, image_size=518)
        setattr(config, TEST_MODEL_FLAG, True)
        Dinov2Model(config).save_pretrained(out)
        (out / "preprocessor_config.json").write_text(json.dumps(_dinov2_processor(), indent=2))

    return build


def _vit_processor() -> dict:
    # Same values as facebook/dino-vits16's preprocessor_config.json: a square resize, no crop.
    return {
        "image_processor_type": "ViTImageProcessor",
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 2,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": _IMAGENET_MEAN,
        "image_std": _IMAGENET_STD,
    }


def _dino_v1_builder(model_id: str, patch_size: int) -> Callable[[Path, bool], None]:
    def build(out: Path, full: bool = False) -> None:
        from transformers import ViTConfig, ViTModel

        config = ViTConfig(**(_FULL[model_id] if full else _TINY), patch_size=patch_size, image_size=224)
        setattr(config, TEST_MODEL_FLAG, True)
        ViTModel(config, add_pooling_layer=False).save_pretrained(out)
        (out / "preprocessor_config.json").write_text(json.dumps(_vit_processor(), indent=2))

    return build


def _clip_builder(model_id: str, image_size: int, patch_size: int) -> Callable[[Path, bool], None]:
    def build(out: Path, full: bool = False) -> None:
        from transformers import CLIPConfig, CLIPModel

        size: dict[str, Any] = _FULL[model_id] if full else {"text": _TINY, "vision": _TINY, "projection_dim": 16}
        config = CLIPConfig(
            text_config={**size["text"], "vocab_size": 49408, "max_position_embeddings": 77},
            vision_config={**size["vision"], "image_size": image_size, "patch_size": patch_size},
            projection_dim=size["projection_dim"],
            # OpenAI checkpoints have logit_scale.exp() == 100, so logits_per_image == 100 * cos.
            logit_scale_init_value=4.605170185988092,
        )
        setattr(config, TEST_MODEL_FLAG, True)
        CLIPModel(config).save_pretrained(out)
        clip_tokenizer(out).save_pretrained(out)
        (out / "preprocessor_config.json").write_text(json.dumps(_clip_processor(image_size), indent=2))

    return build


BUILDERS: dict[str, Callable[[Path, bool], None]] = {
    "facebook/dinov2-large": _dinov2_builder("facebook/dinov2-large"),
    "openai/clip-vit-large-patch14-336": _clip_builder("openai/clip-vit-large-patch14-336", 336, 14),
    "openai/clip-vit-base-patch32": _clip_builder("openai/clip-vit-base-patch32", 224, 32),
    "facebook/dino-vits16": _dino_v1_builder("facebook/dino-vits16", 16),
    # DreamBench++'s models: DINO v1 ViT-S/8 and DINOv2-small.
    "facebook/dino-vits8": _dino_v1_builder("facebook/dino-vits8", 8),
    "facebook/dinov2-small": _dinov2_builder("facebook/dinov2-small"),
}


def build_tiny_models(
    models_dir: Path | str, model_ids: list[str] | None = None, seed: int = 0, full_size: bool = False
) -> Path:
    """Build tiny models under ``models_dir/<org>/<name>`` (the layout ``--models`` reads).

    Weights depend only on ``seed`` and the model id, so two builds give identical files. ``full_size`` builds
    the real architectures (random weights, real cost) for benchmarks.
    """
    from transformers.utils import logging

    models_dir = Path(models_dir)  # a string from a notebook or a script

    logging.disable_progress_bar()
    for model_id in model_ids or list(BUILDERS):
        if model_id not in BUILDERS:
            raise KeyError(f"no tiny stand-in for {model_id!r}; known: {', '.join(BUILDERS)}")
        target = models_dir / model_id
        if (target / "config.json").is_file():
            continue
        torch.manual_seed(seed + zlib.crc32(model_id.encode()))  # a model's weights never depend on the others
        # Build beside the target and rename, so an interrupted build never looks complete.
        partial = target.with_name(f".{target.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        BUILDERS[model_id](partial, full_size)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return models_dir


def main(argv: list[str] | None = None) -> None:
    """``python -m grader.testing.tiny_models DIR [MODEL_ID ...]``: build tiny stand-ins (all known ones by default)
    for ``grader check --models DIR``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m grader.testing.tiny_models", description=main.__doc__)
    parser.add_argument("folder", type=Path, help="the --models folder to write (DIR/<org>/<name>)")
    parser.add_argument("models", nargs="*", help=f"model ids (default: all of {', '.join(BUILDERS)})")
    args = parser.parse_args(argv)
    folder = build_tiny_models(args.folder, args.models or None)
    for model_id in args.models or list(BUILDERS):
        print(folder / model_id)


if __name__ == "__main__":
    main()
