"""Search: find cases by crime or person reference, classification (principal
or any included, rec 7), risk, team, area, flags and report dates. Results
are paged in SQL; enter opens the case record."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, DataTable, Footer, Input, Select, Static

from app.dates import DateError, local_midnight, parse_date, parse_datetime
from app.errors import BadInput
from app.services.search import UNALLOCATED, UNASSESSED, CaseSearch, SearchPage, search_cases
from app.widgets.columns import RowBuffer
from app.widgets.table import VigilTable
from models.enums import RiskLevel
from screens.base import VigilScreen
from screens.case_rows import case_cells, case_columns
from seed.reference import classifications, force_organisation

PAGE_SIZE = 50

COLUMNS = case_columns(codes=18, risk=10, pair=22, summary=40, flags=True)

FLAGS: tuple[tuple[str, str], ...] = (
    ("online", "Online"),
    ("domestic_abuse", "Domestic abuse"),
    ("pin_issued", "PIN"),
    ("open_flag", "Screening flag open"),
    ("reassessment_due", "Re-assessment due"),
)


def _moment(text: str, what: str, *, end: bool) -> datetime | None:
    raw = text.strip()
    if not raw:
        return None
    try:
        day = parse_date(raw)
        return local_midnight(day + timedelta(days=1) if end else day)
    except DateError:
        pass
    try:
        return parse_datetime(raw)
    except DateError as exc:
        raise BadInput(f"{what}: {exc}") from None


class SearchScreen(VigilScreen):
    """Every search criterion the inspections ask for, on one screen."""

    PURPOSE = ("Search: find cases by reference, person, classification (principal or any "
               "included one), risk, team, area, flags and report dates. Enter runs the search "
               "from a field; in the results n/p page and enter opens the case.")
    CSS_PATH = "search.tcss"
    AUTO_FOCUS = "#search-crime"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+f", "search", "Search", id="search.run"),
        Binding("pagedown", "next_page", "Next page", id="search.next"),
        Binding("pageup", "previous_page", "Previous page", id="search.previous"),
        Binding("ctrl+l", "clear", "Clear criteria", id="search.clear"),
        Binding("slash", "focus_criteria", "Criteria", id="search.criteria"),
        Binding("escape", "focus_results", "Results", show=False, id="search.results"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.criteria: CaseSearch | None = None
        self.page: SearchPage | None = None
        self.total_text = ""
        self.title = "Search"

    def compose(self) -> ComposeResult:
        org = force_organisation(self.context.policy)
        yield from self.compose_header()
        with Horizontal(classes="search-row"):
            yield Input(placeholder="crime ref", id="search-crime")
            yield Input(placeholder="person ref (victim or suspect)", id="search-person")
            yield Select([(f"{c.code} {c.title}", c.code) for c in classifications().values()],
                         prompt="classification", id="search-code")
            yield Select([*((r.value, r.value) for r in RiskLevel), (UNASSESSED, UNASSESSED)],
                         prompt="risk", id="search-risk")
            yield Select([*((t, t) for t in org.teams), (UNALLOCATED, UNALLOCATED)],
                         prompt="team", id="search-team")
            yield Select([(a, a) for a in org.area_commands], prompt="area", id="search-area")
        with Horizontal(classes="search-row"):
            yield Input(placeholder="reported from (dd/mm/yyyy)", id="search-from")
            yield Input(placeholder="reported to (dd/mm/yyyy)", id="search-to")
            yield Select([("open", "open"), ("closed", "closed")], prompt="status",
                         id="search-status")
            for name, label in FLAGS:
                yield Checkbox(label, id=f"search-{name.replace('_', '-')}")
            yield Button("Search", variant="primary", id="search-go")
        yield Static("Set criteria and press enter (or ctrl+f).", id="search-info", markup=False)
        yield VigilTable(id="search-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.columns = self.fitted_columns(self.query_one(DataTable), COLUMNS)

    # --- criteria ------------------------------------------------------------------
    def read_criteria(self) -> CaseSearch:
        def text(widget_id: str) -> str | None:
            return self.query_one(f"#{widget_id}", Input).value.strip() or None

        def choice(widget_id: str) -> str | None:
            value = self.query_one(f"#{widget_id}", Select).selection
            return str(value) if value is not None else None

        flags = {name: True if self.query_one(f"#search-{name.replace('_', '-')}",
                                              Checkbox).value else None
                 for name, _label in FLAGS}
        reported_from = _moment(text("search-from") or "", "reported from", end=False)
        reported_to = _moment(text("search-to") or "", "reported to", end=True)
        if reported_from and reported_to and reported_to <= reported_from:
            raise BadInput("reported to is before reported from")
        return CaseSearch(
            crime_ref=text("search-crime"), person_ref=text("search-person"),
            code=choice("search-code"), risk=choice("search-risk"), team=choice("search-team"),
            area=choice("search-area"), status=choice("search-status"),
            reported_from=reported_from, reported_to=reported_to, page=0, page_size=PAGE_SIZE,
            **flags,
        )

    def action_search(self) -> None:
        try:
            criteria = self.read_criteria()
        except BadInput as exc:
            self.query_one("#search-info", Static).update(str(exc))
            self.notify(str(exc), severity="error")
            return
        self.criteria = criteria
        self.total_text = ""
        self.load(with_total=True)

    def load(self, *, with_total: bool = False) -> None:
        if self.criteria is None:
            return
        self.query_one("#search-info", Static).update("searching…")
        self.call_service(search_cases, self.criteria, with_total=with_total,
                          on_result=self.show_page, group="search")

    def show_page(self, page: SearchPage) -> None:
        self.page = page
        if page.total is not None:
            self.total_text = page.total_text
        table = self.query_one(DataTable)
        selected = None
        if table.row_count:
            try:
                selected = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            except Exception:  # cursor outside the rows
                selected = None
        rows = RowBuffer()
        for row in page.rows:
            rows.add_row(*case_cells(row, summary_chars=80, flags=True), key=row.crime_ref)
        self.columns.fill(rows)
        if selected and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        first = page.first_index + 1 if page.rows else 0
        last = page.first_index + len(page.rows)
        counted = f" of {self.total_text}" if self.total_text else ""
        more = " · pgdn next page" if page.has_more else ""
        back = " · pgup previous" if page.criteria.page > 0 else ""
        self.query_one("#search-info", Static).update(
            f"{first}–{last}{counted} · page {page.criteria.page + 1}{more}{back} · "
            f"{page.criteria.describe()}")
        if page.rows and not isinstance(self.focused, Input | Select):
            table.focus()

    # --- events and actions ----------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_search()
        self.query_one(DataTable).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "search-go":
            event.stop()
            self.action_search()
            self.query_one(DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            event.stop()
            self.vigil.open_case(event.row_key.value)

    def action_next_page(self) -> None:
        if self.criteria is not None and self.page is not None and self.page.has_more:
            self.criteria = self.criteria.with_page(self.criteria.page + 1)
            self.load()

    def action_previous_page(self) -> None:
        if self.criteria is not None and self.criteria.page > 0:
            self.criteria = self.criteria.with_page(self.criteria.page - 1)
            self.load()

    def action_clear(self) -> None:
        for widget in self.query(Input):
            widget.value = ""
        for select in self.query(Select):
            select.clear()
        for box in self.query(Checkbox):
            box.value = False
        self.query_one("#search-crime", Input).focus()

    def action_focus_criteria(self) -> None:
        self.query_one("#search-crime", Input).focus()

    def action_focus_results(self) -> None:
        self.query_one(DataTable).focus()
