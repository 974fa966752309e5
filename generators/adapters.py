"""One adapter per personalization method: load its weights into a diffusers pipeline, then give each image's
call its extra arguments. Loading goes through diffusers' own loaders; a file that does not fit says so."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from generators.errors import AdapterError
from grader.errors import ModelMissingError

if TYPE_CHECKING:
    from generators.jobs import Job


def _is_sdxl(pipe: Any) -> bool:
    return hasattr(pipe, "text_encoder_2")


def _fit(what: str, path: str, exc: Exception, pipe: Any) -> AdapterError:
    base = "SDXL" if _is_sdxl(pipe) else "SD 1.5"
    return AdapterError(
        f"{what} {path} does not fit this {base} base model ({exc.__class__.__name__}: {exc}); "
        "were the weights trained for another base?"
    )


def _exists(path: str | Path, what: str) -> None:
    """A local path must exist; anything else is taken for a hub id, resolved by diffusers."""
    local = Path(path)
    if (local.is_absolute() or str(path).startswith(".") or local.suffix) and not local.exists():
        raise ModelMissingError(f"{what} not found: {path}")


@dataclass
class Adapter:
    """No personalization: the bare base pipeline."""

    name = "none"
    settings: dict[str, Any] = field(default_factory=dict)

    def apply(self, pipe: Any) -> None:
        """Load the adapter's weights into ``pipe``."""

    def call_kwargs(self, pipe: Any, job: Job) -> dict[str, Any]:
        """Extra arguments of the pipeline call for one image."""
        return {}

    def prompt(self, job: Job) -> str | list[str]:
        """What the pipeline call is given as its prompt."""
        return job.prompt

    def failure(self, exc: Exception) -> Exception:
        """What to raise when the pipeline call fails (the error itself, unless the adapter knows better)."""
        return exc

    def set_weights(self, weights: str) -> None:
        """Use ``weights`` (a checkpoint: LoRA folder or file, embedding file, Custom Diffusion folder) from the
        next ``apply``."""
        raise AdapterError(
            f"--grid weights=... swaps the checkpoints of lora, textual-inversion or custom-diffusion, not {self.name}"
        )

    def unload(self, pipe: Any) -> None:
        """Take the adapter's weights out of ``pipe`` again."""

    def swap(self, pipe: Any, weights: str) -> None:
        """Replace the weights loaded in ``pipe`` by ``weights`` (another checkpoint of the same training)."""
        self.set_weights(weights)
        self.unload(pipe)
        self.apply(pipe)


@dataclass
class IPAdapter(Adapter):
    """IP-Adapter: the subject's reference image as an image prompt, its weight set per subject."""

    name = "ip-adapter"
    source: str = ""
    subfolder: str = ""
    weight_name: str = "ip-adapter.safetensors"
    image_encoder_folder: str | None = "image_encoder"
    scale: float = 0.6
    subject_scales: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.settings = {
            "source": self.source,
            "subfolder": self.subfolder,
            "weight_name": self.weight_name,
            "image_encoder_folder": self.image_encoder_folder,
            "ip_adapter_scale": self.scale,
            "subject_scales": self.subject_scales,
        }

    def apply(self, pipe: Any) -> None:
        _exists(self.source, "IP-Adapter folder")
        try:
            pipe.load_ip_adapter(
                self.source,
                subfolder=self.subfolder,
                weight_name=self.weight_name,
                image_encoder_folder=self.image_encoder_folder,
            )
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise _fit("IP-Adapter", self.source, exc, pipe) from exc

    def call_kwargs(self, pipe: Any, job: Job) -> dict[str, Any]:
        if not job.references:
            raise AdapterError(f"{job.subject}: no reference image for the IP-Adapter's image prompt")
        scale = self.subject_scales.get(job.subject, self.scale)
        pipe.set_ip_adapter_scale(scale)
        return {"ip_adapter_image": Image.open(job.references[0]).convert("RGB")}


@dataclass
class LoRA(Adapter):
    """A (DreamBooth-)LoRA, at a given scale."""

    name = "lora"
    path: str = ""
    weight_name: str | None = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        self.settings = {"path": self.path, "weight_name": self.weight_name, "lora_scale": self.scale}

    def apply(self, pipe: Any) -> None:
        _exists(self.path, "LoRA weights")
        try:
            pipe.load_lora_weights(self.path, weight_name=self.weight_name, adapter_name="personal")
            pipe.set_adapters(["personal"], adapter_weights=[self.scale])
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise _fit("LoRA", self.path, exc, pipe) from exc

    def set_weights(self, weights: str) -> None:
        self.path = self.settings["path"] = weights

    def unload(self, pipe: Any) -> None:
        pipe.delete_adapters(["personal"])


def _embedding_tokens(path: Path) -> list[str] | None:
    """Tokens a diffusers-format embedding file names, or None when it keeps them elsewhere (A1111 format)."""
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            keys = list(f.keys())
    else:
        import torch

        keys = list(torch.load(path, map_location="cpu", weights_only=True))
    generic = {"string_to_param", "string_to_token", "emb_params", "clip_l", "clip_g", "name", "step"}
    return None if set(keys) & generic else keys


