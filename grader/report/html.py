"""The HTML view of one GradeResult: one self-contained page (thumbnails inline, no scripts, no network).

The page computes no score: it orders, formats and compares what the result holds, like the console view.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

from grader.report.console import verdict_sentence
from grader.report.lines import holds, line_text, line_value, shown_margin
from grader.report.ordering import WORST, deciding_metric, order_heading, ordered
from grader.report.problems import group_problems
from grader.result import NO_FACE, GradeResult, ImageScore, MetricResult, SubjectResult, line_flag

THUMB_PX = 256
# A zipped submission has no file to link to, so its originals travel inside the page (shown full-size in place,
# CSS only) while they add at most this much; bigger ones are left out and the page says so.
FULL_SIZE_BUDGET = 4 << 20


@dataclass
class Thumb:
    src: str  # data URI, or "" when the file could not be read
    alt: str
    href: str = ""  # the full-size file, when the submission is a folder
    full: str = ""  # the original as a data URI, for a zipped submission within FULL_SIZE_BUDGET
    anchor: str = ""  # the id of the in-page full-size view of ``full``


@dataclass
class ImageView:
    thumb: Thumb
    file: str
    scores: list[tuple[str, str]]
    flags: list[str] = field(default_factory=list)
    below: bool = False


@dataclass
class SubjectView:
    result: SubjectResult
    references: list[Thumb]
    images: list[ImageView]
    faceless: list[ImageView]
    order: str  # how the images are ordered, e.g. "worst first by CLIP-T (the lowest margin)"

    @property
    def metrics(self) -> list[MetricResult]:
        return list(self.result.metrics.values())

    @property
    def has_conventions(self) -> bool:
        return any(m.conventions for m in self.result.metrics.values())


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def thumbnail(path: Path, alt: str, link: bool, embed_full: bool = False) -> Thumb:
    """A JPEG thumbnail as a data URI (the page must open offline and travel as one file); ``link``: a link to
    the file itself; ``embed_full``: the original bytes too, for files that will not exist beside the page."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            mime = img.get_format_mimetype() or "image/png"
            small = img.convert("RGB")
            small.thumbnail((THUMB_PX, THUMB_PX))
            buffer = io.BytesIO()
            small.save(buffer, "JPEG", quality=80)
    except (OSError, ValueError, Image.DecompressionBombError):
        return Thumb("", f"{alt} (could not be read)")
    thumb = Thumb(_data_uri(buffer.getvalue(), "image/jpeg"), alt, path.resolve().as_uri() if link else "")
    if embed_full:
        thumb.full = _data_uri(path.read_bytes(), mime)
        thumb.anchor = "full-" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    return thumb


def full_size_mode(result: GradeResult, root: Path) -> tuple[bool, bool, str]:
    """How the page opens an image full-size: (link to the file, embed the original, a note when neither)."""
    if root.is_dir() and Path(result.submission).is_dir():
        return True, False, ""
    size = sum((root / i.file).stat().st_size for i in result.images if (root / i.file).is_file())
    if size <= FULL_SIZE_BUDGET:
        return False, True, ""
    mb = FULL_SIZE_BUDGET >> 20
    note = (
        f"The submission is a .zip whose images ({size / (1 << 20):.1f} MB) would make this page too heavy to "
        f"carry them full-size (over {mb} MB): unzip it and grade the folder for thumbnails that open the files."
    )
    return False, False, note


def bar(metric: MetricResult) -> dict | None:
    """Where the score and its line (or gate, as ``line_text`` shows it) sit on a 0-100 % track (the line in the
    middle); None without both."""
    line = line_value(metric)
    if metric.value is None or line is None:
        return None
    span = max(abs(metric.value - line) * 1.25, abs(line) * 0.1, 1e-9)
    position = 50 + 50 * (metric.value - line) / span
    return {"value": max(0.0, min(100.0, position)), "passed": holds(metric)}


