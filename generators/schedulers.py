"""Samplers a generation can use instead of its base's own (``--scheduler``), and DDIM's eta.

EDM bases (Playground v2.5) are trained for EDM's noise schedule and want an EDM sampler; a plain SD/SDXL base
wants a plain one. Pairing them the other way still runs, so it is a warning, not an error.
"""

from __future__ import annotations

from typing import Any

from generators.errors import AdapterError

# name -> diffusers scheduler class; each is built from the base's own scheduler config.
SCHEDULERS = {
    "ddim": "DDIMScheduler",
    "dpmpp-2m": "DPMSolverMultistepScheduler",
    "euler": "EulerDiscreteScheduler",
    "edm-dpmpp-2m": "EDMDPMSolverMultistepScheduler",
    "edm-euler": "EDMEulerScheduler",
}


def is_edm(scheduler: Any) -> bool:
    return type(scheduler).__name__.startswith("EDM")


def use_scheduler(pipe: Any, name: str) -> list[str]:
    """Swap ``pipe``'s scheduler for ``name`` (keeping the base's config); warnings about the pairing."""
    import diffusers

    if name not in SCHEDULERS:
        raise AdapterError(f"unknown scheduler {name!r}; one of: {', '.join(SCHEDULERS)}")
    base_edm = is_edm(pipe.scheduler)
    # Unset values (None) fall back to the new class's defaults: an EDM sampler built from a plain config
    # would otherwise get sigma_min=None.
    config = {k: v for k, v in pipe.scheduler.config.items() if v is not None}
    pipe.scheduler = getattr(diffusers, SCHEDULERS[name]).from_config(config)
    if base_edm and not is_edm(pipe.scheduler):
        return [f"the base samples with an EDM scheduler; {name} is not one (use edm-dpmpp-2m or edm-euler)"]
    if not base_edm and is_edm(pipe.scheduler):
        return [f"{name} is an EDM scheduler; this base was not trained for EDM (use ddim, dpmpp-2m or euler)"]
    return []


def scheduler_name(pipe: Any) -> str:
    """The name ``--scheduler`` knows the pipe's scheduler by, or its class name."""
    cls = type(pipe.scheduler).__name__
    return next((name for name, known in SCHEDULERS.items() if known == cls), cls)


def check_eta(pipe: Any, eta: float | None) -> dict[str, float]:
    """The ``eta`` call argument, which only DDIM takes."""
    if eta is None:
        return {}
    if type(pipe.scheduler).__name__ != "DDIMScheduler":
        raise AdapterError(f"--eta applies to the DDIM scheduler, not {scheduler_name(pipe)}; add --scheduler ddim")
    if not 0 <= eta <= 1:
        raise AdapterError(f"--eta must be from 0 to 1, not {eta:g}")
    return {"eta": eta}
