"""The breach escalation board: every breach still needing a supervisor,
grouped by level with the time left or overdue, and the course of conduct of
the selected victim–suspect pair drawn as a timeline beneath it."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Input, Static

from app.dates import DateError, format_local, parse_datetime
from app.errors import BadInput
from app.rules.escalation import ANY_BREACH
from app.sanitise import clean_text
from app.services.audit_trail import record_cases_shown
from app.services.breach_actions import (
    acknowledge_breach,
    escalate_breach,
    record_arrest,
    record_spo_application,
    request_reassessment,
)
from app.services.breaches import BoardItem, BreachBoard, breach_board
from app.services.cases import ReasonRequired
from app.services.order_lists import OrdersWatch, orders_watch
from app.services.orders import OrderView
from app.services.pair_timeline import Timeline, pair_timeline
from app.services.permissions import Permission
from app.widgets.columns import Col, RowBuffer
from app.widgets.table import VigilTable
from app.widgets.timeline import TimelineView
from screens.base import VigilScreen, cursor_row_key
from screens.dialogs import ReasonDialog
from screens.keys import clear_filter_key, filter_key, open_case_key, refresh_key
from seed.reference import force_organisation

ROWS_PER_LEVEL = 200
REFRESH_SECONDS = 60.0
ALL = "all"

COLUMNS: tuple[tuple[str, str, int], ...] = (
    Col("level", "Lvl", 3, keep=True),
    Col("breach", "Breach", 12, keep=True),
    Col("time", "Time left", 15, keep=True),
    Col("due_for", "Due for", 9),
    Col("kind", "Kind", 4),
    Col("pair", "Victim ← suspect", 17),
    Col("n30", "30d", 3, keep=True),
    Col("n90", "90d", 3, keep=True),
    Col("crime", "Breach crime", 13, keep=True),
    Col("original", "Original", 13, keep=True),
    Col("reasons", "Why", 34, flex=1, min=12),
)
DUE_SHORT = {"acknowledgement": "ack", "re-assessment": "re-assess"}
REASON_SHORT = {
    "REPEATED": "REPEAT", "HIGH_RISK": "HIGH RISK", "SPO_BREACH": "SPO",
    "THREATS_OR_VIOLENCE": "THREATS", "ACK_OVERDUE": "ACK LATE", "NO_REASSESSMENT": "NO RA",
    "MANUAL": "MANUAL",
}


LEVEL_SHORT = {
    3: "late: acknowledgement or re-assessment",
    2: "repeat · high risk · SPO · threats",
    1: "acknowledgement due",
}


def _text(value: str | None) -> Text:
    return Text(clean_text(value or "", keep_newlines=False))


def level_key(level: int) -> str:
    return f"level-{level}"


class BreachBoardScreen(VigilScreen):
    """Supervisors triage breaches: acknowledge, escalate, record an arrest,
    ask for a re-assessment or an SPO application, and see the pair's history."""

    PURPOSE = ("Breaches: every breach of a protective order that still needs a supervisor, by "
               "escalation level, with the time left to acknowledge or re-assess. Select one to "
               "see the victim–suspect pair's course of conduct on the timeline below.")
    CSS_PATH = "breaches.tcss"
    FILTER_INPUT = "breach-filter"
    AUTO_FOCUS = "#breach-table"
    ROLE_ACTIONS: ClassVar[dict[str, Permission]] = {
        "acknowledge": Permission.ACT_ON_BREACH, "escalate": Permission.ACT_ON_BREACH,
        "request_reassessment": Permission.ACT_ON_BREACH,
        "record_arrest": Permission.RECORD_BREACH,
        "record_spo_application": Permission.MANAGE_ORDERS}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Acknowledge", id="breaches.acknowledge",
                tooltip="Acknowledge the breach with a note of what was done"),
        Binding("e", "escalate", "Escalate", id="breaches.escalate",
                tooltip="Raise the breach one level, with a reason"),
        Binding("x", "record_arrest", "Arrest", id="breaches.arrest",
                tooltip="Record the suspect's arrest for the breach"),
        Binding("v", "request_reassessment", "Re-assess", id="breaches.reassess",
                tooltip="Ask for the victim's risk to be re-assessed now"),
        Binding("s", "record_spo_application", "SPO applied", id="breaches.spo",
                tooltip="Record an SPO or interim SPO application for the pair"),
        open_case_key("breaches", "Open the original case record"),
        refresh_key("breaches"),
        filter_key("breaches", "Filter by area (or 'all') or by a reference"),
        clear_filter_key("breaches"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.title = "Breaches"
        self.area: str | None = None  # set to the user's own area on mount
        self.text: str | None = None
        self.board: BreachBoard | None = None
        self.items: dict[str, BoardItem] = {}
        self.timeline_for: str | None = None
        self._viewed_pairs: set[str] = set()
        self._named: set[str] = set()  # cases the audit log names as shown here
        self._reasons: dict[str, str] = {}  # reasons given for other areas' cases

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with Horizontal(id="breach-filter-bar"):
            yield Input(placeholder="/ area (Northern… or all) or a reference…", id="breach-filter")
            yield Static("", id="breach-summary", markup=False)
        yield Static("", id="breach-orders", markup=False)
        yield VigilTable(id="breach-table", cursor_type="row", zebra_stripes=False)
        with VerticalScroll(id="breach-lower"):
            yield Static("", id="breach-detail", markup=False)
            yield TimelineView(id="breach-timeline", list_limit=30)
        yield Footer()

    def on_mount(self) -> None:
        # a scenario's area, else the user's own (force-wide for analysts and auditors)
        self.area = getattr(self.vigil, "start_area", None) or self.context.actor.area_command
        self.columns = self.fitted_columns(self.query_one(DataTable), COLUMNS)
        self.load()
        self.set_interval(REFRESH_SECONDS, self.live_refresh, name="breach-board-refresh")

    # --- data -----------------------------------------------------------------
    def load(self, *, audit: bool = True) -> None:
        self.query_one("#breach-summary", Static).update("loading…")
        self.call_service(breach_board, area=self.area, text=self.text,
                          limit_per_level=ROWS_PER_LEVEL, audit=audit,
                          on_result=lambda board: self.show_board(board, audited=audit),
                          group="breach-board")
        self.call_service(orders_watch, area=self.area, audit=audit,
                          on_result=self.show_orders, group="breach-orders")

    def live_refresh(self) -> None:
        """The 60-second refresh: skipped while a dialog is open or another screen is in front."""
        if self.vigil.live_refresh_paused or self.app.screen is not self:
            return
        self.load(audit=False)

    def show_board(self, board: BreachBoard, *, audited: bool = True) -> None:
        self.board = board
        shown = [ref for item in board.items
                 for ref in (item.crime_ref, item.original_crime_ref)]
        fresh = [ref for ref in shown if ref not in self._named]
        self._named.update(shown)
        if fresh and not audited:  # an unaudited refresh brought them into view
            self.call_service(record_cases_shown, entity="breach_board", entity_id=self.area,
                              crime_refs=fresh, what="breach board", group="breach-named",
                              exclusive=False)
        table = self.query_one(DataTable)
        selected = self._selected_ref()
        rows = RowBuffer()
        self.items = {}
        for level in board.levels:
            more = f" (first {len(level.items)} of {level.total})" if level.truncated else ""
            count = f"{level.total} breach{'es' if level.total != 1 else ''}{more}"
            rows.add_row(
                Text(f"L{level.level}", style="bold reverse"), Text(f"LEVEL {level.level}", "bold"),
                Text(count, "bold"), *(Text("") for _ in range(7)),
                Text(LEVEL_SHORT[level.level], "italic"), key=level_key(level.level),
            )
            for item in level.items:
                self.items[item.breach_ref] = item
                rows.add_row(*self._cells(item), key=item.breach_ref)
        self.columns.fill(rows)
        target = selected if selected in self.items else next(iter(self.items), None)
        if target is not None:
            table.move_cursor(row=table.get_row_index(target))
        where = board.area or "force-wide"
        if self.text:
            where += f" · filter {self.text!r}"
        counts = " · ".join(f"L{lv.level} {lv.total}" for lv in board.levels)
        self.query_one("#breach-summary", Static).update(
            f"{where} · {counts} · {format_local(board.built_at)}")
        if target is None:
            self._show_item(None)
        else:
            self._show_item(self.items[target], reload_timeline=True)

    def show_orders(self, watch: OrdersWatch) -> None:
        soon = ", ".join(f"{o.kind} {o.order_ref} {format_local(o.expires_at, '%d/%m')}"
                         for o in watch.expiring[:4] if o.expires_at)
        more = "…" if watch.expiring_count > 4 else ""
        expiring = (f"{watch.expiring_count} expiring within {watch.expiry_days} days"
                    + (f" ({soon}{more})" if soon else ""))
        pending = watch.notifications_count
        notes = (f"SPO notifications outstanding: {pending} ({watch.notifications_overdue} overdue)"
                 if pending else "no SPO notification outstanding")
        self.query_one("#breach-orders", Static).update(
            clean_text(f"Orders: {expiring} · {notes}", keep_newlines=False))

    def _cells(self, item: BoardItem) -> tuple[Any, ...]:
        time_style = "bold" if item.overdue else ""
        reasons = " ".join(REASON_SHORT.get(code, code) for code in item.reasons
                           if code != ANY_BREACH) or "breach"
        ack = "" if item.acknowledged else "unack · "
        # every cell a Text: DataTable reads plain strings as markup
        return (
            Text(str(item.level), style="bold" if item.level >= 2 else ""),
            _text(item.breach_ref),
            Text(item.time_text or "done", style=time_style),
            Text(DUE_SHORT.get(item.due_for or "", "—")),
            _text(item.order_kind),
            _text(item.pair),
            Text(str(item.breaches_in(self._window(0)) or 0)),
            Text(str(item.breaches_in(self._window(1)) or 0)),
            _text(item.crime_ref),
            _text(item.original_crime_ref),
            Text(ack + reasons),
        )

    def _window(self, index: int) -> int:
        windows = self.board.windows_days if self.board else (30, 90)
        return windows[index] if index < len(windows) else 0

    def _selected_ref(self) -> str | None:
        return cursor_row_key(self.query_one(DataTable))

    def action_subject(self, action: str) -> tuple[str, str | None]:
        item = self.selected_item()
        return (("case", item.original_crime_ref) if item is not None
                else super().action_subject(action))

    def action_area(self, action: str) -> str | None:
        item = self.selected_item()
        return item.area_command if item is not None else None

    def selected_item(self) -> BoardItem | None:
        ref = self._selected_ref()
        return self.items.get(ref) if ref else None

    def _show_item(self, item: BoardItem | None, *, reload_timeline: bool = False) -> None:
        detail = self.query_one("#breach-detail", Static)
        timeline = self.query_one(TimelineView)
        if item is None:
            detail.update("No breach selected." if self.items else
                          "No breach needs a supervisor here.")
            timeline.show(None)
            self.timeline_for = None
            return
        lines = [
            f"{item.breach_ref} · level {item.level} · {item.order_kind} {item.order_ref} · "
            f"breach crime {item.crime_ref} · original {item.original_crime_ref} · "
            f"occurred {format_local(item.occurred_at)} · reported {format_local(item.reported_at)}",
            "Why: " + "; ".join(item.reason_texts),
            ("Next: " + (f"{item.due_for} due {format_local(item.due_at)} ({item.time_text})"
                         if item.due_at else "nothing due")
             + (f" · acknowledged by {item.acknowledged_by}" if item.acknowledged else "")),
            "Expected: " + ", ".join(
                a if a in item.outstanding_actions else f"{a} ✓" for a in item.expected_actions),
        ]
        detail.update(clean_text("\n".join(lines)))
        if reload_timeline or item.original_crime_ref != self.timeline_for:
            self.load_timeline(item.original_crime_ref)

    def load_timeline(self, crime_ref: str) -> None:
        self.timeline_for = crime_ref
        audit = crime_ref not in self._viewed_pairs
        self._viewed_pairs.add(crime_ref)

        def refused(error: Exception) -> bool:
            self._viewed_pairs.discard(crime_ref)
            if not isinstance(error, ReasonRequired):
                return False  # shown by the App

            def answered(reason: str | None) -> None:
                if reason:
                    self._reasons[crime_ref] = reason
                    self.load_timeline(crime_ref)

            self.app.push_screen(ReasonDialog(f"{error} (the timeline shows the case's course "
                                              "of conduct).", prompt="Reason for viewing"),
                                 answered)
            return True

        self.call_service(pair_timeline, crime_ref=crime_ref, audit=audit,
                          reason=self._reasons.get(crime_ref), on_result=self.show_timeline,
                          on_failure=refused, group="breach-timeline")

    def show_timeline(self, timeline: Timeline) -> None:
        if timeline.crime_ref != self.timeline_for:
            return  # the selection moved on
        self.query_one(TimelineView).show(timeline, end=self.context.now())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()  # area-bound keys follow the row's area
        ref = event.row_key.value if event.row_key else None
        if ref in self.items:
            self._show_item(self.items[ref])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        ref = event.row_key.value if event.row_key else None
        if ref in self.items:
            self.vigil.open_case(self.items[ref].original_crime_ref)

    # --- actions --------------------------------------------------------------------
    def _require_item(self) -> BoardItem | None:
        item = self.selected_item()
        if item is None:
            self.notify("Select a breach first (level headings are not breaches).",
                        severity="warning")
        return item

    def _after_action(self, message: str) -> Any:
        def done(result: Any) -> None:
            self.notify(message if not isinstance(result, OrderView)
                        else f"{result.kind} {result.order_ref} recorded as applied",
                        markup=False)
            self.load(audit=False)

        return done

    def action_acknowledge(self) -> None:
        item = self._require_item()
        if item is None:
            return
        if item.acknowledged:
            self.notify(f"{item.breach_ref} was acknowledged by {item.acknowledged_by}",
                        severity="warning", markup=False)
            return

        def answer(note: str | None) -> None:
            if note:
                self.call_service(acknowledge_breach, breach_ref=item.breach_ref, note=note,
                                  expected_version=item.case_version,
                                  on_result=self._after_action(f"{item.breach_ref} acknowledged"))

        self.app.push_screen(ReasonDialog(
            f"Acknowledge breach {item.breach_ref} ({item.order_kind}, {item.pair})",
            prompt="Note of what was done", placeholder="e.g. subject arrested; victim updated"),
            answer)

    def action_escalate(self) -> None:
        item = self._require_item()
        if item is None:
            return
        if item.level >= 3:
            self.notify(f"{item.breach_ref} is already at level 3", severity="warning",
                        markup=False)
            return
        level = item.level + 1

        def answer(reason: str | None) -> None:
            if reason:
                self.call_service(escalate_breach, breach_ref=item.breach_ref, level=level,
                                  reason=reason, expected_version=item.case_version,
                                  on_result=self._after_action(
                                      f"{item.breach_ref} escalated to level {level}"))

        self.app.push_screen(ReasonDialog(
            f"Escalate breach {item.breach_ref} from level {item.level} to level {level}",
            prompt="Reason for escalating"), answer)

    def action_record_arrest(self) -> None:
        item = self._require_item()
        if item is None:
            return

        def answer(text: str | None) -> None:
            if text is None:
                return
            try:
                at = parse_datetime(text) if text.strip() else self.context.now()
            except DateError as exc:
                self.show_error(BadInput(f"arrest time: {exc}"))
                return
            self.call_service(record_arrest, breach_ref=item.breach_ref, arrested_at=at,
                              expected_version=item.case_version,
                              on_result=self._after_action(f"arrest recorded for {item.breach_ref}"))

        self.app.push_screen(ReasonDialog(
            f"Record the arrest of {item.suspect_ref or 'the suspect'} for {item.breach_ref}",
            prompt="Arrest time (dd/mm/yyyy HH:MM, blank = now)", required=False), answer)

    def action_request_reassessment(self) -> None:
        item = self._require_item()
        if item is None:
            return
        self.call_service(request_reassessment, breach_ref=item.breach_ref,
                          expected_version=item.case_version,
                          on_result=self._after_action(
                              f"risk re-assessment requested on {item.original_crime_ref}"))

    def action_record_spo_application(self) -> None:
        item = self._require_item()
        if item is None:
            return

        def answer(kind: str | None) -> None:
            if kind:
                self.call_service(record_spo_application, crime_ref=item.original_crime_ref,
                                  kind=kind.strip().upper(), applied_at=self.context.now(),
                                  expected_version=item.case_version,
                                  on_result=self._after_action("SPO application recorded"))

        self.app.push_screen(ReasonDialog(
            f"Record an SPO application for {item.pair} (case {item.original_crime_ref})",
            prompt="Kind: SPO or ISPO (interim)", initial="ISPO"), answer)

    def action_open_case(self) -> None:
        item = self.selected_item()
        if item is not None:
            self.vigil.open_case(item.original_crime_ref)

    def action_refresh(self) -> None:
        self.load()

    def action_focus_filter(self) -> None:
        self.query_one("#breach-filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#breach-filter", Input).value = ""
        self.text = None
        self.area = self.context.actor.area_command
        self.load()
        self.query_one(DataTable).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.filter_submitted(event.value)

    def apply_filter(self, value: str, *, typing: bool = False) -> None:
        value = value.strip()
        areas = {a.lower(): a for a in force_organisation(self.context.policy).area_commands}
        if value.lower() == ALL:
            self.area, self.text = None, None
        elif value.lower() in areas:
            self.area, self.text = areas[value.lower()], None
        else:
            self.text = value or None
        self.load()

