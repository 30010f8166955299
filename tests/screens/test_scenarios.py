"""Training scenarios: each resets deterministically and reaches its key
moment on screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

import app.cli.open_tui
import tui
from app.app import VigilApp
from app.db import Database
from app.services.context import open_context
from app.settings import Settings
from seed.scenarios import get_scenario, load_scenario, scenarios


def _scenario_context(tmp_path: Path, name: str):  # type: ignore[no-untyped-def]
    scenario = get_scenario(name)
    database = Database(f"sqlite:///{tmp_path / 'training.db'}")
    database.upgrade()
    database.mark_kind("training")
    load_scenario(database, scenario)
    settings = Settings(database_url=database.url, username="trainer", now=scenario.now,
                        training=True, demo_role=scenario.role)
    return scenario, open_context(settings, database=database, migrate=False)


def _rows(app: VigilApp) -> list[str]:
    cells: list[str] = []
    for table in app.screen.query(DataTable):
        for index in range(table.row_count):
            cells.append(" ".join(str(cell) for cell in table.get_row_at(index)))
    return cells


async def _open(app: VigilApp, pilot) -> list[str]:  # type: ignore[no-untyped-def]
    for _ in range(50):
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = _rows(app)
        if rows:
            return rows
    return []


def test_every_scenario_is_listed() -> None:
    assert set(scenarios()) >= {"monday-dmm", "night-breach", "misclassified", "victim-care"}


async def test_monday_dmm_hidden_stalking_case_tops_the_queue(tmp_path: Path) -> None:
    scenario, context = _scenario_context(tmp_path, "monday-dmm")
    app = VigilApp(context, start=scenario.start)
    async with app.run_test(size=(180, 50)) as pilot:
        rows = await _open(app, pilot)
        assert rows, "the DMM queue shows no rows"
        assert "TR/26/100002" in rows[0]
    from app.services.dmm import build_queue

    queue = build_queue(context, area="Northern", meeting_date=scenario.now.date(), limit=5)
    top = queue.items[0]
    assert top.crime_ref == "TR/26/100002"
    assert {"HIGH_RISK", "REPEAT_PAIR", "ALLOCATION_CONTRARY_TO_POLICY"} <= {
        r.code for r in top.reasons}


async def test_night_breach_is_level_two_on_the_board(tmp_path: Path) -> None:
    scenario, context = _scenario_context(tmp_path, "night-breach")
    app = VigilApp(context, start=scenario.start)
    async with app.run_test(size=(180, 50)) as pilot:
        rows = await _open(app, pilot)
        assert any("TRB/26/0002" in row for row in rows)
    from app.services.breaches import breach_board

    board = breach_board(context, area="Northern")
    item = next(i for i in board.items if i.breach_ref == "TRB/26/0002")
    assert item.level == 2
    assert not item.acknowledged


async def test_misclassified_queue_has_three_true_and_two_false(tmp_path: Path) -> None:
    scenario, context = _scenario_context(tmp_path, "misclassified")
    from app.services.screening import run_screening
    from app.services.screening_queue import screening_queue

    run_screening(context, full=True)
    refs = {item.crime_ref for item in screening_queue(context).items}
    assert refs == {"TR/26/300002", "TR/26/300004", "TR/26/300006", "TR/26/300008",
                    "TR/26/300010"}
    app = VigilApp(context, start=scenario.start)
    async with app.run_test(size=(180, 50)) as pilot:
        rows = await _open(app, pilot)
        assert sum(any(ref in row for row in rows) for ref in refs) == 5


async def test_victim_care_shows_victims_not_referred(tmp_path: Path) -> None:
    scenario, context = _scenario_context(tmp_path, "victim-care")
    from app.services.dmm import build_queue

    queue = build_queue(context, area="Southern", meeting_date=scenario.now.date())
    flagged = {i.crime_ref for i in queue.items
               if "VICTIM_NOT_REFERRED" in {r.code for r in i.reasons}}
    assert {"TR/26/400001", "TR/26/400002", "TR/26/400003"} <= flagged
    assert "TR/26/400004" not in flagged
    app = VigilApp(context, start=scenario.start)
    async with app.run_test(size=(180, 50)) as pilot:
        rows = await _open(app, pilot)
        assert rows


@pytest.mark.parametrize("name", ["night-breach", "misclassified"])
def test_scenario_resets_deterministically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           name: str) -> None:
    monkeypatch.setattr(app.cli.open_tui, "run_app", lambda context, start=None, area=None: 0)
    db = f"sqlite:///{tmp_path / 'training.db'}"
    exports: list[dict[str, bytes]] = []
    for run in range(2):
        assert tui.main(["demo", "--db", db, "--scenario", name, "--yes", "training.db"]) == 0
        folder = tmp_path / f"export{run}"
        folder.mkdir()
        assert tui.main(["export", "cases", "--purpose", "quality check", "--format", "csv", "--purpose", "quality check", "-o", f"{folder}/", "--db", db,
                         "--user", "trainer"]) == 0
        exports.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert exports[0] == exports[1]
    assert b"TR/26/" in exports[0]["crimes.csv"]
