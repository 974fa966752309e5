"""DreamBooth-style LoRA training with the grader as its validation step: every ``--validate-every`` steps the
pipeline draws the task's validation images, ``grader.Validator`` scores them in memory, and accelerate logs the
scores (per subject and metric, margins, pass probabilities) to TensorBoard, as diffusers' example training scripts
log theirs. A condensed ``train_dreambooth_lora.py``: the same loss, LoRA layers and validation hook.

    python docs/examples/lora_validation.py --base stable-diffusion-v1-5/stable-diffusion-v1-5 \\
        --task ml2025-hw10 --data hw10_data --models models --out runs/lora --steps 500 --validate-every 100
    tensorboard --logdir runs/lora
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from diffusers import DDPMScheduler, StableDiffusionPipeline
from peft import LoraConfig
from PIL import Image

import grader


def _pixels(path: Path, size: int) -> torch.Tensor:
    image = Image.open(path).convert("RGB").resize((size, size))
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 127.5 - 1


def train(args: argparse.Namespace) -> Path:
    accelerator = Accelerator(log_with="tensorboard", project_dir=str(args.out))
    accelerator.init_trackers("lora")
    pipe = StableDiffusionPipeline.from_pretrained(args.base, safety_checker=None)
    pipe.set_progress_bar_config(disable=True)
    unet, vae, text_encoder, tokenizer = pipe.unet, pipe.vae, pipe.text_encoder, pipe.tokenizer
    for module in (unet, vae, text_encoder):
        module.requires_grad_(False)
    unet.add_adapter(LoraConfig(r=args.rank, lora_alpha=args.rank, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    params = [p for p in unet.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr)
    noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)

    # The grader: models loaded once; it says which prompts each subject's validation images answer.
    validator = grader.Validator(args.task, args.data, models=args.models, cache=args.cache)
    prompts = {s: p[: args.images_per_subject] for s, p in validator.prompts().items()}
    jobs = {s: jobs[0] for s, jobs in validator.jobs.items()}
    size = args.size or pipe.unet.config.sample_size * pipe.vae_scale_factor

    for step in range(1, args.steps + 1):
        job = list(jobs.values())[step % len(jobs)]  # each subject's first prompt and reference, in turn
        pixels = torch.stack([_pixels(ref, size) for ref in job.references[:1]])
        latents = vae.encode(pixels).latent_dist.sample() * vae.config.scaling_factor
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (latents.shape[0],))
        noisy = noise_scheduler.add_noise(latents, noise, timesteps)
        ids = tokenizer(job.prompt, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                        return_tensors="pt").input_ids  # fmt: skip
        prediction = unet(noisy, timesteps, text_encoder(ids)[0]).sample
        loss = F.mse_loss(prediction.float(), noise.float())
        accelerator.backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        accelerator.log({"train/loss": loss.item()}, step=step)
        if step % args.validate_every == 0:  # diffusers' scripts call log_validation here
            generator = torch.Generator().manual_seed(args.seed)
            images = {
                s: [pipe(p, num_inference_steps=args.inference_steps, height=size, width=size, generator=generator)
                    .images[0] for p in ps]
                for s, ps in prompts.items()
            }  # fmt: skip
            result = validator.score(images)
            scores = validator.metrics(result)
            accelerator.log(scores, step=step)
            summary = ", ".join(f"{k} {v:.3g}" for k, v in scores.items() if k.startswith(("mean/", "pass_")))
            accelerator.print(f"step {step}: {result.verdict.value}; {summary}")
    accelerator.end_training()
    return Path(args.out) / "lora"


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="a Stable Diffusion 1.5-shaped pipeline (hub id or folder)")
    parser.add_argument("--task", default="ml2025-hw10")
    parser.add_argument("--data", required=True, help="the task's data folder, as the course ships it")
    parser.add_argument("--models", default=None, help="a --models folder for the grader (default: the HF cache)")
    parser.add_argument("--cache", default=True, help="the grader's embedding cache (a folder; default the user's)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--validate-every", type=int, default=100)
    parser.add_argument("--images-per-subject", type=int, default=4, help="validation images (a partial grade)")
    parser.add_argument("--inference-steps", type=int, default=25)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--rank", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    return train(parser.parse_args(argv))


if __name__ == "__main__":
    main()
