"""The one table of every list screen: the keys people know from k9s and
lazygit. ``home``/``end`` go to the first and last row (not sideways, which
pushed the reference off screen); ``pgup``/``pgdn`` move a screenful and,
past the last row of the page shown, ask the screen for the next page of
results (its ``next_page`` action) or, before the first, the previous one."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import DataTable


class VigilTable(DataTable[Any]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "first_row", "First row", show=False, id="table.first"),
        Binding("end", "last_row", "Last row", show=False, id="table.last"),
        Binding("pagedown", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="table.page_up"),
    ]

    def on_resize(self, event: events.Resize) -> None:
        """Columns fitted to this table follow its own width (a side panel's
        table is laid out after the screen)."""
        fitted = getattr(self, "fitted_columns", None)
        if fitted is not None:
            self.call_after_refresh(fitted.refit)

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0, column=0, animate=False)
            self.scroll_to(x=0, animate=False)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, column=0, animate=False)
            self.scroll_to(x=0, animate=False)

    def _screen_page(self, step: int) -> bool:
        """Ask the screen for the next (1) or previous (-1) page of results."""
        screen = self.screen
        named = getattr(screen, "action_next_page" if step > 0 else "action_previous_page", None)
        if named is not None:
            named()
            return True
        paged = getattr(screen, "action_page", None)
        if paged is not None:
            paged(step)
            return True
        return False

    def action_page_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1 and self._screen_page(1):
            return
        super().action_page_down()

    def action_page_up(self) -> None:
        if self.row_count and self.cursor_row <= 0 and self._screen_page(-1):
            return
        super().action_page_up()
