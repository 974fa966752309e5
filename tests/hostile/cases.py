"""The hostile-input corpus: each case is a course fixture as shipped with one thing wrong.

A case names the task, how to break a copy of its fixture, the exit codes allowed, the file and words the
report must name (or none, when the input must simply be graded), and the subjects allowed to move from the
clean run. ``python -m tests.hostile.cases`` prints the README's table of cases and outcomes.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# task -> (submission, data folder) inside fixtures/courses/<task>, and extra CLI arguments.
LAYOUT = {
    "ml2025-hw10": ("results", "data", []),
    "genai2024-hw10": ("inference", "Datasets", ["--face-model", "Dlib", "--face-detector", "centerface"]),
    "dlcv2024-hw2-p3": ("output", "hw2_data/textual_inversion", []),
    "dlcv2024-clip-zeroshot": ("hw2_data/clip_zeroshot/val", "hw2_data/clip_zeroshot", []),
}
GRADED, BELOW, CANNOT = 0, 1, 2


@dataclass(frozen=True)
class Case:
    name: str
    task: str
    breaks: Callable[[Path, Path], Path | None]  # (submission, data) -> a replacement submission (a zip) or None
    exits: frozenset[int]  # allowed exit codes
    file: str | None = None  # a problem must name this file (a substring of its path) ...
    says: str | None = None  # ... and say this
    moved: frozenset[str] = frozenset()  # subjects whose scores may differ from the clean run's
    outcome: str = ""  # for the README table

    @property
    def expect(self) -> str:
        codes = "/".join(str(c) for c in sorted(self.exits))
        return f"exit {codes}" + (f"; names `{self.file}`: {self.says}" if self.says else "; graded")


def _first(folder: Path, pattern: str = "*") -> Path:
    return sorted(p for p in folder.rglob(pattern) if p.is_file() and not p.is_symlink())[0]


def _ml_image(sub: Path, name: str = "0.jpg") -> Path:
    return sub / "object-1" / name


def _write_as(path: Path, image: Image.Image, fmt: str, **kwargs) -> None:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    path.write_bytes(buffer.getvalue())


def _photo(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _replace(path: Path, image: Image.Image, fmt: str = "PNG", **kwargs) -> None:
    """Same name, other contents (the extension may no longer match the format: Pillow reads by content)."""
    _write_as(path, image, fmt, **kwargs)


def _rename(path: Path, name: str) -> None:
    path.rename(path.with_name(name))


def _zip_of(sub: Path, names: Callable[[str], str], extra: dict[str, bytes] | None = None) -> Path:
    archive = sub.parent / "submission.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(sub.rglob("*")):
            if path.is_file():  # ZipInfo keeps a name as given (ZipFile.write would strip a leading "/")
                z.writestr(zipfile.ZipInfo(names(path.relative_to(sub).as_posix())), path.read_bytes())
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return archive


def _metadata(data: Path) -> Path:
    return data / "metadata.json"


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    value = json.loads(path.read_text("utf-8"))
    change(value)
    path.write_text(json.dumps(value, indent=2), "utf-8")


def _animated(path: Path) -> None:
    base = _photo(path)
    frames = [base, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    path.write_bytes(buffer.getvalue())


def _exif_rotated(path: Path) -> None:
    image = _photo(path)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    _write_as(path, image, "JPEG", exif=exif.tobytes(), quality=95)


def _sixteen_bit(path: Path) -> None:
    grey = np.asarray(_photo(path).convert("L"), dtype=np.uint16) * 257
    _write_as(path, Image.fromarray(grey), "PNG")


def _non_utf8_name(path: Path) -> None:
    target = os.path.join(os.fsencode(path.parent), b"\xff\xfe" + os.fsencode(path.name))
    os.rename(os.fsencode(path), target)


def _bomb_png(path: Path, side: int) -> None:
    # A one-colour image compresses to almost nothing, whatever its size.
    Image.new("L", (side, side), 128).save(path, "PNG", optimize=False, compress_level=9)


def _symlink(path: Path, target: Path) -> None:
    path.unlink()
    path.symlink_to(target)


def _loop(path: Path) -> None:
    other = path.with_name("loop.jpg")
    path.unlink()
    path.symlink_to(other)
    other.symlink_to(path)


def _zip_bomb(sub: Path) -> Path:
    """One member of 600 MB of zeros (a few hundred KB compressed), written in chunks."""
    archive = sub.parent / "submission.zip"
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z, z.open("results/object-1/0.jpg", "w") as member:
        for _ in range(600):
            member.write(chunk)
    return archive


def _outside(sub: Path) -> Path:
    secret = sub.parent / "secret.txt"
    secret.write_text("not the grader's to read")
    return secret


ML, GENAI, P3, ZS = "ml2025-hw10", "genai2024-hw10", "dlcv2024-hw2-p3", "dlcv2024-clip-zeroshot"
OK = frozenset({GRADED, BELOW})
NO = frozenset({CANNOT})
O1 = frozenset({"object-1"})


def _case(name, task, breaks, exits, file=None, says=None, moved=frozenset(), outcome=""):
    return Case(name, task, breaks, exits, file, says, moved, outcome)


CASES: list[Case] = [
    # Image files.
    _case("truncated JPEG", ML, lambda s, d: _truncate(_ml_image(s)), NO, "object-1/0.jpg", "cannot decode", O1),
    _case(
        "truncated PNG",
        ML,
        lambda s, d: (_replace(_ml_image(s), _photo(_ml_image(s))), _truncate(_ml_image(s))),
        NO,
        "object-1/0.jpg",
        "cannot decode",
        O1,
    ),
    _case(
        "zero-byte file",
        ML,
        lambda s, d: _ml_image(s).write_bytes(b""),
        NO,
        "object-1/0.jpg",
        "not a readable image",
        O1,
    ),
    _case(
        "text named .png",
        ML,
        lambda s, d: (_ml_image(s).unlink(), _ml_image(s, "0.png").write_text("hello")),
        NO,
        "object-1/0.png",
        "not a readable image",
        O1,
    ),
    _case(
        "16-bit greyscale",
        ML,
        lambda s, d: _sixteen_bit(_ml_image(s)),
        OK,
        "object-1/0.jpg",
        "16-bit",
        O1,
        "graded as the course reads it (mostly white), flagged",
    ),
    _case(
        "CMYK JPEG",
        ML,
        lambda s, d: _replace(_ml_image(s), _photo(_ml_image(s)).convert("CMYK"), "JPEG"),
        OK,
        moved=O1,
        outcome="converted to RGB as the course's loader does",
    ),
    _case("RGBA PNG", ML, lambda s, d: _replace(_ml_image(s), _photo(_ml_image(s)).convert("RGBA")), OK, moved=O1),
    _case("LA PNG", ML, lambda s, d: _replace(_ml_image(s), _photo(_ml_image(s)).convert("LA")), OK, moved=O1),
    _case("palette PNG", ML, lambda s, d: _replace(_ml_image(s), _photo(_ml_image(s)).convert("P")), OK, moved=O1),
    _case(
        "1x1 image",
        ML,
        lambda s, d: _replace(_ml_image(s), Image.new("RGB", (1, 1), (9, 99, 199))),
        OK,
        "object-1/0.jpg",
        "is 1x1",
        O1,
    ),
    _case(
        "12000x12000 image",
        ML,
        lambda s, d: _bomb_png(_ml_image(s), 12000),
        OK,
        "object-1/0.jpg",
        "is 12000x12000",
        O1,
        "graded (144 MP is under Pillow's limit), size flagged",
    ),
    _case(
        "1x20000 strip",
        ML,
        lambda s, d: _replace(_ml_image(s), Image.new("RGB", (1, 20000), (9, 99, 199))),
        NO,
        "object-1/0.jpg",
        "too large to preprocess safely",
        O1,
        "left out, named (its short edge scaled to 256 would make 1.3 GP); the rest graded",
    ),
    _case(
        "over the decompression-bomb limit",
        ML,
        lambda s, d: _bomb_png(_ml_image(s), 20000),
        NO,
        "object-1/0.jpg",
        "too large to decode safely",
        O1,
    ),
    _case(
        "animated GIF",
        ML,
        lambda s, d: _animated(_ml_image(s)),
        OK,
        moved=O1,
        outcome="first frame graded, as Image.open reads it",
    ),
    _case(
        "EXIF-rotated JPEG",
        ML,
        lambda s, d: _exif_rotated(_ml_image(s)),
        OK,
        moved=O1,
        outcome="graded unrotated: the course's plain Image.open ignores EXIF orientation",
    ),
    _case("all-black image", ML, lambda s, d: _replace(_ml_image(s), Image.new("RGB", (512, 512))), OK, moved=O1),
    # Names and stray files.
    _case("unicode file name", ML, lambda s, d: _rename(_ml_image(s), "0-ünïcødé.jpg"), OK, moved=O1),
    _case("emoji file name", ML, lambda s, d: _rename(_ml_image(s), "0-🙂.jpg"), OK, moved=O1),
    _case("space in file name", ML, lambda s, d: _rename(_ml_image(s), "0 copy.jpg"), OK, moved=O1),
    _case("non-UTF-8 file name", ML, lambda s, d: _non_utf8_name(_ml_image(s)), OK, moved=O1),
    _case(
        ".DS_Store and Thumbs.db",
        ML,
        lambda s, d: (
            (s / "object-1" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1"),
            (s / "object-2" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0"),
        ),
        OK,
        "Thumbs.db",
        "not an image file",
    ),
    _case(
        "__MACOSX folder",
        ML,
        lambda s, d: (
            (s / "__MACOSX" / "object-1").mkdir(parents=True)
            or (s / "__MACOSX/object-1/._0.jpg").write_bytes(b"\0\5\26\7")
        ),
        OK,
    ),
    _case("stray subfolder", ML, lambda s, d: (s / "object-1" / "drafts").mkdir(), OK),
    # Layout.
    _case(
        "missing subject",
        ML,
        lambda s, d: shutil.rmtree(s / "object-3"),
        NO,
        "object-3",
        "folder missing",
        frozenset({"object-3"}),
    ),
    _case("extra subject", ML, lambda s, d: shutil.copytree(s / "object-1", s / "object-7"), OK),
    _case(
        "too few images",
        ML,
        lambda s, d: _ml_image(s, "14.jpg").unlink(),
        NO,
        "object-1",
        "14 usable images, the task asks for 15",
        O1,
    ),
    _case(
        "too many images",
        ML,
        lambda s, d: shutil.copy(_ml_image(s), _ml_image(s, "15.jpg")),
        NO,
        "object-1",
        "16 usable images, the task asks for 15",
        O1,
    ),
    _case(
        "1.jpg and 1.png",
        ML,
        lambda s, d: _replace(_ml_image(s, "1.png"), _photo(_ml_image(s, "1.jpg"))),
        NO,
        "object-1",
        "16 usable images",
        O1,
    ),
    # Data files.
    _case(
        "metadata.json not JSON",
        ML,
        lambda s, d: _metadata(d).write_text("{not json"),
        NO,
        "metadata.json",
        "cannot parse JSON",
        frozenset({"*"}),
    ),
    _case(
        "metadata.json empty",
        ML,
        lambda s, d: _metadata(d).write_text(""),
        NO,
        "metadata.json",
        "cannot parse JSON",
        frozenset({"*"}),
    ),
    _case(
        "metadata.json with a BOM",
        ML,
        lambda s, d: _metadata(d).write_bytes(b"\xef\xbb\xbf" + _metadata(d).read_bytes()),
        OK,
        outcome="read (the BOM is skipped)",
    ),
    _case(
        "metadata.json missing a field",
        ML,
        lambda s, d: _edit_json(_metadata(d), lambda v: v["object-2"].pop("text_cond")),
        NO,
        "metadata.json",
        "missing field 'text_cond'",
        frozenset({"object-2"}),
    ),
    _case(
        "metadata.json wrong type",
        ML,
        lambda s, d: _edit_json(_metadata(d), lambda v: v["object-2"].update(name=5)),
        NO,
        "metadata.json",
        "missing field 'name'",
        frozenset({"object-2"}),
    ),
    _case(
        "metadata.json not an object",
        ML,
        lambda s, d: _metadata(d).write_text("[1, 2]"),
        NO,
        "metadata.json",
        "expected an object",
        frozenset({"*"}),
    ),
    # Links.
    _case(
        "symlink out of the tree",
        ML,
        lambda s, d: _symlink(_ml_image(s), _outside(s)),
        NO,
        "object-1/0.jpg",
        "outside the submission; not read",
        O1,
    ),
    _case(
        "symlink to a reference image",
        ML,
        lambda s, d: _symlink(_ml_image(s), d / "object-1.jpg"),
        NO,
        "object-1/0.jpg",
        "a copy of a reference image",
        O1,
    ),
    _case("symlink loop", ML, lambda s, d: _loop(_ml_image(s)), NO, "object-1/0.jpg", "link loop", O1),
    # Archives.
    _case(
        "zip with .. members",
        ML,
        lambda s, d: _zip_of(s, lambda n: f"../{n}"),
        NO,
        "submission.zip",
        "unsafe path in archive",
        frozenset({"*"}),
    ),
    _case(
        "zip with absolute members",
        ML,
        lambda s, d: _zip_of(s, lambda n: f"/tmp/{n}"),
        NO,
        "submission.zip",
        "unsafe path in archive",
        frozenset({"*"}),
    ),
    _case("zip bomb", ML, lambda s, d: _zip_bomb(s), NO, "submission.zip", "expands to", frozenset({"*"})),
    _case(
        "nested results/ in a zip",
        ML,
        lambda s, d: _zip_of(s, lambda n: f"results/{n}"),
        OK,
        outcome="found inside results/",
    ),
    _case(
        "backslash names in a zip",
        ML,
        lambda s, d: _zip_of(s, lambda n: "results\\" + n.replace("/", "\\")),
        OK,
        outcome="read as folders",
    ),
    # The other tasks.
    _case(
        "genai: truncated image",
        GENAI,
        lambda s, d: _truncate(s / "valid_image_3.png"),
        NO,
        "valid_image_3.png",
        "cannot decode",
        frozenset({"*"}),
    ),
    _case(
        "genai: prompt file missing",
        GENAI,
        lambda s, d: shutil.rmtree(d / "prompts"),
        NO,
        "prompts",
        "not found",
        frozenset({"*"}),
    ),
    _case(
        "P3: input.json not JSON",
        P3,
        lambda s, d: (d / "input.json").write_text("{"),
        NO,
        "input.json",
        "cannot parse JSON",
        frozenset({"*"}),
    ),
    _case(
        "P3: zero-byte image",
        P3,
        lambda s, d: (s / "0" / "0" / "3.png").write_bytes(b""),
        NO,
        "0/0/3.png",
        "not a readable image",
        frozenset({"0/0"}),
    ),
    _case(
        "P3: too few images",
        P3,
        lambda s, d: (s / "1" / "1" / "24.png").unlink(),
        NO,
        "1/1",
        "24 usable images",
        frozenset({"1/1"}),
    ),
    _case(
        "metadata.json nested 100 000 deep",
        ML,
        lambda s, d: _metadata(d).write_text("[" * 100_000 + "]" * 100_000),
        NO,
        "metadata.json",
        "nested too deeply",
        frozenset({"*"}),
    ),
    _case(
        "P3: a baseline that is a word",
        P3,
        lambda s, d: _edit_json(d / "input.json", lambda v: v["0"]["baseline"].__setitem__(0, ["high", 20])),
        NO,
        "input.json",
        "no eval prompt or baseline",
        frozenset({"*"}),
    ),
    _case(
        "P3: a baseline that is NaN",
        P3,
        lambda s, d: _edit_json(d / "input.json", lambda v: v["0"]["baseline"].__setitem__(0, [float("nan"), 20])),
        NO,
        "input.json",
        "not a finite number",
        frozenset({"*"}),
    ),
    _case(
        "P3: input.json nested 100 000 deep",
        P3,
        lambda s, d: (d / "input.json").write_text('{"0": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        NO,
        "input.json",
        "nested too deeply",
        frozenset({"*"}),
    ),
    _case(
        "zero-shot: text named .png",
        ZS,
        lambda s, d: (s / "0_450.png").write_text("not an image"),
        NO,
        "0_450.png",
        "not a readable image",
        frozenset({"*"}),
    ),
    _case(
        "zero-shot: id2label.json empty",
        ZS,
        lambda s, d: (d / "id2label.json").write_text(""),
        NO,
        "id2label.json",
        "cannot parse JSON",
        frozenset({"*"}),
    ),
]


def table() -> str:
    """The README's table: every case with what the grader does."""
    rows = ["| task | case | outcome |", "| --- | --- | --- |"]
    for case in CASES:
        said = f"exit {'/'.join(str(c) for c in sorted(case.exits))}"
        if case.says:
            said += f', names the file: "{case.says}"'
        if case.outcome:
            said += f"; {case.outcome}"
        rows.append(f"| {case.task} | {case.name} | {said} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