def _image_view(image: ImageScore, subject: SubjectResult, root: Path, link: bool, embed: bool) -> ImageView:
    labels = {n: m.label for n, m in subject.metrics.items()}
    counts = {n for n, m in subject.metrics.items() if m.is_count}  # per image a 0/1 flag, shown as a flag instead
    scores = [(labels.get(n, n), f"{v:.2f}") for n, v in image.scores.items() if n not in counts]
    below = [m for m in subject.metrics.values() if line_flag(m.label, m.higher_is_better) in image.flags]
    flags = list(image.flags)
    flags += [f"{k}: {v}" for k, v in image.details.items() if k in ("label_name", "predicted_name")]
    alt = f"{subject.subject} {image.file}: " + ", ".join(f"{label} {value}" for label, value in scores)
    return ImageView(thumbnail(root / image.file, alt, link, embed), image.file, scores, flags, bool(below))


def subject_views(
    result: GradeResult, root: Path, full_size: tuple[bool, bool, str], sort_by: str = WORST
) -> list[SubjectView]:
    """The subjects' sections; ``full_size`` is ``full_size_mode(result, root)``, worked out once per page."""
    link, embed, _ = full_size
    views = []
    for subject in result.subjects:
        images = [i for i in result.images if i.subject == subject.subject]
        key = deciding_metric(subject, sort_by)
        faced = ordered([i for i in images if NO_FACE not in i.flags], key)
        faceless = [i for i in images if NO_FACE in i.flags]
        references = [
            thumbnail(Path(p), f"{subject.subject} reference {Path(p).name}", Path(p).is_file())
            for p in subject.references
        ]
        views.append(
            SubjectView(
                subject,
                references,
                [_image_view(i, subject, root, link, embed) for i in faced],
                [_image_view(i, subject, root, link, embed) for i in faceless],
                order_heading(key, sort_by),
            )
        )
    return views


def environment():  # -> jinja2.Environment
    """The templates of every HTML page the grader writes (escaped, no scripts)."""
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    from grader.display import printable

    def finalize(value):  # every string from data, printable; markup already made (a macro's output) as it is
        return printable(value) if isinstance(value, str) and not isinstance(value, Markup) else value

    env = Environment(
        loader=PackageLoader("grader.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(line_text=line_text, shown_margin=shown_margin)
    return env


def render_html(result: GradeResult, root: Path, sort_by: str = WORST) -> str:
    """The page for ``result``; ``root`` is the folder the result's image paths are relative to; ``sort_by``
    orders each subject's images (``grader.report.ordering``)."""
    env = environment()
    env.globals["bar"] = bar
    head, tally = verdict_sentence(result)
    classification = {k.split(":", 1)[1]: v for k, v in result.extras.items() if "confusion_matrix" in v}
    full_size = full_size_mode(result, root)  # sizes every image file of a zip: once, not per use
    return env.get_template("report.html.j2").render(
        result=result,
        verdict_head=head,
        verdict_tally=tally,
        subjects=subject_views(result, root, full_size, sort_by),
        full_size_note=full_size[2],
        problems=group_problems(result.all_problems),
        classification=classification,
        templates=result.settings.get("text_templates") or {},
        manifest=result.settings.get("manifest"),
    )


def write_html(result: GradeResult, path: Path, root: Path, sort_by: str = WORST) -> None:
    """Write the page for ``result``, whose images are read from ``root``: the submission folder as graded (a
    zip's unpacked folder, which the caller keeps until the page is written)."""
    from grader.report.files import atomic_write

    atomic_write(path, render_html(result, root, sort_by))


def notebook_html(result: GradeResult) -> str:
    """The verdict and per-subject table as an HTML fragment (a notebook cell's view of a result)."""
    head, tally = verdict_sentence(result)
    return (
        environment()
        .get_template("notebook.html.j2")
        .render(result=result, verdict_head=head, verdict_tally=tally, problems=group_problems(result.all_problems))
    )
