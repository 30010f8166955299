"""The DMM queue's dialogs: record a decision, set an action, complete or
reassign one, filter by reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from app.dates import DateError, format_local, parse_datetime
from app.rules.dmm_reasons import REASON_ORDER, REASON_SHORT, REASON_TITLES
from app.services.dmm import DECISION_LABELS
from screens.dialogs import FormDialog

_DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 84; height: auto; max-height: 90%; padding: 1 2;
    border: thick $accent; background: $surface;
}}
{name} .dialog-title {{ text-style: bold; margin-bottom: 1; }}
{name} Input {{ margin-bottom: 1; }}
{name} .dialog-error {{ color: $error; height: auto; }}
{name} .dialog-hint {{ color: $text-muted; height: auto; }}
{name} Horizontal {{ height: auto; align-horizontal: right; margin-top: 1; }}
{name} Button {{ margin-left: 1; }}
"""


@dataclass(frozen=True)
class DecisionAnswer:
    decision: str
    rationale: str
    owner: str | None = None  # "to the work queue": who takes the gap on
    due_at: datetime | None = None  # ... and by when


@dataclass(frozen=True)
class ActionChange:
    """Complete an action, or give it to ``owner`` (and a new ``due_at``)."""

    action_id: int
    complete: bool
    owner: str | None = None
    due_at: datetime | None = None


@dataclass(frozen=True)
class ActionAnswer:
    text: str
    owner: str
    due_at: datetime


class DecisionDialog(FormDialog[DecisionAnswer]):
    """Choose the meeting's decision on a case and give the rationale."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="DecisionDialog") + """
    DecisionDialog RadioSet { width: 100%; margin-bottom: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dmm-decision.cancel"),
    ]

    OK_BUTTON = "decision-ok"

    def __init__(self, crime_ref: str, *, current: str | None = None,
                 rationale: str | None = None) -> None:
        super().__init__()
        self.crime_ref = crime_ref
        self.current = current
        self.initial_rationale = rationale or ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Decision on {self.crime_ref}", classes="dialog-title", markup=False)
            with RadioSet(id="decision-choice"):
                for index, (value, label) in enumerate(DECISION_LABELS.items()):
                    chosen = value == self.current or (self.current is None and index == 0)
                    yield RadioButton(label, value=chosen, id=f"decision-{value}")
            yield Input(value=self.initial_rationale, id="decision-rationale",
                        placeholder="Rationale (required): why this decision")
            yield Input(id="decision-owner",
                        placeholder="To the work queue: owner (who takes it on)")
            yield Input(id="decision-due",
                        placeholder="To the work queue: due by dd/mm/yyyy HH:MM (London)")
            yield Static("", id="decision-error", classes="dialog-error", markup=False)
            with Horizontal():
                yield Button("Record", variant="primary", id="decision-ok")
                yield Button("Cancel", id="decision-cancel")

    def on_mount(self) -> None:
        self.query_one(RadioSet).focus()

    def chosen(self) -> str | None:
        pressed = self.query_one(RadioSet).pressed_button
        if pressed is None or pressed.id is None:
            return None
        return pressed.id.removeprefix("decision-")

    def submit(self) -> None:
        decision = self.chosen()
        rationale = self.query_one("#decision-rationale", Input).value.strip()
        error = self.query_one("#decision-error", Static)
        if decision is None:
            error.update("Choose a decision.")
            return
        if not rationale:
            error.update("A rationale is required.")
            self.query_one("#decision-rationale", Input).focus()
            return
        if decision != "work_queue":
            self.dismiss(DecisionAnswer(decision, rationale))
            return
        owner = self.query_one("#decision-owner", Input).value.strip()
        if not owner:
            error.update("To the work queue: name the owner.")
            self.query_one("#decision-owner", Input).focus()
            return
        try:
            due = parse_datetime(self.query_one("#decision-due", Input).value.strip())
        except DateError as exc:
            error.update(f"To the work queue, due by: {exc}")
            self.query_one("#decision-due", Input).focus()
            return
        self.dismiss(DecisionAnswer(decision, rationale, owner, due))


