"""The case record's DMM tab: every meeting that listed the case and what it
decided, the DMM actions (complete or reassign them here), and the standing
gaps on the work queue with the dates they crossed their thresholds."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from app.dates import format_local
from app.rules.dmm_reasons import REASON_SHORT
from app.sanitise import clean_text
from app.services.dmm import (
    DECISION_LABELS,
    CaseDmmHistory,
    DmmActionView,
    case_history,
    complete_action,
    reassign_action,
)
from app.widgets.table import VigilTable
from screens.dmm_dialogs import ActionChange, ActionChangeDialog


def _cell(value: str | None, limit: int = 200) -> Text:
    return Text(clean_text(value or "", keep_newlines=False)[:limit])


class CaseDmmPanel(VerticalScroll):
    """Loads the case's DMM history when its tab is shown (after the record,
    so a reason asked for another area's case comes first); ``change_action``
    opens the dialog that completes or reassigns one of its open actions."""

    DEFAULT_CSS = """
    CaseDmmPanel DataTable { height: auto; max-height: 14; }
    CaseDmmPanel .case-dmm-title { text-style: bold; margin-top: 1; }
    """

    def __init__(self, crime_ref: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.crime_ref = crime_ref
        self.history: CaseDmmHistory | None = None

    def compose(self) -> ComposeResult:
        yield Static("loading…", id="case-dmm-gaps", markup=False)
        yield Static("Meetings", classes="case-dmm-title")
        meetings: DataTable[Text] = VigilTable(id="case-dmm-meetings", cursor_type="row")
        for key, label, width in (("date", "Meeting", 10), ("area", "Area", 9),
                                  ("reasons", "Listed for", 28), ("decision", "Decision", 17),
                                  ("by", "By", 18), ("rationale", "Rationale", 50)):
            meetings.add_column(label, key=key, width=width)
        yield meetings
        yield Static("DMM actions (c: complete or reassign)", classes="case-dmm-title")
        actions: DataTable[Text] = VigilTable(id="case-dmm-actions", cursor_type="row")
        for key, label, width in (("id", "Id", 6), ("text", "Action", 40), ("owner", "Owner", 18),
                                  ("due", "Due", 16), ("state", "State", 18)):
            actions.add_column(label, key=key, width=width)
        yield actions

    def load(self, then: Callable[[], None] | None = None) -> None:
        def shown(history: CaseDmmHistory) -> None:
            self.show_history(history)
            if then is not None:
                then()

        self.screen.call_service(case_history, crime_ref=self.crime_ref,  # type: ignore[attr-defined]
                                 reason=getattr(self.screen, "view_reason", None),
                                 on_result=shown, group="case-dmm")

    def show_history(self, history: CaseDmmHistory) -> None:
        self.history = history
        if history.gaps:
            lines = ["Open on the work queue:"] + [
                f"  {gap.title} — since {format_local(gap.crossed_at, '%d/%m/%Y')}, back at the "
                f"DMM {format_local(gap.second_at, '%d/%m/%Y')}: {gap.explanation}"
                for gap in history.gaps]
        else:
            lines = ["No standing gap open on the work queue."]
        self.query_one("#case-dmm-gaps", Static).update(clean_text("\n".join(lines)))
        meetings = self.query_one("#case-dmm-meetings", DataTable)
        meetings.clear()
        for index, entry in enumerate(history.decisions):
            decision = DECISION_LABELS.get(entry.decision or "", "") or (
                "discussed, no decision" if entry.discussed else "no decision")
            meetings.add_row(_cell(f"{entry.meeting_date:%d/%m/%Y}"), _cell(entry.area),
                             _cell(" ".join(REASON_SHORT.get(r, r) for r in entry.reasons)),
                             _cell(decision), _cell(entry.decided_by), _cell(entry.rationale),
                             key=str(index))
        actions = self.query_one("#case-dmm-actions", DataTable)
        actions.clear()
        for action in history.actions:
            state = (f"done {format_local(action.done_at)}" if action.done_at else "open")
            actions.add_row(_cell(str(action.id)), _cell(action.text), _cell(action.owner),
                            _cell(format_local(action.due_at)), _cell(state), key=str(action.id))

    def open_actions(self) -> list[DmmActionView]:
        return [a for a in (self.history.actions if self.history else []) if a.done_at is None]

    def change_action(self) -> None:
        if self.history is None:  # the tab was not opened yet
            self.load(then=self.change_action)
            return
        open_actions = self.open_actions()
        if not open_actions:
            self.notify(f"{self.crime_ref} has no open DMM action.", severity="warning")
            return

        version = self.history.case_version

        def answer(result: ActionChange | None) -> None:
            if result is None:
                return
            if result.complete:
                self.screen.call_service(complete_action, action_id=result.action_id,  # type: ignore[attr-defined]
                                         expected_version=version,
                                         on_result=self._changed, group="case-dmm-change")
            else:
                self.screen.call_service(reassign_action, action_id=result.action_id,  # type: ignore[attr-defined]
                                         owner=result.owner or "", due_at=result.due_at,
                                         expected_version=version,
                                         on_result=self._changed, group="case-dmm-change")

        lines = [(a.id, f"{a.text} — {a.owner}, due {format_local(a.due_at)}")
                 for a in open_actions]
        self.app.push_screen(ActionChangeDialog(self.crime_ref, lines), answer)

    def _changed(self, action: DmmActionView) -> None:
        state = "done" if action.done_at else f"now with {action.owner}"
        self.notify(f"{action.crime_ref}: action {state}", markup=False)
        self.load()
