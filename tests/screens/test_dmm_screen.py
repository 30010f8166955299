"""The DMM queue screen: ranking, side panel, decisions from the keyboard,
read-only analysts, live refresh that keeps the cursor, minutes export, and a
snapshot."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from textual.widgets import DataTable, Input, RadioButton, Static

import tui
from app.app import VigilApp
from app.db import Database
from app.services import dmm
from app.services.case_lock import load_case
from models import AuditEvent, AuditSubject, DmmAction, DmmItem, DmmMeeting
from screens.dmm import DmmScreen
from screens.dmm_dialogs import (
    ActionChangeDialog,
    ActionDialog,
    DecisionDialog,
    ReasonFilterDialog,
)
from tests.conftest import NOW
from tests.factories import add_case, touch_case
from tests.screens.idle import settle as _settle

SIZE = (160, 48)
MONDAY = date(2026, 3, 2)
ORDER = ["NC/26/0104", "NC/26/0105", "NC/26/0102", "NC/26/0110", "NC/26/0101"]


def _screen(app: VigilApp) -> DmmScreen:
    screen = app.screen
    assert isinstance(screen, DmmScreen)
    return screen


def _rows(screen: DmmScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(key.value) for key in table.rows]


def _text(screen: DmmScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def _select_row(pilot: Any, app: VigilApp, crime_ref: str) -> None:
    table = _screen(app).query_one(DataTable)
    table.move_cursor(row=table.get_row_index(crime_ref))
    await _settle(pilot, app)


async def test_queue_ranked_with_why_in_the_side_panel(seeded: Database,
                                                       make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        assert _rows(screen) == ORDER
        assert _text(screen, "#dmm-progress") == "0 of 5 discussed"
        assert _text(screen, "#dmm-meeting") == "Mon 02/03/2026 08:00 · covers from Fri 27/02 08:00"
        assert _text(screen, "#dmm-live") == "live · refreshed 08:00"
        why = _text(screen, "#dmm-why")
        assert "NC/26/0104  #1 · priority 66" in why
        assert ("Breach: breach BR/26/0001 of RO RO/26/0001 reported Sun 01/03 21:00 "
                "(original crime NC/26/0103, open); not acknowledged") in why
        assert "suspect not arrested for it (outstanding?)" in why
        assert "Breach +40, Repeat victim and suspect +12, New crime +6, unassessed risk +8 = 66" in why
        screen.show_selected()  # what the side panel's timer calls once the cursor rests
        await _settle(pilot, app)
        detail = _text(screen, "#dmm-detail")
        assert "breach BR/26/0001 of RO RO/26/0001 (NC/26/0104)" in detail
        assert "Course of conduct (this victim and suspect)" in detail
        assert "NC/26/0103 8L · open" in detail
    with seeded.read() as session:
        views = session.execute(select(AuditEvent.entity, AuditEvent.entity_id, AuditEvent.reason)
                                .where(AuditEvent.action == "view")).all()
    assert ("dmm_queue", "Northern/2026-03-02", "DMM queue viewed (live): 5 of 5 items shown") in views
    assert ("case", "NC/26/0104", "DMM item viewed") in views


async def test_supervisor_decides_three_items_then_minutes_and_next_day(
        seeded: Database, make_sqlite_context, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """The scenario: decisions on three items from the keyboard, an action
    set and completed, the minutes show them, and Tuesday's agenda no longer
    carries the decided items while the undecided ones are still there."""
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        # 1. NC/26/0105: escalate
        await _select_row(pilot, app, "NC/26/0105")
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, DecisionDialog)
        dialog.query_one("#decision-escalate", RadioButton).value = True
        dialog.query_one("#decision-rationale", Input).value = "Inspector to review for an SPO"
        await pilot.click("#decision-ok")
        await _settle(pilot, app)
        # 2. NC/26/0102: actions set, with an action due at 17:00
        await _select_row(pilot, app, "NC/26/0102")
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        await pilot.press("down", "enter")  # the second choice: actions set
        await pilot.press("tab", *"Assessment and referral today", "enter")
        await _settle(pilot, app)
        await pilot.press("a")
        await pilot.pause()
        action = app.screen
        assert isinstance(action, ActionDialog)
        action.query_one("#action-text", Input).value = "Complete the S-DASH with the victim"
        action.query_one("#action-owner", Input).value = "PS Ashdown"
        action.query_one("#action-due", Input).value = "02/03/2026 17:00"
        await pilot.click("#action-ok")
        await _settle(pilot, app)
        # 3. NC/26/0110: no further action
        await _select_row(pilot, app, "NC/26/0110")
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        dialog.query_one("#decision-no_further_action", RadioButton).value = True
        dialog.query_one("#decision-rationale", Input).value = "Reallocated to CID last night"
        await pilot.click("#decision-ok")
        await _settle(pilot, app)
        # and NC/26/0101 discussed without a decision
        await _select_row(pilot, app, "NC/26/0101")
        await pilot.press("space")
        await _settle(pilot, app)
        screen = _screen(app)
        assert _text(screen, "#dmm-progress") == "4 of 5 discussed"
        assert _rows(screen) == ORDER  # the ranking does not move under the supervisor
        assert screen.selected_ref() == "NC/26/0101"
        table = screen.query_one(DataTable)
        assert str(table.get_cell("NC/26/0102", "decision")) == "actions set +1"
        assert str(table.get_cell("NC/26/0101", "done")) == "✓"
        # 4. the S-DASH is done: the action is completed from the queue
        await _select_row(pilot, app, "NC/26/0102")
        await pilot.press("c")
        await pilot.pause()
        change = app.screen
        assert isinstance(change, ActionChangeDialog)
        await pilot.click("#change-ok")  # the first open action, "Completed"
        await _settle(pilot, app)

    with seeded.read() as session:
        decided = session.execute(
            select(DmmItem.decision, DmmItem.rationale).where(DmmItem.decision.is_not(None))
            .order_by(DmmItem.priority.desc())).all()
        actions = session.execute(select(DmmAction.text, DmmAction.owner, DmmAction.due_at,
                                         DmmAction.done_at)).all()
    assert [tuple(d) for d in decided] == [
        ("escalate", "Inspector to review for an SPO"),
        ("actions_set", "Assessment and referral today"),
        ("no_further_action", "Reallocated to CID last night"),
    ]
    assert [tuple(a) for a in actions] == [
        ("Complete the S-DASH with the victim", "PS Ashdown",
         datetime(2026, 3, 2, 17, 0, tzinfo=UTC), NOW)]

    # the minutes show the decisions and the action
    code = tui.main(["dmm", "--db", seeded.url, "--user", "supervisor.northern",
                     "--now", "2026-03-02T09:30:00Z", "--format", "md"])
    minutes = capsys.readouterr().out
    assert code == 0
    assert "- **Progress:** 4 of 5 discussed; 3 decided; 1 actions set" in minutes
    assert "- **Decision:** escalate (supervisor.northern, 02/03/2026 08:00)" in minutes
    assert "- **Rationale:** Inspector to review for an SPO" in minutes
    assert ("  - Complete the S-DASH with the victim — owner PS Ashdown, due 02/03/2026 17:00 "
            "(done 02/03/2026 08:00)") in minutes
    assert "- **Decision:** no further action" in minutes

    # Tuesday: the three decided items are gone; the undecided ones carry over
    tuesday = make_sqlite_context("supervisor.northern", now=datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    queue = dmm.build_queue(tuesday, area="Northern", meeting_date=date(2026, 3, 3))
    codes = {i.crime_ref: i.codes for i in queue.items}
    assert not {"NC/26/0105", "NC/26/0102", "NC/26/0110"} & set(codes)
    assert codes["NC/26/0104"][0] == "BREACH" and "CARRIED_OVER" in codes["NC/26/0104"]
    assert "CARRIED_OVER" in codes["NC/26/0101"]  # discussed, but nothing decided


async def test_analyst_sees_the_queue_read_only(seeded: Database, make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("analyst"), start="dmm")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        # force-wide users start on the first area command
        assert screen.area == "Northern" and _rows(screen) == ORDER
        assert _text(screen, "#dmm-live").endswith("read-only")
        for key in ("d", "a", "space"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen  # no dialog
        notes = [n.message for n in app._notifications]
        assert any("Analysts cannot record DMM decisions" in m for m in notes)
    with seeded.read() as session:
        assert session.execute(select(DmmItem).where(DmmItem.decision.is_not(None))).first() is None


async def test_live_refresh_keeps_the_cursor_and_waits_for_dialogs(
        seeded: Database, make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        await _select_row(pilot, app, "NC/26/0110")
        with seeded.write() as session:  # a new case with a PIN joins the queue
            case = add_case(session, "NC/26/0150", NOW - timedelta(hours=30), victim="V150",
                            suspect="S150", pin=True, team="Response")
            touch_case(session, case.id, NOW)
        # a dialog is open: the tick does nothing
        await pilot.press("d")
        await pilot.pause()
        assert app.live_refresh_paused
        screen.live_refresh()
        await _settle(pilot, app)
        assert "NC/26/0150" not in _rows(screen)
        await pilot.press("escape")
        await pilot.pause()
        assert not app.live_refresh_paused
        # paused: nothing either
        await pilot.press("p")
        screen.live_refresh()
        await _settle(pilot, app)
        assert "NC/26/0150" not in _rows(screen)
        assert "paused" in _text(screen, "#dmm-live")
        await pilot.press("p")
        screen.live_refresh()
        await _settle(pilot, app)
        # NC/26/0150: PIN 8 + NEW_CRIME 6 + unassessed 8 = 22, below NC/26/0110 (28)
        assert _rows(screen) == [
            "NC/26/0104", "NC/26/0105", "NC/26/0102", "NC/26/0110", "NC/26/0150", "NC/26/0101"]
        assert screen.selected_ref() == "NC/26/0110"
        assert screen.items["NC/26/0150"].codes == ["PIN_RECORDED", "NEW_CRIME"]


async def test_a_due_full_recompute_runs_behind_the_rows(
        seeded: Database, make_sqlite_context, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """An agenda prepared an hour ago: the screen shows it from the cases
    changed since, then recomputes it in full without moving the cursor."""
    dmm.build_queue(make_sqlite_context("supervisor.northern"), area="Northern",
                    meeting_date=MONDAY, audit=False)
    later = NOW + timedelta(hours=1)
    with seeded.write() as session:
        load_case(session, "NC/26/0110").pin_issued = True
        touch_case(session, load_case(session, "NC/26/0110").id, later)
    calls: list[tuple[bool, bool]] = []
    real = dmm.build_queue

    def spy(*args: Any, **kwargs: Any) -> dmm.DmmQueue:
        queue = real(*args, **kwargs)
        calls.append((kwargs.get("defer_full", False), queue.full_refresh_due))
        return queue

    monkeypatch.setattr("screens.dmm.build_queue", spy)
    app = VigilApp(make_sqlite_context("supervisor.northern", now=later), start="dmm")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        assert calls == [(True, True), (False, False)]
        assert _rows(screen) == ORDER
        assert "PIN_RECORDED" in screen.items["NC/26/0110"].codes
        assert screen.selected_ref() == "NC/26/0104"
    with seeded.read() as session:
        meeting = session.execute(select(DmmMeeting)).scalar_one()
        assert meeting.full_computed_at == later
        views = session.execute(select(AuditEvent).where(
            AuditEvent.entity == "dmm_queue")).scalars().all()
        assert len(views) == 1  # the view is audited once, not the rebuild behind it


async def test_previous_and_next_meeting_filters_and_minutes(
        seeded: Database, make_sqlite_context, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    saves = tmp_path / "saves"
    saves.mkdir()
    monkeypatch.setenv("VIGIL_SAVE_DIR", str(saves))
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        screen = _screen(app)
        await pilot.press("left_square_bracket")
        await _settle(pilot, app)
        assert screen.meeting_date == date(2026, 2, 27)
        assert _text(screen, "#dmm-live").startswith("not held")
        await pilot.press("right_square_bracket", "right_square_bracket")
        await _settle(pilot, app)
        assert screen.meeting_date == date(2026, 3, 3)
        await pilot.press("left_square_bracket")
        await _settle(pilot, app)
        # reason filter
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, ReasonFilterDialog)
        app.screen.dismiss("NEW_CRIME")
        await _settle(pilot, app)
        assert _rows(screen) == ["NC/26/0104", "NC/26/0102", "NC/26/0110", "NC/26/0101"]
        assert _text(screen, "#dmm-filter-info") == "reason NEW_CRIME · 4 of 5"
        await pilot.press("escape")
        await _settle(pilot, app)
        # text filter
        await pilot.press("slash")
        await pilot.press(*"cid", "enter")
        await _settle(pilot, app)
        assert _rows(screen) == ["NC/26/0105", "NC/26/0101"]
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("escape")  # no purpose: nothing saved, nothing logged
        await _settle(pilot, app)
        assert list(saves.iterdir()) == []
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press(*"circulate to the area", "enter")  # the purpose of the disclosure
        await _settle(pilot, app)
        notes = [n.message for n in app._notifications]
    saved = saves / "dmm-northern-2026-03-02.md"
    assert saved.read_text(encoding="utf-8").startswith(
        "# DMM minutes: Northern, Monday 2 March 2026")
    assert saved.stat().st_mode & 0o777 == 0o600
    assert any(f"saved to {saved}" in note for note in notes)  # the full path is shown
    with seeded.read() as session:
        exports = session.execute(select(AuditEvent.id, AuditEvent.after).where(
            AuditEvent.action == "export")).all()
        named = session.execute(select(AuditSubject.crime_ref).where(
            AuditSubject.audit_event_id == exports[0].id)).scalars().all()
        meetings = session.execute(select(DmmMeeting.meeting_date)).scalars().all()
    # the disclosure path: purpose, target, every case listed, before the minutes left
    [(_event_id, after)] = exports
    assert (after["kind"], after["format"], after["target"], after["purpose"], after["rows"],
            after["filter"]) == ("dmm", "md", str(saved), "circulate to the area", 5,
                                 "Northern meeting 2026-03-02")
    text = saved.read_text(encoding="utf-8")
    assert len(named) == 5 and all(f". {ref} (priority" in text for ref in named)
    assert sorted(meetings) == [MONDAY, date(2026, 3, 3)]  # Friday was only looked at


def test_dmm_screen_snapshot(seeded: Database, make_sqlite_context, snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")

    async def settle(pilot: Any) -> None:
        await _settle(pilot, app)
        app.screen.query_one(DataTable).move_cursor(row=1)
        await _settle(pilot, app)
        _screen(app).show_selected()  # what the side panel's timer calls once the cursor rests
        await _settle(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


async def test_a_case_a_refresh_brings_into_view_is_named_in_the_audit_log(
        seeded: Database, make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    from models import AuditSubject

    def named() -> dict[str, list[str]]:
        with seeded.read() as session:
            rows = session.execute(
                select(AuditEvent.reason, AuditSubject.crime_ref)
                .join(AuditSubject, AuditSubject.audit_event_id == AuditEvent.id)
                .where(AuditEvent.entity == "dmm_queue")).all()
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row.crime_ref, []).append(row.reason)
        return found

    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        assert set(named()) == set(ORDER)  # the first view named every case shown
        with seeded.write() as session:
            add_case(session, "NC/26/0199", NOW - timedelta(hours=3), code="8Q",
                     victim="V199", suspect="S199", last_activity_at=NOW)
        _screen(app).live_refresh()
        await _settle(pilot, app)
        assert "NC/26/0199" in _rows(_screen(app))
        shown = named()
        assert shown["NC/26/0199"] == ["DMM queue refreshed: 1 case newly shown"]
        assert all(len(reasons) == 1 for reasons in shown.values())  # nothing named twice


async def test_minutes_save_failure_is_shown_as_a_failure(
        seeded: Database, make_sqlite_context, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "no-such-folder"
    monkeypatch.setenv("VIGIL_SAVE_DIR", str(missing))
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press(*"meeting", "enter")
        await _settle(pilot, app)
        failures = [n for n in app._notifications if n.severity == "error"]
    # shown as the App shows every bad input (tests/screens/test_failures.py)
    assert failures and failures[0].title == "Not done" and str(missing) in failures[0].message
    assert not any("saved to" in n.message for n in app._notifications)
    assert not missing.exists()


async def test_minutes_download_in_the_browser(
        seeded: Database, make_sqlite_context, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    delivered: list[tuple[str, str | None]] = []

    def deliver(file: io.StringIO, **kwargs: Any) -> str:
        delivered.append((file.getvalue(), kwargs.get("save_filename")))
        return "key"

    monkeypatch.setattr(app, "deliver_text", deliver)
    monkeypatch.setattr(VigilApp, "is_web", property(lambda _self: True))
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press(*"meeting", "enter")
        await _settle(pilot, app)
    (text, filename), = delivered
    assert filename == "dmm-northern-2026-03-02.md" and text.startswith("# DMM minutes")
    with seeded.read() as session:
        targets = session.execute(select(AuditEvent.after).where(
            AuditEvent.action == "export")).scalars().all()
    assert [t["target"] for t in targets] == ["download dmm-northern-2026-03-02.md"]
