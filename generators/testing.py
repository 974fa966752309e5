"""Tiny Stable Diffusion 1.5-shaped pipelines and personalization weights, built locally for tests.

Random weights, real component classes and file layouts: every adapter loads through diffusers' own loaders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from generators.run import mark_test_pipeline
from grader.testing.clip_vocab import clip_tokenizer

CROSS_DIM = 32


def tiny_unet(cross_attention_dim: int = CROSS_DIM):
    """A two-block SD-shaped UNet; another ``cross_attention_dim`` stands in for another base model."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=cross_attention_dim,
        norm_num_groups=8,
    )


def tiny_vae():
    """A two-block SD-shaped VAE with 4 latent channels."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        norm_num_groups=8,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
    )


def _tiny_text_config():
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        hidden_size=CROSS_DIM,
        intermediate_size=64,
        num_attention_heads=2,
        num_hidden_layers=2,
        vocab_size=49408,
        max_position_embeddings=77,
        projection_dim=CROSS_DIM,
    )


def _hidden_size(processor: str, channels: list[int]) -> int:
    """The channel width an attention processor of this name works at (as diffusers' loaders compute it)."""
    if processor.startswith("mid_block"):
        return channels[-1]
    if processor.startswith("up_blocks"):
        return list(reversed(channels))[int(processor[len("up_blocks.")])]
    return channels[int(processor[len("down_blocks.")])]


def build_tiny_sd(out: Path, seed: int = 0) -> Path:
    """A ``save_pretrained`` folder of a tiny SD 1.5-shaped pipeline (UNet, VAE, CLIP text encoder, DDIM)."""

    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPTextModel

    if (out / "model_index.json").is_file():
        return out
    torch.manual_seed(seed)
    unet = tiny_unet()
    vae = tiny_vae()
    text_encoder = CLIPTextModel(_tiny_text_config())
    tokenizer = clip_tokenizer(out / "tokenizer")
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        steps_offset=1,
        set_alpha_to_one=False,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(out)  # type: ignore[attr-defined]  # diffusers' mixin, which its stubs do not show
    mark_test_pipeline(out)
    return out


def build_tiny_ip_adapter(out: Path, unet, seed: int = 0) -> Path:
    """An IP-Adapter folder for ``unet``: ``ip-adapter.safetensors`` (image projection + key/value projections
    for every cross-attention) and a tiny CLIP vision encoder in ``image_encoder/``."""
    from diffusers.models.attention_processor import IPAdapterAttnProcessor
    from diffusers.models.embeddings import ImageProjection
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_attention_heads=2,
            num_hidden_layers=2,
            image_size=32,
            patch_size=8,
            projection_dim=32,
        )
    )
    encoder.save_pretrained(out / "image_encoder")
    (out / "image_encoder" / "preprocessor_config.json").write_text(
        '{"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 32}, '
        '"crop_size": {"height": 32, "width": 32}, "do_center_crop": true, "do_normalize": true, '
        '"do_resize": true, "do_rescale": true, "do_convert_rgb": true, "resample": 3}'
    )
    state: dict[str, torch.Tensor] = {}
    key = 1  # diffusers numbers the cross-attention processors 1, 3, 5, ...
    channels = unet.config.block_out_channels
    for name in unet.attn_processors:
        if not name.endswith("attn1.processor"):
            hidden = _hidden_size(name, channels)
            weights = IPAdapterAttnProcessor(hidden_size=hidden, cross_attention_dim=CROSS_DIM).state_dict()
            state[f"ip_adapter.{key}.to_k_ip.weight"] = weights["to_k_ip.0.weight"]
            state[f"ip_adapter.{key}.to_v_ip.weight"] = weights["to_v_ip.0.weight"]
            key += 2
    projection = ImageProjection(cross_attention_dim=CROSS_DIM, image_embed_dim=32, num_image_text_embeds=4)
    # The original IP-Adapter file names the projection "proj"; diffusers renames it to image_embeds on load.
    state.update({f"image_proj.{k.replace('image_embeds', 'proj')}": v for k, v in projection.state_dict().items()})
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / "ip-adapter.safetensors"))
    return out


