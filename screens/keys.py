"""The keys the list screens share, named and described the same on every
screen: ``enter`` opens the selected case, ``/`` goes to the filter and
``esc`` clears it, ``r`` refreshes. ``screen`` is the screen's prefix of the
binding's id in the key map (``breaches.open``), which keys.toml remaps."""

from __future__ import annotations

from textual.binding import Binding


def open_case_key(screen: str, tooltip: str = "") -> Binding:
    return Binding("enter", "open_case", "Open case", id=f"{screen}.open", tooltip=tooltip)


def filter_key(screen: str, tooltip: str = "") -> Binding:
    return Binding("slash", "focus_filter", "Filter", id=f"{screen}.filter", tooltip=tooltip)


def clear_filter_key(screen: str) -> Binding:
    return Binding("escape", "clear_filter", "Clear filter", show=False, id=f"{screen}.clear")


def refresh_key(screen: str) -> Binding:
    return Binding("r", "refresh", "Refresh", id=f"{screen}.refresh")
