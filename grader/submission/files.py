"""Image files of a folder, checked one by one; problems are collected, not raised."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import InputError
from grader.problems import Problem, Severity
from grader.specs import DEFAULT_LOADER, FileRule

if TYPE_CHECKING:
    from grader.cache import EmbeddingCache
    from grader.fingerprints import VisualHash

# numpy and Pillow are imported where images are read: listing or validating tasks imports the layouts, not them.

MANIFEST = "manifest.json"  # written by the generators beside the images: settings and seeds, not an image


@dataclass
class SubjectInput:
    """Everything one subject is graded on, as read from the data folder and the submission."""

    subject: str
    fields: dict[str, str]
    references: list[Path]
    images: list[Path]
    expected_images: int | None = None
    image_fields: list[dict[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)  # lines that come with the data
    labels: list[str] = field(default_factory=list)  # each image's true label (classification layouts)
    label_names: dict[str, str] = field(default_factory=dict)  # label id -> name, for zero-shot texts
    pairs: list[Path] = field(default_factory=list)  # each image's paired reference (paired layouts)
    listing: list[int] = field(default_factory=list)  # each image's place in its folder's os.listdir order

    def fields_of(self, index: int) -> dict[str, str]:
        extra = self.image_fields[index] if index < len(self.image_fields) else {}
        return {**self.fields, **extra}


def natural_key(path: Path) -> list:
    """``2.jpg`` before ``10.jpg``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


@dataclass
class DecodeMemo:
    """What the grade in progress knows of its image files without decoding them again.

    The scan checks each image by its content hash: one that decoded in an earlier grade is known from the cache
    (with its perceptual hash). A new one is only opened for its header and left ``pending``: the grade decodes it
    once, for its perceptual hash and for every encoder at the same time, and records here whether it decoded
    (``visual``) or not (``failed``), so that scanning again leaves out what failed."""

    cache: EmbeddingCache | None
    loader: str = DEFAULT_LOADER  # how files become pixels (LayoutBase.loader): part of what the cache knows
    visual: dict[Path, VisualHash] = field(default_factory=dict)
    failed: dict[Path, str] = field(default_factory=dict)  # path -> why it does not decode
    pending: dict[Path, None] = field(default_factory=dict)  # not yet decoded, in scan order

    def decoded(self, path: Path, visual: VisualHash, digest: str) -> None:
        """``path`` decoded from bytes of SHA-256 ``digest`` (what the cache learns is of those bytes)."""
        self.pending.pop(path, None)
        self.visual[path] = visual
        if self.cache is not None and digest:
            self.cache.mark_decoded(digest, visual.encode())

    def failed_to_decode(self, path: Path, why: str) -> None:
        self.pending.pop(path, None)
        self.failed[path] = why


@dataclass(frozen=True)
class ScanContext:
    """What one grade's scan reads through, handed to every scanner: the grade's submission and data folders (a
    link that leads out of the submission is not read) and what the grade knows of its images (``memo``). The
    default, outside a grade (a generator's planner, a notebook), reads and decodes every file plainly."""

    submission: Path | None = None  # resolved
    data: Path | None = None  # resolved
    memo: DecodeMemo | None = None
    given: Path | None = None  # the submission as named (absolute, links kept): its files are named under it

    @classmethod
    def of_grade(cls, submission: Path, data: Path, memo: DecodeMemo) -> ScanContext:
        return cls(submission.resolve(), data.resolve(), memo, Path(os.path.abspath(submission)))


