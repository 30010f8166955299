"""The work queue: standing compliance gaps of an area's open cases, per team.

What the daily meeting does not hold every morning: cases with no risk
assessment, a review or re-assessment overdue, high risk without a plan, no
SPO decision (on the orders desk), or a victim not referred in time. Each row
names its owner, the day it crossed its threshold and the day it returns to
the meeting if still open.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Select, Static

from app.dates import format_local
from app.sanitise import clean_text
from app.services.dmm import WorkItem, WorkQueue, work_queue
from app.widgets.columns import Col, RowBuffer
from app.widgets.table import VigilTable
from screens.base import VigilScreen, cursor_row_key
from screens.keys import open_case_key, refresh_key
from seed.reference import force_organisation

ALL_TEAMS = "all"
PAGE_SIZE = 200

COLUMNS: tuple[tuple[str, str, int], ...] = (
    Col("crime", "Crime", 12, keep=True),
    Col("gap", "Gap", 22),
    Col("team", "Team", 12),
    Col("owner", "Owner", 16),
    Col("since", "Since", 10, keep=True),
    Col("days", "Days", 4, keep=True),
    Col("back", "Back at DMM", 11, keep=True),
    Col("detail", "Detail", 60, flex=1, min=12),
)
GAP_SHORT = {
    "NO_RISK_ASSESSMENT": "no risk assessment",
    "RISK_REVIEW_DUE": "review overdue",
    "NO_RISK_PLAN": "high risk, no plan",
    "SPO_NOT_CONSIDERED": "SPO not considered",
    "VICTIM_NOT_REFERRED": "victim not referred",
}


def _cell(value: str | None) -> Text:
    return Text(clean_text(value or "", keep_newlines=False))


class WorklistScreen(VigilScreen):
    """A team's work queue of standing gaps (supervisors, analysts and the
    team's officers)."""

    PURPOSE = ("Work queue: standing gaps of the area's open cases, oldest first — no risk "
               "assessment, review overdue, high risk without a plan, SPO not considered "
               "(orders desk), victim not referred. They come to the DMM when they cross "
               "their threshold and again at the date shown; enter opens the case.")
    CSS_PATH = "worklist.tcss"
    AUTO_FOCUS = "#worklist-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        open_case_key("worklist", "Open the selected case record"),
        refresh_key("worklist"),
        Binding("t", "focus_team", "Team", id="worklist.team",
                tooltip="Choose the team (or the orders desk)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.title = "Work queue"
        self.area = ""
        self.team: str | None = None
        self.queue: WorkQueue | None = None
        self.items: dict[str, WorkItem] = {}

    def compose(self) -> ComposeResult:
        org = force_organisation(self.context.policy)
        self.area = self.context.actor.area_command or org.area_commands[0]
        yield from self.compose_header()
        with Horizontal(id="worklist-bar"):
            yield Select([(area, area) for area in org.area_commands], value=self.area,
                         allow_blank=False, id="worklist-area",
                         disabled=self.context.actor.area_command is not None)
            teams = [("every team", ALL_TEAMS)] + [
                (f"{team} (orders desk)" if team == self.context.policy.dmm.orders_desk_team
                 else team, team) for team in org.teams]
            yield Select(teams, value=ALL_TEAMS, allow_blank=False, id="worklist-team")
            yield Static("", id="worklist-summary", markup=False)
        yield VigilTable(id="worklist-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.columns = self.fitted_columns(self.query_one(DataTable), COLUMNS)
        self.load()

    def load(self, *, audit: bool = True) -> None:
        self.query_one("#worklist-summary", Static).update("loading…")
        self.call_service(work_queue, area=self.area, team=self.team, limit=PAGE_SIZE,
                          audit=audit, on_result=self.show_queue, group="worklist")

    def show_queue(self, queue: WorkQueue) -> None:
        self.queue = queue
        table = self.query_one(DataTable)
        selected = cursor_row_key(table)
        rows = RowBuffer()
        self.items = {}
        for item in queue.items:
            key = f"{item.crime_ref}|{item.code}"
            self.items[key] = item
            rows.add_row(
                _cell(item.crime_ref), _cell(GAP_SHORT.get(item.code, item.title)),
                _cell(item.team), _cell(item.owner),
                _cell(format_local(item.crossed_at, "%d/%m/%Y")), _cell(str(item.age_days)),
                _cell(format_local(item.second_at, "%d/%m/%Y")), _cell(item.explanation),
                key=key)
        self.columns.fill(rows)
        if selected in self.items:
            table.move_cursor(row=table.get_row_index(selected))
        shown = len(queue.items)
        counts = ", ".join(f"{GAP_SHORT.get(code, code)} {n}"
                           for code, n in sorted(queue.counts.items()))
        more = f" (first {shown})" if shown < queue.total else ""
        self.query_one("#worklist-summary", Static).update(
            f"{queue.total} open gaps{more}" + (f": {counts}" if counts else ""))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value is Select.BLANK:
            return
        if event.select.id == "worklist-area" and event.value != self.area:
            self.area = str(event.value)
            self.load()
        elif event.select.id == "worklist-team":
            team = None if event.value == ALL_TEAMS else str(event.value)
            if team != self.team:
                self.team = team
                self.load()

    def action_refresh(self) -> None:
        self.load(audit=False)

    def action_focus_team(self) -> None:
        self.query_one("#worklist-team", Select).focus()

    def action_open_case(self) -> None:
        key = cursor_row_key(self.query_one(DataTable))
        if key and key in self.items:
            self.vigil.open_case(self.items[key].crime_ref)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_case()
