"""The grader's version, and the library versions recorded with every result, since scores move between releases."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

__version__ = "0.1.0"

_LIBRARIES = ["torch", "transformers", "huggingface-hub", "tokenizers", "numpy", "pillow"]


def library_versions() -> dict[str, str]:
    found = {"t2i-grader": __version__, "python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
