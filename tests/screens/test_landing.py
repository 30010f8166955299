"""Where each role lands, and the DMM's first page computed while the app starts."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import select
from textual.widgets import DataTable

from app.cli.open_tui import build_app, landing_section
from app.db import Database
from app.services.dmm import build_queue
from app.services.dmm.first_page import PAGE_SIZE, FirstPage, start_first_page
from models import AuditEvent
from screens.dmm import DmmScreen
from tests.screens.idle import settle as _settle

MONDAY = date(2026, 3, 2)
SIZE = (160, 48)


def _queue_views(database: Database) -> list[str]:
    with database.read() as session:
        return list(session.scalars(select(AuditEvent.entity_id).where(
            AuditEvent.entity == "dmm_queue", AuditEvent.action == "view")))


@pytest.mark.parametrize(("user", "section"), [
    ("supervisor.northern", "dmm"), ("analyst", "screening"), ("officer.northern", "cases"),
    ("auditor", "cases"),
])
def test_each_role_lands_on_its_own_screen(make_sqlite_context, user: str,  # type: ignore[no-untyped-def]
                                            section: str) -> None:
    assert landing_section(make_sqlite_context(user)) == section


async def test_a_supervisor_lands_on_their_areas_dmm_from_the_page_computed_at_start(  # type: ignore[no-untyped-def]
        seeded, make_sqlite_context) -> None:
    app = build_app(make_sqlite_context("supervisor.northern"))
    assert app.first_page is not None
    assert (app.first_page.area, app.first_page.meeting_date) == ("Northern", MONDAY)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, DmmScreen)
        assert screen.area == "Northern"
        assert screen.query_one(DataTable).row_count > 0
    # the screen's first request was answered by the page computed at start:
    # one view of the queue, not two
    assert _queue_views(seeded) == ["Northern/2026-03-02"]


def test_the_first_page_answers_its_own_request_once(seeded, make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    ctx = make_sqlite_context("supervisor.northern")
    first = start_first_page(ctx)
    assert isinstance(first, FirstPage)
    page = first.build_queue(ctx, area="Northern", meeting_date=MONDAY, audit=True,
                             limit=PAGE_SIZE, offset=0, reason=None, text=None,
                             defer_full=True)
    direct = build_queue(ctx, area="Northern", meeting_date=MONDAY, limit=PAGE_SIZE,
                         defer_full=True)
    assert [i.crime_ref for i in page.items] == [i.crime_ref for i in direct.items]
    assert len(_queue_views(seeded)) == 2
    # a second request, or any other page or filter, is computed afresh
    again = first.build_queue(ctx, area="Northern", meeting_date=MONDAY, audit=True,
                              limit=PAGE_SIZE, offset=0, defer_full=True)
    other = first.build_queue(ctx, area="Northern", meeting_date=MONDAY, audit=False,
                              limit=PAGE_SIZE, offset=0, reason="BREACH", defer_full=True)
    assert again.items and all("BREACH" in [r.code for r in i.reasons] for i in other.items)
    assert len(_queue_views(seeded)) == 3


def test_vigil_computes_the_first_page_in_a_child_process(seeded) -> None:  # type: ignore[no-untyped-def]
    """As `vigil` starts (one thread), the page is computed in a forked child
    with its own connections: the same page as computed directly, one view of
    the queue audited for it (by the same user), and the child's errors reach
    the screen as themselves."""
    import json
    import subprocess
    import sys

    if not (hasattr(os, "fork") and sys.platform.startswith("linux")):
        pytest.skip("a child process is forked on Linux only")
    done = subprocess.run([sys.executable, "-m", "tests.screens.first_page_child", seeded.url],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["forked"] is True
    assert answer["page"] and answer["page"] == answer["direct"]
    assert "Nowhere" in answer["error"]
    with seeded.read() as session:
        views = session.execute(select(AuditEvent.username, AuditEvent.entity_id).where(
            AuditEvent.entity == "dmm_queue", AuditEvent.action == "view")).all()
    assert sorted(views) == [("supervisor.northern", "Northern/2026-03-02")] * 2


def test_a_process_running_threads_computes_the_first_page_in_a_thread(  # type: ignore[no-untyped-def]
        seeded, make_sqlite_context) -> None:
    import threading

    ctx = make_sqlite_context("supervisor.northern")
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        first = start_first_page(ctx, in_child=True)
    finally:
        release.set()
        other.join()
    assert first is not None and first.child_pid is None
    assert first.build_queue(ctx, area="Northern", meeting_date=MONDAY, audit=True,
                             limit=PAGE_SIZE, offset=0, defer_full=True).items


def test_no_first_page_for_a_user_without_an_area(make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    assert start_first_page(make_sqlite_context("analyst")) is None
    assert build_app(make_sqlite_context("analyst")).first_page is None


def test_an_error_computing_the_first_page_reaches_the_screen(seeded, make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    ctx = make_sqlite_context("supervisor.northern")
    first = FirstPage(ctx, "Nowhere", MONDAY)
    with pytest.raises(Exception, match="Nowhere"):
        first.build_queue(ctx, area="Nowhere", meeting_date=MONDAY, audit=True,
                          limit=PAGE_SIZE, offset=0, defer_full=True)


async def test_a_scenario_opens_on_its_own_area(sqlite_database, make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    """A trainer lands on the scenario's first moment: its section, at its
    clock, on the area its story is about (victim-care: Southern's DMM)."""
    from app.cli.open_tui import build_app
    from seed.scenarios import get_scenario

    scenario = get_scenario("victim-care")
    assert (scenario.start, scenario.area) == ("dmm", "Southern")
    app = build_app(make_sqlite_context("supervisor.northern"), start=scenario.start,
                    area=scenario.area)
    async with app.run_test(size=(160, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert type(app.screen).__name__ == "DmmScreen"
        assert app.screen.area == "Southern"  # type: ignore[attr-defined]