def build_tiny_lora(out: Path, unet, seed: int = 0) -> Path:
    """A UNet LoRA saved with diffusers' own ``save_lora_weights``."""
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    unet.add_adapter(
        LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False)
    )
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionPipeline.save_lora_weights(out, unet_lora_layers=layers, safe_serialization=True)
    return out


def build_tiny_embedding(out: Path, token: str, dim: int = CROSS_DIM, seed: int = 0) -> Path:
    """A diffusers-format textual-inversion file: ``{token: vector}``."""
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({token: torch.randn(dim) * 0.5}, str(out))
    return out


def build_tiny_custom_diffusion(out: Path, unet, tokens: list[str], seed: int = 0) -> Path:
    """Custom Diffusion processors for every attention of ``unet`` plus ``<token>.bin`` embeddings."""
    from diffusers.models.attention_processor import CustomDiffusionAttnProcessor

    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    channels = unet.config.block_out_channels
    processors = {}
    for name in unet.attn_processors:
        cross = None if name.endswith("attn1.processor") else CROSS_DIM
        hidden = _hidden_size(name, channels)
        processor = CustomDiffusionAttnProcessor(
            train_kv=cross is not None, train_q_out=False, hidden_size=hidden, cross_attention_dim=cross
        )
        for param in processor.parameters():
            torch.nn.init.normal_(param, std=0.2)
        processors[name] = processor
    unet.set_attn_processor(processors)
    unet.save_attn_procs(str(out), weight_name="pytorch_custom_diffusion_weights.bin", safe_serialization=False)
    for token in tokens:
        torch.save({token: torch.randn(CROSS_DIM) * 0.5}, out / f"{token}.bin")
    return out


def build_tiny_sdxl(out: Path, seed: int = 0) -> Path:
    """A ``save_pretrained`` folder of a tiny SDXL-shaped pipeline: two CLIP text encoders (the second with a
    projection) whose hidden states are concatenated for the UNet, and SDXL's size/crop conditioning."""

    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    if (out / "model_index.json").is_file():
        return out
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=6 * 8 + CROSS_DIM,
        cross_attention_dim=2 * CROSS_DIM,
        norm_num_groups=8,
    )
    vae = tiny_vae()
    config = _tiny_text_config()
    tokenizers = [clip_tokenizer(out / name) for name in ("tokenizer", "tokenizer_2")]
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(config),
        text_encoder_2=CLIPTextModelWithProjection(config),
        tokenizer=tokenizers[0],
        tokenizer_2=tokenizers[1],
        unet=unet,
        scheduler=EulerDiscreteScheduler(
            beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
        ),
    )
    pipe.save_pretrained(out)  # type: ignore[attr-defined]  # diffusers' mixin, which its stubs do not show
    return out


def build_tiny_sdxl_embedding(out: Path, dim: int = CROSS_DIM, seed: int = 0) -> Path:
    """An SDXL textual-inversion file as pivotal tuning writes it: ``clip_l`` and ``clip_g`` vectors."""
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({"clip_l": torch.randn(1, dim) * 0.5, "clip_g": torch.randn(1, dim) * 0.5}, str(out))
    return out


# Words the tiny Q-Former's BERT tokenizer knows; anything else is [UNK], which a random model does not mind.
_BERT_WORDS = [
    *("a", "an", "the", "of", "in", "on", "with", "photo"),
    *("dog", "cat", "toy", "bear", "can", "backpack", "teapot", "vase", "duck", "sloth", "robot"),
]


def bert_vocab(out: Path) -> Path:
    """A BERT WordPiece vocabulary folder (``vocab.txt``) that ``BertTokenizer.from_pretrained`` reads offline."""
    out.mkdir(parents=True, exist_ok=True)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *_BERT_WORDS, *letters, *(f"##{t}" for t in letters)]
    (out / "vocab.txt").write_text("\n".join(dict.fromkeys(tokens)) + "\n")
    return out


