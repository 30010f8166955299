"""The DMM queue says what the last RMS extract changed."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from app.app import VigilApp
from app.services.rms_import import import_extract
from tests.factories import extract_row, write_extract
from tests.screens.idle import settle


async def test_queue_shows_since_the_last_extract(make_sqlite_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    analyst = make_sqlite_context("analyst")
    folder = write_extract(tmp_path / "extract", {"crimes.csv": [
        extract_row("crimes.csv", crime_ref="CR-0001"),
        extract_row("crimes.csv", crime_ref="CR-0002", victim_ref="P-V2", suspect_ref="P-S2"),
    ]})
    result = import_extract(analyst, folder=folder)
    assert result.ok
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(pilot, app)  # the rows, then the extract line that follows their drawing
        line = app.screen.query_one("#dmm-extract", Static)
        text = str(line.render())
        assert text.startswith("since the last extract")
        assert "2 new crimes" in text
        assert line.display


async def test_no_line_before_any_extract(make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(pilot, app)  # the rows, then the extract line that follows their drawing
        assert not app.screen.query_one("#dmm-extract", Static).display
