"""The test models and the synthetic submission are reproducible, and the CLIP tokenizer is OpenAI's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader.paths import fixtures_dir
from grader.testing.clip_vocab import write_clip_tokenizer_files
from grader.testing.synthetic import build_ml2025_fixture
from grader.testing.tiny_models import build_tiny_models

# Their outcome depends on transformers (its models, processors or tokenizers): also run on 4.x.
pytestmark = pytest.mark.transformers


def test_tiny_models_are_deterministic(tmp_path, tiny_models):
    again = build_tiny_models(tmp_path / "again")
    for weights in tiny_models.rglob("model.safetensors"):
        twin = again / weights.relative_to(tiny_models)
        assert weights.read_bytes() == twin.read_bytes(), weights


def test_tiny_models_are_flagged_and_keep_real_preprocessing(tiny_models):
    dino = json.loads((tiny_models / "facebook/dinov2-large/preprocessor_config.json").read_text())
    assert dino["size"] == {"shortest_edge": 256} and dino["crop_size"] == {"height": 224, "width": 224}
    assert dino["resample"] == 3
    clip = json.loads((tiny_models / "openai/clip-vit-large-patch14-336/preprocessor_config.json").read_text())
    assert clip["crop_size"] == {"height": 336, "width": 336}
    for config in tiny_models.rglob("config.json"):
        assert json.loads(config.read_text())["t2i_grader_test_model"] is True


def test_clip_tokenizer_matches_openai_ids(tmp_path):
    from transformers import AutoTokenizer

    write_clip_tokenizer_files(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "CLIPTokenizer"}))
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    # Ids as produced by OpenAI's clip.tokenize for the same text.
    assert tokenizer("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert len(json.loads((tmp_path / "vocab.json").read_text())) == 49408


def test_committed_fixture_matches_its_builder(tmp_path):
    data, _ = build_ml2025_fixture(tmp_path)
    committed = fixtures_dir() / "ml2025-hw10"
    assert json.loads((data / "metadata.json").read_text()) == json.loads(
        (committed / "data" / "metadata.json").read_text()
    )
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.png"))
    assert built == sorted(p.relative_to(committed) for p in committed.rglob("*.png"))
    for rel in built:
        assert np.array_equal(np.asarray(Image.open(tmp_path / rel)), np.asarray(Image.open(committed / rel))), rel


def test_tiny_models_take_a_string_path(tmp_path):
    folder = build_tiny_models(str(tmp_path / "models"), ["facebook/dino-vits16"])
    assert (folder / "facebook" / "dino-vits16" / "config.json").is_file()


def test_tiny_models_build_from_the_command_line(tmp_path, capsys):
    from grader.testing.tiny_models import main

    main([str(tmp_path / "models"), "facebook/dino-vits16"])
    (printed,) = capsys.readouterr().out.splitlines()
    assert Path(printed) == tmp_path / "models" / "facebook" / "dino-vits16"
    assert (Path(printed) / "config.json").is_file()
