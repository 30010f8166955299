"""The reviewer's findings on one dip-sampled file: each checklist item of the
policy met or not, with a note on each item not met."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static, Switch

from screens.dialogs import FormDialog


class ReviewResult:
    """What the reviewer recorded: each item met or not, notes on those not met."""

    def __init__(self, answers: dict[str, bool], notes: dict[str, str]) -> None:
        self.answers = answers
        self.notes = notes


class ReviewDialog(FormDialog[ReviewResult]):
    """One row per checklist item: a switch (on: met) and a note, required
    when the item is not met. Dismisses with the findings, or None."""

    DEFAULT_CSS = """
    ReviewDialog { align: center middle; }
    ReviewDialog > Vertical {
        width: 110; height: auto; max-height: 90%; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    ReviewDialog VerticalScroll { height: auto; max-height: 30; }
    ReviewDialog .review-item { height: auto; margin-bottom: 1; }
    ReviewDialog .review-item Label { width: 1fr; padding-top: 1; }
    ReviewDialog .review-item Switch { width: 10; }
    ReviewDialog .review-item Input { width: 40; }
    ReviewDialog #review-error { color: $error; height: auto; }
    ReviewDialog #review-buttons { height: auto; align-horizontal: right; }
    ReviewDialog Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="review.cancel"),
    ]

    OK_BUTTON = "review-ok"

    def __init__(self, title: str, checklist: tuple[tuple[str, str], ...],
                 answers: dict[str, bool] | None = None,
                 notes: dict[str, str] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.checklist = checklist
        self.initial_answers = answers or {}
        self.initial_notes = notes or {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, markup=False)
            yield Static("Switch on: item met. An item not met needs a note.", markup=False)
            with VerticalScroll():
                for code, text in self.checklist:
                    with Horizontal(classes="review-item"):
                        yield Switch(value=self.initial_answers.get(code, True),
                                     id=f"review-met-{code}")
                        yield Label(text, markup=False)
                        yield Input(value=self.initial_notes.get(code, ""),
                                    placeholder="note (required when not met)",
                                    id=f"review-note-{code}")
            yield Static("", id="review-error", markup=False)
            with Horizontal(id="review-buttons"):
                yield Button("Record", variant="primary", id="review-ok")
                yield Button("Cancel", id="review-cancel")

    def on_mount(self) -> None:
        if self.checklist:
            self.query_one(f"#review-met-{self.checklist[0][0]}", Switch).focus()

    def set_item(self, code: str, met: bool, note: str = "") -> None:
        """Set one item (as a reviewer would with the switch and the note)."""
        self.query_one(f"#review-met-{code}", Switch).value = met
        self.query_one(f"#review-note-{code}", Input).value = note

    def findings(self) -> ReviewResult:
        answers = {code: self.query_one(f"#review-met-{code}", Switch).value
                   for code, _ in self.checklist}
        notes = {code: self.query_one(f"#review-note-{code}", Input).value.strip()
                 for code, _ in self.checklist}
        return ReviewResult(answers, {k: v for k, v in notes.items() if v})

    def submit(self) -> None:
        result = self.findings()
        missing = [code for code, met in result.answers.items()
                   if not met and not result.notes.get(code)]
        if missing:
            self.query_one("#review-error", Static).update(
                "A note is required on each item not met: " + ", ".join(missing))
            return
        self.dismiss(result)