PLAIN = ScanContext()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def plain_name(name: object) -> bool:
    """Whether ``name`` (a key, subject or student id read from data) names one entry of a folder: joined to
    the folder it cannot lead out of it, nor name the folder itself."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not any(c in name for c in "/\\\0")
        and not (len(name) > 1 and name[1] == ":")  # a Windows drive, as zips made there may carry
    )


def confined(folder: Path, name: object, source: Path | str, what: str) -> Path:
    """``folder / name`` for a ``name`` read from data, or InputError naming ``source`` when the name would
    lead out of ``folder`` (``../x``, ``a/b``, an absolute path)."""
    if not plain_name(name):
        raise InputError(f"{source}: {what} {name!r} is not a plain name (it would lead out of {folder}); not read")
    return folder / str(name)


def outside_link(path: Path, context: ScanContext = PLAIN) -> str | None:
    """Why ``path`` is not read: a submission file (named under the submission folder) that is, through a link
    of its own or of a folder above it, somewhere outside the submission (None: read it)."""
    if context.submission is None or context.data is None:
        return None
    submission, data = context.submission, context.data
    named = Path(os.path.abspath(path))
    if not (_inside(named, submission) or (context.given is not None and _inside(named, context.given))):
        return None  # not a submission file (references and data files are the course's own)
    target = path.resolve()
    if _inside(target, submission):
        return None
    if _inside(target, data):
        return f"is a link to {target.name} of the task's data (a copy of a reference image); not read"
    return f"is a link to {target}, outside the submission; not read"


def _decode(path: Path, context: ScanContext) -> None:
    """Raise InputError if ``path`` does not decode. Within a grade, a new image is left for the grade's single
    decoding pass (the scan reads only its header); contents that decoded before are not decoded again."""
    from grader.images import decode

    memo = context.memo
    if memo is None:
        decode(path)
        return
    if path in memo.failed:
        raise InputError(memo.failed[path])
    if path in memo.visual:
        return
    if memo.cache is not None:
        from grader.cache import file_digest
        from grader.fingerprints import VisualHash

        try:
            digest = file_digest(path)
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
        from grader.images import loader_key

        known = VisualHash.decode(memo.cache.decoded(digest + loader_key(memo.loader)) or "")
        if known is not None:
            memo.visual[path] = known
            return
    memo.pending[path] = None


# Modes Pillow opens 16- and 32-bit greyscale in: convert("RGB") clips them, so most pixels turn white.
WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


SKIPPED = "skipped, as the course's script skips what it cannot open"


def check_image(
    path: Path,
    subject: str | None,
    expected_size: tuple[int, int] | None = None,
    context: ScanContext = PLAIN,
    skip_unreadable: bool = False,
) -> Problem | None:
    """None for a good image; an error if it cannot be decoded or is a link out of the submission; a warning
    if its size is off or it is a 16-bit image (graded as the course would, but flagged)."""
    why = outside_link(path, context)
    if why:
        return Problem(str(path), why, subject)
    from grader.images import image_header

    try:
        _decode(path, context)
        (w, h), mode = image_header(path)  # for a new image, also the check that it is one (it is not decoded yet)
    except InputError as exc:
        why = exc.args[0].removeprefix(f"{path}: ")
        if skip_unreadable:
            return Problem(str(path), f"{why}; {SKIPPED}", subject, Severity.WARNING)
        return Problem(str(path), f"{why}; left out of the grade", subject)
    if mode in WIDE_MODES:
        message = (
            f"{'16' if mode.startswith('I;16') else '32'}-bit greyscale image (mode {mode}): the course's loader "
            "(Image.open(...).convert('RGB')) turns it mostly white, and so does this grade; save it as 8-bit"
        )
        return Problem(str(path), message, subject, Severity.WARNING)
    if expected_size is not None and (w, h) != tuple(expected_size):
        return Problem(
            str(path), f"is {w}x{h}, the task asks for {expected_size[0]}x{expected_size[1]}", subject, Severity.WARNING
        )
    return None


def _kind(path: Path) -> str:
    """file, broken link, unreadable (its folder lacks the search bit) or other (a folder, pipe, device...)."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "broken link"  # listed a moment ago: only a link to nothing (or a file just removed) is not there
    except OSError as exc:
        return "broken link" if exc.errno == 40 else "unreadable"  # ELOOP
    return "file" if stat.S_ISREG(mode) else "other"


