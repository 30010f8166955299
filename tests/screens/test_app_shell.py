"""The app shell: the home case list, the banner, help generated from the
bindings, and the command palette listing every action."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from textual.widgets import DataTable, Input

from app.app import VigilApp
from app.widgets.banner import TRAINING_TEXT, TrainingBanner
from models import AuditEvent
from screens.help import HelpScreen
from tests.conftest import NOW
from tests.factories import add_case


def _seed(database) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        for i in range(130):
            add_case(session, f"NC/26/{i:06d}", NOW - timedelta(hours=i), victim=f"V{i % 40}",
                     suspect=f"S{i % 40}", code="8Q" if i % 6 == 0 else "8L",
                     summary=f"Synthetic summary {i}\x1b[31m")


async def test_home_lists_cases_newest_first_and_pages(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=(160, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.row_count == 100
        assert table.get_row_at(0)[0] == "NC/26/000000"
        # control characters from the database are shown, not obeyed
        assert "\x1b" not in str(table.get_row_at(0)[-1])
        await pilot.press("end", "pagedown")  # past the last row: the next page
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.row_count == 30
        await pilot.press("slash")
        await pilot.press(*"NC/26/00012", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        refs = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert refs == [f"NC/26/{i:06d}" for i in range(120, 130)]
    with sqlite_database.read() as session:
        searches = session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "search")).scalar_one()
    assert searches == 3


async def test_banner_shows_training_and_role(make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("trainer", training=True, demo_role="analyst"))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        banner = str(app.screen.query_one(TrainingBanner).render())
        assert TRAINING_TEXT in banner
        assert "analyst" in banner


async def test_help_lists_the_screen_keys(make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=(160, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        from screens.help import binding_rows

        described = {row[1] for row in binding_rows(app.screen.behind)}
        assert {"Filter", "Open case", "Next page", "Refresh", "Help"} <= described
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_offers_screen_actions(make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=(160, 40)) as pilot:
        await app.workers.wait_for_complete()
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert any(t.startswith(("Next page", "Page down")) for t in titles)
        assert "Go to Cases" in titles
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
