"""The search screen: criteria, classification matched on principal or any
included code, paging in SQL, enter opens the case record."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from textual.widgets import Checkbox, DataTable, Input, Select, Static

from app.app import VigilApp
from app.db import Database
from models import AuditEvent
from screens.case import CaseScreen
from screens.search import SearchScreen
from tests.conftest import NOW
from tests.factories import add_case


def _seed(database: Database) -> None:
    with database.write() as session:
        for i in range(60):
            add_case(session, f"SR/26/{i:04d}", NOW - timedelta(hours=i + 1), code="8Q",
                     victim=f"V{i}", suspect=f"S{i}", online=i % 10 == 0)
        add_case(session, "SR/26/INCL", NOW - timedelta(minutes=30), code="8L", included=("8Q",),
                 victim="VX", suspect="SX")
        add_case(session, "SR/26/HARM", NOW - timedelta(minutes=10), code="8L", victim="VY",
                 suspect="SY", online=True)


async def _settle(app: VigilApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def _refs(table: DataTable) -> list[str]:  # type: ignore[type-arg]
    return [table.get_row_at(i)[0] for i in range(table.row_count)]


async def test_search_by_code_pages_and_opens_a_case(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="search")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        assert isinstance(app.focused, Input) and app.focused.id == "search-crime"
        screen.query_one("#search-code", Select).value = "8Q"
        await pilot.press("ctrl+f")
        await _settle(app, pilot)
        table = screen.query_one("#search-table", DataTable)
        refs = _refs(table)
        assert len(refs) == 50
        assert refs[:3] == ["SR/26/INCL", "SR/26/0000", "SR/26/0001"]  # included 8Q found too
        assert table.get_row_at(0)[3] == "8L +8Q"
        info = str(screen.query_one("#search-info", Static).render())
        assert info.startswith("1–50 of 61 · page 1 · pgdn next page")
        table.focus()
        await pilot.press("end", "pagedown")
        await _settle(app, pilot)
        assert _refs(table) == [f"SR/26/{i:04d}" for i in range(49, 60)]
        assert str(screen.query_one("#search-info", Static).render()).startswith("51–61 of 61 · page 2")
        await pilot.press("home", "pageup")
        await _settle(app, pilot)
        assert _refs(table)[0] == "SR/26/INCL"
        table.move_cursor(row=2)
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, CaseScreen) and app.screen.crime_ref == "SR/26/0001"
    with sqlite_database.read() as session:
        reasons = session.exec(select(AuditEvent.reason).where(AuditEvent.entity == "search")
                               .order_by(AuditEvent.id)).all()
    assert reasons == ["code=8Q (page 1, 50 rows, 61 in all)", "code=8Q (page 2, 11 rows)",
                       "code=8Q (page 1, 50 rows)"]


async def test_flags_and_person_criteria(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("analyst"), start="search")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        screen.query_one("#search-online", Checkbox).value = True
        await pilot.press("ctrl+f")
        await _settle(app, pilot)
        table = screen.query_one("#search-table", DataTable)
        assert _refs(table) == ["SR/26/HARM", "SR/26/0000", "SR/26/0010", "SR/26/0020",
                                "SR/26/0030", "SR/26/0040", "SR/26/0050"]
        await pilot.press("ctrl+l")
        screen.query_one("#search-person", Input).focus()
        await pilot.press(*"s7", "enter")
        await _settle(app, pilot)
        assert _refs(table) == ["SR/26/0007"]


async def test_a_bad_date_is_named_and_nothing_is_searched(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("analyst"), start="search")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        screen.query_one("#search-from", Input).focus()
        await pilot.press(*"31/02/2026", "enter")
        await _settle(app, pilot)
        info = str(screen.query_one("#search-info", Static).render())
        assert info.startswith("reported from: '31/02/2026' is not a real date")
        screen.query_one("#search-from", Input).value = "01/03/2026"
        screen.query_one("#search-to", Input).value = "01/03/2026"
        await pilot.press("ctrl+f")
        await _settle(app, pilot)
        # reported on 1 March (London): more than 8, at most 32 hours before Monday 08:00
        assert _refs(screen.query_one("#search-table", DataTable)) == [
            f"SR/26/{i:04d}" for i in range(8, 32)]
    with sqlite_database.read() as session:
        count = len(session.exec(select(AuditEvent).where(AuditEvent.entity == "search")).all())
    assert count == 1
