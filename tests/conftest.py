from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from grader.tasks.registry import available_tasks
from grader.testing.decodes import counting_decodes


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may reach a hub or read the developer's caches."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("T2I_GRADER_CACHE", str(tmp_path / "grader-cache"))
    monkeypatch.delenv("T2I_GRADER_MODELS", raising=False)


# The suite uses the fixtures its own pytest plugin offers users.
@pytest.fixture(scope="session")
def tiny_models(grader_tiny_models: Path) -> Path:
    return grader_tiny_models


@pytest.fixture
def ml2025(grader_ml2025_fixture: Path) -> Path:
    return grader_ml2025_fixture


@pytest.fixture
def task_with_lines(tmp_path: Path):
    """Write a copy of ml2025-hw10 whose boss line is the same ``value`` for every metric and object."""

    def make(value: float) -> Path:
        raw = yaml.safe_load(available_tasks()["ml2025-hw10"].read_text())
        raw["name"] = f"ml2025-line-{value:g}"
        for thresholds in raw["tiers"]["boss"]["per_subject"].values():
            for metric in thresholds:
                thresholds[metric] = value
        path = tmp_path / f"ml2025-line-{value:g}.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        return path

    return make


@pytest.fixture
def decodes() -> Iterator[Counter]:
    """How many times each image file's pixels are decoded within the test."""
    with counting_decodes() as counts:
        yield counts


@pytest.fixture(scope="session")
def classifiers(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """``--classifier`` options for dlcv2024-hw2-p1: a LeNet-5 state dict and a TorchScript one, seeded."""
    from grader.testing.courses import build_test_classifiers

    paths = build_test_classifiers(tmp_path_factory.mktemp("classifiers"))
    return [a for subject, path in paths.items() for a in ("--classifier", f"{subject}={path}")]
