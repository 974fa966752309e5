"""Hostile files: broken, odd or malicious images, names, layouts, data files, links and archives, met by
``grader check`` on each course fixture."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import replace as dataclass_replace
from pathlib import Path

from PIL import Image

from tests.hostile.breaking import (
    animated,
    bomb_png,
    corrupt_zip,
    edit_json,
    exif_rotated,
    loop,
    metadata,
    ml_image,
    non_utf8_name,
    outside,
    photo,
    rename,
    replace,
    sixteen_bit,
    symlink,
    truncate,
    zip_bomb,
    zip_of,
)
from tests.hostile.model import ALL, DB, GENAI, ML, NO, O1, OK, P3, ZS, Case, case

FILE_CASES: list[Case] = [
    # Image files.
    case("truncated JPEG", ML, lambda s, d: truncate(ml_image(s)), NO, "object-1/0.jpg", "cannot decode", O1),
    case(
        "truncated PNG",
        ML,
        lambda s, d: (replace(ml_image(s), photo(ml_image(s))), truncate(ml_image(s))),
        NO,
        "object-1/0.jpg",
        "cannot decode",
        O1,
    ),
    case(
        "zero-byte file",
        ML,
        lambda s, d: ml_image(s).write_bytes(b""),
        NO,
        "object-1/0.jpg",
        "not a readable image",
        O1,
    ),
    case(
        "text named .png",
        ML,
        lambda s, d: (ml_image(s).unlink(), ml_image(s, "0.png").write_text("hello")),
        NO,
        "object-1/0.png",
        "not a readable image",
        O1,
    ),
    case(
        "16-bit greyscale",
        ML,
        lambda s, d: sixteen_bit(ml_image(s)),
        OK,
        "object-1/0.jpg",
        "16-bit",
        O1,
        "graded as the course reads it (mostly white), flagged",
    ),
    case(
        "CMYK JPEG",
        ML,
        lambda s, d: replace(ml_image(s), photo(ml_image(s)).convert("CMYK"), "JPEG"),
        OK,
        moved=O1,
        outcome="converted to RGB as the course's loader does",
    ),
    case("RGBA PNG", ML, lambda s, d: replace(ml_image(s), photo(ml_image(s)).convert("RGBA")), OK, moved=O1),
    case("LA PNG", ML, lambda s, d: replace(ml_image(s), photo(ml_image(s)).convert("LA")), OK, moved=O1),
    case("palette PNG", ML, lambda s, d: replace(ml_image(s), photo(ml_image(s)).convert("P")), OK, moved=O1),
    case(
        "1x1 image",
        ML,
        lambda s, d: replace(ml_image(s), Image.new("RGB", (1, 1), (9, 99, 199))),
        OK,
        "object-1/0.jpg",
        "is 1x1",
        O1,
    ),
    case(
        "10000x10000 image",
        ML,
        lambda s, d: bomb_png(ml_image(s), 10000),
        OK,
        "object-1/0.jpg",
        "is 10000x10000",
        O1,
        "graded (100 MP: over the size Pillow warns at, under the one it refuses), size flagged",
        extra={"heavy": True},  # resizing 100 MP takes seconds: run beside py (tox.ini)
    ),
    case(
        "1x20000 strip",
        ML,
        lambda s, d: replace(ml_image(s), Image.new("RGB", (1, 20000), (9, 99, 199))),
        NO,
        "object-1/0.jpg",
        "too large to preprocess safely",
        O1,
        "left out, named (its short edge scaled to 256 would make 1.3 GP); the rest graded",
    ),
    case(
        "over the decompression-bomb limit",
        ML,
        lambda s, d: bomb_png(ml_image(s), 20000),
        NO,
        "object-1/0.jpg",
        "too large to decode safely",
        O1,
    ),
    case(
        "animated GIF",
        ML,
        lambda s, d: animated(ml_image(s)),
        OK,
        moved=O1,
        outcome="first frame graded, as Image.open reads it",
    ),
    case(
        "EXIF-rotated JPEG",
        ML,
        lambda s, d: exif_rotated(ml_image(s)),
        OK,
        moved=O1,
        outcome="graded unrotated: the course's plain Image.open ignores EXIF orientation",
    ),
    case("all-black image", ML, lambda s, d: replace(ml_image(s), Image.new("RGB", (512, 512))), OK, moved=O1),
    # Names and stray files.
    case("unicode file name", ML, lambda s, d: rename(ml_image(s), "0-ünïcødé.jpg"), OK, moved=O1),
    case("emoji file name", ML, lambda s, d: rename(ml_image(s), "0-🙂.jpg"), OK, moved=O1),
    case("space in file name", ML, lambda s, d: rename(ml_image(s), "0 copy.jpg"), OK, moved=O1),
    case("non-UTF-8 file name", ML, lambda s, d: non_utf8_name(ml_image(s)), OK, moved=O1),
    case(
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
    case(
        "__MACOSX folder",
        ML,
        lambda s, d: (
            (s / "__MACOSX" / "object-1").mkdir(parents=True)
            or (s / "__MACOSX/object-1/._0.jpg").write_bytes(b"\0\5\26\7")
        ),
        OK,
    ),
    case("stray subfolder", ML, lambda s, d: (s / "object-1" / "drafts").mkdir(), OK),
    # Layout.
    case(
        "missing subject",
        ML,
        lambda s, d: shutil.rmtree(s / "object-3"),
        NO,
        "object-3",
        "folder missing",
        frozenset({"object-3"}),
    ),
    case("extra subject", ML, lambda s, d: shutil.copytree(s / "object-1", s / "object-7"), OK),
    case(
        "too few images",
        ML,
        lambda s, d: ml_image(s, "14.jpg").unlink(),
        NO,
        "object-1",
        "14 usable images, the task asks for 15",
        O1,
    ),
    case(
        "too many images",
        ML,
        lambda s, d: shutil.copy(ml_image(s), ml_image(s, "15.jpg")),
        NO,
        "object-1",
        "16 usable images, the task asks for 15",
        O1,
    ),
    case(
        "1.jpg and 1.png",
        ML,
        lambda s, d: replace(ml_image(s, "1.png"), photo(ml_image(s, "1.jpg"))),
        NO,
        "object-1",
        "16 usable images",
        O1,
    ),
    # Data files.
    case(
        "metadata.json not JSON",
        ML,
        lambda s, d: metadata(d).write_text("{not json"),
        NO,
        "metadata.json",
        "cannot parse JSON",
        frozenset({"*"}),
    ),
    case(
        "metadata.json empty",
        ML,
        lambda s, d: metadata(d).write_text(""),
        NO,
        "metadata.json",
        "cannot parse JSON",
        frozenset({"*"}),
    ),
    case(
        "metadata.json with a BOM",
        ML,
        lambda s, d: metadata(d).write_bytes(b"\xef\xbb\xbf" + metadata(d).read_bytes()),
        OK,
        outcome="read (the BOM is skipped)",
    ),
    case(
        "metadata.json missing a field",
        ML,
        lambda s, d: edit_json(metadata(d), lambda v: v["object-2"].pop("text_cond")),
        NO,
        "metadata.json",
        "missing field 'text_cond'",
        frozenset({"object-2"}),
    ),
    case(
        "metadata.json wrong type",
        ML,
        lambda s, d: edit_json(metadata(d), lambda v: v["object-2"].update(name=5)),
        NO,
        "metadata.json",
        "missing field 'name'",
        frozenset({"object-2"}),
    ),
    case(
        "metadata.json not an object",
        ML,
        lambda s, d: metadata(d).write_text("[1, 2]"),
        NO,
        "metadata.json",
        "expected an object",
        frozenset({"*"}),
    ),
    # Links.
    case(
        "symlink out of the tree",
        ML,
        lambda s, d: symlink(ml_image(s), outside(s)),
        NO,
        "object-1/0.jpg",
        "outside the submission; not read",
        O1,
    ),
    case(
        "symlink to a reference image",
        ML,
        lambda s, d: symlink(ml_image(s), d / "object-1.jpg"),
        NO,
        "object-1/0.jpg",
        "a copy of a reference image",
        O1,
    ),
    case("symlink loop", ML, lambda s, d: loop(ml_image(s)), NO, "object-1/0.jpg", "link loop", O1),
    # Archives.
    case(
        "zip with .. members",
        ML,
        lambda s, d: zip_of(s, lambda n: f"../{n}"),
        NO,
        "submission.zip",
        "unsafe path in archive",
        frozenset({"*"}),
    ),
    case(
        "zip with absolute members",
        ML,
        lambda s, d: zip_of(s, lambda n: f"/tmp/{n}"),
        NO,
        "submission.zip",
        "unsafe path in archive",
        frozenset({"*"}),
    ),
    case("zip bomb", ML, lambda s, d: zip_bomb(s), NO, "submission.zip", "expands to", frozenset({"*"})),
    case(
        "nested results/ in a zip",
        ML,
        lambda s, d: zip_of(s, lambda n: f"results/{n}"),
        OK,
        outcome="found inside results/",
    ),
    case(
        "backslash names in a zip",
        ML,
        lambda s, d: zip_of(s, lambda n: "results\\" + n.replace("/", "\\")),
        OK,
        outcome="read as folders",
    ),
    # The other tasks.
    case(
        "genai: truncated image",
        GENAI,
        lambda s, d: truncate(s / "valid_image_3.png"),
        NO,
        "valid_image_3.png",
        "cannot decode",
        frozenset({"*"}),
    ),
    case(
        "genai: prompt file missing",
        GENAI,
        lambda s, d: shutil.rmtree(d / "prompts"),
        NO,
        "prompts",
        "not found",
        frozenset({"*"}),
    ),
    case(
        "P3: input.json not JSON",
        P3,
        lambda s, d: (d / "input.json").write_text("{"),
        NO,
        "input.json",
        "cannot parse JSON",
        frozenset({"*"}),
    ),
    case(
        "P3: zero-byte image",
        P3,
        lambda s, d: (s / "0" / "0" / "3.png").write_bytes(b""),
        NO,
        "0/0/3.png",
        "not a readable image",
        frozenset({"0/0"}),
    ),
    case(
        "P3: too few images",
        P3,
        lambda s, d: (s / "1" / "1" / "24.png").unlink(),
        NO,
        "1/1",
        "24 usable images",
        frozenset({"1/1"}),
    ),
    case(
        "metadata.json nested 100 000 deep",
        ML,
        lambda s, d: metadata(d).write_text("[" * 100_000 + "]" * 100_000),
        NO,
        "metadata.json",
        "nested too deeply",
        frozenset({"*"}),
    ),
    case(
        "P3: a baseline that is a word",
        P3,
        lambda s, d: edit_json(d / "input.json", lambda v: v["0"]["baseline"].__setitem__(0, ["high", 20])),
        NO,
        "input.json",
        "no eval prompt or baseline",
        frozenset({"*"}),
    ),
    case(
        "P3: a baseline that is NaN",
        P3,
        lambda s, d: edit_json(d / "input.json", lambda v: v["0"]["baseline"].__setitem__(0, [float("nan"), 20])),
        NO,
        "input.json",
        "not a finite number",
        frozenset({"*"}),
    ),
    case(
        "P3: input.json nested 100 000 deep",
        P3,
        lambda s, d: (d / "input.json").write_text('{"0": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        NO,
        "input.json",
        "nested too deeply",
        frozenset({"*"}),
    ),
    case(
        "zero-shot: text named .png",
        ZS,
        lambda s, d: (s / "0_450.png").write_text("not an image"),
        NO,
        "0_450.png",
        "not a readable image",
        frozenset({"*"}),
    ),
    case(
        "zero-shot: id2label.json empty",
        ZS,
        lambda s, d: (d / "id2label.json").write_text(""),
        NO,
        "id2label.json",
        "cannot parse JSON",
        frozenset({"*"}),
    ),
]

# The cases above grade images whose scores move with the models' preprocessing: they also run on transformers 4.
IMAGE_CASES = {c.name for c in FILE_CASES[:25]} | {"genai: truncated image"}
FILE_CASES = [dataclass_replace(c, models=c.name in IMAGE_CASES) for c in FILE_CASES]


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _move_out(sub: Path, subject: str) -> None:
    """The subject's folder moved beside the submission, and linked back in."""
    outside_folder = sub.parent / f"{subject}-elsewhere"
    shutil.move(sub / subject, outside_folder)
    (sub / subject).symlink_to(outside_folder)


