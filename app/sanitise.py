"""Neutralise terminal control characters in free text before display.

Summaries and notes come from other systems and other people: an escape
sequence in a crime summary must not move the cursor or recolour a
supervisor's terminal.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, and C1 controls (incl. CSI 0x9b).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with control characters shown as visible escapes (e.g. ``\\x1b``)."""
    cleaned = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if not keep_newlines:
        cleaned = cleaned.replace("\r\n", " ").replace("\n", " ")
    return cleaned
