"""What the user asked of a grade (``GradeOptions``: frozen, plain values) and what a grade may use that lives
longer than it (``Resources``: the embedding cache, encoders kept loaded between grades).

Every front end (``grader check``/``watch``/``batch``, ``grader.grade``, the pytest plugin, ``generate sweep``)
builds its options with ``GradeOptions.build``, from the strings or values it was given, so the options mean
the same wherever they come from.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypedDict

from grader.errors import UsageError
from grader.keyvalues import key_values

if TYPE_CHECKING:
    from grader.cache import EmbeddingCache
    from grader.tasks.schema import Tier

# Every spelling of a precision a front end accepts, and what it means for the encoders (None: the task's own,
# float32 for every shipped task).
DTYPES: Mapping[str, str | None] = MappingProxyType(
    {"fp32": None, "float32": None, "bf16": "bfloat16", "bfloat16": "bfloat16"}
)


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


class GradingKeywords(TypedDict, total=False):
    """The grading options as the Python API takes them (``grader.grade(..., **options)``): the keywords of
    ``GradeOptions.build`` that a user gives."""

    models: str | Path | None
    text_template: str | None
    dtype: str | None
    face_model: str | None
    face_detector: str | None
    classifiers: Mapping[str, str | Path] | list[str] | None
    thresholds: Mapping[str, float | str] | list[str] | None
    strict_copies: bool
    gate: str | Path | None
    device: str | None
    batch_size: int | str | None
    partial: bool


@dataclass(frozen=True)
class GradeOptions:
    """The user's intent for one grade; equal options grade alike. Build it with ``GradeOptions.build``."""

    tier: str | None = None  # None: the task's first tier
    models_dir: Path | None = None
    text_template: str | None = None  # overrides every text metric's template
    dtype: str | None = None  # "bfloat16" runs the transformers encoders in bf16; None: the task's (float32)
    face_model: str | None = None  # overrides the task's deepface model_name
    face_detector: str | None = None  # overrides the task's deepface detector_backend
    classifiers: Mapping[str, Path] = field(default_factory=_frozen)  # subject -> classifier checkpoint
    thresholds: Mapping[str, float] = field(default_factory=_frozen)  # metric -> line for every subject ("custom")
    strict_copies: bool = False  # a copy of a reference or a duplicate image is a problem, not only a flag
    tiers: Mapping[str, Tier] = field(default_factory=_frozen)  # tiers besides the task's (a calibrated gate)
    device: str | None = None  # e.g. "cuda:0"; None: cuda if present, else cpu
    batch_size: int | None = None  # images per forward pass; None: the device's default
    partial: bool = False  # grade a submission still being generated: missing images are not a problem

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        if self.models_dir is not None:
            set_(self, "models_dir", Path(self.models_dir))
        set_(self, "classifiers", _frozen({k: Path(v) for k, v in self.classifiers.items()}))
        set_(self, "thresholds", _frozen(self.thresholds))
        set_(self, "tiers", _frozen(self.tiers))

    def with_changes(self, **changes: Any) -> GradeOptions:
        """A copy with some options changed (the options themselves never change)."""
        return replace(self, **changes)

    def __reduce__(self) -> tuple:  # mapping proxies do not pickle; the options travel to Ray workers
        values = {f: getattr(self, f) for f in self.__dataclass_fields__}
        for name in ("classifiers", "thresholds", "tiers"):
            values[name] = dict(values[name])
        return (_rebuild, (values,))

    @classmethod
    def build(
        cls,
        *,
        baseline: str | None = None,
        models: str | Path | None = None,
        text_template: str | None = None,
        dtype: str | None = None,
        face_model: str | None = None,
        face_detector: str | None = None,
        classifiers: Mapping[str, str | Path] | list[str] | None = None,
        thresholds: Mapping[str, float | str] | list[str] | None = None,
        strict_copies: bool = False,
        gate: str | Path | None = None,
        task: str | None = None,
        device: str | None = None,
        batch_size: int | str | None = None,
        partial: bool = False,
    ) -> GradeOptions:
        """The options from what a user typed or passed: ``thresholds`` and ``classifiers`` as a mapping or as
        ``KEY=VALUE[,KEY=VALUE]`` strings (one per use of a repeatable option), ``dtype`` as fp32/float32/bf16/
        bfloat16, ``gate`` a file from ``grader calibrate`` (checked to belong to ``task``). Raises
        ``UsageError`` naming the option for anything it cannot take.

        Example:
            >>> options = GradeOptions.build(thresholds=["dino=60,clip_t=18"], dtype="bf16", batch_size="4")
            >>> dict(options.thresholds), options.dtype, options.batch_size
            ({'dino': 60.0, 'clip_t': 18.0}, 'bfloat16', 4)
        """
        if thresholds and baseline not in (None, "custom"):
            raise UsageError(
                f"--threshold sets the lines of tier 'custom', so --baseline {baseline} would not be used: give one "
                "or the other"
            )
        tiers = {}
        if gate is not None:
            from grader.calibrate import GATE_TIER, gate_tier

            if task is None:
                raise UsageError("--gate needs the task it was calibrated for")
            tiers[GATE_TIER] = gate_tier(Path(gate), task)
        return cls(
            tier=baseline,
            models_dir=Path(models) if models is not None else None,
            text_template=_template(text_template),
            dtype=_dtype(dtype),
            face_model=face_model,
            face_detector=face_detector,
            classifiers={k: Path(v) for k, v in _pairs(classifiers, "--classifier").items()},
            thresholds={k: _line(k, v) for k, v in _pairs(thresholds, "--threshold").items()},
            strict_copies=bool(strict_copies),
            tiers=tiers,
            device=_device(device),
            batch_size=_batch_size(batch_size),
            partial=bool(partial),
        )


