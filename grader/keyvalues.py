"""Parsing of command-line values shared by ``grader`` and ``generate``."""

from __future__ import annotations

from grader.errors import UsageError


def key_values(values: list[str] | None, option: str) -> dict[str, str]:
    """``KEY=VALUE[,KEY=VALUE]`` from each use of a repeatable option, e.g. ``--threshold dino=60,clip_t=18``.

    Example:
        >>> key_values(["dino=60,clip_t=18", "face=1.2"], "--threshold")
        {'dino': '60', 'clip_t': '18', 'face': '1.2'}
    """
    pairs = {}
    for value in values or []:
        for part in value.split(","):
            key, sep, rest = part.partition("=")
            if not sep or not key.strip() or not rest.strip():
                raise UsageError(f"{option} takes KEY=VALUE[,KEY=VALUE], not {part!r}")
            pairs[key.strip()] = rest.strip()
    return pairs
