"""Assurance: how the force meets the stalking recommendations, measured from
case data. A table of metrics with the figure and its status; for the
selected metric the monthly trend (a plotext chart), the breakdown by area
and team, and its definition on demand; enter drills down to the crimes
behind a figure (the count is the figure's numerator)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Select, Static
from textual_plotext import PlotextPlot

from app.dates import local
from app.output import cell_text
from app.reports.assurance_html import render_report_html
from app.reports.assurance_text import render_report_markdown, status_label
from app.reports.axes import INCOMPLETE_MARK, axis_top, month_incomplete, month_label
from app.rules import metric_figures, metric_periods
from app.rules import metrics as m
from app.sanitise import clean_text
from app.services.assurance import AssuranceReport, MetricCases, assurance_report, metric_cases
from app.services.assurance_sql import DENOMINATOR, NUMERATOR
from app.widgets.columns import Col, FittedColumns, RowBuffer
from app.widgets.table import VigilTable
from screens.base import VigilScreen, cursor_row_key
from screens.keys import refresh_key
from seed.reference import force_organisation

FORCE_WIDE = "__force__"
PAGE_SIZE = 100

METRIC_COLUMNS: tuple[Col, ...] = (
    Col("rec", "Rec", 6, keep=True),
    Col("metric", "Metric", 40, flex=1, min=16),
    Col("figure", "Figure", 7, keep=True),
    Col("basis", "Basis", 7, min=11, max=11),
    Col("status", "Status", 11, keep=True),
)
BREAKDOWN_COLUMNS: tuple[Col, ...] = (
    Col("where", "Area · team", 16, min=13),
    Col("figure", "Figure", 7, keep=True),
    Col("basis", "Basis", 7, keep=True),
)
CASE_COLUMNS: tuple[Col, ...] = (
    Col("crime_ref", "Crime ref", 12, keep=True),
    Col("reported", "Reported", 16, keep=True),
    Col("area", "Area", 10),
    Col("team", "Team", 14),
    Col("detail", "Detail", 50, flex=1, min=12),
)
FORCE_ROW = "__overall__"


#: the status column's words, short enough to read whole at 100 columns
STATUS_SHORT = {m.STATUS_OK: "on target", m.STATUS_ATTENTION: "attention",
                m.STATUS_INFO: "context", m.STATUS_NO_DATA: "no data"}


def _status_text(status: str) -> Text:
    label = STATUS_SHORT.get(status) or status_label(status)
    if status == m.STATUS_ATTENTION:
        return Text(f"! {label}", style="bold")
    return Text(label)


def _plain(value: str) -> Text:
    """Text from the database for a table cell: control characters shown,
    never read as markup."""
    return Text(clean_text(value, keep_newlines=False))


def _figure_text(definition: m.MetricDefinition, figure: metric_figures.Figure, status: str) -> Text:
    """The figure, marked '!' when it needs attention."""
    text = metric_figures.format_figure(definition, figure)
    if status == m.STATUS_ATTENTION:
        return Text(f"! {text}", style="bold")
    return Text(f"  {text}")


class AssuranceScreen(VigilScreen):
    """Recommendations and their figures, for a period, force-wide or one area."""

    PURPOSE = ("Assurance: each stalking recommendation measured from the case records, for the "
               "period shown. Select a metric to see its monthly trend and breakdown; d shows "
               "its definition; enter lists the crimes behind the figure; [ and ] move the "
               "period by a month; ctrl+s saves the report.")
    CSS_PATH = "assurance.tcss"
    AUTO_FOCUS = "#assurance-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "drill", "Cases behind", id="assurance.drill"),
        Binding("d", "toggle_definition", "Definition", id="assurance.definition"),
        Binding("left_square_bracket", "shift_period(-1)", "Month earlier",
                id="assurance.earlier"),
        Binding("right_square_bracket", "shift_period(1)", "Month later", id="assurance.later"),
        Binding("a", "focus_area", "Area", id="assurance.area"),
        Binding("t", "toggle_part", "Numerator/denominator", show=False,
                id="assurance.part"),
        Binding("pagedown", "next_page", "Next page", show=False, id="assurance.next"),
        Binding("pageup", "previous_page", "Previous page", show=False, id="assurance.previous"),
        refresh_key("assurance"),
        Binding("ctrl+s", "save_html", "Save report", id="assurance.save",
                tooltip="Save the report as one HTML file with its charts"),
        Binding("s", "save_markdown", "Save Markdown", show=False,
                id="assurance.save_markdown"),
        Binding("escape", "back", "Back to metrics", show=False, id="assurance.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.title = "Assurance"
        self.date_from, self.date_to = metric_periods.default_period(local(self.context.now()).date())
        self.area: str | None = None
        self.report: AssuranceReport | None = None
        self.selected_code: str | None = None
        self.cases: MetricCases | None = None
        self.case_refs: list[str] = []
        self.drill_target: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with Horizontal(id="assurance-bar"):
            yield Static("", id="assurance-period", markup=False)
            options = [("Force-wide", FORCE_WIDE)] + [
                (area, area) for area in force_organisation(self.context.policy).area_commands]
            yield Select(options, value=FORCE_WIDE, allow_blank=False, id="assurance-area")
            yield Static("", id="assurance-status", markup=False)
        with Vertical(id="assurance-metrics"):
            with Horizontal(id="assurance-body"):
                yield VigilTable(id="assurance-table", cursor_type="row", zebra_stripes=True)
                with Vertical(id="assurance-side"):
                    yield PlotextPlot(id="assurance-chart")
                    yield VigilTable(id="assurance-breakdown", cursor_type="row")
            yield Static("", id="assurance-definition", markup=False)
        with Vertical(id="assurance-drill"):
            yield Static("", id="assurance-drill-title", markup=False)
            yield VigilTable(id="assurance-cases", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.fitted: dict[str, FittedColumns] = {
            table_id: self.fitted_columns(self.query_one(f"#{table_id}", DataTable), columns)
            for table_id, columns in (("assurance-table", METRIC_COLUMNS),
                                      ("assurance-breakdown", BREAKDOWN_COLUMNS),
                                      ("assurance-cases", CASE_COLUMNS))}
        self.query_one("#assurance-drill").display = False
        self.query_one("#assurance-definition").display = False
        self.load()

    # --- the report -----------------------------------------------------
    def load(self) -> None:
        self._show_period()
        self.query_one("#assurance-status", Static).update("computing…")
        self.call_service(assurance_report, date_from=self.date_from, date_to=self.date_to,
                          area=self.area, on_result=self.show_report, group="assurance")

    def _show_period(self) -> None:
        last = self.date_to.toordinal() - 1
        text = (f"{self.date_from:%d/%m/%Y} – {date.fromordinal(last):%d/%m/%Y}"
                f" · {self.area or 'force-wide'}")
        self.query_one("#assurance-period", Static).update(text)

    def show_report(self, report: AssuranceReport) -> None:
        self.report = report
        table = self.query_one("#assurance-table", DataTable)
        keep = self.selected_code
        rows = RowBuffer()
        for result in report.results:
            d = result.definition
            rows.add_row(
                d.recommendation,
                d.title,
                metric_figures.format_figure(d, result.overall),
                metric_figures.format_basis(d, result.overall),
                _status_text(result.status),
                key=d.code,
            )
        self.fitted["assurance-table"].fill(rows)
        if keep and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))
        attention = sum(1 for r in report.results if r.status == m.STATUS_ATTENTION)
        self.query_one("#assurance-status", Static).update(
            f"{attention} need attention · {len(report.call_outs)} call-outs · "
            f"generated {cell_text(report.generated_at)}"
        )
        self.show_metric(self._cursor_code() or report.results[0].code)

    def _cursor_code(self) -> str | None:
        return cursor_row_key(self.query_one("#assurance-table", DataTable))

    def show_metric(self, code: str) -> None:
        """The trend chart, breakdown and definition of one metric."""
        if self.report is None:
            return
        self.selected_code = code
        result = self.report.result(code)
        d = result.definition
        self._draw_trend(result)
        rows = RowBuffer()
        rows.add_row(_plain(self.area or "Force-wide"),
                          _figure_text(d, result.overall, result.status),
                          metric_figures.format_basis(d, result.overall), key=FORCE_ROW)
        for area, team, figure, status in metric_figures.breakdown_rows(result):
            label = _plain(f"  {team}" if team else area)
            rows.add_row(label, _figure_text(d, figure, status), metric_figures.format_basis(d, figure),
                         key=f"{area}\x1f{team}")
        self.fitted["assurance-breakdown"].fill(rows)
        self.query_one("#assurance-definition", Static).update(
            f"{d.recommendation_title}\n{d.describe()}")

    def _draw_trend(self, result: metric_figures.MetricResult) -> None:
        chart = self.query_one("#assurance-chart", PlotextPlot)
        plt = chart.plt
        plt.clear_data()
        plt.clear_figure()
        d = result.definition
        today = self.context.now().date()
        labels = [month_label(p.month, today) for p in result.trend]
        partial = any(month_incomplete(p.month, today) for p in result.trend)
        scale = 100.0 if d.unit == "share" else 1.0
        values = [None if p.figure.value is None else p.figure.value * scale
                  for p in result.trend]
        xs = list(range(1, len(labels) + 1))
        known = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
        if d.unit == "count":
            plt.bar(xs, [v or 0.0 for v in values])
        elif known:
            plt.plot([x for x, _ in known], [v for _, v in known], marker="braille")
        if d.target is not None and d.higher_is_better is not None and d.unit != "count":
            plt.hline(d.target * scale)
        # label only months that cannot overlap: plotext would drop
        # overlapping ones in an order that varies from run to run
        room = max(chart.size.width - 8, 12)
        every = max(1, -(-len(xs) * 6 // room))
        shown = [(x, label) for x, label in zip(xs, labels, strict=True)
                 if (len(xs) - x) % every == 0]
        plt.xticks([x for x, _ in shown], [label for _, label in shown])
        plt.xlim(0.5, len(xs) + 0.5)
        unit = {"share": "%", "rate_per_100": "per 100", "hours": "hours"}.get(d.unit, "")
        note = f" · {INCOMPLETE_MARK} month not over" if partial else ""
        plt.title(f"{d.title} by month{f' ({unit})' if unit else ''}{note}")
        # scaled to the data, from 0, never below it (counts and rates)
        top = axis_top(d.unit, [p.figure.value for p in result.trend], d.target)
        plt.ylim(0, top * scale)
        chart.refresh()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "assurance-table" and event.row_key.value:
            self.show_metric(event.row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "assurance-cases":
            self._open_selected_case()
        else:
            self.action_drill()

    def on_select_changed(self, event: Select.Changed) -> None:
        value = event.value
        area = None if value in (FORCE_WIDE, Select.BLANK) else str(value)
        if area != self.area:
            self.area = area
            self.load()

    # --- drill-down -----------------------------------------------------
    def _drilling(self) -> bool:
        return bool(self.query_one("#assurance-drill").display)

    def action_drill(self) -> None:
        if self._drilling():
            self._open_selected_case()
            return
        if self.report is None or self.selected_code is None:
            return
        definition = self.report.result(self.selected_code).definition
        if not definition.drillable:
            self.notify(f"{definition.code} is not made of cases: nothing to list",
                        severity="warning")
            return
        area, team = self.area, None
        if self.focused is self.query_one("#assurance-breakdown", DataTable):
            table = self.query_one("#assurance-breakdown", DataTable)
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key and key != FORCE_ROW:
                area, team_name = key.split("\x1f")
                team = team_name or None
        self.drill_target = {"metric_code": definition.code, "area": area, "team": team,
                             "part": NUMERATOR, "page": 0}
        self._load_cases()

    def _load_cases(self) -> None:
        target = self.drill_target
        self.call_service(metric_cases, date_from=self.date_from, date_to=self.date_to,
                          page_size=PAGE_SIZE, on_result=self.show_cases,
                          group="assurance-cases", **target)

    def show_cases(self, cases: MetricCases) -> None:
        self.cases = cases
        self.query_one("#assurance-metrics").display = False
        self.query_one("#assurance-drill").display = True
        table = self.query_one("#assurance-cases", DataTable)
        rows = RowBuffer()
        self.case_refs = []
        for index, row in enumerate(cases.rows):
            self.case_refs.append(row.crime_ref)
            rows.add_row(_plain(row.crime_ref), cell_text(row.reported_at), _plain(row.area),
                          _plain(row.team), _plain(row.detail),
                          key=f"{cases.page * cases.page_size + index}")
        self.fitted["assurance-cases"].fill(rows)
        first = cases.page * cases.page_size + 1 if cases.rows else 0
        last = cases.page * cases.page_size + len(cases.rows)
        more = " · pgdn next page" if cases.has_more else ""
        self.query_one("#assurance-drill-title", Static).update(clean_text(
            f"{cases.title} — {cases.describe()}: {cases.total} "
            f"({first}–{last}){more} · t numerator/denominator · esc back", keep_newlines=False
        ))
        table.focus()

    def _open_selected_case(self) -> None:
        table = self.query_one("#assurance-cases", DataTable)
        if table.row_count == 0:
            return
        row = table.cursor_coordinate.row
        if 0 <= row < len(self.case_refs):
            self.vigil.open_case(self.case_refs[row])

    def action_toggle_part(self) -> None:
        if not self._drilling() or self.report is None:
            return
        code = str(self.drill_target["metric_code"])
        if not self.report.result(code).definition.has_denominator:
            self.notify(f"{code} is a count: it has no denominator", severity="warning")
            return
        part = self.drill_target["part"]
        self.drill_target["part"] = DENOMINATOR if part == NUMERATOR else NUMERATOR
        self.drill_target["page"] = 0
        self._load_cases()

    def action_next_page(self) -> None:
        if self._drilling() and self.cases and self.cases.has_more:
            self.drill_target["page"] = self.cases.page + 1
            self._load_cases()

    def action_previous_page(self) -> None:
        if self._drilling() and self.cases and self.cases.page > 0:
            self.drill_target["page"] = self.cases.page - 1
            self._load_cases()

    def action_back(self) -> None:
        if self._drilling():
            self.query_one("#assurance-drill").display = False
            self.query_one("#assurance-metrics").display = True
            self.query_one("#assurance-table", DataTable).focus()

    # --- period, area, definition, saving -------------------------------
    def action_shift_period(self, months: int) -> None:
        self.date_from = metric_periods.shift_months(self.date_from, months)
        self.date_to = metric_periods.shift_months(self.date_to, months)
        self.action_back()
        self.load()

    def action_focus_area(self) -> None:
        self.query_one("#assurance-area", Select).focus()

    def action_toggle_definition(self) -> None:
        panel = self.query_one("#assurance-definition", Static)
        panel.display = not panel.display

    def action_refresh(self) -> None:
        if self._drilling():
            self._load_cases()
        else:
            self.load()

    def _filename(self, suffix: str) -> str:
        report = self.report
        assert report is not None
        scope = (report.area or "force").lower()
        return f"assurance-{scope}-{report.date_from:%Y-%m-%d}-{report.last_day:%Y-%m-%d}.{suffix}"

    def _save(self, fmt: str, mime_type: str) -> None:
        """A save is a disclosure: the purpose is asked, the export event is
        committed, and only then is the report delivered."""
        report = self.report
        if report is None:
            return
        text = render_report_html(report) if fmt == "html" else render_report_markdown(report)
        self.save_disclosure(
            kind="assurance", fmt=fmt, filename=self._filename(fmt), mime_type=mime_type,
            build=lambda _context: (text, [], len(report.results)), filter=_scope(report),
            what="The assurance report")

    def action_save_html(self) -> None:
        self._save("html", "text/html")

    def action_save_markdown(self) -> None:
        self._save("md", "text/markdown")


def _scope(report: AssuranceReport) -> str:
    return (f"{report.area or 'force-wide'}, reported {report.date_from:%Y-%m-%d} to "
            f"{report.last_day:%Y-%m-%d}")