def _rebuild(values: dict[str, Any]) -> GradeOptions:
    return GradeOptions(**values)


def _pairs(given: Mapping[str, Any] | list[str] | None, option: str) -> dict[str, Any]:
    if given is None:
        return {}
    if isinstance(given, Mapping):
        return dict(given)
    if isinstance(given, str):
        return key_values([given], option)
    return key_values(list(given), option)


def _line(metric: str, value: float | str) -> float:
    try:
        line = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"--threshold {metric}={value}: not a number") from None
    if not math.isfinite(line):
        raise UsageError(f"--threshold {metric}={value}: a line must be a finite number")
    return line


def _dtype(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        return DTYPES[str(name).lower()]
    except KeyError:
        raise UsageError(f"--dtype {name}: not a precision; one of {', '.join(DTYPES)}") from None


def _batch_size(value: int | str | None) -> int | None:
    if value is None:
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"--batch-size {value}: not a whole number") from None
    if size < 1:
        raise UsageError(f"--batch-size {value}: at least 1 image per forward pass")
    return size


@dataclass
class Resources:
    """What grades share and keep between them: not part of what was asked, so not in ``GradeOptions``."""

    cache: EmbeddingCache | None = None  # None: no cache
    encoder_pool: dict | None = None  # encoders kept across grades (grader watch): models load once

    def keeping_models(self) -> Resources:
        """These resources with an encoder pool, so that a run of grades loads each model once (the caller's
        own pool when it has one; the caller's object is left as it is)."""
        return Resources(self.cache, {} if self.encoder_pool is None else self.encoder_pool)

    @classmethod
    def with_cache(cls, cache: bool | str | Path | None = True) -> Resources:
        """True: the user cache; False or None: none; a folder (or an ``.sqlite`` file): that cache."""
        from grader.cache import EmbeddingCache

        if cache is True:
            return cls(EmbeddingCache())
        if cache is False or cache is None:
            return cls()
        folder = Path(cache)
        try:
            return cls(EmbeddingCache(folder if folder.suffix == ".sqlite" else folder / "embeddings.sqlite"))
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(f"cache={cache}: cannot be used as the embedding cache ({exc})") from exc


def _template(template: str | None) -> str | None:
    from grader.text_templates import TemplateError, check_template

    if template is None:
        return None
    try:
        return check_template(template)
    except TemplateError as exc:
        raise UsageError(f"--text-template: {exc}") from None


def _device(device: str | None) -> str | None:
    """``cpu``, ``cuda``, ``cuda:N`` or ``mps``, present on this machine (asking for one costs the torch import)."""
    import re

    if device is None:
        return None
    match = re.fullmatch(r"(cpu|cuda|mps)(?::(\d+))?", device.strip())
    if match is None:
        raise UsageError(f"--device {device!r}: not a torch device (cpu, cuda, cuda:N or mps)")
    kind, index = match.group(1), int(match.group(2) or 0)
    if kind == "cpu":
        return device.strip()
    import torch

    if kind == "cuda" and index >= torch.cuda.device_count():
        have = torch.cuda.device_count()
        raise UsageError(f"--device {device}: this machine has {have or 'no'} CUDA device{'s' if have != 1 else ''}")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise UsageError(f"--device {device}: MPS is not available on this machine")
    return device.strip()
