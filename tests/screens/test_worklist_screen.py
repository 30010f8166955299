"""The work queue screen and the case record's DMM tab: standing gaps per
team, the orders desk, and completing an action from the case record."""

from __future__ import annotations

from sqlalchemy import select
from textual.widgets import DataTable, Select, Static, TabbedContent

from app.app import VigilApp
from app.db import Database
from app.services import dmm
from models import AuditEvent, DmmAction
from screens.case import CaseScreen
from screens.dmm_dialogs import ActionChangeDialog
from screens.worklist import WorklistScreen
from tests.conftest import NOW
from tests.factories import case_version
from tests.screens.idle import settle as _settle

SIZE = (160, 48)


def _keys(screen: WorklistScreen) -> list[str]:
    return [str(key.value) for key in screen.query_one(DataTable).rows]


async def test_an_officer_reads_the_teams_work_queue_and_the_orders_desk(
        seeded: Database, make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("officer.northern"), start="worklist")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, WorklistScreen)
        keys = _keys(screen)
        assert "NC/26/0105|SPO_NOT_CONSIDERED" in keys and "NC/26/0102|NO_RISK_ASSESSMENT" in keys
        summary = str(screen.query_one("#worklist-summary", Static).render())
        assert summary.startswith(f"{len(keys)} open gaps")
        screen.query_one("#worklist-team", Select).value = "Orders"
        await _settle(pilot, app)
        assert _keys(screen) == ["NC/26/0105|SPO_NOT_CONSIDERED"]
        table = screen.query_one(DataTable)
        assert str(table.get_cell("NC/26/0105|SPO_NOT_CONSIDERED", "team")) == "Orders"
        assert str(table.get_cell("NC/26/0105|SPO_NOT_CONSIDERED", "back")) == "10/03/2026"
    with seeded.read() as session:
        views = session.execute(select(AuditEvent.entity_id, AuditEvent.after).where(
            AuditEvent.entity == "work_queue").order_by(AuditEvent.id)).all()
    assert [v[0] for v in views] == ["Northern/all", "Northern/Orders"]
    assert views[1][1] == {"cases": ["NC/26/0105"]}


async def test_an_action_is_completed_from_the_case_record(
        seeded: Database, make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    ctx = make_sqlite_context("supervisor.northern")
    dmm.record_decision(ctx, area="Northern", meeting_date=NOW.date(), crime_ref="NC/26/0105",
                        decision="actions_set", rationale="Plan and SPO decision this week", expected_version=case_version(ctx, crime_ref="NC/26/0105"))
    dmm.add_action(ctx, area="Northern", meeting_date=NOW.date(), crime_ref="NC/26/0105",
                   text="Write the risk management plan", owner="DC Vance", due_at=None, expected_version=case_version(ctx, crime_ref="NC/26/0105"))
    app = VigilApp(make_sqlite_context("supervisor.northern"), crime_ref="NC/26/0105")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        assert isinstance(app.screen, CaseScreen)
        app.screen.query_one(TabbedContent).active = "tab-dmm"
        await _settle(pilot, app)
        panel_text = str(app.screen.query_one("#case-dmm-gaps", Static).render())
        assert "high risk without a risk management plan" in panel_text
        meetings = app.screen.query_one("#case-dmm-meetings", DataTable)
        assert str(meetings.get_row_at(0)[3]) == "actions set"
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ActionChangeDialog)
        await pilot.click("#change-ok")
        await _settle(pilot, app)
        actions = app.screen.query_one("#case-dmm-actions", DataTable)
        assert str(actions.get_row_at(0)[4]).startswith("done")
    with seeded.read() as session:
        done = session.execute(select(DmmAction.done_at)).scalars().all()
    assert done == [NOW]
