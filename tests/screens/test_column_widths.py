"""Table columns fit the terminal: references are read whole at 100, 160 and
220 columns, and free text takes what is left (snapshots at each width)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from textual.widgets import DataTable

from app.app import VigilApp
from app.db import Database
from screens.dmm import DmmScreen
from tests.factories import add_case, dmm_morning

WIDTHS = (100, 160, 220)
LONG_REF = "NC/26/000412"


@pytest.fixture
def seeded(sqlite_database: Database) -> Database:
    with sqlite_database.write() as session:
        dmm_morning(session)
        add_case(session, LONG_REF, datetime(2026, 2, 28, 11, 0, tzinfo=UTC), code="8Q",
                 victim="V000412", suspect="S000412", team="Safeguarding",
                 summary="Messages every night from a new account")
    return sqlite_database


async def _settle(pilot: Any, app: VigilApp) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def _row_text(table: DataTable, row_key: str) -> str:
    y = table.get_row_index(row_key) + 1  # below the header
    return table.render_line(y).text


@pytest.mark.parametrize("width", WIDTHS)
async def test_dmm_references_whole(seeded: Database, make_sqlite_context, width: int) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=(width, 40)) as pilot:
        await _settle(pilot, app)
        table = app.screen.query_one(DataTable)
        refs = [str(key.value) for key in table.rows]
        assert LONG_REF in refs
        for ref in refs:
            assert ref in _row_text(table, ref), (width, ref)
        # the table fills its width: no empty band at the right
        used = sum(c.get_render_width(table) for c in table.columns.values())
        assert used >= table.size.width - 2 - 1


@pytest.mark.parametrize("width", WIDTHS)
async def test_columns_refit_on_resize(seeded: Database, make_sqlite_context, width: int) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=(160, 40)) as pilot:
        await _settle(pilot, app)
        await pilot.resize_terminal(width, 40)
        await _settle(pilot, app)
        table = app.screen.query_one(DataTable)
        assert LONG_REF in _row_text(table, LONG_REF)
        used = sum(c.get_render_width(table) for c in table.columns.values())
        assert used >= table.size.width - 2 - 1




@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("section", ["dmm", "cases", "breaches", "screening"])
def test_snapshot_at_width(seeded: Database, make_sqlite_context, snap_compare,  # type: ignore[no-untyped-def]
                           section: str, width: int) -> None:
    app = VigilApp(make_sqlite_context("supervisor.northern"), start=section)

    async def settle(pilot: Any) -> None:
        await _settle(pilot, app)
        if isinstance(app.screen, DmmScreen):
            app.screen.show_selected()  # what the side panel's timer calls once the cursor rests
        await _settle(pilot, app)

    assert snap_compare(app, terminal_size=(width, 40), run_before=settle)


@pytest.mark.parametrize("width", WIDTHS)
async def test_assurance_figures_shown_at_every_width(seeded: Database, make_sqlite_context,  # type: ignore[no-untyped-def]
                                                      width: int) -> None:
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="assurance")
    async with app.run_test(size=(width, 40)) as pilot:
        await _settle(pilot, app)
        table = app.screen.query_one("#assurance-table", DataTable)
        assert table.row_count > 10
        figure = table.columns["figure"]  # type: ignore[index]
        used = sum(c.get_render_width(table) for c in table.columns.values())
        assert used <= table.size.width  # every column, the figures included, is on screen
        for key in list(table.rows)[:5]:
            cell = str(table.get_cell(key, "figure"))
            assert len(cell) <= figure.width and cell in _row_text(table, str(key.value))
