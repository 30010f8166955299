"""The force's action plan: each recommendation with its status, owner and
latest update (top), and the selected one's text, evidence requirement and
dated updates with any figures attached (bottom). `u` adds a dated update
(status, response, optionally the current figures) for an analyst or an
administrator, refused in words before the dialog opens for anyone else."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from app.output import cell_text
from app.services.action_plan import STATUS_TITLES, ActionPlan, PlanItem, action_plan, add_update
from app.services.permissions import Permission
from app.widgets.columns import Col, RowBuffer
from app.widgets.table import VigilTable
from screens.base import VigilScreen, cursor_row_key
from screens.keys import refresh_key
from screens.plan_dialog import PlanUpdateDialog, PlanUpdateRequest

ITEM_COLUMNS: tuple[Col, ...] = (
    Col("number", "Rec No", 8, keep=True), Col("report", "Report", 7), Col("theme", "Theme", 34),
    Col("status", "Status", 18), Col("owner", "Owner", 24), Col("latest", "Latest update", 16, keep=True),
    Col("response", "Response", 50, flex=1, min=12),
)


def default_period(today: date) -> tuple[date, date]:
    """The twelve whole months before ``today``'s month: [from, to)."""
    to = today.replace(day=1)
    return to.replace(year=to.year - 1), to


def describe(item: PlanItem) -> str:
    """The recommendation's page as text: what the inspectorate asked, the
    evidence required, and every dated update with its figures."""
    lines = [f"Recommendation {item.number} ({item.report}) · {item.theme}",
             f"Status: {STATUS_TITLES.get(item.status, item.status)} · Owner: {item.owner or '—'}",
             "", item.published_text, "", f"Evidence requirements: {item.evidence_requirement}"]
    if item.metrics:
        lines.append(f"Figures named: {', '.join(item.metrics)}")
    lines += ["", f"Updates ({len(item.updates)}):"]
    for update in reversed(item.updates):
        period = (f" · figures {update.period[0]} to {update.period[1]}"
                  if update.period else "")
        lines.append(f"- {cell_text(update.written_at)} {update.written_by}: "
                     f"{STATUS_TITLES.get(update.status, update.status)}{period}")
        lines.append(f"  {update.response}")
        for fig in update.figures:
            lines.append(f"    {fig.code} {fig.title}: {fig.figure} ({fig.basis}), {fig.status}")
    if not item.updates:
        lines.append("- none yet")
    return "\n".join(lines)


class ActionPlanScreen(VigilScreen):
    """The action plan: recommendations, owners, statuses and dated updates."""

    PURPOSE = ("The force's action plan against the inspectorate's recommendations: status, "
               "owner and the latest update of each; the selected recommendation's text, "
               "evidence requirements and dated updates below. u adds a dated update "
               "(analyst or administrator), optionally with the current figures attached.")
    CSS_PATH = "action_plan.tcss"
    AUTO_FOCUS = "#plan-items"
    ROLE_ACTIONS: ClassVar[dict[str, Permission]] = {
        "add_update": Permission.EDIT_ACTION_PLAN}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "add_update", "Add update", id="plan.add_update"),
        refresh_key("plan"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, PlanItem] = {}
        self.title = "Action plan"

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static("loading…", id="plan-summary", markup=False)
        yield VigilTable(id="plan-items", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="plan-detail"):
            yield Static("choose a recommendation", id="plan-text", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.columns = self.fitted_columns(self.query_one("#plan-items", DataTable),
                                           ITEM_COLUMNS)
        self.load()

    def load(self) -> None:
        self.call_service(action_plan, on_result=self.show, group="plan")

    def show(self, plan: ActionPlan) -> None:
        table = self.query_one("#plan-items", DataTable)
        selected = cursor_row_key(table)
        rows = RowBuffer()
        self.items = {}
        for item in plan.items:
            self.items[item.number] = item
            latest = item.updates[-1] if item.updates else None
            rows.add_row(item.number, item.report, item.theme,
                          STATUS_TITLES.get(item.status, item.status), item.owner or "—",
                          cell_text(latest.written_at) if latest else "—",
                          (latest.response if latest else "—").replace("\n", " "),
                          key=item.number)
        self.columns.fill(rows)
        if selected and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        counts: dict[str, int] = {}
        for item in plan.items:
            counts[item.status] = counts.get(item.status, 0) + 1
        self.query_one("#plan-summary", Static).update(
            f"{len(plan.items)} recommendations · " + " · ".join(
                f"{STATUS_TITLES.get(s, s)} {n}" for s, n in sorted(counts.items())))
        self.show_detail()

    def show_detail(self) -> None:
        key = cursor_row_key(self.query_one("#plan-items", DataTable))
        item = self.items.get(key or "")
        self.query_one("#plan-text", Static).update(
            describe(item) if item else "choose a recommendation")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "plan-items":
            self.show_detail()

    def action_add_update(self) -> None:
        key = cursor_row_key(self.query_one("#plan-items", DataTable))
        item = self.items.get(key or "")
        if item is None:
            self.notify("choose a recommendation first", severity="warning")
            return
        actor = self.context.actor
        if not self.context.allowed(Permission.EDIT_ACTION_PLAN):
            self.notify(f"Updates to the action plan are written by an analyst or an "
                        f"administrator; you are {actor.username} ({actor.role}).",
                        severity="error")
            return
        can_attach = bool(item.metrics) and self.context.allowed(Permission.VIEW_ASSURANCE)
        period = default_period(self.context.now().date())

        def decided(request: PlanUpdateRequest | None) -> None:
            if request is None:
                return
            self.call_service(add_update, number=item.number, status=request.status,
                              response=request.response, attach_figures=request.attach,
                              date_from=request.date_from, date_to=request.date_to,
                              on_result=lambda _: self.load(), group="plan-update")

        self.app.push_screen(PlanUpdateDialog(item.number, item.status, can_attach, period),
                             decided)

    def action_refresh(self) -> None:
        self.load()
