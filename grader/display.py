"""Strings that come from data (file names, subject names, prompts, messages quoting them) made safe to show.

A file name may hold terminal escape sequences, bytes that are not UTF-8 (kept by Python as lone surrogates) or
text that Rich would read as markup. Every view passes such strings through here at its boundary: the console
through ``shown``, the HTML, CSV and watch output through ``printable``; the JSON keeps them as they are (its
encoder escapes them)."""

from __future__ import annotations

import re

from rich.markup import escape

# C0 controls but tab and newline, DEL, C1 controls, and lone surrogates (undecodable bytes of a file name).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with control characters and undecodable bytes written as escapes (``\\x1b``, ``\\xff``)."""
    return _UNSAFE.sub(_visible, text)


def shown(text: object) -> str:
    """``text`` for a Rich console: printable, and its square brackets never read as markup."""
    return escape(printable(str(text)))