@dataclass
class TextualInversion(Adapter):
    """Textual-inversion embeddings, one file per token (``<new1>=learned_embeds.safetensors``); an SDXL file
    with ``clip_l``/``clip_g`` (pivotal tuning) loads into both text encoders."""

    name = "textual-inversion"
    embeddings: dict[str, str] = field(default_factory=dict)  # token -> file

    def __post_init__(self) -> None:
        self.settings = {"embeddings": self.embeddings}

    def apply(self, pipe: Any) -> None:
        for token, file in self.embeddings.items():
            path = Path(file)
            if not path.is_file():
                raise ModelMissingError(f"embedding file not found: {file} (for {token})")
            tokens = _embedding_tokens(path)
            if tokens is not None and token not in tokens:
                raise AdapterError(f"{file} holds {', '.join(tokens)}, not the task's token {token}")
            try:
                if _is_sdxl(pipe):
                    self._load_sdxl(pipe, token, path)
                else:
                    pipe.load_textual_inversion(str(path), token=token)
            except (OSError, ValueError, RuntimeError, KeyError) as exc:
                raise _fit("embedding", file, exc, pipe) from exc

    def set_weights(self, weights: str) -> None:
        if len(self.embeddings) != 1:
            raise AdapterError("--grid weights=... swaps one embedding: give exactly one --embedding TOKEN=FILE")
        (token,) = self.embeddings
        self.embeddings = self.settings["embeddings"] = {token: weights}

    def unload(self, pipe: Any) -> None:
        pipe.unload_textual_inversion()

    @staticmethod
    def _load_sdxl(pipe: Any, token: str, path: Path) -> None:
        from safetensors.torch import load_file

        state = load_file(str(path))
        if not {"clip_l", "clip_g"} <= set(state):
            raise AdapterError(f"{path}: an SDXL embedding needs clip_l and clip_g tensors, found {', '.join(state)}")
        pipe.load_textual_inversion(
            state["clip_l"], token=token, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer
        )
        pipe.load_textual_inversion(
            state["clip_g"], token=token, text_encoder=pipe.text_encoder_2, tokenizer=pipe.tokenizer_2
        )


@dataclass
class CustomDiffusion(Adapter):
    """Custom Diffusion: trained cross-attention processors plus the modifier tokens' embeddings."""

    name = "custom-diffusion"
    path: str = ""
    weight_name: str = "pytorch_custom_diffusion_weights.bin"
    tokens: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.settings = {"path": self.path, "weight_name": self.weight_name, "modifier_tokens": self.tokens}

    def apply(self, pipe: Any) -> None:
        folder = Path(self.path)
        if not (folder / self.weight_name).is_file():
            raise ModelMissingError(f"Custom Diffusion weights not found: {folder / self.weight_name}")
        try:
            pipe.unet.load_attn_procs(str(folder), weight_name=self.weight_name)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise _fit("Custom Diffusion", str(folder), exc, pipe) from exc
        for token in self.tokens:
            file = folder / f"{token}.bin"
            if not file.is_file():
                raise ModelMissingError(f"no embedding for modifier token {token}: {file} not found")
            pipe.load_textual_inversion(str(folder), weight_name=file.name, token=token)

    def set_weights(self, weights: str) -> None:
        self.path = self.settings["path"] = weights

    def unload(self, pipe: Any) -> None:
        pipe.unet.set_default_attn_processor()
        pipe.unload_textual_inversion()


def context_of(prompt: str, category: str) -> str:
    """The prompt's words besides its subject: ``a photo of a dog on the beach`` -> ``on the beach`` (BLIP-Diffusion
    puts ``a {category}`` in front itself); with nothing after the category, the prompt without it (``a wet dog``
    -> ``a wet``). A prompt that never names the category is kept whole."""
    import re

    found = re.search(rf"\b{re.escape(category)}\b", prompt, flags=re.IGNORECASE) if category else None
    if not found:
        return prompt
    after = prompt[found.end() :].strip(" ,")
    return after or " ".join(prompt[: found.start()].split())


@dataclass
class BlipDiffusion(Adapter):
    """BLIP-Diffusion (zero-shot): a BLIP-Diffusion base conditioned on the subject's first reference image and its
    category word (ml2025-hw10: the object's ``name``; DreamBench: the subject's class), no training."""

    name = "blip-diffusion"
    prompt_strength: float = 1.0
    prompt_reps: int = 20  # the original code repeats the prompt to strengthen it

    def __post_init__(self) -> None:
        self.settings = {"prompt_strength": self.prompt_strength, "prompt_reps": self.prompt_reps}

    def apply(self, pipe: Any) -> None:
        if type(pipe).__name__ != "BlipDiffusionPipeline":
            kind = type(pipe).__name__
            raise AdapterError(
                f"blip-diffusion needs a BLIP-Diffusion base (e.g. Salesforce/blipdiffusion), not a {kind}"
            )

    def prompt(self, job: Job) -> list[str]:
        return [context_of(job.prompt, job.category)]

    def failure(self, exc: Exception) -> Exception:
        from generators.blip_diffusion import incompatible

        return incompatible(exc) if isinstance(exc, AttributeError | IndexError | TypeError) else exc

    def call_kwargs(self, pipe: Any, job: Job) -> dict[str, Any]:
        if not job.references:
            raise AdapterError(f"{job.subject}: no reference image for BLIP-Diffusion")
        if not job.category:
            raise AdapterError(f"{job.subject}: no category word (the task's data names none) for BLIP-Diffusion")
        return {
            "reference_image": Image.open(job.references[0]).convert("RGB"),
            "source_subject_category": [job.category],
            "target_subject_category": [job.category],
            "prompt_strength": self.prompt_strength,
            "prompt_reps": self.prompt_reps,
        }


ADAPTERS = {cls.name: cls for cls in (Adapter, IPAdapter, LoRA, TextualInversion, CustomDiffusion, BlipDiffusion)}
