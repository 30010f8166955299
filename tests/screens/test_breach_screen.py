"""The breach board screen: levels, the selected pair's timeline, the
supervisor's actions (audited, permission-checked), filtering, live refresh
and a snapshot of the board with the timeline."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from textual.widgets import DataTable, Input, Static

from app.app import VigilApp
from app.db import Database
from app.widgets.timeline import TimelineView
from models import AuditEvent, Breach, Case, ProtectiveOrder
from screens.breaches import BreachBoardScreen
from screens.dialogs import ReasonDialog
from tests import factories as f
from tests.conftest import NOW


def _seed(database: Database) -> None:
    """Northern: an interim SPO breached twice in a week (pair V1/S1) and a
    restraining order breached once (V2/S2); Southern: one RO breach."""
    with database.write() as s:
        f.add_case(s, "NO/26/000101", NOW - timedelta(days=45), code="8R", victim="V1",
                        suspect="S1", team="CID", summary="Messages after the break-up.")
        c2 = f.add_case(s, "NO/26/000102", NOW - timedelta(days=30), code="8Q", victim="V1",
                        suspect="S1", team="CID", domestic_abuse=True,
                        summary="Following her home and waiting outside her work.")
        f.add_risk(s, c2, NOW - timedelta(days=29), answers="YYNNYNYNNNN", level="medium")
        f.add_spo_decision(s, c2, "application_in_preparation", NOW - timedelta(days=27))
        ispo = f.add_order(s, c2, "ISPO/26/0001", kind="ISPO", status="interim_granted",
                           applied_at=NOW - timedelta(days=25), granted_at=NOW - timedelta(days=20),
                           served_at=NOW - timedelta(days=20), expires_at=NOW + timedelta(days=40))
        f.add_breach_crime(s, ispo, "NO/26/000103", "B/26/000001", code="BSPO", victim="V1",
                           suspect="S1", occurred_at=NOW - timedelta(days=6, hours=1),
                           reported_at=NOW - timedelta(days=6),
                           acknowledged_at=NOW - timedelta(days=6) + timedelta(hours=2),
                           acknowledged_by="supervisor.northern")
        f.add_risk(s, c2, NOW - timedelta(days=5), answers="YYNNYNYNNNN", level="medium")
        f.add_breach_crime(s, ispo, "NO/26/000104", "B/26/000002", code="BSPO", victim="V1",
                           suspect="S1", occurred_at=NOW - timedelta(hours=6),
                           reported_at=NOW - timedelta(hours=5))
        # restraining orders breached once, hours ago
        for area, pair, case_ref, order_ref, crime_ref, breach_ref, ages in (
                ("Northern", "2", "NO/26/000201", "RO/25/0009", "NO/26/000202", "B/26/000003",
                 (90, 80, 2)),
                ("Southern", "3", "SO/26/000301", "RO/25/0010", "SO/26/000302", "B/26/000004",
                 (60, 50, 1))):
            crime_days, order_days, hours = ages
            case = f.add_case(s, case_ref, NOW - timedelta(days=crime_days), area=area,
                              victim=f"V{pair}", suspect=f"S{pair}")
            order = f.add_order(s, case, order_ref, kind="RO",
                                granted_at=NOW - timedelta(days=order_days))
            f.add_breach_crime(s, order, crime_ref, breach_ref, area=area, code="BRO",
                               victim=f"V{pair}", suspect=f"S{pair}",
                               occurred_at=NOW - timedelta(hours=hours + 1),
                               reported_at=NOW - timedelta(hours=hours))


async def _settle(app: VigilApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()


def _keys(table: DataTable) -> list[str]:  # type: ignore[type-arg]
    return [row.key.value for row in table.ordered_rows]  # type: ignore[misc]


def _audits(database: Database, entity_id: str) -> list[AuditEvent]:
    with database.read() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.entity_id == entity_id)
                           .order_by(AuditEvent.id)).all())


async def test_board_groups_by_level_and_shows_the_pair_timeline(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="breaches")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, BreachBoardScreen)
        table = screen.query_one(DataTable)
        # level headers as rows, breaches under them, Northern only
        assert _keys(table) == ["level-3", "level-2", "B/26/000002", "level-1", "B/26/000003"]
        assert table.get_row("B/26/000002")[2].plain == "19h 00m left"
        assert table.get_row("B/26/000002")[10].plain == "unack · REPEAT SPO"
        assert table.get_row("B/26/000003")[4].plain == "RO"
        summary = str(screen.query_one("#breach-summary", Static).render())
        assert summary.startswith("Northern · L3 0 · L2 1 · L1 1")
        # the ISPO was served 20 days ago and its subject has not notified
        assert str(screen.query_one("#breach-orders", Static).render()) == (
            "Orders: 0 expiring within 28 days · SPO notifications outstanding: 1 (1 overdue)")
        # the cursor starts on the first breach; its pair's timeline is drawn
        assert screen.selected_item().breach_ref == "B/26/000002"
        timeline = screen.query_one(TimelineView).timeline
        assert timeline is not None and timeline.crime_ref == "NO/26/000102"
        assert [e.kind for e in timeline.events].count("breach") == 2
        assert [e.kind for e in timeline.events].count("crime") == 2
        detail = str(screen.query_one("#breach-detail", Static).render())
        assert "Why: breach of a protective order" in detail
        assert "2 breaches by this suspect against this victim within 30 days" in detail
        # moving to the other breach loads the other pair
        await pilot.press("down", "down")
        await _settle(app, pilot)
        assert screen.selected_item().breach_ref == "B/26/000003"
        assert screen.query_one(TimelineView).timeline.crime_ref == "NO/26/000201"
    views = [a for a in _audits(sqlite_database, "Northern") if a.entity == "breach_board"]
    assert len(views) == 1
    assert [a.reason for a in _audits(sqlite_database, "NO/26/000102") if a.action == "view"] == [
        "course-of-conduct timeline viewed (10 events)"]


async def test_acknowledge_with_a_note_is_audited(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="breaches")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        app.screen.query_one(Input).value = "Subject arrested; victim updated"
        await pilot.press("enter")
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, BreachBoardScreen)
        item = screen.items["B/26/000002"]
        assert item.acknowledged and item.due_for == "re-assessment"
        assert screen.query_one(DataTable).get_row("B/26/000002")[10].plain == "REPEAT SPO"
    with sqlite_database.read() as s:
        breach = s.exec(select(Breach).where(Breach.breach_ref == "B/26/000002")).one()
    assert (breach.acknowledged_by, breach.acknowledgement_note) == (
        "supervisor.northern", "Subject arrested; victim updated")
    audit = _audits(sqlite_database, "NO/26/000102")[-1]
    assert (audit.action, audit.entity, audit.username) == ("update", "case", "supervisor.northern")
    assert audit.reason == "breach B/26/000002 acknowledged: Subject arrested; victim updated"


async def test_escalate_reassess_arrest_and_spo(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="breaches")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        await pilot.press("down", "down")  # B/26/000003, level 1, restraining order
        await _settle(app, pilot)
        assert screen.selected_item().breach_ref == "B/26/000003"
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one(Input).value = "Third report from this victim this month"
        await pilot.press("enter")
        await _settle(app, pilot)
        assert screen.items["B/26/000003"].level == 2
        assert screen.selected_item().breach_ref == "B/26/000003"  # cursor kept by key
        await pilot.press("v")
        await _settle(app, pilot)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("enter")  # blank: now
        await _settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert app.screen.query_one(Input).value == "ISPO"
        await pilot.press("enter")
        await _settle(app, pilot)
        item = screen.items["B/26/000003"]
        assert item.arrest_at == NOW and item.reassessment_requested_at == NOW
        # an application is not an order in force: still expected, but now done
        assert "consider SPO/interim SPO" in item.expected_actions
        assert "consider SPO/interim SPO" not in item.outstanding_actions
        assert "consider arrest" not in item.outstanding_actions
        assert item.manual_level == 2
    with sqlite_database.read() as s:
        case = s.exec(select(Case).where(Case.crime_ref == "NO/26/000201")).one()
        order = s.exec(select(ProtectiveOrder).where(ProtectiveOrder.kind == "ISPO",
                                                     ProtectiveOrder.case_id == case.id)).one()
        crime = s.exec(select(Case).join(Breach, Breach.breach_case_id == Case.id)
                       .where(Breach.breach_ref == "B/26/000003")).one()
    assert (case.spo_status, order.status) == ("applied", "applied")
    # the re-assessment is due on the breach crime, the pair's live record
    assert crime.reassessment_due_at == NOW + timedelta(hours=24)
    reasons = [a.reason for a in _audits(sqlite_database, "NO/26/000201") if a.action != "view"]
    assert reasons == [
        "breach B/26/000003 escalated from level 1 to level 2: Third report from this victim this month",
        "arrest recorded for breach B/26/000003",
        f"SPO application recorded: ISPO {order.order_ref} (applied)",
    ]
    assert [a.reason for a in _audits(sqlite_database, crime.crime_ref)
            if a.action == "update"] == ["risk re-assessment requested after breach B/26/000003"]


async def test_an_officer_cannot_acknowledge(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("officer.northern"), start="breaches")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        await pilot.press("a")
        await _settle(app, pilot)  # the refused attempt is audited in a worker
        assert not app.screen.is_modal  # refused before any dialog, in words
        assert any("Officers cannot acknowledge, escalate or ask to re-assess breaches; "
                   "a supervisor of the area does" in n.message
                   for n in app._notifications)
    with sqlite_database.read() as s:
        assert s.exec(select(Breach.acknowledged_at).where(
            Breach.breach_ref == "B/26/000002")).one() is None
    denied = [a for a in _audits(sqlite_database, "NO/26/000102") if a.action == "denied"]
    assert len(denied) == 1


async def test_filter_by_area_and_reference(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("analyst"), start="breaches")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        table = screen.query_one(DataTable)
        assert [k for k in _keys(table) if k.startswith("B/")] == [
            "B/26/000002", "B/26/000003", "B/26/000004"]  # analysts: force-wide
        await pilot.press("slash")
        await pilot.press(*"southern", "enter")
        await _settle(app, pilot)
        assert [k for k in _keys(table) if k.startswith("B/")] == ["B/26/000004"]
        screen.query_one(Input).value = "V2"
        await pilot.press("slash", "enter")
        await _settle(app, pilot)
        assert [k for k in _keys(table) if k.startswith("B/")] == []  # V2 is in Northern
        screen.query_one(Input).value = "all"
        await pilot.press("slash", "enter")
        await _settle(app, pilot)
        screen.query_one(Input).value = "v2"
        await pilot.press("slash", "enter")
        await _settle(app, pilot)
        assert [k for k in _keys(table) if k.startswith("B/")] == ["B/26/000003"]


async def test_live_refresh_keeps_the_cursor_and_waits_for_dialogs(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="breaches")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        await pilot.press("down", "down")
        await _settle(app, pilot)
        # a new breach arrives for the first pair
        with sqlite_database.write() as s:
            ispo = s.exec(select(ProtectiveOrder).where(ProtectiveOrder.order_ref == "ISPO/26/0001")).one()
            crime = f.add_case(s, "NO/26/000105", NOW - timedelta(minutes=30), code="BSPO",
                               victim="V1", suspect="S1")
            f.add_breach(s, ispo, crime, "B/26/000005", occurred_at=NOW - timedelta(hours=1),
                         reported_at=NOW - timedelta(minutes=30))
        await pilot.press("a")  # a dialog is open: the tick does nothing
        await pilot.pause()
        assert app.live_refresh_paused
        screen.live_refresh()
        await _settle(app, pilot)
        assert "B/26/000005" not in screen.items
        await pilot.press("escape")
        await pilot.pause()
        assert not app.live_refresh_paused  # and the next tick brings the breach in
        screen.live_refresh()
        await _settle(app, pilot)
        assert "B/26/000005" in screen.items
        assert screen.selected_item().breach_ref == "B/26/000003"
    views = [a for a in _audits(sqlite_database, "Northern") if a.entity == "breach_board"]
    # the timed refresh names only the case it brought into view
    assert [v.reason for v in views][1:] == ["breach board refreshed: 1 case newly shown"]
    from models import AuditSubject
    with sqlite_database.read() as s:
        named = s.exec(select(AuditSubject.crime_ref).where(
            AuditSubject.audit_event_id == views[1].id)).all()
    assert named == ["NO/26/000105"]


def test_board_with_timeline_snapshot(snap_compare, make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="breaches")

    async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot.app, pilot)

    assert snap_compare(app, terminal_size=(160, 48), run_before=settle)


# --- the timeline widget's layout (pure) -------------------------------------------------


def test_timeline_columns_and_lanes() -> None:
    from app.services.pair_timeline import Timeline, TimelineEvent
    from app.widgets.timeline import column_for, lay_out_lanes, plain_text

    start, end = NOW - timedelta(days=10), NOW
    assert column_for(start, start, end, 11) == 0
    assert column_for(NOW - timedelta(days=5), start, end, 11) == 5
    assert column_for(end, start, end, 11) == 10
    events = [
        TimelineEvent(start, "crime", "C1", "8Q crime C1 reported"),
        TimelineEvent(NOW - timedelta(days=6), "order", "O1", "ISPO O1 granted",
                      level="interim_granted", stage="granted"),
        TimelineEvent(NOW - timedelta(days=2), "breach", "B1", "breach B1"),
        TimelineEvent(NOW - timedelta(days=2, hours=1), "breach", "B2", "breach B2"),
        TimelineEvent(NOW - timedelta(days=1), "risk", "C1", "risk assessed high", level="high"),
    ]
    lanes = lay_out_lanes(events, 11, start, end)
    assert "".join(c.text for c in lanes["crime"]) == "●··········"
    assert "".join(c.text for c in lanes["breach"]) == "········2··"  # two in one column
    assert "".join(c.text for c in lanes["order"]) == "····■──────"  # in force to the end
    assert lanes["risk"][9].style_key == "risk-high"
    text = plain_text(Timeline("C1", "V1", "S1", tuple(events)), width=80)
    assert "Course of conduct V1 ← S1" in text
    assert "Breaches" in text and "breach B2" in text
    assert plain_text(None).strip() == "Select a breach to see the course of conduct."


async def test_help_lists_the_board_keys(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    from screens.help import HelpScreen, binding_rows

    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="breaches")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        rows = {(key, description) for key, description, _where in binding_rows(app.screen)}
        for expected in (("a", "Acknowledge"), ("e", "Escalate"), ("x", "Arrest"),
                         ("v", "Re-assess"), ("s", "SPO applied"), ("r", "Refresh"),
                         ("/", "Filter")):
            assert expected in rows
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)

