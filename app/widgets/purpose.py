"""A short "what this screen is for" panel that can be hidden (and stays hidden)."""

from __future__ import annotations

from textual.widgets import Static


class PurposePanel(Static):
    hidden_screens: set[str] = set()

    def __init__(self, text: str, *, screen_name: str) -> None:
        super().__init__(text, markup=False)
        self.screen_name = screen_name
        if screen_name in PurposePanel.hidden_screens:
            self.add_class("-hidden")

    def toggle(self) -> None:
        self.toggle_class("-hidden")
        if self.has_class("-hidden"):
            PurposePanel.hidden_screens.add(self.screen_name)
        else:
            PurposePanel.hidden_screens.discard(self.screen_name)