def list_images(
    folder: Path,
    extensions: list[str] | FileRule,
    subject: str | None,
    expected_size: tuple[int, int] | None = None,
    expected_others: tuple[str, ...] = (),
    context: ScanContext = PLAIN,
) -> tuple[list[Path], list[Problem]]:
    """Readable images of ``folder`` in natural order, and a problem for every other file
    (but those with a suffix in ``expected_others``, such as captions beside training photos). ``extensions``:
    the suffixes, or the layout's whole rule for its files (``LayoutBase.files``)."""
    rule = extensions if isinstance(extensions, FileRule) else FileRule(tuple(extensions))
    images, problems = [], []
    try:
        entries = [(p, _kind(p)) for p in folder.iterdir()]
    except OSError as exc:
        return [], [Problem(str(folder), f"cannot be read ({exc.strerror or exc})", subject)]
    if any(kind == "unreadable" for _, kind in entries) and not os.access(folder, os.X_OK):
        message = "cannot be searched (permission denied: the folder lacks its x bit); its files are not read"
        return [], [Problem(str(folder), message, subject)]
    for path, kind in sorted(entries, key=lambda e: natural_key(e[0])):
        if kind == "broken link":
            problems.append(Problem(str(path), "is a link loop or a broken link; not read", subject))
        elif kind == "unreadable":
            problems.append(Problem(str(path), "cannot be read (permission denied); not read", subject))
        elif kind == "other" and rule.takes(path.name):
            message = "not a regular file (a folder, pipe or device); ignored"
            problems.append(Problem(str(path), message, subject, Severity.WARNING))
    for path in sorted((p for p, kind in entries if kind == "file"), key=natural_key):
        name = path.name
        if name == MANIFEST or (name.startswith(".") and not rule.hidden):
            continue
        if not rule.takes(name):
            if rule.looks_like_image(name):  # x.Png where the course's glob takes only .png and .PNG
                message = f"not read: the course reads only the suffixes {', '.join(rule.extensions)}; ignored"
                problems.append(Problem(str(path), message, subject, Severity.WARNING))
            elif path.suffix.lower() not in expected_others:
                message = f"not an image file ({', '.join(rule.extensions)} expected); ignored"
                problems.append(Problem(str(path), message, subject, Severity.WARNING))
            continue
        problem = check_image(path, subject, expected_size, context, rule.skip_unreadable)
        if problem is not None:
            problems.append(problem)
        if problem is None or (problem.severity == "warning" and not problem.message.endswith(SKIPPED)):
            images.append(path)
    return images, problems


def reference_folder(
    folder: Path, extensions: list[str] | FileRule, subject: str, context: ScanContext = PLAIN
) -> tuple[list[Path], list[Problem]]:
    """A subject's reference photos; a problem when the folder is missing or holds none."""
    if not folder.is_dir():
        return [], [Problem(str(folder), "reference image folder not found", subject)]
    refs, problems = list_images(folder, extensions, subject, context=context)
    if not refs:
        problems.append(Problem(str(folder), "no readable reference images", subject))
    return refs, problems


def image_folder(
    folder: Path, extensions: list[str] | FileRule, subject: str, expected: int, context: ScanContext = PLAIN
) -> tuple[list[Path], list[Problem]]:
    """Generated images of one folder that must hold ``expected`` of them."""
    if not folder.is_dir():
        return [], [Problem(str(folder), "folder missing", subject)]
    images, problems = list_images(folder, extensions, subject, context=context)
    return images, problems + count_problem(folder, len(images), expected, subject)


COUNT_MESSAGE = "{found} usable images, the task asks for {expected}"


def count_problem(folder: Path, found: int, expected: int, subject: str | None) -> list[Problem]:
    if found == expected:
        return []
    return [Problem(str(folder), COUNT_MESSAGE.format(found=found, expected=expected), subject)]


def short_count(problem: Problem) -> tuple[int, int] | None:
    """(found, expected) when ``problem`` is a folder with fewer images than the task asks for; else None."""
    import re

    pattern = re.escape(COUNT_MESSAGE).replace(r"\{found\}", r"(\d+)").replace(r"\{expected\}", r"(\d+)")
    match = re.fullmatch(pattern, problem.message)
    if match is None or int(match.group(1)) >= int(match.group(2)):
        return None
    return int(match.group(1)), int(match.group(2))


def read_json(path: Path, what: str) -> object:
    """The JSON value in ``path``, or an InputError naming the file (missing, unreadable, not JSON, too deep)."""
    if not path.is_file():
        raise InputError(f"{path}: {what} not found (is --data the task's data folder?)")
    try:
        text = path.read_text("utf-8-sig")  # a BOM (Windows editors) is not part of the JSON
    except OSError as exc:
        raise InputError(f"{path}: {what} cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot parse JSON: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: cannot parse JSON: {exc}") from exc
    except RecursionError:
        raise InputError(f"{path}: cannot parse JSON: nested too deeply") from None


def read_json_object(path: Path, what: str, shape: str) -> dict:
    """A JSON object from ``path``, or an InputError naming the file (``shape`` says what it should map)."""
    value = read_json(path, what)
    if not isinstance(value, dict):
        raise InputError(f"{path}: expected an object mapping {shape}")
    return value


def listing_places(images: list[Path]) -> list[int]:
    """Each image's place in its folder's listing as ``os.listdir`` gives it (file-system order, which a course
    script that loops over ``os.listdir`` follows); images of one folder."""
    if not images:
        return []
    try:
        order = {name: i for i, name in enumerate(os.listdir(images[0].parent))}
    except OSError:
        return []
    return [order.get(p.name, len(order)) for p in images]
