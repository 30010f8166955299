"""Every service action as every role, and as a supervisor of another area:
allowed or denied as the table below says; every denial is audited.

The table is written here, independently of app/services/permissions.py, so a
change to who may do what has to change both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.db import Database
from app.errors import PermissionDenied
from app.services import (
    assurance,
    audit_trail,
    breach_actions,
    breaches,
    case_edits,
    cases,
    dmm,
    orders,
    risk,
    screening,
    screening_flags,
    victim_care,
)
from app.services import search as search_service
from app.services.context import ServiceContext
from models import AuditEvent, Case
from tests.conftest import NOW
from tests.factories import add_breach, add_case, add_order, case_version

REF = "NC/26/AM0001"
BREACH_CRIME = "NC/26/AM0002"

USERS = ("supervisor.northern", "supervisor.southern", "officer.northern", "analyst",
         "auditor", "trainer")
S, X, OFF, A, U, T = USERS  # supervisor here, elsewhere, officer, analyst, auditor, trainer

# action -> the users allowed (the trainer is on a live database: never allowed)
MATRIX: dict[str, set[str]] = {
    "open case": {S, X, OFF, A, U},
    "search": {S, X, OFF, A, U},
    "add included classification": {S, OFF},
    "record risk assessment": {S, OFF},
    "refer victim": {S, OFF},
    "reallocate": {S, OFF},
    "view DMM queue": {S, X, A, U},
    "prepare DMM agenda": {S, X, A, U},
    "record DMM decision": {S},
    "view breach board": {S, X, OFF, A, U},
    "acknowledge breach": {S},
    "record SPO decision": {S, OFF},
    "run screening": {A},
    "raise screening flag": {A},
    "assurance report": {S, X, A, U},
    "case audit trail": {S, X, U},
}


def _version(ctx: ServiceContext) -> int:
    with ctx.read() as session:
        return int(session.execute(select(Case.version).where(Case.crime_ref == REF)).scalar())


ACTIONS: dict[str, Callable[[ServiceContext], Any]] = {
    "open case": lambda c: cases.open_case(c, crime_ref=REF, reason="matrix test"),
    "search": lambda c: search_service.search_cases(c, search_service.CaseSearch(code="8Q")),
    "add included classification": lambda c: case_edits.add_included_classification(
        c, crime_ref=REF, code="8R", reason="matrix test", expected_version=_version(c)),
    "record risk assessment": lambda c: risk.record_risk_assessment(
        c, crime_ref=REF, answers="YNNNNNNNNNN", level="standard", rationale="matrix test",
        management_plan=None, expected_version=_version(c)),
    "refer victim": lambda c: victim_care.refer_victim(
        c, crime_ref=REF, service="ISAC", referred_at=NOW, expected_version=_version(c)),
    "reallocate": lambda c: case_edits.reallocate(
        c, crime_ref=REF, team="CID", officer=None, reason="matrix test",
        expected_version=_version(c)),
    "view DMM queue": lambda c: dmm.build_queue(c, area="Northern", meeting_date=NOW.date()),
    "prepare DMM agenda": lambda c: dmm.prepare_queue(c, area="Northern",
                                                      meeting_date=NOW.date()),
    "record DMM decision": lambda c: dmm.record_decision(
        c, area="Northern", meeting_date=NOW.date(), crime_ref=REF,
        decision="no_further_action", rationale="matrix test", expected_version=case_version(c, crime_ref=REF)),
    "view breach board": lambda c: breaches.breach_board(c, area="Northern"),
    "acknowledge breach": lambda c: breach_actions.acknowledge_breach(
        c, breach_ref="BR/AM/1", note="matrix test", expected_version=case_version(c, breach_ref="BR/AM/1")),
    "record SPO decision": lambda c: orders.record_spo_decision(
        c, crime_ref=REF, status="considered_not_appropriate", rationale="matrix test",
        expected_version=_version(c)),
    "run screening": lambda c: screening.run_screening(c),
    "raise screening flag": lambda c: screening_flags.raise_flag(
        c, crime_ref=BREACH_CRIME, suggested_change="add_included_stalking",
        reason="matrix test"),
    "assurance report": lambda c: assurance.assurance_report(
        c, date_from=date(2026, 1, 1), date_to=date(2026, 3, 1)),
    "case audit trail": lambda c: audit_trail.case_audit_trail(c, crime_ref=REF,
                                                               reason="matrix test"),
}


def _denials(database: Database) -> int:
    with database.read() as session:
        return int(session.execute(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "denied")).scalar())


def test_matrix_covers_every_action() -> None:
    assert set(MATRIX) == set(ACTIONS)


@pytest.mark.parametrize("username", USERS)
def test_access_matrix(database: Database, make_context, username: str) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        original = add_case(session, REF, NOW - timedelta(days=1), code="8Q", victim="AMV",
                            suspect="AMS", summary="Followed and watched the victim.")
        order = add_order(session, original, "RO/AM/1", granted_at=NOW - timedelta(days=30),
                          served_at=NOW - timedelta(days=30))
        crime = add_case(session, BREACH_CRIME, NOW - timedelta(hours=3), code="BRO",
                         victim="AMV", suspect="AMS", linked_case=original,
                         summary="Turned up outside her home again.")
        add_breach(session, order, crime, "BR/AM/1", occurred_at=NOW - timedelta(hours=4),
                   reported_at=NOW - timedelta(hours=3))
    ctx = make_context(username)
    outcomes: dict[str, bool] = {}
    for action, call in ACTIONS.items():
        before = _denials(database)
        try:
            call(ctx)
            outcomes[action] = True
        except PermissionDenied:
            outcomes[action] = False
            assert _denials(database) == before + 1, f"{action}: denial not audited"
    expected = {action: username in allowed for action, allowed in MATRIX.items()}
    assert outcomes == expected
