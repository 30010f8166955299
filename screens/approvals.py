"""Approvals waiting: risk levels set below the checklist's suggestion or
lowered from high (typed in Vigil or imported from the RMS) that wait for a
second supervisor of the case's area. `a` approves the selected one when it is
yours to approve; `enter` opens the case record."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from app.output import cell_text
from app.sanitise import clean_text
from app.services.permissions import Permission
from app.services.risk import PendingApproval, approvals_waiting, approve_risk_assessment
from app.widgets.columns import Col, RowBuffer
from app.widgets.table import VigilTable
from screens.base import VigilScreen, cursor_row_key
from screens.keys import open_case_key, refresh_key

COLUMNS: tuple[tuple[str, str, int], ...] = (
    Col("crime_ref", "Crime ref", 12, keep=True),
    Col("area", "Area", 9),
    Col("assessed", "Assessed", 16, keep=True),
    Col("assessor", "Assessor", 20),
    Col("level", "Level set", 9, keep=True),
    Col("why", "Why it waits", 26),
    Col("keeps", "Case keeps", 10),
    Col("yours", "Yours", 5, keep=True),
    Col("rationale", "Rationale", 50, flex=1, min=12),
)


class ApprovalsScreen(VigilScreen):
    """The four-eyes list: approvals waiting, and whether each is yours."""

    PURPOSE = ("Approvals waiting: a risk level below the checklist's suggestion, or lowered "
               "from high, waits for a second supervisor of the case's area (never the "
               "assessor); the case keeps the higher level meanwhile. a approves the selected "
               "one when it is yours; enter opens the case.")
    CSS_PATH = "approvals.tcss"
    AUTO_FOCUS = "#approvals-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve", id="approvals.approve"),
        open_case_key("approvals"),
        refresh_key("approvals"),
    ]
    ROLE_ACTIONS: ClassVar[dict[str, Permission]] = {"approve": Permission.APPROVE_RISK_DOWNGRADE}

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, PendingApproval] = {}
        self.title = "Approvals waiting"

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static("loading…", id="approvals-summary", markup=False)
        yield VigilTable(id="approvals-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.columns = self.fitted_columns(self.query_one(DataTable), COLUMNS)
        self.load()

    def load(self) -> None:
        self.call_service(approvals_waiting, on_result=self.show, group="approvals")

    def show(self, items: list[PendingApproval]) -> None:
        table = self.query_one(DataTable)
        selected = cursor_row_key(table)
        rows = RowBuffer()
        self.items = {}
        for item in items:
            key = str(item.assessment_id)
            self.items[key] = item
            rows.add_row(item.crime_ref, item.area_command, cell_text(item.assessed_at),
                          clean_text(item.assessor, keep_newlines=False), item.level, item.why,
                          item.case_risk_level or "—", "yes" if item.yours else "no",
                          clean_text(item.rationale or "", keep_newlines=False)[:100], key=key)
        self.columns.fill(rows)
        if selected and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        yours = sum(item.yours for item in items)
        self.query_one("#approvals-summary", Static).update(
            f"{len(items)} waiting · {yours} yours to approve")

    def action_area(self, action: str) -> str | None:
        item = self._selected()
        return item.area_command if item is not None else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()  # approving is for a supervisor of the case's area

    def _selected(self) -> PendingApproval | None:
        key = cursor_row_key(self.query_one(DataTable))
        return self.items.get(key) if key else None

    def action_open_case(self) -> None:
        item = self._selected()
        if item:
            self.vigil.open_case(item.crime_ref)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        item = self.items.get(event.row_key.value or "")
        if item:
            self.vigil.open_case(item.crime_ref)

    def action_approve(self) -> None:
        item = self._selected()
        if item is None:
            return
        if not item.yours:
            self.notify(f"{item.crime_ref}: waiting for {item.waiting_for}.", severity="warning")
            return
        question = (f"Approve {item.level} on {item.crime_ref} ({item.why})? Assessed by "
                    f"{item.assessor} on {cell_text(item.assessed_at)}. Rationale: "
                    f"{clean_text(item.rationale or '', keep_newlines=False) or '—'}")
        self.confirm_then_call(question, approve_risk_assessment,
                               assessment_id=item.assessment_id,
                               expected_version=item.case_version, on_result=self.approved,
                               group="approvals-approve")

    def approved(self, result: object) -> None:
        self.notify(str(getattr(result, "message", "approved")))
        self.load()

    def action_refresh(self) -> None:
        self.load()
