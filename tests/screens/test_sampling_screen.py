"""The dip-sampling screen (9): the samples, a sample's files, and the
reviewer recording a file as meeting every item."""

from __future__ import annotations

from datetime import date

from textual.widgets import DataTable

from app.app import VigilApp
from app.services.dip_sampling import draw_sample
from screens.dialogs import ConfirmDialog
from screens.sampling import SamplingScreen
from tests.services.test_dip_sampling import build


async def _settle(app: VigilApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def test_the_reviewer_lists_files_and_records_one(make_sqlite_context,  # type: ignore[no-untyped-def]
                                                        sqlite_database) -> None:
    build(sqlite_database)
    drawn = draw_sample(make_sqlite_context("analyst"), area="Northern",
                        date_from=date(2026, 1, 1), date_to=date(2026, 2, 1),
                        reviewer="auditor", seed=7, per_stratum=2)
    app = VigilApp(make_sqlite_context("auditor"), start="cases")
    async with app.run_test(size=(170, 44)) as pilot:
        await _settle(app, pilot)
        await pilot.press("9")
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SamplingScreen)
        samples = screen.query_one("#sampling-samples", DataTable)
        assert samples.row_count == 1
        await pilot.press("enter")
        await _settle(app, pilot)
        files = screen.query_one("#sampling-files", DataTable)
        assert files.row_count == len(drawn.files)
        files.focus()
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        app.screen.dismiss(True)
        await _settle(app, pilot)
        await _settle(app, pilot)
        assert screen.query_one("#sampling-samples", DataTable).get_row_at(0)[7] == "1"
