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


async def _open_files(app: VigilApp, pilot) -> SamplingScreen:  # type: ignore[no-untyped-def]
    await _settle(app, pilot)
    await pilot.press("9")
    await _settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, SamplingScreen)
    await pilot.press("enter")
    await _settle(app, pilot)
    screen.query_one("#sampling-files", DataTable).focus()
    await pilot.pause()
    return screen


async def test_the_reviewer_records_failed_items_with_notes(make_sqlite_context,  # type: ignore[no-untyped-def]
                                                            sqlite_database) -> None:
    from sqlalchemy import select

    from models import DipFinding, DipSampleFile
    from screens.review_dialog import ReviewDialog

    build(sqlite_database)
    draw_sample(make_sqlite_context("analyst"), area="Northern", date_from=date(2026, 1, 1),
                date_to=date(2026, 2, 1), reviewer="auditor", seed=7, per_stratum=2)
    app = VigilApp(make_sqlite_context("auditor"), start="cases")
    async with app.run_test(size=(170, 44)) as pilot:
        screen = await _open_files(app, pilot)
        crime_ref = screen.query_one("#sampling-files", DataTable).get_row_at(0)[0]
        await pilot.press("v")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ReviewDialog)
        codes = [code for code, _ in dialog.checklist]
        assert len(codes) == 7 and "sdash" in codes  # the policy's checklist, listed
        dialog.set_item("sdash", False)
        await pilot.click("#review-ok")
        await pilot.pause()
        assert app.screen is dialog  # a failed item without a note is refused
        assert "sdash" in str(dialog.query_one("#review-error").render())
        dialog.set_item("sdash", False, "no supervisor review of the S-DASH")
        dialog.set_item("spo", False, "SPO not considered")
        await pilot.click("#review-ok")
        await _settle(app, pilot)
        await _settle(app, pilot)
        assert app.screen is screen
        row = screen.query_one("#sampling-files", DataTable).get_row(crime_ref)
        assert row[4] == "5" and "sdash: no supervisor review of the S-DASH" in row[5]
    with sqlite_database.read() as session:
        found = {f.item: (f.passed, f.note) for f in session.execute(
            select(DipFinding).join(DipSampleFile, DipSampleFile.id == DipFinding.file_id)
            .where(DipSampleFile.crime_ref == crime_ref)).scalars()}
    assert found["sdash"] == (False, "no supervisor review of the S-DASH")
    assert found["spo"] == (False, "SPO not considered")
    assert found["classification"] == (True, None)


async def test_a_non_reviewer_is_refused_before_the_dialog(make_sqlite_context,  # type: ignore[no-untyped-def]
                                                           sqlite_database) -> None:
    build(sqlite_database)
    draw_sample(make_sqlite_context("analyst"), area="Northern", date_from=date(2026, 1, 1),
                date_to=date(2026, 2, 1), reviewer="auditor", seed=7, per_stratum=2)
    app = VigilApp(make_sqlite_context("analyst"), start="cases")
    async with app.run_test(size=(170, 44)) as pilot:
        screen = await _open_files(app, pilot)
        await pilot.press("v")
        await pilot.pause()
        assert app.screen is screen
        assert any("Analysts cannot review sampled files; an auditor reviews them" in n.message
                   for n in app._notifications)
        await pilot.press("m")
        await pilot.pause()
        assert app.screen is screen
