"""Fingerprints and descriptions of transformers encoders, from files and package metadata alone (no torch)."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from typing import Any

from grader.models import ResolvedModel
from grader.result import ModelInfo


def _weights_signature(path) -> list:
    """Weight files by name, size and mtime: cheap to read, and changes whenever the weights do."""
    return sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in path.glob("*.safetensors"))


def transformers_fingerprint(spec: Any, resolved: ResolvedModel) -> str:
    """Identifies everything that changes an embedding: weights, preprocessing, dtype, library versions."""
    config = (resolved.path / "config.json").read_bytes()
    processor = (resolved.path / "preprocessor_config.json").read_bytes()
    parts = {
        "kind": spec.kind,
        "model": spec.model,
        "revision": spec.revision,
        "snapshot": str(resolved.path),
        "weights": _weights_signature(resolved.path),
        "config": hashlib.sha256(config).hexdigest(),
        "processor": hashlib.sha256(processor).hexdigest(),
        "preprocessing": spec.preprocessing,
        "resize_crop": spec.resize_crop.model_dump() if spec.resize_crop else None,
        "dtype": spec.dtype,
        "transformers": version("transformers"),
        "torch": version("torch"),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def hub_model_info(resolved: ResolvedModel, fingerprint: str, labels: list[str]) -> ModelInfo:
    """How reports name a model loaded from a folder, the HF cache or ``--models``."""
    r = resolved
    return ModelInfo(labels, r.model_id, r.source, str(r.path), fingerprint, r.is_test_model)
