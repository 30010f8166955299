"""Home: the case list. Type to find a crime or person reference; newest first,
paged in SQL; `enter` opens the case record."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input, Static

from app.services.search import CaseSearch, SearchPage, search_cases
from app.widgets.columns import RowBuffer
from app.widgets.table import VigilTable
from screens.base import VigilScreen, cursor_row_key
from screens.case_rows import case_cells, case_columns
from screens.keys import clear_filter_key, filter_key, open_case_key, refresh_key

PAGE_SIZE = 100

COLUMNS = case_columns(codes=16, risk=8, pair=20, summary=60)


class CaseListScreen(VigilScreen):
    """The case list that every other screen hangs off."""

    PURPOSE = ("Cases: every crime report Vigil holds, newest first. Type a crime or person "
               "reference to narrow the list; enter opens the case record. Use Search (4) for "
               "classification, risk, team and date filters.")
    CSS_PATH = "home.tcss"
    FILTER_INPUT = "case-filter"
    AUTO_FOCUS = "#case-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        filter_key("cases"),
        open_case_key("cases"),
        Binding("pagedown", "next_page", "Next page", id="cases.next"),
        Binding("pageup", "previous_page", "Previous page", id="cases.previous"),
        refresh_key("cases"),
        clear_filter_key("cases"),
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
            rows.add_row(*case_cells(row, summary_chars=120), key=row.crime_ref)
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
