"""Recording from the DMM queue: the meeting's decision on the selected case,
an action set on it, an action completed or given to another owner, and the
discussed mark; each shown at once from the state the service returns, then
refreshed. Only a supervisor of the area shown records; others are told why."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from textual.widgets import DataTable

from app.dates import format_local
from app.services.dmm import (
    DECISION_LABELS,
    DmmActionView,
    DmmItemState,
    DmmQueue,
    DmmQueueItem,
    add_action,
    complete_action,
    mark_discussed,
    minutes_closed_at,
    reassign_action,
    record_decision,
)
from app.services.permissions import Permission
from screens.base import VigilScreen, cursor_row_key
from screens.dmm_dialogs import (
    ActionAnswer,
    ActionChange,
    ActionChangeDialog,
    ActionDialog,
    DecisionAnswer,
    DecisionDialog,
)
from screens.dmm_panel import action_line, item_with_state, state_with_action


class DmmRecordingScreen(VigilScreen):
    """The DMM queue's recording actions (``d``, ``a``, ``c``, space); the
    queue screen itself is :class:`screens.dmm.DmmScreen`."""

    area: str
    meeting_date: date
    queue: DmmQueue | None
    items: dict[str, DmmQueueItem]

    def selected_ref(self) -> str | None:
        return cursor_row_key(self.query_one(DataTable))

    def selected_item(self) -> DmmQueueItem | None:
        ref = self.selected_ref()
        return self.items.get(ref) if ref else None

    # drawn and read by the queue screen
    def render_rows(self) -> None:
        """Redraw the table from ``queue``."""
        raise NotImplementedError

    def show_meeting_line(self) -> None:
        """Redraw the meeting, progress and live lines."""
        raise NotImplementedError

    def load(self, *, audit: bool = True, defer_full: bool = True) -> None:
        """Read the queue again."""
        raise NotImplementedError

    def _may_decide(self) -> bool:
        if self.context.allowed(Permission.DECIDE_DMM, area=self.area):
            return True
        role = self.context.actor.role
        where = f"of {self.area} " if role == "supervisor" else ""
        self.notify(f"Read-only: as {role} you can view the DMM queue; only supervisors "
                    f"{where}record decisions, actions and discussed marks.",
                    severity="warning", markup=False)
        return False

    def _target(self) -> DmmQueueItem | None:
        item = self.selected_item()
        if item is None:
            self.notify("Select a case first.", severity="warning")
        return item

    def _apply_state(self, state: DmmItemState) -> None:
        """Show a recorded change at once, then refresh from the database."""
        closed = minutes_closed_at(self.context, state.meeting_date)
        if closed is not None:
            self.notify(f"The minutes of this meeting closed when the next meeting started "
                        f"({format_local(closed)}): your change to {state.crime_ref} is recorded "
                        "as an addendum; the meeting's record stands.", markup=False)
        item = self.items.get(state.crime_ref)
        if item is not None and self.queue is not None:
            updated = item_with_state(item, state)
            self.items[state.crime_ref] = updated
            self.queue = replace(self.queue, items=[
                updated if i.crime_ref == state.crime_ref else i for i in self.queue.items])
            self.show_meeting_line()
            self.render_rows()
        self.load(audit=False)

    def action_decide(self) -> None:
        item = self._target()
        if item is None or not self._may_decide():
            return

        def answer(result: DecisionAnswer | None) -> None:
            if result is None:
                return
            self.call_service(record_decision, area=self.area, meeting_date=self.meeting_date,
                              crime_ref=item.crime_ref, decision=result.decision,
                              rationale=result.rationale, owner=result.owner,
                              due_at=result.due_at, expected_version=item.case_version,
                              on_result=self._decided, group="dmm-record", exclusive=False)

        self.app.push_screen(DecisionDialog(item.crime_ref, current=item.decision,
                                            rationale=item.rationale), answer)

    def _decided(self, state: DmmItemState) -> None:
        self.notify(f"{state.crime_ref}: {DECISION_LABELS.get(state.decision or '', '')} "
                    "recorded", markup=False)
        self._apply_state(state)

    def action_add_action(self) -> None:
        item = self._target()
        if item is None or not self._may_decide():
            return
        due = self.context.now() + timedelta(hours=self.context.policy.dmm.default_action_hours)
        owner = item.officer or ""

        def answer(result: ActionAnswer | None) -> None:
            if result is None:
                return
            self.call_service(add_action, area=self.area, meeting_date=self.meeting_date,
                              crime_ref=item.crime_ref, text=result.text, owner=result.owner,
                              due_at=result.due_at, expected_version=item.case_version,
                              on_result=self._action_added, group="dmm-record",
                              exclusive=False)

        self.app.push_screen(ActionDialog(item.crime_ref, owner=owner, due=due), answer)

    def _action_added(self, action: DmmActionView) -> None:
        self.notify(f"{action.crime_ref}: action set for {action.owner}", markup=False)
        item = self.items.get(action.crime_ref)
        if item is not None and self.queue is not None and action.case_version is not None:
            self._apply_state(state_with_action(item, action, self.meeting_date))
        else:
            self.load(audit=False)

    def action_change_action(self) -> None:
        item = self._target()
        if item is None or not self._may_decide():
            return
        open_actions = [a for a in item.actions if a.done_at is None]
        if not open_actions:
            self.notify(f"{item.crime_ref} has no open action from this meeting.",
                        severity="warning", markup=False)
            return

        def answer(result: ActionChange | None) -> None:
            if result is None:
                return
            if result.complete:
                self.call_service(complete_action, action_id=result.action_id,
                                  expected_version=item.case_version,
                                  on_result=self._action_changed, group="dmm-record",
                                  exclusive=False)
            else:
                self.call_service(reassign_action, action_id=result.action_id,
                                  owner=result.owner or "", due_at=result.due_at,
                                  expected_version=item.case_version,
                                  on_result=self._action_changed, group="dmm-record",
                                  exclusive=False)

        self.app.push_screen(ActionChangeDialog(
            item.crime_ref, [(a.id, action_line(a, self.context.now())) for a in open_actions]), answer)

    def _action_changed(self, action: DmmActionView) -> None:
        state = "done" if action.done_at else f"now with {action.owner}"
        self.notify(f"{action.crime_ref}: action {state}", markup=False)
        self.load(audit=False)

    def action_toggle_discussed(self) -> None:
        item = self._target()
        if item is None or not self._may_decide():
            return
        if item.discussed and item.decision:
            self.notify(f"{item.crime_ref} has a decision: it stays discussed.",
                        severity="warning", markup=False)
            return
        self.call_service(mark_discussed, area=self.area, meeting_date=self.meeting_date,
                          crime_ref=item.crime_ref, discussed=not item.discussed,
                          expected_version=item.case_version, on_result=self._apply_state,
                          group="dmm-record", exclusive=False)
