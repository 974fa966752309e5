"""The bases of every spec a task file holds, and how a spec is validated by its ``kind``.

This is the bottom of the extension contract: encoder and layout specs (built-in or from a plugin) subclass these
bases and are found through their kind's registry. It imports nothing of the grader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

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


@dataclass(frozen=True)
class FileRule:
    """Which files of a folder a course's script reads as images, and what it does with one it cannot decode."""

    extensions: tuple[str, ...] = (".jpg", ".jpeg", ".png")
    exact_case: bool = False  # only the suffixes as listed (a glob per suffix); else any case (name.lower())
    hidden: bool = False  # names starting with "." are read too (os.listdir lists them; glob does not)
    skip_unreadable: bool = False  # a file that does not decode is skipped, as the script's try/except does

    def takes(self, name: str) -> bool:
        """Whether the script reads a file of this name as an image."""
        if name.startswith(".") and not self.hidden:
            return False
        return name.endswith(self.extensions) if self.exact_case else name.lower().endswith(self.extensions)

    def looks_like_image(self, name: str) -> bool:
        """Whether the name has one of the suffixes in any case (a file the user meant as an image)."""
        return name.lower().endswith(tuple(e.lower() for e in self.extensions))


# How a course's script turns a file into pixels (LayoutBase.loader), and the one used when a task file is silent.
Loader = Literal["open-convert", "upright-on-white"]
DEFAULT_LOADER: Loader = "open-convert"


class LayoutBase(Strict):
    """What every layout spec has. ``kind`` names a record of the layout registry (grader.layouts)."""

    kind: str
    extensions: list[str] = Field(
        default_factory=lambda: [".jpg", ".jpeg", ".png"], description="Suffixes the course's script reads."
    )
    extension_case: Literal["any", "exact"] = Field(
        default="any",
        description="any: a suffix counts in any case (the script lower-cases names); exact: only as listed (a "
        "glob per suffix, case-sensitive on Linux).",
    )
    hidden_files: bool = Field(
        default=False, description="Names starting with '.' are read too (os.listdir lists them; glob does not)."
    )
    unreadable: Literal["problem", "skipped"] = Field(
        default="problem",
        description="A file that does not decode: a problem (the script would fail), or skipped with a warning, as "
        "a script that catches the error and goes on does.",
    )

    loader: Loader = Field(
        default=DEFAULT_LOADER,
        description="How the script turns a file into pixels: open-convert is Image.open(path).convert('RGB') (EXIF "
        "orientation ignored, alpha dropped); upright-on-white applies the EXIF orientation and lays a transparent "
        "image on white first (DreamBench++'s load_image).",
    )

    @property
    def files(self) -> FileRule:
        """How this layout's folders are read: which names are images, and what an undecodable one is."""
        return FileRule(
            tuple(self.extensions), self.extension_case == "exact", self.hidden_files, self.unreadable == "skipped"
        )

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
