"""The victim-care form of the case record records the Victims' Code contacts:
consent refused, the last investigation update (right 6), the VPS offer (right 7)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from textual.widgets import Input, Select

from app.app import VigilApp
from models import Case, VictimCare
from screens.case import CaseScreen
from tests.conftest import NOW
from tests.factories import add_case

REF = "NC/26/000701"


async def _settle(app: VigilApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def test_record_consent_refused_an_update_and_the_vps_offer(make_sqlite_context,  # type: ignore[no-untyped-def]
                                                                  sqlite_database) -> None:
    with sqlite_database.write() as session:
        add_case(session, REF, NOW - timedelta(days=2), code="8Q", domestic_abuse=True,
                 victim="V7", suspect="S7")
    app = VigilApp(make_sqlite_context("officer.northern"))
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        app.open_case(REF)
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CaseScreen)
        await pilot.press("v")
        await _settle(app, pilot)
        form = app.screen
        form.query_one("#care-needs", Input).value = "01/03/2026 09:00"
        form.query_one("#care-consent", Select).value = "no"
        form.query_one("#care-update", Input).value = "01/03/2026 17:30"
        form.query_one("#care-vps", Input).value = "01/03/2026 17:45"
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        assert app.screen is screen
    with sqlite_database.read() as session:
        care = session.exec(select(VictimCare).join(Case).where(Case.crime_ref == REF)).one()
    assert (care.consent, care.consent_at, care.last_update_at.hour, care.vps_offered_at.minute) \
        == (False, NOW, 17, 45)
