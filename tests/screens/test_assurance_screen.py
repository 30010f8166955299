"""The assurance screen on the hand-built force of
tests/services/test_assurance_service.py.

The screen opens on the last 12 full months before the fixed clock (March
2025 to February 2026): the period of the service tests plus C11 (reported
31 December 2025, stalking added by screening, Northern Response, no
referral). So, by hand: stalking cases C1 C2 C3 C5 C7 C11; referred C1 C3 C5
(3 of 6 = 50.0 per 100); stalking only as an included classification C2 and
C11 (2 of 6).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from textual.widgets import DataTable, Select, Static
from textual_plotext import PlotextPlot

from app.app import VigilApp
from app.rules import metrics as m
from models import AuditEvent
from screens.assurance import AssuranceScreen
from tests.services.test_assurance_service import build_force

SIZE = (160, 48)


async def _settle(app: VigilApp, pilot: Any) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def _cell(table: DataTable, row_key: str, column: str) -> str:
    return str(table.get_cell(row_key, column))


async def _goto(app: VigilApp, pilot: Any, code: str) -> None:
    table = app.screen.query_one("#assurance-table", DataTable)
    table.focus()
    table.move_cursor(row=table.get_row_index(code))
    await pilot.pause()


async def test_figures_trend_and_definition(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    build_force(sqlite_database)
    app = VigilApp(make_sqlite_context("analyst"), start="assurance")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, AssuranceScreen)
        table = screen.query_one("#assurance-table", DataTable)
        assert table.row_count == len(m.metric_definitions(app.context.policy))
        assert _cell(table, m.R14_REFERRALS, "figure") == "50.0 per 100"
        assert _cell(table, m.R14_REFERRALS, "basis") == "3 / 6"
        assert _cell(table, m.R7_STALKING_INCLUDED, "basis") == "2 / 6"
        assert _cell(table, m.PINS_RECORDED, "status") == "! attention"
        period = str(screen.query_one("#assurance-period", Static).render())
        assert period.startswith("01/03/2025 – 28/02/2026")
        await _goto(app, pilot, m.R14_REFERRALS)
        assert screen.selected_code == m.R14_REFERRALS
        breakdown = screen.query_one("#assurance-breakdown", DataTable)
        rows = [(str(r[0]), str(r[1]).strip(), str(r[2]))
                for r in (breakdown.get_row_at(i) for i in range(breakdown.row_count))]
        assert rows[0] == ("Force-wide", "! 50.0 per 100", "3 / 6")  # below 60: attention
        assert ("Southern", "! 50.0 per 100", "1 / 2") in rows
        assert ("  Response", "! 0.0 per 100", "0 / 2") in rows  # Northern Response: C2, C11
        chart = screen.query_one("#assurance-chart", PlotextPlot)
        built = chart.plt.build()
        assert "R14_REFERRALS" not in built  # the title is in words
        definition = screen.query_one("#assurance-definition", Static)
        assert not definition.display
        await pilot.press("d")
        assert definition.display
        assert "Denominator: stalking cases" in str(definition.render())


async def test_drill_down_lists_the_numerator_and_opens_a_case(make_sqlite_context,  # type: ignore[no-untyped-def]
                                                               sqlite_database) -> None:
    build_force(sqlite_database)
    app = VigilApp(make_sqlite_context("analyst"), start="assurance")
    opened: list[str] = []
    app.open_case = opened.append  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        await _goto(app, pilot, m.R14_REFERRALS)
        await pilot.press("enter")
        await _settle(app, pilot)
        cases = screen.query_one("#assurance-cases", DataTable)
        refs = [str(cases.get_row_at(i)[0]) for i in range(cases.row_count)]
        assert refs == ["C1", "C3", "C5"]
        assert screen.cases is not None and screen.cases.total == 3
        await pilot.press("t")  # the denominator: every stalking case
        await _settle(app, pilot)
        refs = [str(cases.get_row_at(i)[0]) for i in range(cases.row_count)]
        assert refs == ["C11", "C1", "C2", "C3", "C5", "C7"]
        await pilot.press("down", "enter")
        assert opened == ["C1"]
        await pilot.press("escape")
        await pilot.pause()
        assert screen.query_one("#assurance-table", DataTable).display
        assert not screen.query_one("#assurance-drill").display
        # from the breakdown: one area's figure
        breakdown = screen.query_one("#assurance-breakdown", DataTable)
        breakdown.focus()
        breakdown.move_cursor(row=breakdown.get_row_index("Southern\x1f"))
        await pilot.press("enter")
        await _settle(app, pilot)
        refs = [str(cases.get_row_at(i)[0]) for i in range(cases.row_count)]
        assert refs == ["C5"]


async def test_period_and_area(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    build_force(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.southern"), start="assurance")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        await pilot.press("left_square_bracket")
        await _settle(app, pilot)
        assert screen.report is not None
        assert (screen.report.date_from.isoformat(), screen.report.last_day.isoformat()) == (
            "2025-02-01", "2026-01-31")
        table = screen.query_one("#assurance-table", DataTable)
        assert _cell(table, m.R14_REFERRALS, "basis") == "2 / 4"  # C11 C1 C2 C3
        await pilot.press("right_square_bracket")
        await _settle(app, pilot)
        screen.query_one("#assurance-area", Select).value = "Southern"
        await _settle(app, pilot)
        assert screen.report.area == "Southern"
        assert _cell(table, m.R14_REFERRALS, "basis") == "1 / 2"


async def test_save_writes_the_html_report(make_sqlite_context, sqlite_database,  # type: ignore[no-untyped-def]
                                           tmp_path, monkeypatch) -> None:
    build_force(sqlite_database)
    tmp_path = tmp_path / "saves"
    tmp_path.mkdir()
    monkeypatch.setenv("VIGIL_SAVE_DIR", str(tmp_path))
    app = VigilApp(make_sqlite_context("auditor"), start="assurance")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("escape")  # no purpose: nothing saved
        await pilot.pause()
        assert list(tmp_path.iterdir()) == []
        for key in ("ctrl+s", "s"):
            await pilot.press(key)
            await pilot.pause()
            await pilot.press(*"board pack", "enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
    html_name = "assurance-force-2025-03-01-2026-02-28.html"
    md_name = "assurance-force-2025-03-01-2026-02-28.md"
    html = (tmp_path / html_name).read_text(encoding="utf-8")
    markdown = (tmp_path / md_name).read_text(encoding="utf-8")
    with sqlite_database.read() as session:
        events = session.execute(select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.after)
                                 .where(AuditEvent.action == "export")
                                 .order_by(AuditEvent.id)).all()
    assert [(e[0], e[1], e[2]["purpose"], e[2]["target"]) for e in events] == [
        ("export", "assurance", "board pack", str(tmp_path / html_name)),
        ("export", "assurance", "board pack", str(tmp_path / md_name))]
    assert html.startswith("<!DOCTYPE html>") and "http" not in html
    assert "| R14_REFERRALS |" in markdown


async def test_metric_without_cases_says_so(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("analyst"), start="assurance")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        await _goto(app, pilot, m.R7_CLASSIFICATION_SEARCHES)
        await pilot.press("enter")
        await pilot.pause()
        assert not app.screen.query_one("#assurance-drill").display
        assert any("not made of cases" in n.message for n in app._notifications)


@pytest.mark.parametrize("press", [(), ("d",)])
def test_snapshot(snap_compare, make_sqlite_context, sqlite_database, press) -> None:  # type: ignore[no-untyped-def]
    build_force(sqlite_database)
    app = VigilApp(make_sqlite_context("analyst"), start="assurance")

    async def settle(pilot: Any) -> None:
        await _settle(app, pilot)
        await _goto(app, pilot, m.R14_REFERRALS)
        if press:
            await pilot.press(*press)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=settle)
