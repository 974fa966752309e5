"""The bases of every spec a task file holds, and how a spec is validated by its ``kind``.

This is the bottom of the extension contract: encoder and layout specs (built-in or from a plugin) subclass these
bases and are found through their kind's registry. It imports nothing of the grader.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError


class Strict(BaseModel):
    """Unknown keys are rejected, so a typo names its field instead of being ignored; specs are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # a NaN line passes nothing


class EncoderSpecBase(Strict):
    """What every encoder spec has. ``kind`` names a record of the encoder registry (grader.encoders); a
    subclass also has ``model`` (a field or a property): the name reports give the model."""

    kind: str
    if TYPE_CHECKING:  # declared by each subclass, as a field or a property; pydantic must not see it here

        @property
        def model(self) -> str: ...

    @property
    def key(self) -> tuple:
        """Specs with equal keys share one encoder (and its embeddings) within a grade."""
        return (self.kind, self.model_dump_json())

    def with_options(self, options: Any) -> EncoderSpecBase:
        """This spec with the grade's overrides (dtype, face model...) applied where they concern it."""
        return self


# Paths relative to the data folder, tried in order (the course's own name first); a single string is one.
Candidates = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v), Field(min_length=1)]


class LayoutBase(Strict):
    """What every layout spec has. ``kind`` names a record of the layout registry (grader.layouts)."""

    kind: str
    extensions: list[str] = Field(default_factory=lambda: [".jpg", ".jpeg", ".png"])

    @property
    def named_subjects(self) -> list[str]:
        """Subjects named by the task file; [] when the data names them (then lines are checked at grade time)."""
        return []

    @property
    def data_markers(self) -> list[str]:
        """Files or folders whose presence marks the data folder (see grader.submission.data_root)."""
        return []


class OneSubjectLayout(LayoutBase):
    """A layout whose data is one subject, named by the task file."""

    subject: str

    @property
    def named_subjects(self) -> list[str]:
        """The one subject the task file names."""
        return [self.subject]


def by_kind(what: str, registry: Callable[[], Any]) -> BeforeValidator:
    """Validate a mapping with the spec class its ``kind`` names in ``registry``: the open equivalent of a
    discriminated union, so plugins add kinds. Inner errors keep their paths (see tasks.registry)."""

    def validate(value: Any) -> Any:
        if isinstance(value, BaseModel):
            return value
        known = registry()
        kind = value.get("kind") if isinstance(value, dict) else None
        if not isinstance(kind, str) or kind not in known:
            kind = kind if isinstance(kind, str) or kind is None else repr(kind)  # a list or a number: named as given
            message = "unknown {what} kind '{kind}'; known: {known}" if kind else "a {what} needs a 'kind'"
            ctx: dict[str, Any] = {"what": what, "kind": kind, "known": ", ".join(known.names()), "errors": []}
            raise PydanticCustomError("by_kind", message, ctx)
        try:
            return known.get(kind).spec.model_validate(value)
        except ValidationError as exc:
            errors = [{"loc": (kind, *e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
            ctx = {"what": what, "kind": kind, "detail": detail, "errors": errors}
            raise PydanticCustomError("by_kind", "invalid {kind} {what}: {detail}", ctx) from None

    return BeforeValidator(validate)
