"""Byte-exact CLIP BPE tokenizer files built offline from the vocabulary in the open-clip-torch wheel."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

from grader.paths import package_data

VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
# OpenAI's tokenizer keeps the first 49152 - 256 - 2 merges of the file (the rest are unused).
N_MERGES = 49152 - 256 - 2


class VocabUnavailable(RuntimeError):
    pass


def find_open_clip_vocab() -> Path:
    """Locate the BPE file without importing open_clip (it needs torchvision, which we avoid)."""
    found = package_data("open_clip", VOCAB_FILE)
    if found is not None:
        return found
    if importlib.util.find_spec("open_clip") is None:
        raise VocabUnavailable(
            "The CLIP BPE vocabulary comes from the open-clip-torch wheel, which is not installed. "
            "Install it without its dependencies: pip install --no-deps open-clip-torch"
        )
    raise VocabUnavailable(f"open_clip is installed but {VOCAB_FILE} is not inside it")


def _byte_to_unicode() -> dict[int, str]:
    # GPT-2/CLIP map every byte to a printable character so BPE never sees whitespace or control bytes.
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes), strict=True))


def write_clip_tokenizer_files(out_dir: Path, bpe_file: Path | None = None) -> tuple[Path, Path]:
    """Write HF-format ``vocab.json`` and ``merges.txt`` equal to OpenAI CLIP's."""
    bpe_file = bpe_file or find_open_clip_vocab()
    with gzip.open(bpe_file) as handle:
        lines = handle.read().decode("utf-8").split("\n")
    merges = lines[1 : N_MERGES + 1]
    base = list(_byte_to_unicode().values())
    tokens = base + [t + "</w>" for t in base] + ["".join(m.split()) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab_path, merges_path = out_dir / "vocab.json", out_dir / "merges.txt"
    vocab_path.write_text(json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False), "utf-8")
    merges_path.write_text("#version: 0.2\n" + "\n".join(merges) + "\n", "utf-8")
    return vocab_path, merges_path


def clip_tokenizer(folder: Path):
    """A CLIP tokenizer saved in ``folder``: the vocabulary files plus a config that transformers 4.x and 5.x both
    load from (their constructors differ), limited to CLIP's 77 tokens."""
    from transformers import CLIPTokenizer

    write_clip_tokenizer_files(folder)
    config = {"tokenizer_class": "CLIPTokenizer", "model_max_length": 77}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return CLIPTokenizer.from_pretrained(folder)
