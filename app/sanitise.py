"""Neutralise terminal control characters in free text before display.

Summaries and notes come from other systems and other people: an escape
sequence in a crime summary must not move the cursor or recolour a
supervisor's terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TextIO

# C0 controls except tab and newline, DEL, and C1 controls (incl. CSI 0x9b).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with control characters shown as visible escapes (e.g. ``\\x1b``)."""
    cleaned = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if not keep_newlines:
        cleaned = cleaned.replace("\r\n", " ").replace("\n", " ")
    return cleaned


# --- values leaving Vigil in files -------------------------------------------
# A spreadsheet reads a cell starting with one of these as a formula (OWASP
# "CSV injection"); tab and carriage return are read the same way by some.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_GUARD = "'"
FORMULA_PROTECTION = "apostrophe"  # app.rms.manifest: formula_protection


def _looks_like_formula(text: str) -> bool:
    return text.lstrip(FORMULA_GUARD).startswith(FORMULA_PREFIXES)


def neutralise_formula(text: str) -> str:
    """``text`` safe to open in a spreadsheet: a value a spreadsheet would run
    as a formula gets a leading ``'`` (so do values already guarded, which keeps
    it reversible: :func:`restore_formula` gives back exactly ``text``)."""
    return FORMULA_GUARD + text if _looks_like_formula(text) else text


def restore_formula(text: str) -> str:
    """The value :func:`neutralise_formula` was given."""
    if text.startswith(FORMULA_GUARD) and _looks_like_formula(text[1:]):
        return text[1:]
    return text


def escape_markup(text: str) -> str:
    """``text`` for Markdown meant to be read: HTML tags and entities shown, never run."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class CsvWriter:
    """``csv.writer`` with ``\\n`` line ends that also quotes a field holding a
    carriage return (the standard writer leaves it bare, and a reader then
    splits the row there)."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle

    @staticmethod
    def field(value: object) -> str:
        text = "" if value is None else str(value)
        if any(char in text for char in ',"\r\n'):
            return '"' + text.replace('"', '""') + '"'
        return text

    def writerow(self, values: Iterable[object]) -> None:
        self.handle.write(",".join(self.field(v) for v in values) + "\n")
