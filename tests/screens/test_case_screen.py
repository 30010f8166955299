"""The case record screen, driven by a Pilot: open, consult outside the area,
complete an S-DASH assessment, add an included classification, refer the
victim, reallocate; conflicts keep the user's input."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from textual.widgets import Checkbox, DataTable, Input, Select, Static

from app.app import VigilApp
from app.db import Database
from models import AuditEvent, Case
from screens.case import CaseScreen
from screens.dialogs import ConflictDialog
from tests.conftest import NOW
from tests.factories import add_case, add_risk

REF = "NC/26/000501"
SOUTH = "SC/26/000502"


def _seed(database: Database) -> None:
    with database.write() as session:
        case = add_case(session, REF, NOW - timedelta(days=2), code="8L", victim="VIC5",
                        suspect="SUS5", summary="Waited outside the victim's home \x1b[2J",
                        team="Response")
        add_case(session, "NC/25/000400", NOW - timedelta(days=60), code="8R", victim="VIC5",
                 suspect="SUS5")
        add_case(session, SOUTH, NOW - timedelta(days=1), area="Southern", code="8Q",
                 victim="VIC6", suspect="SUS6")
        assert case.id


def _events(database: Database, ref: str = REF) -> list[AuditEvent]:
    with database.read() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.entity_id == ref)
                                 .order_by(AuditEvent.id)).all())


async def _open(app: VigilApp, pilot, ref: str = REF) -> CaseScreen:  # type: ignore[no-untyped-def]
    await app.workers.wait_for_complete()
    app.open_case(ref)
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, CaseScreen)
    return app.screen


async def _settle(app: VigilApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def test_open_case_shows_the_record_and_records_the_view(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot)
        heading = str(screen.query_one("#case-heading", Static).render())
        assert heading.startswith("NC/26/000501 · 8L Harassment · Northern · risk unassessed")
        summary = str(screen.query_one("#summary-text", Static).render())
        assert "\x1b" not in summary and "\\x1b[2J" in summary
        conduct = screen.query_one("#conduct-table", DataTable)
        assert conduct.get_row_at(0)[0] == "NC/25/000400"
    assert [(e.action, e.reason) for e in _events(sqlite_database)] == [("view", "case record viewed")]


def _case(database: Database, ref: str = REF) -> Case:
    with database.read() as session:
        return session.exec(select(Case).where(Case.crime_ref == ref)).one()


async def test_outside_the_area_a_reason_is_asked_and_recorded(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    from screens.dialogs import ReasonDialog

    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        app.open_case(SOUTH)
        await _settle(app, pilot)
        assert isinstance(app.screen, ReasonDialog)
        await pilot.press("escape")  # cancelled: nothing opened, nothing recorded
        await _settle(app, pilot)
        assert not isinstance(app.screen, CaseScreen)
        app.open_case(SOUTH)
        await _settle(app, pilot)
        await pilot.press(*"suspect linked to NC/26/000501", "enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, CaseScreen)
        assert "read only" in str(app.screen.query_one("#case-heading", Static).render())
        await pilot.press("i")  # a supervisor of another area cannot edit
        await _settle(app, pilot)
        assert isinstance(app.screen, CaseScreen)
    [event] = _events(sqlite_database, SOUTH)
    assert event.reason == ("case record viewed outside own area (Northern): "
                            "suspect linked to NC/26/000501")


async def test_complete_an_sdash_assessment(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    from screens.risk_form import RiskAssessmentForm

    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("officer.northern"))
    async with app.run_test(size=(160, 48)) as pilot:
        await _open(app, pilot)
        await pilot.press("k")
        await _settle(app, pilot)
        form = app.screen
        assert isinstance(form, RiskAssessmentForm)
        for number in (1, 2, 5, 6):
            form.query_one(f"#risk-q{number}", Checkbox).value = True
            await pilot.pause()
        await _settle(app, pilot)
        score = str(form.query_one("#risk-score", Static).render())
        assert score.startswith("Yes answers: 4 of 11 · suggested level: medium")
        assert form.query_one("#risk-level", Select).value == "medium"
        # lowering below the suggestion without a rationale is refused in the form
        form.query_one("#risk-level", Select).value = "standard"
        await _settle(app, pilot)
        assert "below the suggested medium" in str(form.query_one("#risk-guidance", Static).render())
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        assert "needs a written rationale" in str(form.query_one("#form-error", Static).render())
        form.query_one("#risk-level", Select).value = "high"  # raised on judgement
        form.query_one("#risk-plan", Input).value = "Panic alarm; daily contact"
        await _settle(app, pilot)
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        assert isinstance(app.screen, CaseScreen)
        assert "risk high" in str(app.screen.query_one("#case-heading", Static).render())
        assert app.screen.query_one("#risk-table", DataTable).row_count == 1
    case = _case(sqlite_database)
    assert (case.risk_level, case.risk_review_due, case.version) == ("high", NOW + timedelta(days=7), 2)
    created = [e for e in _events(sqlite_database) if e.action == "create"]
    assert [e.reason for e in created] == [
        "risk assessment recorded: S-DASH 4 yes, suggested medium, high set"]
    assert created[0].after["answers"] == "YYNNYYNNNNN"
    assert created[0].after["management_plan"] == "Panic alarm; daily contact"


async def test_add_an_included_classification(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("officer.northern"))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("i")
        await _settle(app, pilot)
        app.screen.query_one("#included-code", Select).value = "8Q"
        app.screen.query_one("#included-reason", Input).focus()
        await pilot.press(*"loitering and following", "enter")
        await _settle(app, pilot)
        assert app.screen is screen
        table = screen.query_one("#classifications-table", DataTable)
        assert [table.get_row_at(i)[0] for i in range(table.row_count)] == ["8L", "8Q"]
    assert _case(sqlite_database).version == 2
    [created] = [e for e in _events(sqlite_database) if e.action == "create"]
    assert created.reason == "included classification 8Q added: loitering and following"


async def test_refer_the_victim(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    from models import Referral

    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("officer.northern"))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("f")
        await _settle(app, pilot)
        assert app.screen.query_one("#refer-at", Input).value == "02/03/2026 08:00"
        app.screen.query_one("#refer-service", Select).value = "ISHA"
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        assert app.screen is screen
        table = screen.query_one("#referrals-table", DataTable)
        assert table.get_row_at(0)[0] == "ISHA" and table.get_row_at(0)[3] == "pending"
    with sqlite_database.read() as session:
        referral = session.exec(select(Referral)).one()
    assert (referral.service, referral.referred_at, referral.referred_by) == (
        "ISHA", NOW, "officer.northern")
    assert [e.reason for e in _events(sqlite_database) if e.action == "create"] == [
        "victim referred to ISHA"]


async def test_reallocate_shows_the_policy_check(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    from models import Allocation

    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("l")
        await _settle(app, pilot)
        form = app.screen
        form.query_one("#realloc-team", Select).value = "Orders"
        await _settle(app, pilot)
        assert str(form.query_one("#realloc-policy", Static).render()).startswith(
            "✗ contrary to policy")
        form.query_one("#realloc-team", Select).value = "Safeguarding"
        await _settle(app, pilot)
        assert str(form.query_one("#realloc-policy", Static).render()).startswith(
            "✓ complies with policy")
        form.query_one("#realloc-officer", Input).value = "DC Brook"
        form.query_one("#realloc-reason", Input).value = "domestic context"
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        assert app.screen is screen
        note = str(screen.query_one("#allocation-note", Static).render())
        assert note.startswith("Held by Safeguarding (DC Brook) · complies with policy")
    case = _case(sqlite_database)
    assert (case.allocation_team, case.officer) == ("Safeguarding", "DC Brook")
    with sqlite_database.read() as session:
        teams = session.exec(select(Allocation.team).where(Allocation.case_id == case.id)
                             .order_by(Allocation.id)).all()
    assert teams == ["Response", "Safeguarding"]
    [update] = [e for e in _events(sqlite_database) if e.action == "update"]
    assert update.reason == "reallocated to Safeguarding: domestic context"
    assert (update.before["team"], update.after["team"]) == ("Response", "Safeguarding")


async def test_a_conflicting_edit_keeps_the_input_for_retry(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    from app.services.case_edits import reallocate

    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("officer.northern"))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("i")
        await _settle(app, pilot)
        form = app.screen
        form.query_one("#included-code", Select).value = "8Q"
        form.query_one("#included-reason", Input).value = "following"
        # meanwhile a supervisor reallocates the case
        reallocate(make_sqlite_context("supervisor.northern"), crime_ref=REF, team="CID",
                   officer=None, reason="complex", expected_version=1)
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        # the App's one conflict dialog names the case and who changed it, over the form
        dialog = app.screen
        assert isinstance(dialog, ConflictDialog) and app.screen_stack[-2] is form
        assert ("was changed by someone else since you opened it (your version 1, now 2): "
                "last changed by supervisor.northern") in dialog.message
        assert "Your input is kept" in str(form.query_one("#form-error", Static).render())
        assert form.query_one("#included-reason", Input).value == "following"
        assert form.query_one("#included-code", Select).value == "8Q"
        await pilot.press("r")  # reload, from the dialog
        await _settle(app, pilot)
        assert app.screen is form
        assert "Reloaded: NC/26/000501 is now at version 2" in str(
            form.query_one("#form-error", Static).render())
        assert screen.record.allocation_team == "CID"
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        assert app.screen is screen
    case = _case(sqlite_database)
    assert (case.version, case.allocation_team) == (3, "CID")
    assert [e.reason for e in _events(sqlite_database) if e.action == "create"] == [
        "included classification 8Q added: following"]


async def test_a_second_supervisor_approves_a_downgrade(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    from app.services.risk import record_risk_assessment

    _seed(sqlite_database)
    with sqlite_database.write() as session:
        add_risk(session, _case(sqlite_database), NOW - timedelta(days=1), answers="YYYYYYNNNNN")
    record_risk_assessment(make_sqlite_context("supervisor.northern"), crime_ref=REF,
                           answers="YNNNNNNNNNN", level="standard", rationale="suspect remanded",
                           management_plan=None, expected_version=1)
    app = VigilApp(make_sqlite_context("inspector.northern"))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot)
        assert "downgrade awaiting approval" in str(screen.query_one("#case-heading", Static).render())
        await pilot.press("A")
        await _settle(app, pilot)
        await pilot.press("y")
        await _settle(app, pilot)
        assert "risk standard" in str(screen.query_one("#case-heading", Static).render())
    case = _case(sqlite_database)
    assert (case.risk_level, case.version) == ("standard", 3)


async def test_the_audit_tab_lists_views_and_changes(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    from app.services.case_edits import add_included_classification

    _seed(sqlite_database)
    add_included_classification(make_sqlite_context("officer.northern"), crime_ref=REF, code="8Q",
                                reason="following", expected_version=1)
    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot)
        screen.query_one("#case-tabs").active = "tab-audit"
        await _settle(app, pilot)
        table = screen.query_one("#audit-table", DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert [(r[1], r[3], r[4]) for r in rows] == [
            ("supervisor.northern", "view", "case audit trail viewed"),
            ("supervisor.northern", "view", "case record viewed"),
            # the home list that showed the case names it too
            ("supervisor.northern", "view", "all cases (page 1, 3 rows)"),
            ("officer.northern", "create", "included classification 8Q added: following"),
        ]


async def test_spo_decision_from_the_orders_tab(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("o")
        await _settle(app, pilot)
        app.screen.query_one("#spo-status", Select).value = "considered_not_appropriate"
        app.screen.query_one("#spo-rationale", Input).value = "no course of conduct yet"
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        assert app.screen is screen
        assert screen.query_one("#spo-table", DataTable).row_count == 1
    assert _case(sqlite_database).spo_status == "considered_not_appropriate"


async def test_escape_goes_back_and_enter_opens_a_related_crime(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("analyst"))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot)
        screen.query_one("#case-tabs").active = "tab-conduct"
        await _settle(app, pilot)
        timeline = screen.query_one("#timeline-table", DataTable)
        assert [timeline.get_row_at(i)[2] for i in range(timeline.row_count)] == [
            "NC/25/000400", REF]
        screen.query_one("#conduct-table", DataTable).focus()
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, CaseScreen) and app.screen.crime_ref == "NC/25/000400"
        await pilot.press("escape")
        await _settle(app, pilot)
        assert app.screen is screen
        await pilot.press("escape")
        await _settle(app, pilot)
        assert not isinstance(app.screen, CaseScreen)


def test_case_record_snapshot(snap_compare, make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    with sqlite_database.write() as session:
        case = session.exec(select(Case).where(Case.crime_ref == REF)).one()
        add_risk(session, case, NOW - timedelta(days=1), answers="YYYNNYNNNNN", plan="Panic alarm")
    app = VigilApp(make_sqlite_context("supervisor.northern"))

    async def open_risk_tab(pilot) -> None:  # type: ignore[no-untyped-def]
        await _open(app, pilot)
        app.screen.query_one("#case-tabs").active = "tab-risk"
        await _settle(app, pilot)

    assert snap_compare(app, terminal_size=(160, 48), run_before=open_risk_tab)