def _linked_submission(sub: Path) -> Path:
    link = sub.parent / "linked-results"
    link.symlink_to(sub)
    return link


def _long_prompt(d: Path, words: str) -> None:
    edit_json(metadata(d), lambda v: v["object-1"].update(text_cond=words * 30))


def _p3(change) -> Callable[[Path, Path], None]:
    return lambda s, d: edit_json(d / "input.json", change)


def _rekey(old: str, new: str):
    def change(v: dict) -> None:
        v[new] = v.pop(old)

    return change


def _dreambench_text(d: Path, old: str, new: str) -> None:
    path = d / "prompts_and_classes.txt"
    path.write_text(path.read_text().replace(old, new, 1))


def _prompts_json(d: Path, value: object) -> None:
    (d / "prompts.json").write_text(json.dumps(value))


P3_ALL = frozenset({"*"})
CONCEPT_1 = frozenset({"1/0", "1/1"})


def _csv_and_html(c) -> list:
    return ["--csv", c.scratch / "images.csv", "--html", c.scratch / "report.html"]


FILE_CASES += [
    # Files that are not regular files, links out of the tree, names that escape.
    case(
        "fifo named like an image",
        ML,
        lambda s, d: _fifo(s / "object-1" / "20.png"),
        OK,
        "object-1/20.png",
        "not a regular file",
    ),
    case(
        "folder named like an image",
        ML,
        lambda s, d: (s / "object-2" / "99.png").mkdir(),
        OK,
        "object-2/99.png",
        "not a regular file",
    ),
    case(
        "link to /dev/null",
        ML,
        lambda s, d: symlink(ml_image(s), Path("/dev/null")),
        NO,
        "object-1/0.jpg",
        "not a regular file",
        O1,
    ),
    case(
        "subject folder linked out of the submission",
        ML,
        lambda s, d: _move_out(s, "object-2"),
        NO,
        "object-2/0.jpg",
        "outside the submission",
        frozenset({"object-2"}),
        "every file of it named, none read",
    ),
    case(
        "submission given through a link",
        ML,
        lambda s, d: _linked_submission(s),
        OK,
        outcome="graded as the folder it leads to",
    ),
    case(
        "ESC sequence in a file name",
        ML,
        lambda s, d: rename(ml_image(s), "\x1b[31m0.jpg"),
        OK,
        "object-1",
        "\\x1b[31m0.jpg",
        O1,
        "shown escaped (\\x1b), never sent to the terminal",
        args=lambda c: ["--per-image"],
        never=("\x1b",),
    ),
    case(
        "Rich markup in a file name",
        ML,
        lambda s, d: (s / "object-2" / "[bold red]x.txt").write_text("x"),
        OK,
        "[bold red]x.txt",
        "not an image file",
        outcome="shown as written, not read as markup",
        extra={"check": lambda c, o: _shows(o, "[bold red]x.txt")},
    ),
    case(
        "markup and ESC in a long prompt",
        ML,
        lambda s, d: _long_prompt(d, "on the [/] grass \x1b[2J "),
        OK,
        "object-1",
        "tokens",
        O1,
        "the note on the cut text shown escaped; the JSON still written",
        never=("\x1b",),
        models=True,
        extra={"check": lambda c, o: _shows(o, "[/] grass")},
    ),
    case(
        "non-UTF-8 name with CSV and HTML",
        ML,
        lambda s, d: non_utf8_name(ml_image(s)),
        OK,
        moved=O1,
        outcome="written with the byte escaped (\\xff)",
        args=_csv_and_html,
        extra={"check": lambda c, o: _escaped_in(c.scratch / "images.csv", c.scratch / "report.html")},
    ),
    case(
        "ESC name in the HTML and CSV",
        ML,
        lambda s, d: rename(ml_image(s), "\x1b]0;x\x07.jpg"),
        OK,
        moved=O1,
        outcome="written escaped",
        args=_csv_and_html,
        extra={"check": lambda c, o: _no_control(c.scratch / "images.csv", c.scratch / "report.html")},
    ),
    # Data that leads out of its folder.
    case(
        "metadata path out of the data folder",
        ML,
        lambda s, d: (
            shutil.copy(d / "object-2.jpg", d.parent / "outside.jpg"),
            edit_json(metadata(d), lambda v: v["object-2"].update(path="../outside.jpg")),
        ),
        NO,
        "metadata.json",
        "not found in its folder",
        frozenset({"object-2"}),
    ),
    case(
        "metadata path absolute",
        ML,
        lambda s, d: edit_json(metadata(d), lambda v: v["object-2"].update(path="/etc/hostname")),
        NO,
        "metadata.json",
        "not found in its folder",
        frozenset({"object-2"}),
    ),
    case(
        "P3: concept key ../1",
        P3,
        _p3(_rekey("1", "../1")),
        NO,
        "input.json",
        "not a plain folder name",
        CONCEPT_1,
        "that concept is not graded; the other is",
    ),
    case(
        "P3: concept key absolute",
        P3,
        _p3(_rekey("1", "/tmp/1")),
        NO,
        "input.json",
        "not a plain folder name",
        CONCEPT_1,
    ),
    case(
        "P3: concept that is a number",
        P3,
        _p3(lambda v: v.update({"1": 5})),
        NO,
        "input.json",
        "not an object of settings",
        CONCEPT_1,
    ),
    case(
        "P3: baseline null",
        P3,
        _p3(lambda v: v["0"]["baseline"].__setitem__(0, None)),
        NO,
        "input.json",
        "no eval prompt or baseline",
        P3_ALL,
    ),
    case(
        "P3: baseline of three numbers",
        P3,
        _p3(lambda v: v["0"]["baseline"].__setitem__(0, [79, 34, 1])),
        NO,
        "input.json",
        "no eval prompt or baseline",
        P3_ALL,
    ),
    case(
        "P3: an infinite baseline",
        P3,
        _p3(lambda v: v["1"]["baseline"].__setitem__(1, [float("inf"), 30])),
        NO,
        "input.json",
        "not a finite number",
        P3_ALL,
    ),
    case(
        "P3: prompt that is not a list",
        P3,
        _p3(lambda v: v["0"].update(prompt="A <new1> dog")),
        NO,
        "input.json",
        "must be a list",
        P3_ALL,
    ),
    case(
        "P3: src_image out of the folder",
        P3,
        lambda s, d: (
            shutil.rmtree(d / "1"),
            edit_json(d / "input.json", lambda v: v["1"].update(src_image="../../output")),
        ),
        NO,
        "1",
        "reference image folder not found",
        CONCEPT_1,
        "the key's own folder is looked for; the outside one is never read",
    ),
    case(
        "zero-shot: id2label.json names no label",
        ZS,
        lambda s, d: (d / "id2label.json").write_text("{}"),
        NO,
        "id2label.json",
        "names no label",
        frozenset({"*"}),
    ),
    case(
        "zero-shot: id2label.json a list",
        ZS,
        lambda s, d: (d / "id2label.json").write_text("[1, 2]"),
        NO,
        "id2label.json",
        "expected an object",
        frozenset({"*"}),
    ),
    case(
        "zero-shot: a label that is an object",
        ZS,
        lambda s, d: edit_json(d / "id2label.json", lambda v: v.update({"0": {"name": "x"}})),
        NO,
        "id2label.json",
        "not a name",
        frozenset({"*"}),
    ),
    case(
        "zero-shot: a label the file does not know",
        ZS,
        lambda s, d: rename(s / "0_450.png", "9_450.png"),
        NO,
        "9_450.png",
        "not in the label file",
        frozenset({"*"}),
    ),
    case(
        "DreamBench: subject ../outside",
        DB,
        lambda s, d: _dreambench_text(d, "backpack,", "../outside,"),
        NO,
        "prompts_and_classes.txt",
        "not a plain folder name",
        frozenset({"backpack", "../outside"}),
    ),
    case(
        "DreamBench: prompts.json subject a/b",
        DB,
        lambda s, d: _prompts_json(d, {"a/b": ["a sks dog"]}),
        NO,
        "prompts.json",
        "not a plain folder name",
        frozenset({"*"}),
    ),
    case(
        "DreamBench: prompts.json names no subject",
        DB,
        lambda s, d: _prompts_json(d, {}),
        NO,
        "dataset",
        "names no subject",
        frozenset({"*"}),
        "INCOMPLETE, never PASS",
    ),
    case(
        "DreamBench: a table with no rows",
        DB,
        lambda s, d: _dreambench_text(d, "backpack,backpack\ndog6,dog\n", ""),
        NO,
        "dataset",
        "names no subject",
        frozenset({"*"}),
    ),
    case(
        "DreamBench: a prompt with {2}",
        DB,
        lambda s, d: _dreambench_text(d, "in the jungle'", "in {2}'"),
        NO,
        "prompts_and_classes.txt",
        "past {1}",
        frozenset({"*"}),
    ),
    case(
        "DreamBench: a lone brace in a prompt",
        DB,
        lambda s, d: _dreambench_text(d, "in the jungle'", "in {the'"),
        NO,
        "prompts_and_classes.txt",
        "expected '}'",
        frozenset({"*"}),
    ),
    case(
        "genai: a 2x3000 strip",
        GENAI,
        lambda s, d: Image.new("RGB", (2, 3000), (120, 100, 90)).save(s / "valid_image_3.png"),
        NO,
        "valid_image_3.png",
        "deepface could not read it",
        frozenset({"*"}),
        "left out, named; the rest graded",
    ),
    case(
        "genai: a 1x1 image",
        GENAI,
        lambda s, d: Image.new("RGB", (1, 1), (120, 100, 90)).save(s / "valid_image_4.png"),
        NO,
        "valid_image_4.png",
        "deepface could not read it",
        ALL,
        "left out, named (CenterFace cannot take it); the rest graded",
    ),
    # Archives.
    case("zip with a bad CRC", ML, lambda s, d: corrupt_zip(s, "crc"), NO, "submission.zip", "Bad CRC", ALL),
    case(
        "zip with a corrupt deflate stream",
        ML,
        lambda s, d: corrupt_zip(s, "deflate"),
        NO,
        "submission.zip",
        "is damaged",
        ALL,
    ),
    case(
        "zip with encrypted members",
        ML,
        lambda s, d: corrupt_zip(s, "encrypted"),
        NO,
        "submission.zip",
        "encrypted",
        ALL,
    ),
    case(
        "zip with Deflate64 members",
        ML,
        lambda s, d: corrupt_zip(s, "deflate64"),
        NO,
        "submission.zip",
        "Deflate64",
        ALL,
        "named: Windows Explorer writes it for large files",
    ),
    case(
        "zip: a file and a folder of one name",
        ML,
        lambda s, d: zip_of(s, lambda n: f"results/{n}", {"results/object-1": b"x"}),
        NO,
        "submission.zip",
        "a file and a folder of the same name",
        ALL,
    ),
    case(
        "zip: a member name too long",
        ML,
        lambda s, d: zip_of(s, lambda n: f"results/{n}", {"results/" + "x" * 300 + ".jpg": b"x"}),
        NO,
        "submission.zip",
        "name too long",
        ALL,
    ),
    case(
        "zip whose directory sizes lie",
        ML,
        lambda s, d: corrupt_zip(s, "sizes"),
        NO,
        "submission.zip",
        "is damaged",
        ALL,
    ),
    case(
        "one part of a split zip", ML, lambda s, d: corrupt_zip(s, "split"), NO, "submission.zip", "split archive", ALL
    ),
    case(
        "zip inside the zip",
        ML,
        lambda s, d: zip_of(s, lambda n: f"results/{n}", {"results/inner.zip": b"PK\x05\x06" + b"\0" * 18}),
        OK,
        "submission.zip",
        "not unpacked",
        outcome="named: its images are not graded",
    ),
    case(
        "zip with one member twice",
        ML,
        lambda s, d: zip_of(s, lambda n: f"results/{n}", {"results/object-1/0.jpg": ml_image(s, "1.jpg").read_bytes()}),
        OK,
        "submission.zip",
        "more than once",
        O1,
        "named; the last one is graded, as unzip does",
    ),
    case(
        "zip with no members", ML, lambda s, d: zip_of(s, lambda n: n, only={}), NO, "object-1", "folder missing", ALL
    ),
    case("text file named .zip", ML, lambda s, d: _not_a_zip(s), NO, "submission.zip", "not a readable zip", ALL),
]


def _not_a_zip(sub: Path) -> Path:
    archive = sub.parent / "submission.zip"
    archive.write_text("not a zip")
    return archive


def _shows(outcome, text: str) -> None:
    assert text in outcome.output, f"{text!r} not shown as written"


def _escaped_in(*paths: Path) -> None:
    for path in paths:
        assert "\\xff" in path.read_text("utf-8"), path


def _no_control(*paths: Path) -> None:
    for path in paths:
        text = path.read_text("utf-8")
        assert "\x1b" not in text and "\x07" not in text and "\\x1b" in text, path
