"""The daily management meeting (DMM) queue: the supervisor's main screen.

Area and meeting date at the top; the ranked cases in a table (priority,
crime reference, reasons as chips, risk, team, age, victim–suspect pair);
beside it, why the selected case ranks where it does, its risk history,
orders and last actions. Decisions, actions and discussed marks are recorded
from here; analysts see the queue read-only. The queue refreshes itself every
minute (not while a dialog is open, and `p` pauses it), keeping the cursor on
the same case.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Select, Static

from app.dates import format_local
from app.rules import dmm as rules
from app.rules.dmm_reasons import REASON_TITLES
from app.services.audit_trail import record_cases_shown
from app.services.cases import ReasonRequired
from app.services.dmm import (
    DmmItemDetail,
    DmmQueue,
    DmmQueueItem,
    build_queue,
    current_meeting_date,
    item_detail,
)
from app.services.dmm.common import queue_id
from app.services.dmm.first_page import PAGE_SIZE
from app.services.extract_summary import ExtractSummary, last_extract_summary
from app.services.permissions import Permission
from app.widgets.table import VigilTable
from screens.dialogs import ReasonDialog
from screens.dmm_dialogs import (
    ALL_REASONS,
    ReasonFilterDialog,
)
from screens.dmm_panel import (
    COLUMNS,
    REASONS_WIDTH,
    detail_text,
    filter_line,
    row_cells,
    why_text,
)
from screens.dmm_recording import DmmRecordingScreen
from screens.keys import clear_filter_key, filter_key, open_case_key, refresh_key
from seed.reference import force_organisation

REFRESH_SECONDS = 60.0
PANEL_DELAY = 0.15


NARROW = 120  # terminal columns below which the side panel goes under the table


class DmmScreen(DmmRecordingScreen):
    """The ranked DMM queue of one area command and meeting date."""

    PURPOSE = ("DMM: every stalking-related case that needs a decision at this morning's "
               "meeting, ranked. The panel on the right says why the selected case is here; "
               "d decides, a sets an action, c completes or reassigns one, space marks it "
               "discussed, ctrl+s exports the minutes. Standing gaps of older cases are on "
               "the team's work queue (w).")
    CSS_PATH = "dmm.tcss"
    FILTER_INPUT = "dmm-filter"
    AUTO_FOCUS = "#dmm-table"
    ROLE_ACTIONS: ClassVar[dict[str, Permission]] = {
        action: Permission.DECIDE_DMM
        for action in ("decide", "add_action", "change_action", "toggle_discussed")}
    BINDINGS: ClassVar[list[BindingType]] = [
        open_case_key("dmm", "Open the selected case record"),
        Binding("d", "decide", "Decide", id="dmm.decide",
                tooltip="Record the meeting's decision on the selected case, with a rationale"),
        Binding("a", "add_action", "Action", id="dmm.action",
                tooltip="Set an action on the selected case: what, owner, due"),
        Binding("c", "change_action", "Done/reassign", id="dmm.change_action",
                tooltip="Complete an open action of the selected case, or give it to "
                        "another owner"),
        Binding("space", "toggle_discussed", "Discussed", id="dmm.discussed",
                tooltip="Mark the selected case discussed (or not)"),
        filter_key("dmm", "Filter by crime reference, person, team or risk"),
        Binding("f", "filter_reason", "Reason", id="dmm.reason",
                tooltip="Show only the cases on the agenda for one reason"),
        Binding("left_square_bracket", "previous_meeting", "Prev day", id="dmm.previous",
                tooltip="The previous meeting date"),
        Binding("right_square_bracket", "next_meeting", "Next day", id="dmm.next",
                tooltip="The next meeting date"),
        refresh_key("dmm"),
        Binding("w", "work_queue", "Work queue", id="dmm.worklist",
                tooltip="The teams' work queue of standing gaps"),
        Binding("p", "toggle_pause", "Pause", id="dmm.pause",
                tooltip="Pause or resume the automatic refresh"),
        Binding("ctrl+s", "export_minutes", "Minutes", id="dmm.export",
                tooltip="Save the Markdown minutes of this meeting (downloads in a browser)"),
        Binding("pagedown", "next_page", "Next page", show=False, id="dmm.next_page"),
        Binding("pageup", "previous_page", "Prev page", show=False, id="dmm.previous_page"),
        clear_filter_key("dmm"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.title = "DMM queue"
        self.area: str = ""  # the user's own area command (set in compose)
        self.meeting_date: date = date.min  # the meeting for now (set in compose)
        self.queue: DmmQueue | None = None
        self.items: dict[str, DmmQueueItem] = {}
        self.text_filter = ""
        self.reason_filter: str | None = None
        self.page = 0
        self.paused = False
        self.detail: DmmItemDetail | None = None
        self._panel_timer: Timer | None = None
        self._viewed: set[str] = set()
        self._detail_due: str | None = None  # a detail to load once the table is drawn
        self._named: set[str] = set()  # cases the audit log names as shown here
        self._reasons: dict[str, str] = {}  # area -> why its cases are viewed from here
        self._asking = False  # a reason is being asked

    # --- layout -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        areas = force_organisation(self.context.policy).area_commands
        if not self.area:
            start = getattr(self.vigil, "start_area", None)
            self.area = start if start in areas else (self.context.actor.area_command or areas[0])
            self.meeting_date = current_meeting_date(self.context)
        yield from self.compose_header()
        with Horizontal(id="dmm-top"):
            yield Select([(a, a) for a in areas], value=self.area, allow_blank=False,
                         id="dmm-area", compact=True)
            yield Static("", id="dmm-meeting", markup=False)
            yield Static("", id="dmm-progress", markup=False)
            yield Static("", id="dmm-live", markup=False)
        yield Static("", id="dmm-extract", markup=False, classes="-empty")
        with Horizontal(id="dmm-filter-bar"):
            yield Input(placeholder="/ crime or person reference, team, risk…", id="dmm-filter")
            yield Static("", id="dmm-filter-info", markup=False)
        with Horizontal(id="dmm-body"):
            yield VigilTable(id="dmm-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="dmm-side"):
                yield Static("", id="dmm-why", markup=False)
                yield Static("", id="dmm-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < NARROW, "-narrow")
        self.columns = self.fitted_columns(self.query_one(DataTable), COLUMNS,
                                           reserve=self.side_width())
        self.show_meeting_line()
        self.load()
        self.set_interval(REFRESH_SECONDS, self.live_refresh, name="dmm-refresh")

    def show_extract(self, summary: ExtractSummary | None) -> None:
        """Since the last extract: what the newest RMS import changed."""
        line = self.query_one("#dmm-extract", Static)
        if summary is None:
            line.add_class("-empty")
            return
        line.update(summary.summary_line())
        line.remove_class("-empty")

    # --- data -----------------------------------------------------------------
    def load(self, *, audit: bool = True, defer_full: bool = True) -> None:
        """Fetch the page shown. A stored agenda due its periodic full
        recompute is shown first from the cases changed since its last build,
        then rebuilt in full behind the rows (``show_queue``)."""
        if self.queue is None:
            self.query_one("#dmm-progress", Static).update("loading…")
        first_page = self.vigil.first_page
        fetch = first_page.build_queue if first_page is not None else build_queue
        self.call_service(fetch, area=self.area, meeting_date=self.meeting_date,
                          audit=audit, limit=PAGE_SIZE, offset=self.page * PAGE_SIZE,
                          reason=self.reason_filter, text=self.text_filter or None,
                          defer_full=defer_full,
                          on_result=lambda queue: self.show_queue(queue, audited=audit),
                          group="dmm-queue")

    def live_refresh(self) -> None:
        """The one-minute refresh: skipped while paused, while a dialog is open
        or while another screen is in front."""
        if self.paused or self.vigil.live_refresh_paused or self.app.screen is not self:
            return
        self.load(audit=False)

    def show_queue(self, queue: DmmQueue, *, audited: bool = True) -> None:
        if (queue.area, queue.meeting_date) != (self.area, self.meeting_date):
            return  # an answer for a meeting no longer shown
        if queue.offset != self.page * PAGE_SIZE:
            return  # an answer for another page
        self._name_shown([item.crime_ref for item in queue.items], audited)
        first = self.queue is None
        self.queue = queue
        self.items = {item.crime_ref: item for item in queue.items}
        self.show_meeting_line()
        self.render_rows()
        if first:  # what the last extract changed follows once the rows are drawn
            self.call_after_refresh(self.call_service, last_extract_summary,
                                    on_result=self.show_extract, group="dmm-extract")
        if queue.full_refresh_due:
            self.load(audit=False, defer_full=False)

    def _name_shown(self, refs: list[str], audited: bool) -> None:
        """Cases an unaudited refresh brought into view are named in the audit
        log (one event); an audited view has named them already."""
        fresh = [ref for ref in refs if ref not in self._named]
        self._named.update(refs)
        if fresh and not audited:
            self.call_service(record_cases_shown, entity="dmm_queue",
                              entity_id=queue_id(self.area, self.meeting_date), crime_refs=fresh,
                              what="DMM queue", group="dmm-named", exclusive=False)

    def show_meeting_line(self) -> None:
        covers_from, starts = rules.meeting_window(self.meeting_date, self.context.policy)
        self.query_one("#dmm-meeting", Static).update(
            f"{self.meeting_date:%a %d/%m/%Y} {format_local(starts, '%H:%M')} · covers from "
            f"{format_local(covers_from, '%a %d/%m %H:%M')}")
        queue = self.queue
        if queue is None or (queue.area, queue.meeting_date) != (self.area, self.meeting_date):
            return
        self.query_one("#dmm-progress", Static).update(queue.progress)
        state = "live" if queue.live else ("record" if queue.recorded else "not held")
        if queue.live:
            state += " · paused" if self.paused else \
                f" · refreshed {format_local(queue.built_at, '%H:%M')}"
        if not queue.can_decide:
            state += " · read-only"
        self.query_one("#dmm-live", Static).update(state)

    def render_rows(self) -> None:
        table = self.query_one(DataTable)
        selected = self.selected_ref()
        queue = self.queue
        page = list(queue.items) if queue else []
        table.clear()
        self.columns.fit(row_cells(item, queue, self.context.policy.dmm.weights) for item in page)
        reasons_width = self.columns.widths.get("reasons", REASONS_WIDTH)
        for item in page:
            table.add_row(*row_cells(item, queue, self.context.policy.dmm.weights, reasons_width), key=item.crime_ref)
        if selected and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        elif page:
            table.move_cursor(row=0, animate=False)
        self.query_one("#dmm-filter-info", Static).update(
            filter_line(queue, self.reason_filter, self.text_filter, self.page))
        self.show_selected()

    def action_area(self, action: str) -> str | None:
        return self.area

    def side_width(self) -> int:
        """Cells the side panel takes beside the table (before layout); below
        ``NARROW`` columns the panel sits under the table instead."""
        width = self.app.size.width
        if width < NARROW:
            return 0
        return max(30, min(60, width * 36 // 100))

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")
        if hasattr(self, "columns"):
            self.columns.reserve = self.side_width()
        super().on_resize(event)

    # --- side panel ---------------------------------------------------------------
    def schedule_panel(self) -> None:
        """Redraw the side panel once the cursor rests (holding a key down
        does not redraw it for every row passed)."""
        if self._panel_timer is not None:
            self._panel_timer.stop()
        self._panel_timer = self.set_timer(PANEL_DELAY, self.show_selected)

    def show_selected(self) -> None:
        self._panel_timer = None
        item = self.selected_item()
        why = self.query_one("#dmm-why", Static)
        if item is None:
            why.update(Text("No case needs a decision here." if self.queue and
                            not self.queue.items else "No case selected."))
            self.query_one("#dmm-detail", Static).update("")
            return
        why.update(why_text(item, self.queue, self.context.now()))
        if self.detail is None or self.detail.crime_ref != item.crime_ref:
            self.query_one("#dmm-detail", Static).update(Text("loading…", style="italic"))
            if self._detail_due != item.crime_ref:  # asked once, after the table is drawn
                self._detail_due = item.crime_ref
                self.call_after_refresh(self._load_due_detail)
        else:
            self.query_one("#dmm-detail", Static).update(detail_text(self.detail, self.meeting_date, self.context.now()))

    def _load_due_detail(self) -> None:
        crime_ref, self._detail_due = self._detail_due, None
        if crime_ref is not None:
            self.load_detail(crime_ref)

    def load_detail(self, crime_ref: str) -> None:
        if self.selected_ref() != crime_ref:
            return
        audit = crime_ref not in self._viewed
        self._viewed.add(crime_ref)

        def refused(error: Exception) -> bool:
            self._viewed.discard(crime_ref)
            if not isinstance(error, ReasonRequired):
                return False  # shown by the App
            if self._asking:
                return True  # the reason is being asked already
            self._asking = True

            def answered(reason: str | None) -> None:
                self._asking = False
                if reason:
                    # one reason for the meeting of another area, recorded on each case viewed
                    self._reasons[self.area] = reason
                    selected = self.selected_ref()
                    if selected:
                        self.load_detail(selected)

            self.app.push_screen(ReasonDialog(
                f"{error} (the panel shows the case's risk history, orders and breaches; the "
                f"reason is recorded on each {self.area} case you view here).",
                prompt="Reason for viewing"), answered)
            return True

        self.call_service(item_detail, crime_ref=crime_ref, audit=audit,
                          reason=self._reasons.get(self.area), on_result=self.show_detail,
                          on_failure=refused, group="dmm-detail")

    def show_detail(self, detail: DmmItemDetail) -> None:
        self.detail = detail
        if self.selected_ref() == detail.crime_ref:
            self.query_one("#dmm-detail", Static).update(detail_text(detail, self.meeting_date, self.context.now()))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.schedule_panel()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        ref = event.row_key.value if event.row_key else None
        if ref:
            self.vigil.open_case(ref)

    # --- navigation -----------------------------------------------------------------
    def action_open_case(self) -> None:
        ref = self.selected_ref()
        if ref:
            self.vigil.open_case(ref)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "dmm-area" or event.value in (Select.BLANK, self.area):
            return
        self.area = str(event.value)
        self._switch_meeting()

    def _switch_meeting(self) -> None:
        self.refresh_bindings()  # decisions are for a supervisor of the area shown
        self.queue = None
        self.items = {}
        self.detail = None
        self.page = 0
        self.query_one(DataTable).clear()
        self.show_meeting_line()
        self.load()

    def action_previous_meeting(self) -> None:
        self.meeting_date = rules.previous_meeting_date(self.meeting_date, self.context.policy)
        self._switch_meeting()

    def action_next_meeting(self) -> None:
        self.meeting_date = rules.next_meeting_date(self.meeting_date, self.context.policy)
        self._switch_meeting()

    def action_work_queue(self) -> None:
        self.vigil.action_switch_section("worklist")

    def action_refresh(self) -> None:
        self.load()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.notify("Live refresh paused (p resumes)" if self.paused else "Live refresh resumed")
        self.show_meeting_line()

    def action_focus_filter(self) -> None:
        self.query_one("#dmm-filter", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.filter_submitted(event.value)

    def apply_filter(self, value: str, *, typing: bool = False) -> None:
        if typing and value.strip() == self.text_filter:
            return
        self.text_filter = value.strip()
        self.page = 0
        self.load()  # other cases shown: named

    def action_clear_filter(self) -> None:
        self.query_one("#dmm-filter", Input).value = ""
        self.text_filter = ""
        self.reason_filter = None
        self.page = 0
        self.load()  # other cases shown: named
        self.query_one(DataTable).focus()

    def action_filter_reason(self) -> None:
        if self.queue is None:
            return
        counts: dict[str, int] = {ALL_REASONS: self.queue.total, **self.queue.reason_counts}

        def chosen(code: str | None) -> None:
            if code is None:
                return
            self.reason_filter = code or None
            self.page = 0
            self.load()  # other cases shown: named
            if code:
                self.notify(f"Showing {REASON_TITLES.get(code, code)}", markup=False)

        self.app.push_screen(ReasonFilterDialog(counts, self.reason_filter), chosen)

    def action_next_page(self) -> None:
        if self.queue is not None and (self.page + 1) * PAGE_SIZE < self.queue.matched:
            self.page += 1
            self.load()  # other cases shown: named

    def action_previous_page(self) -> None:
        if self.page > 0:
            self.page -= 1
            self.load()  # other cases shown: named

    # --- minutes ---------------------------------------------------------------------
    def action_export_minutes(self) -> None:
        """Saving the minutes is a disclosure: the purpose is asked, the export
        event naming every case listed is committed, and only then are the
        minutes delivered."""
        # the minutes' writer (and the export rules it shares) load when asked for
        from app.services.dmm_minutes import minutes_filename, minutes_for_saving

        area, day = self.area, self.meeting_date
        self.save_disclosure(
            kind="dmm", fmt="md", filename=minutes_filename(area, day), mime_type="text/markdown",
            build=lambda context: minutes_for_saving(context, area=area, meeting_date=day),
            filter=f"{area} meeting {day.isoformat()}",
            what=f"Minutes of the {area} meeting of {day:%d/%m/%Y}")
