"""Dialogs show the whole of what they say and keep their buttons on screen:
a long prompt wraps instead of being cut, a long form scrolls inside the
dialog with Save still visible, and the S-DASH form on a high-risk case starts
from the last assessment, not from all-No and standard."""

from __future__ import annotations

from datetime import timedelta

from textual.app import App
from textual.widgets import Button, Checkbox, Select, Static

from app.app import VigilApp
from app.db import Database
from screens.case import CaseScreen
from screens.dialogs import ConfirmDialog, ReasonDialog
from tests.conftest import NOW
from tests.factories import add_case, add_risk

REF = "NC/26/000601"
LONG = ("You are opening the agenda of another area command's meeting: the reason is "
        "recorded with who and when on each case of that area you open here, and the "
        "area's supervisors can read it in the audit log. Four-eyes: assessed by "
        "officer.northern on 02/03/2026 08:00, the assessor's name comes last")


def _inside(app: App[object], widget: Static | Button) -> bool:
    region = widget.region
    return (region.height > 0 and region.x >= 0 and region.y >= 0
            and region.right <= app.size.width and region.bottom <= app.size.height)


def _text_shown(widget: Static) -> str:
    """The text the widget paints, line by line, as the user reads it."""
    return " ".join(" ".join(strip.text.split()) for strip in
                    (widget.render_line(y) for y in range(widget.size.height))).strip()


class _Host(App[None]):
    pass


async def test_a_long_prompt_wraps_whole_at_100_columns() -> None:
    for dialog in (ReasonDialog(LONG, prompt="Reason for viewing"), ConfirmDialog(LONG)):
        app = _Host()
        async with app.run_test(size=(100, 30)) as pilot:
            app.push_screen(dialog)
            await pilot.pause()
            text = dialog.query_one(".dialog-text", Static)
            assert text.size.height > 1  # wrapped, not cut on one line
            assert _text_shown(text).endswith("the assessor's name comes last")
            assert all(_inside(app, button) for button in dialog.query(Button))


def _seed_high_risk(database: Database) -> None:
    with database.write() as session:
        case = add_case(session, REF, NOW - timedelta(days=3), code="8Q", victim="V601",
                        suspect="S601", team="CID")
        add_risk(session, case, NOW - timedelta(days=2), answers="YYNYYYNYNNN", level="high")


async def test_the_sdash_form_keeps_save_on_screen_and_starts_from_the_last_assessment(
        make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    from screens.risk_form import RiskAssessmentForm

    _seed_high_risk(sqlite_database)
    for size in ((160, 45), (100, 30)):
        app = VigilApp(make_sqlite_context("officer.northern"))
        async with app.run_test(size=size) as pilot:
            await app.workers.wait_for_complete()
            app.open_case(REF)
            for _ in range(3):
                await app.workers.wait_for_complete()
                await pilot.pause()
            assert isinstance(app.screen, CaseScreen)
            await pilot.press("k")
            await pilot.pause()
            form = app.screen
            assert isinstance(form, RiskAssessmentForm)
            assert _inside(app, form.query_one("#form-save", Button)), size
            answers = "".join("Y" if form.query_one(f"#risk-q{n}", Checkbox).value else "N"
                              for n in range(1, 12))
            assert answers == "YYNYYYNYNNN"
            assert form.query_one("#risk-level", Select).value == "high"
