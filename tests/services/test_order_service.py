"""Protective orders and the SPO decision: lifecycle, notification, expiry
lists and the course-of-conduct timeline, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.db import Database
from app.errors import BadInput, ConflictError, NotFound, PermissionDenied
from app.services.breach_recording import record_breach
from app.services.order_lists import notifications_due, orders_expiring
from app.services.orders import (
    change_order_status,
    create_order,
    record_notification,
    record_service,
    record_spo_decision,
)
from app.services.pair_timeline import pair_timeline
from models import AuditEvent, Case, SpoDecision
from tests import factories as f
from tests.conftest import NOW
from tests.factories import case_version


def _stalking_case(database: Database, crime_ref: str = "NO/26/000100", *, area: str = "Northern",
                   victim: str = "V1", suspect: str | None = "S1") -> None:
    with database.write() as s:
        f.add_case(s, crime_ref, NOW - timedelta(days=20), area=area, code="8Q", victim=victim,
                   suspect=suspect, team="CID")


def _case(database: Database, crime_ref: str) -> Case:
    with database.read() as s:
        return s.exec(select(Case).where(Case.crime_ref == crime_ref)).one()


def _audits(database: Database, entity_id: str) -> list[AuditEvent]:
    with database.read() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.entity_id == entity_id)
                           .order_by(AuditEvent.id)).all())


# --- recording orders and moving them on -----------------------------------------


def test_spo_from_preparation_to_granted_moves_the_case_decision(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _stalking_case(database)
    ctx = make_context("supervisor.northern")
    version = _case(database, "NO/26/000100").version
    view = create_order(ctx, crime_ref="NO/26/000100", kind="SPO",
                        status="application_in_preparation", expected_version=version)
    assert (view.order_ref, view.status, view.in_force) == ("SPO/26/00001", "application_in_preparation", False)
    assert view.next_statuses == ("applied",)
    assert view.case_version == version + 1
    assert (view.protected_ref, view.subject_ref) == ("V1", "S1")
    applied = change_order_status(ctx, order_ref="SPO/26/00001", status="applied",
                                  at=NOW - timedelta(days=3), expected_version=case_version(ctx, order_ref="SPO/26/00001"))
    assert applied.applied_at == NOW - timedelta(days=3)
    granted = change_order_status(ctx, order_ref="SPO/26/00001", status="granted",
                                  at=NOW - timedelta(days=1), expires_at=NOW + timedelta(days=730),
                                  note="Full order made at Northtown magistrates", expected_version=case_version(ctx, order_ref="SPO/26/00001"))
    assert (granted.status, granted.granted_at, granted.expires_at, granted.in_force) == (
        "granted", NOW - timedelta(days=1), NOW + timedelta(days=730), True)
    case = _case(database, "NO/26/000100")
    assert case.spo_status == "granted"
    with database.read() as s:
        history = s.exec(select(SpoDecision).where(SpoDecision.case_id == case.id)
                         .order_by(SpoDecision.id)).all()
    assert [d.status for d in history] == ["application_in_preparation", "applied", "granted"]
    audit = _audits(database, "NO/26/000100")
    assert [a.reason for a in audit] == [
        "protective order recorded: SPO SPO/26/00001 (application in preparation)",
        "order SPO/26/00001 (SPO) application in preparation → applied",
        "order SPO/26/00001 (SPO) applied → granted: Full order made at Northtown magistrates",
    ]
    assert audit[-1].before["status"] == "applied" and audit[-1].after["status"] == "granted"


def test_a_transition_not_allowed_names_both_states(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _stalking_case(database)
    ctx = make_context("supervisor.northern")
    create_order(ctx, crime_ref="NO/26/000100", kind="RO", status="granted", order_ref="RO/26/7",
                 granted_at=NOW - timedelta(days=5), expected_version=case_version(ctx, "NO/26/000100"))
    with pytest.raises(BadInput) as excinfo:
        change_order_status(ctx, order_ref="RO/26/7", status="applied", at=NOW, expected_version=case_version(ctx, order_ref="RO/26/7"))
    assert str(excinfo.value) == ("an RO cannot go from granted to applied (from granted it may "
                                  "become varied, renewed, discharged, expired)")
    change_order_status(ctx, order_ref="RO/26/7", status="discharged", at=NOW, expected_version=case_version(ctx, order_ref="RO/26/7"))
    with pytest.raises(BadInput, match="an RO cannot go from discharged to renewed .discharged is final."):
        change_order_status(ctx, order_ref="RO/26/7", status="renewed", at=NOW, expected_version=case_version(ctx, order_ref="RO/26/7"))


def test_court_orders_start_granted(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _stalking_case(database)
    with pytest.raises(BadInput, match="a new NMO order cannot be recorded as applied"):
        create_order(make_context("officer.northern"), crime_ref="NO/26/000100", kind="NMO",
                     status="applied", expected_version=case_version(make_context("officer.northern"), "NO/26/000100"))


def test_order_dates_are_checked(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _stalking_case(database)
    ctx = make_context("officer.northern")
    with pytest.raises(BadInput, match="expires .* before it was granted"):
        create_order(ctx, crime_ref="NO/26/000100", kind="RO", status="granted",
                     granted_at=NOW - timedelta(days=1), expires_at=NOW - timedelta(days=2), expected_version=case_version(ctx, "NO/26/000100"))
    with pytest.raises(BadInput, match="in the future"):
        create_order(ctx, crime_ref="NO/26/000100", kind="RO", status="granted",
                     granted_at=NOW + timedelta(days=1), expected_version=case_version(ctx, "NO/26/000100"))


def test_an_order_needs_a_subject(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _stalking_case(database, suspect=None)
    with pytest.raises(BadInput, match="has no suspect: an order needs a subject"):
        create_order(make_context("officer.northern"), crime_ref="NO/26/000100", kind="SPO",
                     status="application_in_preparation", expected_version=case_version(make_context("officer.northern"), "NO/26/000100"))


def test_duplicate_order_ref(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _stalking_case(database)
    ctx = make_context("officer.northern")
    create_order(ctx, crime_ref="NO/26/000100", kind="RO", status="granted", order_ref="RO/1", expected_version=case_version(ctx, "NO/26/000100"))
    with pytest.raises(BadInput, match="order reference RO/1 is already in Vigil"):
        create_order(ctx, crime_ref="NO/26/000100", kind="RO", status="granted", order_ref="RO/1", expected_version=case_version(ctx, "NO/26/000100"))


def test_orders_are_permission_checked(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _stalking_case(database)
    with pytest.raises(PermissionDenied):
        create_order(make_context("analyst"), crime_ref="NO/26/000100", kind="RO", status="granted", expected_version=case_version(make_context("analyst"), "NO/26/000100"))
    with pytest.raises(PermissionDenied, match="Southern"):
        create_order(make_context("supervisor.southern"), crime_ref="NO/26/000100", kind="RO",
                     status="granted", expected_version=case_version(make_context("supervisor.southern"), "NO/26/000100"))
    with pytest.raises(NotFound, match="order NOPE is not in Vigil"):
        change_order_status(make_context("supervisor.northern"), order_ref="NOPE",
                            status="expired", at=NOW, expected_version=1)


def test_stale_version_is_a_conflict(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _stalking_case(database)
    with pytest.raises(ConflictError):
        create_order(make_context("officer.northern"), crime_ref="NO/26/000100", kind="RO",
                     status="granted", expected_version=99)


# --- the SPO decision --------------------------------------------------------------


def test_spo_decision_not_appropriate_needs_a_rationale(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _stalking_case(database)
    ctx = make_context("supervisor.northern")
    version = _case(database, "NO/26/000100").version
    with pytest.raises(BadInput, match="needs a written rationale"):
        record_spo_decision(ctx, crime_ref="NO/26/000100", status="considered_not_appropriate",
                            rationale="", expected_version=version)
    result = record_spo_decision(ctx, crime_ref="NO/26/000100", status="considered_not_appropriate",
                                 rationale="Single incident; no course of conduct yet",
                                 expected_version=version)
    assert (result.status, result.previous, result.version) == (
        "considered_not_appropriate", "not_considered", version + 1)
    case = _case(database, "NO/26/000100")
    assert case.spo_status == "considered_not_appropriate"
    assert _audits(database, "NO/26/000100")[-1].reason == (
        "SPO decision: considered not appropriate (Single incident; no course of conduct yet)")
    # a later breach may change the answer
    again = record_spo_decision(ctx, crime_ref="NO/26/000100", status="application_in_preparation",
                                rationale=None, expected_version=case.version)
    assert again.previous == "considered_not_appropriate"
    with pytest.raises(BadInput, match="SPO decision cannot go from application in preparation to granted"):
        record_spo_decision(ctx, crime_ref="NO/26/000100", status="granted", rationale=None,
                            expected_version=again.version)
    with pytest.raises(ConflictError):
        record_spo_decision(ctx, crime_ref="NO/26/000100", status="applied", rationale=None,
                            expected_version=case.version)


# --- notification and expiry --------------------------------------------------------


def _orders_fixture(database: Database) -> None:
    with database.write() as s:
        c1 = f.add_case(s, "NO/26/000001", NOW - timedelta(days=100), code="8Q", victim="V1", suspect="S1")
        f.add_order(s, c1, "SPO/26/0001", kind="SPO", granted_at=NOW - timedelta(days=5),
                    served_at=datetime(2026, 2, 26, 15, 45, tzinfo=UTC),
                    expires_at=NOW + timedelta(days=725))
        f.add_order(s, c1, "ISPO/26/0002", kind="ISPO", status="interim_granted",
                    granted_at=NOW - timedelta(days=1), served_at=NOW - timedelta(days=1),
                    expires_at=NOW + timedelta(days=27))
        f.add_order(s, c1, "RO/25/0003", kind="RO", granted_at=NOW - timedelta(days=300),
                    served_at=NOW - timedelta(days=300), expires_at=NOW + timedelta(days=10))
        c2 = f.add_case(s, "SO/26/000001", NOW - timedelta(days=100), area="Southern",
                        victim="V2", suspect="S2")
        f.add_order(s, c2, "NMO/26/0004", kind="NMO", granted_at=NOW - timedelta(days=100),
                    expires_at=NOW + timedelta(days=3))
        f.add_order(s, c2, "NMO/26/0005", kind="NMO", status="expired",
                    granted_at=NOW - timedelta(days=200), expires_at=NOW + timedelta(days=2))
        f.add_order(s, c2, "RO/26/0006", kind="RO", granted_at=NOW - timedelta(days=100),
                    expires_at=NOW + timedelta(days=40))


def test_notifications_due(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _orders_fixture(database)
    due = notifications_due(make_context("analyst"))
    assert [(o.order_ref, o.notification_due_at, o.notification_overdue) for o in due] == [
        ("SPO/26/0001", datetime(2026, 3, 1, 15, 45, tzinfo=UTC), True),
        ("ISPO/26/0002", NOW + timedelta(days=2), False),
    ]
    assert notifications_due(make_context("analyst"), area="Southern") == []
    view = record_notification(make_context("officer.northern"), order_ref="SPO/26/0001",
                               notified_at=NOW - timedelta(hours=1), expected_version=case_version(make_context("officer.northern"), order_ref="SPO/26/0001"))
    assert (view.notified_at, view.notification_overdue) == (NOW - timedelta(hours=1), False)
    assert _audits(database, "NO/26/000001")[-1].reason == (
        "order SPO/26/0001: subject's notification recorded (late)")
    assert [o.order_ref for o in notifications_due(make_context("analyst"))] == ["ISPO/26/0002"]


def test_notification_only_for_served_spos(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _orders_fixture(database)
    ctx = make_context("officer.northern")
    with pytest.raises(BadInput, match="only SPOs and interim SPOs carry the notification"):
        record_notification(ctx, order_ref="RO/25/0003", notified_at=NOW, expected_version=case_version(ctx, order_ref="RO/25/0003"))
    with pytest.raises(BadInput, match="before service"):
        record_notification(ctx, order_ref="ISPO/26/0002", notified_at=NOW - timedelta(days=2), expected_version=case_version(ctx, order_ref="ISPO/26/0002"))
    create_order(ctx, crime_ref="NO/26/000001", kind="SPO", status="granted", order_ref="SPO/X",
                 granted_at=NOW - timedelta(hours=5), expected_version=case_version(ctx, "NO/26/000001"))
    with pytest.raises(BadInput, match="has not been served"):
        record_notification(ctx, order_ref="SPO/X", notified_at=NOW, expected_version=case_version(ctx, order_ref="SPO/X"))
    served = record_service(ctx, order_ref="SPO/X", served_at=NOW - timedelta(hours=4), expected_version=case_version(ctx, order_ref="SPO/X"))
    assert served.notification_due_at == NOW + timedelta(days=3) - timedelta(hours=4)


def test_orders_expiring_within_the_policy_window(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _orders_fixture(database)
    ctx = make_context("analyst")
    assert [o.order_ref for o in orders_expiring(ctx)] == [
        "NMO/26/0004", "RO/25/0003", "ISPO/26/0002"]
    assert [o.order_ref for o in orders_expiring(ctx, area="Northern")] == [
        "RO/25/0003", "ISPO/26/0002"]
    assert [o.order_ref for o in orders_expiring(ctx, within_days=5)] == ["NMO/26/0004"]
    assert [o.order_ref for o in orders_expiring(ctx, within_days=45, area="Southern")] == [
        "NMO/26/0004", "RO/26/0006"]
    with pytest.raises(BadInput, match="give a number of days"):
        orders_expiring(ctx, within_days=-1)
    with database.read() as s:
        audits = s.exec(select(AuditEvent).where(AuditEvent.entity == "orders")).all()
    assert audits[0].reason == "orders expiring within 28 days (force-wide, 3 orders)"


# --- the course-of-conduct timeline ---------------------------------------------------


def test_pair_timeline_in_date_order(database, make_context) -> None:  # type: ignore[no-untyped-def]
    with database.write() as s:
        c1 = f.add_case(s, "NO/26/000001", NOW - timedelta(days=40), code="8L", victim="V1",
                        suspect="S1", summary="Messages after the break-up.")
        c2 = f.add_case(s, "NO/26/000002", NOW - timedelta(days=30), code="8Q", victim="V1",
                        suspect="S1", summary="Following her home.")
        f.add_case(s, "NO/26/000003", NOW - timedelta(days=25), victim="V1", suspect="S9")
        f.add_risk(s, c2, NOW - timedelta(days=29), answers="YYNYYYNNNNY")
        f.add_spo_decision(s, c2, "application_in_preparation", NOW - timedelta(days=28))
        f.add_order(s, c2, "ISPO/26/0001", kind="ISPO", status="interim_granted",
                    applied_at=NOW - timedelta(days=27), granted_at=NOW - timedelta(days=20),
                    served_at=NOW - timedelta(days=19), expires_at=NOW + timedelta(days=40))
        del c1
    record_breach(make_context("officer.northern"), order_ref="ISPO/26/0001",
                  occurred_at=NOW - timedelta(days=2, hours=1), reported_at=NOW - timedelta(days=2),
                  summary="Waited outside her work.", threats_or_violence=True)
    timeline = pair_timeline(make_context("supervisor.northern"), crime_ref="NO/26/000002")
    assert (timeline.victim_ref, timeline.suspect_ref) == ("V1", "S1")
    assert [(e.at, e.kind, e.title) for e in timeline.events] == [
        (NOW - timedelta(days=40), "crime", "8L crime NO/26/000001 reported"),
        (NOW - timedelta(days=30), "crime", "8Q crime NO/26/000002 reported"),
        (NOW - timedelta(days=29), "risk", "risk assessed high"),
        (NOW - timedelta(days=28), "spo_decision", "SPO decision: application in preparation"),
        (NOW - timedelta(days=27), "order", "ISPO ISPO/26/0001 applied for"),
        (NOW - timedelta(days=20), "order", "ISPO ISPO/26/0001 interim granted"),
        (NOW - timedelta(days=19), "order", "ISPO ISPO/26/0001 served"),
        (NOW - timedelta(days=2), "breach", "breach B/26/000001 of ISPO ISPO/26/0001"),
    ]
    breach = timeline.events[-1]
    assert breach.crime_ref == "BC/26/000001"
    assert "threats or violence" in breach.detail and "not acknowledged" in breach.detail
    assert timeline.count("crime") == 2  # the other suspect's crime and the breach crime are not crimes here
    assert (timeline.start, timeline.end) == (NOW - timedelta(days=40), NOW - timedelta(days=2))
    views = [a for a in _audits(database, "NO/26/000002") if a.action == "view"]
    assert [v.reason for v in views] == ["course-of-conduct timeline viewed (8 events)"]
    # the breach crime gives the same pair's timeline
    same = pair_timeline(make_context("analyst"), crime_ref="BC/26/000001", audit=False)
    assert same.events == timeline.events


def test_timeline_without_a_suspect_is_the_case_alone(database, make_context) -> None:  # type: ignore[no-untyped-def]
    _stalking_case(database, suspect=None)
    with database.write() as s:
        f.add_case(s, "NO/26/000200", NOW - timedelta(days=3), victim="V1", suspect=None)
    timeline = pair_timeline(make_context("analyst"), crime_ref="NO/26/000100", audit=False)
    assert [e.ref for e in timeline.events] == ["NO/26/000100"]
    assert timeline.suspect_ref is None
