"""Model id -> local files, resolved in one place.

Order: an explicit folder (``--models DIR`` or $T2I_GRADER_MODELS, holding ``DIR/<org>/<name>``) is used
alone, so a grade is reproducible; otherwise a local directory given as the id, then the Hugging Face cache,
then a download when the hub is reachable.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from grader.errors import ModelMissingError

MODELS_ENV = "T2I_GRADER_MODELS"
TEST_MODEL_FLAG = "t2i_grader_test_model"
# Files the encoders need; keeps a download from pulling TF/Flax/ONNX copies of the weights.
ALLOW_PATTERNS = ["*.json", "*.txt", "*.safetensors", "*.model"]
_PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class ResolvedModel:
    model_id: str
    path: Path
    source: str
    revision: str | None = None

    @property
    def is_test_model(self) -> bool:
        """True for the tiny random-weight stand-ins the project builds for tests."""
        try:
            config = json.loads((self.path / "config.json").read_text("utf-8"))
        except (OSError, ValueError):
            return False
        return bool(config.get(TEST_MODEL_FLAG))


def explicit_models_dir(models_dir: Path | None) -> tuple[Path, str] | None:
    if models_dir is not None:
        return Path(models_dir), "--models"
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV]), f"${MODELS_ENV}"
    return None


def _hf_cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _from_hf_cache(model_id: str, revision: str | None, marker: str = "config.json") -> Path | None:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        path = Path(
            snapshot_download(model_id, revision=revision, local_files_only=True, allow_patterns=ALLOW_PATTERNS)
        )
    except (LocalEntryNotFoundError, FileNotFoundError, ValueError, OSError):
        return None
    return path if (path / marker).is_file() else None


def hub_unreachable_reason() -> str | None:
    """Why the hub cannot be used right now, or None if it answers. Fails fast instead of retrying."""
    import urllib.error
    import urllib.request

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    try:
        urllib.request.urlopen(constants.ENDPOINT, timeout=_PROBE_TIMEOUT_S).close()
    except urllib.error.HTTPError:
        return None  # it answered, even if with an error status
    except (urllib.error.URLError, OSError) as exc:
        return f"{constants.ENDPOINT} is unreachable ({getattr(exc, 'reason', exc)})"
    return None


def looks_like_path(model_id: str) -> bool:
    """True for names that can only be a local path, never a hub id (``org/name`` or ``name``)."""
    return (
        model_id.startswith((".", "/", "~"))
        or "\\" in model_id
        or model_id.count("/") > 1
        or Path(model_id).is_absolute()
    )


def fetch_command(model_id: str, models_dir: Path | None = None) -> str:
    if models_dir is not None:
        return f"hf download {model_id} --local-dir {models_dir / model_id}"
    return f"hf download {model_id}"


def locate(
    model_id: str, models_dir: Path | None = None, revision: str | None = None, marker: str = "config.json"
) -> ResolvedModel | None:
    """Find a model already on disk, without any network access. ``marker`` is the file that makes a folder a
    model (``model_index.json`` for a diffusers pipeline)."""
    local = Path(model_id).expanduser()
    if local.is_dir():
        # A folder that exists is the model itself, whatever --models says: only hub ids are looked up there.
        return ResolvedModel(model_id, local, "local directory", revision) if (local / marker).is_file() else None
    explicit = explicit_models_dir(models_dir)
    if explicit is not None:
        root, source = explicit
        candidate = root / model_id
        if (candidate / marker).is_file():
            return ResolvedModel(model_id, candidate, f"{source} {root}", revision)
        return None
    cached = _from_hf_cache(model_id, revision, marker)
    if cached is not None:
        return ResolvedModel(model_id, cached, "Hugging Face cache", revision)
    return None


def resolve(
    model_id: str,
    models_dir: Path | None = None,
    revision: str | None = None,
    purpose: str = "",
    marker: str = "config.json",
) -> ResolvedModel:
    """Local files for ``model_id``, downloading into the HF cache only when nothing local was named."""
    found = locate(model_id, models_dir, revision, marker)
    if found is not None:
        return found
    needed_for = f" (needed for {purpose})" if purpose else ""
    local = Path(model_id).expanduser()
    if local.is_dir():
        raise ModelMissingError(
            f"{model_id}{needed_for}: the local folder {local.resolve()} holds no {marker}; "
            "it is not a saved model (point at the folder written by save_pretrained)"
        )
    if looks_like_path(model_id):
        raise ModelMissingError(
            f"{model_id}{needed_for}: local folder not found ({local.resolve()}); a hub id has the form org/name"
        )
    explicit = explicit_models_dir(models_dir)
    if explicit is not None:
        root, source = explicit
        raise ModelMissingError(
            f"model {model_id}{needed_for} not found.\n"
            f"  looked in: {root / model_id} (from {source}; no {marker} there)\n"
            f"  get it on a machine with internet access: {fetch_command(model_id, root)}\n"
            f"  or drop {source} to use the Hugging Face cache."
        )
    reason = hub_unreachable_reason()
    if reason is not None:
        raise ModelMissingError(
            f"model {model_id}{needed_for} is not in the Hugging Face cache and cannot be downloaded: {reason}.\n"
            f"  looked in: {_hf_cache_dir()}\n"
            f"  get it on a machine with internet access: {fetch_command(model_id)}\n"
            f"  (then copy the cache), or put it in DIR/{model_id} and pass --models DIR."
        )
    return ResolvedModel(model_id, download(model_id, revision), "downloaded to the Hugging Face cache", revision)


def download(model_id: str, revision: str | None = None) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model_id, revision=revision, allow_patterns=ALLOW_PATTERNS))
    except Exception as exc:  # the hub client raises many types; all mean the same to the user
        raise ModelMissingError(f"model {model_id}: download failed: {exc}") from exc