class ActionDialog(FormDialog[ActionAnswer]):
    """Set an action: what, who, and by when (Europe/London time)."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="ActionDialog")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dmm-action.cancel"),
    ]

    OK_BUTTON = "action-ok"

    def __init__(self, crime_ref: str, *, owner: str = "", due: datetime) -> None:
        super().__init__()
        self.crime_ref = crime_ref
        self.owner = owner
        self.due = due

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Action on {self.crime_ref}", classes="dialog-title", markup=False)
            yield Input(id="action-text", placeholder="What is to be done")
            yield Input(value=self.owner, id="action-owner", placeholder="Owner (who does it)")
            yield Input(value=format_local(self.due), id="action-due",
                        placeholder="Due: dd/mm/yyyy HH:MM (Europe/London)")
            yield Static("Due time is London time, e.g. 03/03/2026 17:00.",
                         classes="dialog-hint", markup=False)
            yield Static("", id="action-error", classes="dialog-error", markup=False)
            with Horizontal():
                yield Button("Set action", variant="primary", id="action-ok")
                yield Button("Cancel", id="action-cancel")

    def on_mount(self) -> None:
        self.query_one("#action-text", Input).focus()

    def submit(self) -> None:
        text = self.query_one("#action-text", Input).value.strip()
        owner = self.query_one("#action-owner", Input).value.strip()
        due_text = self.query_one("#action-due", Input).value.strip()
        error = self.query_one("#action-error", Static)
        if not text:
            error.update("Say what is to be done.")
            self.query_one("#action-text", Input).focus()
            return
        if not owner:
            error.update("Name the owner.")
            self.query_one("#action-owner", Input).focus()
            return
        try:
            due = parse_datetime(due_text)
        except DateError as exc:
            error.update(f"Due time: {exc}")
            self.query_one("#action-due", Input).focus()
            return
        self.dismiss(ActionAnswer(text, owner, due))

    def focus_next_input(self, current: Input) -> bool:
        """Enter in a filled field moves to the next one; in the last, it submits."""
        inputs = ["action-text", "action-owner", "action-due"]
        name = current.id or ""
        if name in inputs[:-1] and current.value.strip():
            self.query_one(f"#{inputs[inputs.index(name) + 1]}", Input).focus()
            return True
        return False


class ActionChangeDialog(FormDialog[ActionChange]):
    """Choose one of a case's open actions and complete it, or give it to
    another owner (with a new due time if one is typed)."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="ActionChangeDialog") + """
    ActionChangeDialog OptionList { height: auto; max-height: 10; margin-bottom: 1; }
    ActionChangeDialog RadioSet { width: 100%; margin-bottom: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dmm-action-change.cancel"),
    ]

    OK_BUTTON = "change-ok"

    def __init__(self, crime_ref: str, actions: list[tuple[int, str]]) -> None:
        super().__init__()
        self.crime_ref = crime_ref
        self.actions = actions  # (action id, line) of the open actions

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Open actions on {self.crime_ref}", classes="dialog-title",
                        markup=False)
            yield OptionList(*(Option(line, id=str(action_id))
                               for action_id, line in self.actions), id="change-action")
            with RadioSet(id="change-kind"):
                yield RadioButton("Completed", value=True, id="change-complete")
                yield RadioButton("Give to another owner", id="change-reassign")
            yield Input(id="change-owner", placeholder="New owner (to reassign)")
            yield Input(id="change-due",
                        placeholder="New due time, dd/mm/yyyy HH:MM (optional, London)")
            yield Static("", id="change-error", classes="dialog-error", markup=False)
            with Horizontal():
                yield Button("Record", variant="primary", id="change-ok")
                yield Button("Cancel", id="change-cancel")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def submit(self) -> None:
        options = self.query_one(OptionList)
        error = self.query_one("#change-error", Static)
        if options.highlighted is None:
            error.update("Choose an action.")
            return
        action_id = int(options.get_option_at_index(options.highlighted).id or 0)
        pressed = self.query_one(RadioSet).pressed_button
        if pressed is None or pressed.id == "change-complete":
            self.dismiss(ActionChange(action_id, complete=True))
            return
        owner = self.query_one("#change-owner", Input).value.strip()
        if not owner:
            error.update("Name the new owner.")
            self.query_one("#change-owner", Input).focus()
            return
        due_text = self.query_one("#change-due", Input).value.strip()
        due = None
        if due_text:
            try:
                due = parse_datetime(due_text)
            except DateError as exc:
                error.update(f"Due time: {exc}")
                self.query_one("#change-due", Input).focus()
                return
        self.dismiss(ActionChange(action_id, complete=False, owner=owner, due_at=due))


ALL_REASONS = ""


class ReasonFilterDialog(ModalScreen[str | None]):
    """Pick one reason to show only its cases (or all). Dismisses with the
    code, ``ALL_REASONS`` for all, or None on cancel."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="ReasonFilterDialog") + """
    ReasonFilterDialog OptionList { height: auto; max-height: 20; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dmm-reason.cancel"),
    ]

    def __init__(self, counts: dict[str, int], current: str | None) -> None:
        super().__init__()
        self.counts = counts
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option(f"All reasons ({self.counts.get(ALL_REASONS, 0)})", id="all")]
        for code in REASON_ORDER:
            options.append(Option(
                f"{REASON_SHORT[code]:<8} {REASON_TITLES[code]} ({self.counts.get(code, 0)})",
                id=code, disabled=not self.counts.get(code)))
        with Vertical():
            yield Label("Show only cases on the agenda for…", classes="dialog-title")
            yield OptionList(*options, id="reason-options")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        if self.current:
            try:
                options.highlighted = options.get_option_index(self.current)
            except Exception:  # the current reason has no case now
                options.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chosen = event.option.id
        self.dismiss(ALL_REASONS if chosen == "all" else chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)
