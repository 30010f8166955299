"""Reason chips: the DMM reasons of a case as short labels a supervisor scans
in a table cell, heaviest first. No colours: the heaviest reasons are shown
in reverse video, the others bold or plain, so the chips read the same in
every theme and in a monochrome terminal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.text import Text

from app.rules.dmm_reasons import REASON_SHORT

# Weight from which a chip is drawn in reverse video (BREACH, HIGH_RISK by default).
STRONG_FROM = 30
# Weight from which a chip is bold.
BOLD_FROM = 15


def chip_style(code: str, weights: Mapping[str, int]) -> str:
    weight = weights.get(code, 0)
    if weight >= STRONG_FROM:
        return "bold reverse"
    if weight >= BOLD_FROM:
        return "bold"
    return ""


def chips_text(codes: Iterable[str], weights: Mapping[str, int], *,
               width: int | None = None) -> Text:
    """``BREACH  REVIEW  NEW`` as one Text; cut with ``+N`` when wider than ``width``."""
    codes = list(codes)
    text = Text(no_wrap=True, overflow="ellipsis")
    for index, code in enumerate(codes):
        label = f" {REASON_SHORT.get(code, code)} "
        rest = len(codes) - index
        if width is not None and index and text.cell_len + len(label) + 1 > width - 3:
            text.append(f" +{rest}", style="italic")
            break
        if index:
            text.append(" ")
        text.append(label, style=chip_style(code, weights))
    if not codes:
        text.append("added", style="italic")
    return text


