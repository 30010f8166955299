"""Home: the case list. Type to find a crime or person reference; newest first,
paged in SQL; `enter` opens the case record."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input, Static

from app.output import cell_text
from app.sanitise import clean_text
from app.services.search import CaseSearch, SearchPage, search_cases
from app.widgets.columns import Col, RowBuffer
from app.widgets.table import VigilTable
from screens.base import VigilScreen, cursor_row_key

PAGE_SIZE = 100

COLUMNS: tuple[tuple[str, str, int], ...] = (
    Col("crime_ref", "Crime ref", 12, keep=True),
    Col("reported", "Reported", 16, keep=True),
    Col("area", "Area", 9),
    Col("codes", "Classification", 16),
    Col("risk", "Risk", 8),
    Col("team", "Team", 13),
    Col("status", "Status", 6),
    Col("pair", "Victim → suspect", 20),
    Col("summary", "Summary", 60, flex=1, min=12),
)


class CaseListScreen(VigilScreen):
    """The case list that every other screen hangs off."""

    PURPOSE = ("Cases: every crime report Vigil holds, newest first. Type a crime or person "
               "reference to narrow the list; enter opens the case record. Use Search (4) for "
               "classification, risk, team and date filters.")
    CSS_PATH = "home.tcss"
    FILTER_INPUT = "case-filter"
    AUTO_FOCUS = "#case-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="cases.filter"),
        Binding("enter", "open_case", "Open case", id="cases.open"),
        Binding("pagedown", "next_page", "Next page", id="cases.next"),
        Binding("pageup", "previous_page", "Previous page", id="cases.previous"),
        Binding("r", "refresh", "Refresh", id="cases.refresh"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="cases.clear"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.criteria = CaseSearch(page_size=PAGE_SIZE)
        self.page: SearchPage | None = None
        self.title = "Cases"

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with Horizontal(id="case-filter-bar"):
            yield Input(placeholder="/ crime or person reference…", id="case-filter")
            yield Static("", id="case-page-info", markup=False)
        yield VigilTable(id="case-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.columns = self.fitted_columns(self.query_one(DataTable), COLUMNS)
        self.load()

    # --- data -----------------------------------------------------------
    def load(self) -> None:
        self.query_one("#case-page-info", Static).update("loading…")
        self.call_service(search_cases, self.criteria, on_result=self.show_page, group="cases")

    def show_page(self, page: SearchPage) -> None:
        self.page = page
        table = self.query_one(DataTable)
        selected = self._selected_ref()
        rows = RowBuffer()
        for row in page.rows:
            codes = row.principal_code + (f" +{','.join(row.included_codes)}" if row.included_codes else "")
            rows.add_row(
                row.crime_ref,
                cell_text(row.reported_at),
                row.area_command,
                codes,
                row.risk_level or "—",
                row.allocation_team or "unallocated",
                row.status,
                f"{row.victim_ref} → {row.suspect_ref or '?'}",
                clean_text(row.summary, keep_newlines=False)[:120],
                key=row.crime_ref,
            )
        self.columns.fill(rows)
        if selected and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        first = page.first_index + 1 if page.rows else 0
        last = page.first_index + len(page.rows)
        more = " (more: pgdn)" if page.has_more else ""
        self.query_one("#case-page-info", Static).update(
            f"{first}–{last}{more} · page {page.criteria.page + 1}"
        )

    def _selected_ref(self) -> str | None:
        return cursor_row_key(self.query_one(DataTable))

    # --- actions --------------------------------------------------------
    def apply_filter(self, value: str, *, typing: bool = False) -> None:
        text = value.strip() or None
        if typing and text == self.criteria.text:
            return
        self.criteria = CaseSearch(text=text, page_size=PAGE_SIZE)
        self.load()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.filter_submitted(event.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.vigil.open_case(event.row_key.value)

    def action_open_case(self) -> None:
        ref = self._selected_ref()
        if ref:
            self.vigil.open_case(ref)

    def action_focus_filter(self) -> None:
        self.query_one("#case-filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#case-filter", Input).value = ""
        self.criteria = CaseSearch(page_size=PAGE_SIZE)
        self.load()
        self.query_one(DataTable).focus()

    def action_next_page(self) -> None:
        if self.page and self.page.has_more:
            self.criteria = self.criteria.with_page(self.criteria.page + 1)
            self.load()

    def action_previous_page(self) -> None:
        if self.criteria.page > 0:
            self.criteria = self.criteria.with_page(self.criteria.page - 1)
            self.load()

    def action_refresh(self) -> None:
        self.load()
