"""`?`: the keys of the screen behind, generated from its bindings."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def binding_rows(screen: Screen[Any]) -> list[tuple[str, str, str]]:
    """(key, description, where) for every described binding of ``screen``
    (including ones a focused widget shadows) and of the app."""
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()

    def add(binding: Binding, where: str) -> None:
        if not binding.description:
            return
        display = screen.app.get_key_display(binding)
        if (display, binding.description) in seen:
            return
        seen.add((display, binding.description))
        rows.append((display, binding.description, where))

    for bindings in screen._bindings.key_to_bindings.values():
        for binding in bindings:
            add(binding, "screen")
    for active in screen.active_bindings.values():
        add(active.binding, "app" if active.node is screen.app else "screen")
    rows.sort(key=lambda r: (r[2] != "screen", r[0]))
    return rows


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; height: 80%; border: thick $accent; background: $surface; padding: 1 2;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, behind: Screen[Any]) -> None:
        super().__init__()
        self.behind = behind

    def compose(self) -> ComposeResult:
        purpose = getattr(self.behind, "PURPOSE", "")
        table = Table(title=f"Keys: {self.behind.title or type(self.behind).__name__}",
                      expand=True)
        table.add_column("Key", width=14)
        table.add_column("Does")
        table.add_column("Where", width=8)
        for key, description, where in binding_rows(self.behind):
            table.add_row(key, description, where)
        with VerticalScroll():
            if purpose:
                yield Static(purpose, markup=False, classes="help-purpose")
            yield Static(table)
            yield Static("Every action is also in the command palette (ctrl+p). "
                         "esc closes this help.", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
