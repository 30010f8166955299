"""The approvals screen (7): four-eyes approvals waiting, approved from the list
by a second supervisor of the area; the assessor sees it listed but not theirs."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from textual.widgets import DataTable, Static

from app.app import VigilApp
from app.db import Database
from models import Case
from screens.approvals import ApprovalsScreen
from screens.dialogs import ConfirmDialog
from tests.conftest import NOW
from tests.factories import add_case, add_risk


def _seed(database: Database) -> None:
    with database.write() as session:
        case = add_case(session, "AP/26/0001", NOW - timedelta(days=2), code="8Q",
                        victim="V1", suspect="S1")
        row = add_risk(session, case, NOW - timedelta(hours=5), answers="YYYNNNNNNNN",
                       level="standard", rationale="moved away")
        row.approval_required = True
        row.assessor = "supervisor.northern"
        session.add(row)
        case.risk_level = "medium"
        session.add(case)


async def _settle(app: VigilApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def test_the_assessor_sees_it_waiting_but_cannot_approve(make_sqlite_context,  # type: ignore[no-untyped-def]
                                                               sqlite_database) -> None:
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="approvals")
    async with app.run_test(size=(160, 40)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ApprovalsScreen)
        table = screen.query_one("#approvals-table", DataTable)
        assert table.row_count == 1 and table.get_row_at(0)[7] == "no"
        assert str(screen.query_one("#approvals-summary", Static).render()) == (
            "1 waiting · 0 yours to approve")
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
        assert any("you assessed it" in n.message for n in app._notifications)


async def test_a_second_supervisor_approves_from_the_list(make_sqlite_context,  # type: ignore[no-untyped-def]
                                                          sqlite_database) -> None:
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("inspector.northern"), start="cases")
    async with app.run_test(size=(160, 40)) as pilot:
        await _settle(app, pilot)
        await pilot.press("7")
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ApprovalsScreen)
        assert screen.query_one("#approvals-table", DataTable).get_row_at(0)[7] == "yes"
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        app.screen.dismiss(True)
        await _settle(app, pilot)
        assert screen.query_one("#approvals-table", DataTable).row_count == 0
    with sqlite_database.read() as session:
        case = session.exec(select(Case).where(Case.crime_ref == "AP/26/0001")).one()
        assert case.risk_level == "standard"
