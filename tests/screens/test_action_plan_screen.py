"""The action plan screen (0): the recommendations with status, owner and
latest update; an analyst adds a dated update with the figures attached;
anyone who may not edit the plan is refused before the dialog opens."""

from __future__ import annotations

from sqlmodel import select
from textual.widgets import DataTable, Static

from app.app import VigilApp
from app.services.action_plan import DEFAULT_FILE, load_recommendations, read_file
from models import RecommendationUpdate
from screens.action_plan import ActionPlanScreen
from screens.plan_dialog import PlanUpdateDialog
from tests.services.test_assurance_service import build_force


async def _settle(app: VigilApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def _open(app: VigilApp, pilot) -> ActionPlanScreen:  # type: ignore[no-untyped-def]
    await _settle(app, pilot)
    await pilot.press("0")
    await _settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, ActionPlanScreen)
    return screen


def _load(make_context) -> None:  # type: ignore[no-untyped-def]
    load_recommendations(make_context("analyst"), text=read_file(DEFAULT_FILE),
                         where=str(DEFAULT_FILE), note="the shipped example")


async def test_an_analyst_adds_a_dated_update_with_figures(make_sqlite_context,  # type: ignore[no-untyped-def]
                                                           sqlite_database) -> None:
    build_force(sqlite_database)
    _load(make_sqlite_context)
    app = VigilApp(make_sqlite_context("analyst"), start="cases")
    async with app.run_test(size=(170, 44)) as pilot:
        screen = await _open(app, pilot)
        table = screen.query_one("#plan-items", DataTable)
        assert table.row_count >= 19
        row = table.get_row("18")
        assert row[3] == "Awaiting review" and row[5] == "—"
        table.move_cursor(row=table.get_row_index("18"))
        await pilot.pause()
        assert "Recommendation 18" in str(screen.query_one("#plan-text", Static).render())
        await pilot.press("u")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, PlanUpdateDialog)
        dialog.fill(status="being_progressed", response="Searches and arrests now reviewed "
                    "at the DMM", attach=True)
        await pilot.click("#plan-ok")
        await _settle(app, pilot)
        await _settle(app, pilot)
        assert app.screen is screen
        row = screen.query_one("#plan-items", DataTable).get_row("18")
        assert row[3] == "Being progressed" and row[6].startswith("Searches and arrests")
        text = str(screen.query_one("#plan-text", Static).render())
        assert "R18_ARRESTED" in text and "Being progressed" in text
    with sqlite_database.read() as session:
        (update,) = session.exec(select(RecommendationUpdate)).all()
    assert update.written_by == "analyst" and update.status == "being_progressed"
    assert {f["code"] for f in update.figures["figures"]} >= {"R18_ARRESTED", "R18_DIGITAL"}


async def test_a_supervisor_is_refused_before_the_dialog(make_sqlite_context,  # type: ignore[no-untyped-def]
                                                         sqlite_database) -> None:
    _load(make_sqlite_context)
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="cases")
    async with app.run_test(size=(170, 44)) as pilot:
        screen = await _open(app, pilot)
        assert screen.query_one("#plan-items", DataTable).row_count >= 19
        await pilot.press("u")
        await pilot.pause()
        assert app.screen is screen
        assert any("Supervisors cannot update the action plan; an administrator or an "
                   "analyst updates it" in n.message for n in app._notifications)
