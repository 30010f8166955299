"""One handler shows every failure of a service call, the same way on every
screen, by kind: busy, conflict (names the case, offers a reload),
permission, bad input, unexpected (a short message, details to the log)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from app.app import VigilApp
from app.errors import DatabaseBusy
from app.failures import FailureKind, describe_failure, failure_kind
from app.services.case_edits import reallocate
from screens.base import VigilScreen
from screens.dialogs import ConflictDialog
from tests.conftest import NOW
from tests.factories import add_case

REF = "NC/26/000701"
SIZE = (160, 48)
# two different screens: the case list and the breach board
SECTIONS = ("cases", "breaches")


def _seed(database) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        add_case(session, REF, NOW - timedelta(days=1), code="8L", victim="VIC71",
                 suspect="SUS71", team="Response")


async def _shown_from(app: VigilApp, pilot: Any, section: str,
                      fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Run ``fn`` through ``call_service`` on ``section``'s screen; the
    notification the App showed for its failure (or the dialog in front)."""
    app.action_switch_section(section)
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, VigilScreen)
    before = len(list(app._notifications))
    screen.call_service(fn, **kwargs, group="test-failure")
    await app.workers.wait_for_complete()
    await pilot.pause()
    if isinstance(app.screen, ConflictDialog):
        return app.screen
    shown = list(app._notifications)[before:]
    assert len(shown) == 1, [n.message for n in shown]
    return shown[0]


def _stale(context, **_: Any) -> None:  # type: ignore[no-untyped-def]
    reallocate(context, crime_ref=REF, team="CID", officer=None, reason="complex",
               expected_version=0)


def _held(context, **_: Any) -> None:  # type: ignore[no-untyped-def]
    raise DatabaseBusy("vigil.db is busy with another long write; nothing was saved.")


def _broken(context, **_: Any) -> None:  # type: ignore[no-untyped-def]
    raise RuntimeError("internal detail: cursor 0x7f")


def _reallocate(context, **kwargs: Any) -> None:  # type: ignore[no-untyped-def]
    reallocate(context, team="CID", officer=None, reason="complex", expected_version=1,
               **kwargs)


async def test_busy_is_shown_the_same_on_two_screens(make_sqlite_context,
                                                     sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=SIZE) as pilot:
        shown = [await _shown_from(app, pilot, s, _held) for s in SECTIONS]
    assert [(n.title, n.message, n.severity) for n in shown] == [(
        "Database busy", "vigil.db is busy with another long write; nothing was saved. "
        "Another editor or an import holds it: try again in a moment.", "warning")] * 2


async def test_permission_is_shown_in_words_the_same_on_two_screens(
        make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.southern"))
    async with app.run_test(size=SIZE) as pilot:
        shown = [await _shown_from(app, pilot, s, _reallocate, crime_ref=REF)
                 for s in SECTIONS]
    assert [(n.title, n.severity) for n in shown] == [("Not allowed", "error")] * 2
    assert shown[0].message == shown[1].message
    assert "may not edit case in Northern" in shown[0].message


async def test_bad_input_is_shown_the_same_on_two_screens(make_sqlite_context,
                                                          sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=SIZE) as pilot:
        shown = [await _shown_from(app, pilot, s, _reallocate, crime_ref="NC/26/999999")
                 for s in SECTIONS]
    assert [(n.title, n.message, n.severity) for n in shown] == [
        ("Not done", "crime NC/26/999999 is not in Vigil", "error")] * 2


async def test_unexpected_is_short_and_never_a_traceback(make_sqlite_context,
                                                         sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=SIZE) as pilot:
        shown = [await _shown_from(app, pilot, s, _broken) for s in SECTIONS]
        assert app.is_running  # nothing crashed
    assert [(n.title, n.message, n.severity) for n in shown] == [(
        "Unexpected error", "Something went wrong (RuntimeError); nothing was saved. "
        "The details are in Vigil's log.", "error")] * 2
    assert "cursor 0x7f" not in shown[0].message and "Traceback" not in shown[0].message


async def test_conflict_names_the_case_and_offers_a_reload_on_two_screens(
        make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=SIZE) as pilot:
        texts = []
        for section in SECTIONS:
            dialog = await _shown_from(app, pilot, section, _stale)
            assert isinstance(dialog, ConflictDialog)
            texts.append((dialog.title_text, dialog.message))
            origin = app.screen_stack[-2]
            reloaded: list[str | None] = []
            origin.reload_after_conflict = reloaded.append  # type: ignore[method-assign]
            await pilot.press("r")  # reload
            await pilot.pause()
            assert not isinstance(app.screen, ConflictDialog)
            assert reloaded == [REF]
    assert texts[0] == texts[1]
    assert texts[0][0] == "Changed by someone else"
    assert texts[0][1].startswith(f"{REF} was changed by someone else since you opened it "
                                  "(your version 0, now 1)")


async def test_a_failure_found_on_the_screen_is_shown_the_same_way(
        make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    from app.errors import BadInput

    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.screen.show_error(BadInput("arrest time: not a date"))  # type: ignore[attr-defined]
        await pilot.pause()
        (shown,) = list(app._notifications)[-1:]
    assert (shown.title, shown.message) == ("Not done", "arrest time: not a date")


@pytest.mark.parametrize(("error", "kind"), [
    (DatabaseBusy("busy"), FailureKind.BUSY),
    (OperationalError("UPDATE crime_case", {}, Exception("database is locked")),
     FailureKind.BUSY),
    (RuntimeError("x"), FailureKind.UNEXPECTED),
])
def test_failure_kinds(error: Exception, kind: FailureKind) -> None:
    assert failure_kind(error) is kind
    assert "Traceback" not in describe_failure(error).message
