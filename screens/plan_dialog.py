"""A dated update of one recommendation: the status it moves to, the
response, and whether to attach the current figures for a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static, Switch

from app.dates import DateError, parse_date
from app.services.action_plan import STATUS_TITLES, STATUSES
from screens.dialogs import FormDialog


@dataclass(frozen=True)
class PlanUpdateRequest:
    status: str
    response: str
    attach: bool
    date_from: date | None
    date_to: date | None  # first day not counted


class PlanUpdateDialog(FormDialog[PlanUpdateRequest]):
    DEFAULT_CSS = """
    PlanUpdateDialog { align: center middle; }
    PlanUpdateDialog > Vertical {
        width: 90; height: auto; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    PlanUpdateDialog Input, PlanUpdateDialog Select { margin-bottom: 1; }
    PlanUpdateDialog .plan-row { height: auto; }
    PlanUpdateDialog .plan-row Label { padding-top: 1; width: auto; margin-right: 1; }
    PlanUpdateDialog .plan-row Input { width: 16; }
    PlanUpdateDialog #plan-error { color: $error; height: auto; }
    PlanUpdateDialog #plan-buttons { height: auto; align-horizontal: right; }
    PlanUpdateDialog Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="plan_dialog.cancel"),
    ]

    OK_BUTTON = "plan-ok"

    def __init__(self, number: str, status: str, can_attach: bool,
                 period: tuple[date, date]) -> None:
        super().__init__()
        self.number = number
        self.status = status
        self.can_attach = can_attach
        self.period = period

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Update of recommendation {self.number}", markup=False)
            yield Select([(STATUS_TITLES[s], s) for s in STATUSES], value=self.status,
                         allow_blank=False, id="plan-status")
            yield Input(placeholder="response: what the force has done", id="plan-response")
            if self.can_attach:
                with Horizontal(classes="plan-row"):
                    yield Switch(value=False, id="plan-attach")
                    yield Label("attach the current figures, from", markup=False)
                    yield Input(self.period[0].strftime("%d/%m/%Y"), id="plan-from")
                    yield Label("to", markup=False)
                    yield Input((self.period[1] - timedelta(days=1)).strftime("%d/%m/%Y"),
                                id="plan-to")
            else:
                yield Static("No figures to attach (none named for this recommendation, or "
                             "not for your role).", markup=False)
            yield Static("", id="plan-error", markup=False)
            with Horizontal(id="plan-buttons"):
                yield Button("Record", variant="primary", id="plan-ok")
                yield Button("Cancel", id="plan-cancel")

    def on_mount(self) -> None:
        self.query_one("#plan-response", Input).focus()

    def fill(self, *, status: str, response: str, attach: bool = False) -> None:
        """Set the fields (as a user would)."""
        self.query_one("#plan-status", Select).value = status
        self.query_one("#plan-response", Input).value = response
        if self.can_attach:
            self.query_one("#plan-attach", Switch).value = attach

    def submit(self) -> None:
        error = self.query_one("#plan-error", Static)
        response = self.query_one("#plan-response", Input).value.strip()
        if not response:
            error.update("A response is required: say what the force has done.")
            return
        status = str(self.query_one("#plan-status", Select).value)
        attach = self.can_attach and self.query_one("#plan-attach", Switch).value
        date_from = date_to = None
        if attach:
            try:
                date_from = parse_date(self.query_one("#plan-from", Input).value)
                date_to = parse_date(self.query_one("#plan-to", Input).value) + timedelta(days=1)
            except DateError as exc:
                error.update(f"Figures period: {exc}")
                return
            if date_to <= date_from:
                error.update("Figures period: the last day is before the first.")
                return
        self.dismiss(PlanUpdateRequest(status, response, attach, date_from, date_to))
