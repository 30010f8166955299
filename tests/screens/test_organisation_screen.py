"""A force's own organisation, loaded by an administrator, is what the
screens and the command line offer: its area commands in the DMM's area
choice and in `--area`, a user of one of its areas landing on that area."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Select

import tui
from app.app import VigilApp
from app.db import Database
from app.services import policy_store
from app.services.users import add_user, install_first_admin
from screens.dmm import DmmScreen
from tests.conftest import NOW
from tests.services.test_organisation import FORCE


def _load_force(database: Database, make_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        install_first_admin(session, username="it.admin", display_name="IT",
                            dialect=database.dialect, live=False)
    force = tmp_path / "force.toml"
    force.write_text(FORCE, encoding="utf-8")
    policy_store.set_policy(make_context("it.admin"), path=str(force), note="our areas")
    add_user(make_context("it.admin"), username="ps.highland", display_name="PS Highland",
             role="supervisor", area="Highland")


async def test_the_dmm_offers_the_forces_own_area_commands(
        sqlite_database: Database, make_sqlite_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _load_force(sqlite_database, make_sqlite_context, tmp_path)
    app = VigilApp(make_sqlite_context("ps.highland"), start="dmm")
    async with app.run_test(size=(160, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DmmScreen) and screen.area == "Highland"
        choice = screen.query_one("#dmm-area", Select)
        assert [label for label, _value in choice._options] == ["Highland", "Lowland"]
        assert screen.queue is not None and screen.queue.area == "Highland"  # built, not refused
        assert not [n for n in app._notifications if n.severity == "error"]


def test_the_command_line_takes_the_forces_areas(
        sqlite_database: Database, make_sqlite_context, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    _load_force(sqlite_database, make_sqlite_context, tmp_path)
    base = ["--db", sqlite_database.url, "--user", "ps.highland", "--now", NOW.isoformat()]
    assert tui.main(["dmm", "--area", "Highland", "--format", "json", *base]) == 0
    capsys.readouterr()
    assert tui.main(["dmm", "--area", "Northern", "--format", "json", *base]) == 2
    assert "Northern" in capsys.readouterr().err