def build_tiny_blip_diffusion(out: Path, seed: int = 0) -> Path:
    """A ``save_pretrained`` folder of a tiny BLIP-Diffusion pipeline: a Q-Former (BLIP-2 vision tower and
    query transformer, BERT tokenizer) whose query embeddings enter a context CLIP text encoder, an SD-shaped
    UNet and VAE, and PNDM as the original ships."""
    from diffusers import PNDMScheduler
    from transformers import Blip2Config

    from generators.blip_diffusion import blip_module

    if (out / "model_index.json").is_file():
        return out
    torch.manual_seed(seed)
    vision: dict[str, Any] = {"hidden_size": CROSS_DIM, "intermediate_size": 64, "num_hidden_layers": 1}
    vision["num_attention_heads"] = 2
    vision |= {"image_size": 32, "patch_size": 8, "hidden_act": "quick_gelu"}
    query = {"vocab_size": 128, "hidden_size": CROSS_DIM, "num_hidden_layers": 1, "num_attention_heads": 2}
    query |= {"intermediate_size": 64, "max_position_embeddings": 128, "cross_attention_frequency": 1}
    query |= {"encoder_hidden_size": CROSS_DIM}
    tokenizer_dir = bert_vocab(out / "qformer_tokenizer")
    config = Blip2Config(
        vision_config=vision,
        qformer_config=query,
        num_query_tokens=8,
        tokenizer=str(tokenizer_dir),  # type: ignore[call-arg,unused-ignore]  # kept as an extra config field, which BLIP reads
    )
    pipe = blip_module().BlipDiffusionPipeline(
        tokenizer=clip_tokenizer(out / "tokenizer"),
        text_encoder=blip_module("modeling_ctx_clip").ContextCLIPTextModel(_tiny_text_config()),
        vae=tiny_vae(),
        unet=tiny_unet(),
        scheduler=PNDMScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            set_alpha_to_one=False,
            skip_prk_steps=True,
        ),
        qformer=blip_module("modeling_blip2").Blip2QFormerModel(config),
        image_processor=blip_module("blip_image_processing").BlipImageProcessor(size={"height": 32, "width": 32}),
        mean=[0.48145466, 0.4578275, 0.40821073],
        std=[0.26862954, 0.26130258, 0.27577711],
    )
    pipe.save_pretrained(out)
    return out


def build_tiny_kit(root: Path) -> dict[str, Path]:
    """A tiny SD 1.5-shaped base and one set of weights per adapter, under ``root``: what ``generate run`` needs to
    try every adapter offline (random weights: the images are noise, the files and loaders are real)."""
    from diffusers import UNet2DConditionModel

    base = build_tiny_sd(root / "tiny-sd")
    kit = {"base": base}
    kit["ip-adapter"] = build_tiny_ip_adapter(
        root / "tiny-ip-adapter", UNet2DConditionModel.from_pretrained(base / "unet")
    )
    kit["lora"] = build_tiny_lora(root / "tiny-lora", UNet2DConditionModel.from_pretrained(base / "unet"))
    kit["textual-inversion"] = build_tiny_embedding(root / "tiny-embedding.safetensors", "<tiny>")
    unet = UNet2DConditionModel.from_pretrained(base / "unet")
    kit["custom-diffusion"] = build_tiny_custom_diffusion(root / "tiny-custom-diffusion", unet, ["<new1>"])
    return kit


def main(argv: list[str] | None = None) -> None:
    """``python -m generators.testing DIR``: build the tiny kit and print how to use it."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m generators.testing", description=build_tiny_kit.__doc__)
    parser.add_argument("folder", type=Path, help="where to build the base and the adapter weights")
    kit = build_tiny_kit(parser.parse_args(argv).folder)
    for name, path in kit.items():
        print(f"{name:18s} {path}")
    print(
        "\ne.g. generate run --task ml2025-hw10 --data fixtures/ml2025-hw10/data "
        f"--base {kit['base']} --adapter lora --weights {kit['lora']} --steps 2 --size 64 --out /tmp/tiny-run"
    )


if __name__ == "__main__":
    main()
