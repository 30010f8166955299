"""The case record service: opening a case (consultation logging, the reason
outside the user's area), the edits on it, permissions, and the optimistic
lock between two users editing the same case."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, text
from sqlmodel import select

from app.db import Database
from app.errors import BadInput, ConflictError, NotFound, PermissionDenied
from app.services.case_edits import (
    add_included_classification,
    reallocate,
    record_multi_agency_referral,
    record_search,
    remove_included_classification,
)
from app.services.case_lock import edit_case
from app.services.cases import ReasonRequired, needs_reason, open_case
from models import (
    Allocation,
    AuditEvent,
    Case,
    IncludedClassification,
    MultiAgencyReferral,
    SearchRecord,
)
from models.enums import AuditAction
from tests.conftest import NOW
from tests.factories import (
    add_breach,
    add_case,
    add_order,
    add_referral,
    add_risk,
    add_spo_decision,
    add_victim_care,
)

REF = "NC/26/000101"
S2B = "PHA 1997 s2B warrant (stalking)"


def _seed(database: Database) -> None:
    with database.write() as session:
        case = add_case(session, REF, NOW - timedelta(days=3), code="8L", included=("8R",),
                        victim="VIC1", suspect="SUS1", domestic_abuse=True, online=True,
                        summary="Repeated messages after being told to stop", team="Response",
                        officer="PC Ashby")
        add_risk(session, case, NOW - timedelta(days=2), answers="YYYNNNNNNNN",
                 plan="Safety plan agreed")
        order = add_order(session, case, "RO/26/0001", granted_at=NOW - timedelta(days=60))
        earlier = add_case(session, "NC/25/000900", NOW - timedelta(days=90), code="8R",
                           victim="VIC1", suspect="SUS1")
        add_case(session, "NC/25/000950", NOW - timedelta(days=80), code="8L",
                 victim="VIC1", suspect="SOMEONE")  # another suspect: not the same pair
        breach_crime = add_case(session, "NC/26/000120", NOW - timedelta(days=1), code="BRO",
                                victim="VIC1", suspect="SUS1", team="Orders")
        add_breach(session, order, breach_crime, "BR/26/0001", occurred_at=NOW - timedelta(days=1),
                   reported_at=NOW - timedelta(days=1))
        add_victim_care(session, case, needs_assessed_at=NOW - timedelta(days=2))
        add_referral(session, case, "ISAC", NOW - timedelta(days=2))
        add_spo_decision(session, case, "considered_not_appropriate", NOW - timedelta(days=1),
                         rationale="Restraining order in force")
        assert earlier.id
        add_case(session, "SC/26/000001", NOW - timedelta(days=1), area="Southern", code="8Q",
                 victim="VIC9", suspect="SUS9", team="CID")


def _version(database: Database, ref: str = REF) -> int:
    with database.read() as session:
        return session.exec(select(Case.version).where(Case.crime_ref == ref)).one()


def _audit(database: Database, ref: str = REF) -> list[AuditEvent]:
    with database.read() as session:
        return list(session.exec(
            select(AuditEvent).where(AuditEvent.entity == "case", AuditEvent.entity_id == ref)
            .order_by(AuditEvent.id)).all())


# --- opening a case ---------------------------------------------------------
def test_open_case_shows_every_tab_and_records_the_view(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    record = open_case(make_context("supervisor.northern"), crime_ref=REF)
    assert record.version == 1
    assert (record.victim_ref, record.suspect_ref, record.area_command) == ("VIC1", "SUS1", "Northern")
    assert (record.principal.code, record.principal.title) == ("8L", "Harassment")
    assert [(c.code, c.title, c.source) for c in record.included] == [
        ("8R", "Malicious communications", "recording")]
    assert record.risk_level == "medium"
    assert record.latest_assessment is not None
    assert (record.latest_assessment.yes_count, record.latest_assessment.suggested_level) == (3, "medium")
    assert record.latest_assessment.management_plan == "Safety plan agreed"
    assert [o.order_ref for o in record.orders] == ["RO/26/0001"]
    assert [(b.breach_ref, b.breach_crime_ref, b.order_kind) for b in record.breaches] == [
        ("BR/26/0001", "NC/26/000120", "RO")]
    assert record.spo_status == "considered_not_appropriate"
    assert record.spo_decisions[0].rationale == "Restraining order in force"
    assert record.victim_care is not None and record.victim_care.enhanced_rights
    assert [(r.service, r.outcome) for r in record.referrals] == [("ISAC", "pending")]
    assert [a.team for a in record.allocations] == ["Response"]
    # harassment, medium risk, domestic abuse: the standard-risk rule allows Response
    assert record.policy_check.compliant
    assert record.policy_check.rule == "standard_risk"
    assert (record.team_moves, record.too_many_moves) == (0, False)
    # same victim and suspect only, newest first
    assert [c.crime_ref for c in record.course_of_conduct] == ["NC/26/000120", "NC/25/000900"]
    assert record.searches == ()
    assert (record.can_edit, record.can_approve, record.can_view_audit) == (True, True, True)
    assert not record.out_of_area
    events = _audit(database)
    assert [(e.action, e.username, e.reason) for e in events] == [
        ("view", "supervisor.northern", "case record viewed")]


def test_the_breach_crime_shows_its_breach_and_the_original_team(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    record = open_case(make_context("officer.northern"), crime_ref="NC/26/000120")
    assert [b.original_crime_ref for b in record.breaches] == [REF]
    assert record.allocation_facts.original_team == "Response"
    # breaches go to the original team (Response) or Orders/CID: Orders complies
    assert record.policy_check.compliant and record.policy_check.rule == "breach"
    assert record.policy_check.expected_teams == ("Response", "Orders", "CID")
    assert (record.can_edit, record.can_approve, record.can_view_audit) == (True, False, False)


def test_outside_own_area_needs_a_reason_which_is_recorded(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("supervisor.northern")
    assert needs_reason(ctx, crime_ref="SC/26/000001") is True
    assert needs_reason(ctx, crime_ref=REF) is False
    with pytest.raises(ReasonRequired, match="belongs to Southern, outside your area"):
        open_case(ctx, crime_ref="SC/26/000001")
    with pytest.raises(ReasonRequired):
        open_case(ctx, crime_ref="SC/26/000001", reason="   ")
    assert _audit(database, "SC/26/000001") == []
    record = open_case(ctx, crime_ref="SC/26/000001", reason="linked suspect in Northern case")
    assert record.out_of_area and not record.can_edit and not record.can_approve
    [event] = _audit(database, "SC/26/000001")
    assert event.action == "view"
    assert event.reason == ("case record viewed outside own area (Northern): "
                            "linked suspect in Northern case")


def test_force_wide_roles_need_no_reason(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    for user in ("analyst", "auditor"):
        ctx = make_context(user)
        assert needs_reason(ctx, crime_ref="SC/26/000001") is False
        record = open_case(ctx, crime_ref="SC/26/000001")
        assert not record.can_edit
    assert [e.username for e in _audit(database, "SC/26/000001")] == ["analyst", "auditor"]


def test_unknown_case_is_not_found(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    ctx = make_context("supervisor.northern")
    with pytest.raises(NotFound, match="crime NC/00/404 is not in Vigil"):
        open_case(ctx, crime_ref="NC/00/404")
    with pytest.raises(NotFound):
        needs_reason(ctx, crime_ref="NC/00/404")


# --- included classifications ----------------------------------------------------
def test_add_and_remove_included_classification(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("officer.northern")
    result = add_included_classification(ctx, crime_ref=REF, code="8q", reason="following and loitering",
                                         expected_version=1)
    assert result.version == 2
    assert result.message == "8Q Stalking added as an included classification"
    with database.read() as session:
        rows = session.exec(select(IncludedClassification.code, IncludedClassification.added_by,
                                   IncludedClassification.reason, IncludedClassification.source)
                            .join(Case).where(Case.crime_ref == REF)
                            .order_by(IncludedClassification.code)).all()
    assert [tuple(r) for r in rows] == [
        ("8Q", "officer.northern", "following and loitering", "recording"),
        ("8R", "factory", None, "recording")]
    record = open_case(ctx, crime_ref=REF)
    assert record.is_stalking and record.codes == ("8L", "8R", "8Q")
    removed = remove_included_classification(ctx, crime_ref=REF, code="8R",
                                             reason="recorded in error", expected_version=2)
    assert removed.version == 3
    assert [c.code for c in open_case(ctx, crime_ref=REF).included] == ["8Q"]


@pytest.mark.parametrize(("code", "reason", "message"), [
    ("ZZ", "x", "classification 'ZZ' is not a known Home Office class"),
    ("8L", "x", "8L is already the principal classification of NC/26/000101"),
    ("8R", "x", "8R is already an included classification of NC/26/000101"),
    ("8Q", "  ", "a reason for adding the classification is required"),
])
def test_add_included_refuses_bad_input(database: Database, make_context, code: str, reason: str,  # type: ignore[no-untyped-def]
                                        message: str) -> None:
    _seed(database)
    with pytest.raises(BadInput, match=message):
        add_included_classification(make_context("officer.northern"), crime_ref=REF, code=code,
                                    reason=reason, expected_version=1)
    assert _version(database) == 1  # nothing claimed


def test_remove_of_a_code_not_included(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    with pytest.raises(BadInput, match="8Q is not an included classification of NC/26/000101"):
        remove_included_classification(make_context("officer.northern"), crime_ref=REF, code="8Q",
                                       reason="x", expected_version=1)


@pytest.mark.parametrize(("user", "message"), [
    ("officer.southern", r"officer.southern \(Southern\) may not edit case in Northern"),
    ("analyst", "a analyst may not edit case"),
    ("auditor", "a auditor may not edit case"),
])
def test_edits_check_role_and_area(database: Database, make_context, user: str, message: str) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    with pytest.raises(PermissionDenied, match=message):
        add_included_classification(make_context(user), crime_ref=REF, code="8Q", reason="r",
                                    expected_version=1)
    events = _audit(database)
    assert [(e.action, e.username) for e in events] == [("denied", user)]
    assert _version(database) == 1


# --- allocation -----------------------------------------------------------------
def test_reallocate_records_history_and_policy_verdict(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("supervisor.northern")
    result = reallocate(ctx, crime_ref=REF, team="Safeguarding", officer="DC Brook",
                        reason="domestic abuse context", expected_version=1)
    assert (result.version, result.team, result.officer, result.team_moves) == (2, "Safeguarding", "DC Brook", 1)
    assert result.policy_check.compliant
    assert result.message == "NC/26/000101 reallocated to Safeguarding; complies with policy"
    with database.read() as session:
        case = session.exec(select(Case).where(Case.crime_ref == REF)).one()
        history = session.exec(select(Allocation.team, Allocation.officer, Allocation.reason,
                                      Allocation.allocated_by)
                               .where(Allocation.case_id == case.id).order_by(Allocation.id)).all()
    assert (case.allocation_team, case.officer, case.version) == ("Safeguarding", "DC Brook", 2)
    assert [tuple(h) for h in history] == [
        ("Response", "PC Ashby", None, "factory"),
        ("Safeguarding", "DC Brook", "domestic abuse context", "supervisor.northern")]


def test_reallocation_contrary_to_policy_and_too_many_moves(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("supervisor.northern")
    version = 1
    for team in ("CID", "Safeguarding"):
        version = reallocate(ctx, crime_ref=REF, team=team, officer=None, reason="move",
                             expected_version=version).version
    result = reallocate(ctx, crime_ref=REF, team="Orders", officer=None, reason="orders team",
                        expected_version=version)
    assert not result.policy_check.compliant
    assert result.policy_check.expected_teams == ("Response", "Neighbourhood", "Safeguarding", "CID")
    assert result.message.startswith("NC/26/000101 reallocated to Orders; contrary to policy: held by Orders")
    assert (result.team_moves, result.too_many_moves) == (3, True)
    record = open_case(ctx, crime_ref=REF)
    assert record.too_many_moves and not record.policy_check.compliant


@pytest.mark.parametrize(("team", "officer", "reason", "message"), [
    ("Traffic", None, "r", "team 'Traffic': expected one of Response, Neighbourhood, CID"),
    ("Response", "PC Ashby", "r", "NC/26/000101 is already allocated to Response \\(PC Ashby\\)"),
    ("CID", None, "", "a reason for the reallocation is required"),
])
def test_reallocate_refuses_bad_input(database: Database, make_context, team, officer, reason,  # type: ignore[no-untyped-def]
                                      message) -> None:
    _seed(database)
    with pytest.raises(BadInput, match=message):
        reallocate(make_context("supervisor.northern"), crime_ref=REF, team=team, officer=officer,
                   reason=reason, expected_version=1)


# --- searches and multi-agency referrals --------------------------------------------
def test_record_search_under_the_stalking_powers(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("officer.northern")
    result = record_search(ctx, crime_ref=REF, power=S2B, conducted_at=NOW - timedelta(hours=5),
                           officer="PC Ashby", authorised_by="JP Harcourt", premises="Suspect home",
                           items_seized="Laptop; two phones", expected_version=1)
    assert result.version == 2
    with database.read() as session:
        row = session.get(SearchRecord, result.item_id)
    assert (row.power, row.officer, row.authorised_by, row.recorded_by, row.recorded_at) == (
        S2B, "PC Ashby", "JP Harcourt", "officer.northern", NOW)
    record = open_case(ctx, crime_ref=REF)
    assert [(s.power, s.items_seized) for s in record.searches] == [(S2B, "Laptop; two phones")]


@pytest.mark.parametrize(("power", "officer", "when", "message"), [
    ("stop and search", "PC A", NOW, "power 'stop and search': expected one of PHA 1997 s2B"),
    (S2B, " ", NOW, "the officer who searched is required"),
    (S2B, "PC A", NOW + timedelta(days=1), "search date 2026-03-03T08:00:00\\+00:00 is in the future"),
])
def test_record_search_refuses_bad_input(database: Database, make_context, power, officer, when,  # type: ignore[no-untyped-def]
                                         message) -> None:
    _seed(database)
    with pytest.raises(BadInput, match=message):
        record_search(make_context("officer.northern"), crime_ref=REF, power=power, conducted_at=when,
                      officer=officer, authorised_by=None, premises=None, items_seized=None,
                      expected_version=1)


def test_record_multi_agency_referral(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("supervisor.northern")
    result = record_multi_agency_referral(ctx, crime_ref=REF, kind="MARAC",
                                          referred_at=NOW - timedelta(hours=1), expected_version=1)
    with database.read() as session:
        row = session.get(MultiAgencyReferral, result.item_id)
    assert (row.kind, row.referred_by, result.version) == ("MARAC", "supervisor.northern", 2)
    assert [m.kind for m in open_case(ctx, crime_ref=REF).multi_agency] == ["MARAC"]
    with pytest.raises(BadInput, match="multi-agency referral 'MASH': expected one of MARAC, MAPPA, MASIP"):
        record_multi_agency_referral(ctx, crime_ref=REF, kind="MASH", referred_at=NOW,
                                     expected_version=2)


# --- optimistic locking -----------------------------------------------------------
def test_a_stale_edit_is_refused_and_changes_nothing(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    first = make_context("supervisor.northern")
    second = make_context("inspector.northern")
    seen_by_first = open_case(first, crime_ref=REF).version
    seen_by_second = open_case(second, crime_ref=REF).version
    assert seen_by_first == seen_by_second == 1
    reallocate(first, crime_ref=REF, team="CID", officer=None, reason="complex",
               expected_version=seen_by_first)
    with pytest.raises(ConflictError) as conflict:
        add_included_classification(second, crime_ref=REF, code="8Q", reason="stalking behaviours",
                                    expected_version=seen_by_second)
    assert str(conflict.value) == (
        "NC/26/000101 was changed by someone else since you opened it (your version 1, now 2): "
        "last changed by supervisor.northern at 02/03/2026 08:00; nothing was saved. "
        "Your input is kept: reload the case and retry.")
    record = open_case(second, crime_ref=REF)
    assert record.version == 2 and [c.code for c in record.included] == ["8R"]
    assert [e.action for e in _audit(database)] == ["view", "view", "update", "view"]
    # after reloading, the same input goes through
    retry = add_included_classification(second, crime_ref=REF, code="8Q",
                                        reason="stalking behaviours", expected_version=record.version)
    assert retry.version == 3


def test_two_sessions_editing_at_the_same_moment(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    """A holds its edit transaction open; B, with the same version, waits for it
    and is then refused (the database re-checks the version after A commits).

    The order is enforced, not hoped for: B reads the case (version 1) only
    after A has claimed it, and A commits only once B has asked the database
    for the case's lock (``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE`` on
    PostgreSQL, seen on B's thread), and on PostgreSQL only once the server
    shows B waiting for that lock."""
    _seed(database)
    first = make_context("supervisor.northern")
    second = make_context("inspector.northern")
    claimed = threading.Event()
    second_asks_for_lock = threading.Event()
    outcome: dict[str, object] = {}

    def on_statement(_conn, _cursor, statement: str, *_rest) -> None:  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "second-editor" and (
                statement.startswith("BEGIN IMMEDIATE") or "FOR UPDATE" in statement):
            second_asks_for_lock.set()

    def hold() -> None:
        with edit_case(first, crime_ref=REF, expected_version=1) as edit:
            outcome["first"] = edit.version
            claimed.set()
            assert second_asks_for_lock.wait(10), "B never asked for the case's lock"
            if database.dialect == "postgresql":
                outcome["second_waited"] = _backend_waits_for_a_lock(database)

    def contend() -> None:
        assert claimed.wait(10)
        seen = open_case(second, crime_ref=REF).version  # read while A's edit is open
        outcome["second_read"] = seen
        try:
            reallocate(second, crime_ref=REF, team="CID", officer=None, reason="r",
                       expected_version=seen)
        except ConflictError as exc:
            outcome["second"] = exc

    event.listen(database.engine, "before_cursor_execute", on_statement)
    threads = [threading.Thread(target=hold, name="first-editor"),
               threading.Thread(target=contend, name="second-editor")]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        event.remove(database.engine, "before_cursor_execute", on_statement)
    assert outcome["second_read"] == 1
    if database.dialect == "postgresql":
        assert outcome["second_waited"] is True
    assert outcome["first"] == 2
    assert isinstance(outcome["second"], ConflictError)
    assert "your version 1, now 2" in str(outcome["second"])
    with database.read() as session:
        assert session.exec(select(Case.allocation_team).where(Case.crime_ref == REF)).one() == "Response"
    assert AuditAction.UPDATE not in [e.action for e in _audit(database)]


def _backend_waits_for_a_lock(database: Database) -> bool:
    """Whether another backend of this database is waiting for a lock, asked
    of the server until it says so (for at most 10 s)."""
    give_up_at = time.monotonic() + 10
    poll = threading.Event()  # never set: its wait is the pause between questions
    with database.engine.connect() as conn:
        while time.monotonic() < give_up_at:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar()
            conn.rollback()
            if waiting:
                return True
            poll.wait(0.01)
    return False
