"""Every service action that reads or changes a case writes the right audit
event (DPA 2018 s62): one event, on entity "case" with the crime reference,
the acting user and role, the action, why, and the values before and after."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from app.db import Database
from app.services.audit_trail import case_audit_trail
from app.services.case_edits import (
    add_included_classification,
    reallocate,
    record_multi_agency_referral,
    record_search,
    remove_included_classification,
)
from app.services.cases import open_case
from app.services.risk import approve_risk_assessment, record_risk_assessment
from app.services.victim_care import refer_victim, update_referral_outcome, update_victim_care
from models import AuditEvent, Case, Referral, RiskAssessment
from tests.conftest import NOW
from tests.factories import add_case, add_referral, add_risk

REF = "NC/26/000401"


def _seed(database: Database) -> None:
    with database.write() as session:
        case = add_case(session, REF, NOW - timedelta(days=3), code="8Q", included=("8R",),
                        team="Response")
        add_risk(session, case, NOW - timedelta(days=2), answers="YYYYYYNNNNN", level="high")
        pending = RiskAssessment(case_id=case.id, answers="NNNNNNNNNNN", yes_count=0,
                                 suggested_level="standard", level="medium", rationale="remanded",
                                 assessor="officer.northern", assessed_at=NOW - timedelta(hours=1),
                                 review_due=NOW + timedelta(days=27), approval_required=True)
        session.add(pending)
        add_referral(session, case, "ISAC", NOW - timedelta(days=1))


def _ids(database: Database) -> dict[str, int]:
    with database.read() as session:
        return {
            "assessment": session.exec(select(RiskAssessment.id)
                                       .where(RiskAssessment.approval_required)).one(),
            "referral": session.exec(select(Referral.id)).one(),
        }


@dataclass(frozen=True)
class Expect:
    user: str
    action: str
    reason: str
    before: dict[str, Any] | None = None  # keys that must hold these values
    after: dict[str, Any] | None = None


Call = Callable[[Any, dict[str, int]], object]

ACTIONS: dict[str, tuple[Call, Expect]] = {
    "open_case": (
        lambda ctx, ids: open_case(ctx, crime_ref=REF),
        Expect("officer.northern", "view", "case record viewed"),
    ),
    "open_case outside area": (
        lambda ctx, ids: open_case(ctx, crime_ref=REF, reason="joint investigation"),
        Expect("supervisor.southern", "view",
               "case record viewed outside own area (Southern): joint investigation"),
    ),
    "case_audit_trail": (
        lambda ctx, ids: case_audit_trail(ctx, crime_ref=REF),
        Expect("auditor", "view", "case audit trail viewed"),
    ),
    "add_included_classification": (
        lambda ctx, ids: add_included_classification(ctx, crime_ref=REF, code="8L",
                                                     reason="harassment of the sister",
                                                     expected_version=1),
        Expect("officer.northern", "create",
               "included classification 8L added: harassment of the sister",
               before={"included_codes": ["8R"]},
               after={"included_codes": ["8L", "8R"], "code": "8L", "source": "recording"}),
    ),
    "remove_included_classification": (
        lambda ctx, ids: remove_included_classification(ctx, crime_ref=REF, code="8R",
                                                        reason="duplicate", expected_version=1),
        Expect("officer.northern", "delete", "included classification 8R removed: duplicate",
               before={"included_codes": ["8R"]}, after={"included_codes": []}),
    ),
    "record_risk_assessment": (
        lambda ctx, ids: record_risk_assessment(ctx, crime_ref=REF, answers="YYYYYYYNNNN",
                                                level="high", rationale=None,
                                                management_plan="Daily contact",
                                                expected_version=1),
        Expect("officer.northern", "create",
               "risk assessment recorded: S-DASH 7 yes, suggested high, high set",
               before={"risk_level": "high"},
               after={"level": "high", "yes_count": 7, "management_plan": "Daily contact",
                      "approval_required": False}),
    ),
    "approve_risk_assessment": (
        lambda ctx, ids: approve_risk_assessment(ctx, assessment_id=ids["assessment"],
                                                 expected_version=1),
        Expect("inspector.northern", "update",
               "risk downgrade approved (four-eyes): medium by inspector.northern, "
               "assessed by officer.northern",
               before={"risk_level": "high"},
               after={"risk_level": "medium", "approved_by": "inspector.northern"}),
    ),
    "update_victim_care": (
        lambda ctx, ids: update_victim_care(ctx, crime_ref=REF, needs_assessed_at=NOW,
                                            enhanced_rights=True, rights_explained_at=NOW,
                                            consent=True, expected_version=1),
        Expect("officer.northern", "create", "victim care updated", before=None,
               after={"consent": True, "rights_explained_at": NOW.isoformat()}),
    ),
    "refer_victim": (
        lambda ctx, ids: refer_victim(ctx, crime_ref=REF, service="HELPLINE", referred_at=NOW,
                                      expected_version=1),
        Expect("officer.northern", "create", "victim referred to HELPLINE",
               after={"service": "HELPLINE", "outcome": "pending"}),
    ),
    "update_referral_outcome": (
        lambda ctx, ids: update_referral_outcome(ctx, referral_id=ids["referral"],
                                                 outcome="declined", expected_version=1),
        Expect("officer.northern", "update", "referral to ISAC: outcome declined",
               before={"outcome": "pending"}, after={"outcome": "declined"}),
    ),
    "reallocate": (
        lambda ctx, ids: reallocate(ctx, crime_ref=REF, team="CID", officer="DC Vane",
                                    reason="high risk", expected_version=1),
        Expect("supervisor.northern", "update", "reallocated to CID: high risk",
               before={"team": "Response", "officer": None},
               after={"team": "CID", "officer": "DC Vane", "policy_compliant": True,
                      "team_moves": 1}),
    ),
    "record_search": (
        lambda ctx, ids: record_search(ctx, crime_ref=REF, power="PACE s18 (after arrest)",
                                       conducted_at=NOW, officer="PC Wren", authorised_by="Insp Kay",
                                       premises="Flat 2", items_seized=None, expected_version=1),
        Expect("officer.northern", "create", "search recorded under PACE s18 (after arrest)",
               after={"power": "PACE s18 (after arrest)", "officer": "PC Wren",
                      "authorised_by": "Insp Kay"}),
    ),
    "record_multi_agency_referral": (
        lambda ctx, ids: record_multi_agency_referral(ctx, crime_ref=REF, kind="MAPPA",
                                                      referred_at=NOW, expected_version=1),
        Expect("supervisor.northern", "create", "MAPPA referral recorded",
               after={"kind": "MAPPA", "outcome": None}),
    ),
}

ROLES = {"officer.northern": "officer", "supervisor.northern": "supervisor",
         "inspector.northern": "supervisor", "supervisor.southern": "supervisor",
         "auditor": "auditor"}


@pytest.mark.parametrize("name", list(ACTIONS))
def test_action_writes_its_audit_event(database: Database, make_context, name: str) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    call, expect = ACTIONS[name]
    ids = _ids(database)
    call(make_context(expect.user), ids)
    with database.read() as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
        version = session.exec(select(Case.version).where(Case.crime_ref == REF)).one()
    assert len(events) == 1, [(e.action, e.reason) for e in events]
    [event] = events
    assert (event.entity, event.entity_id, event.username, event.role, event.action) == (
        "case", REF, expect.user, ROLES[expect.user], expect.action)
    assert event.reason == expect.reason
    assert event.at == NOW
    if expect.action == "view":
        assert (event.before, event.after, version) == (None, None, 1)
    else:
        assert version == 2  # every change claims the case's lock
    if name == "update_victim_care":
        assert event.before is None  # victim care created by this edit
    for key, value in (expect.before or {}).items():
        assert event.before[key] == value, key
    for key, value in (expect.after or {}).items():
        assert event.after[key] == value, key


def test_every_case_action_is_covered() -> None:
    """A new public action in the case services must be added to ACTIONS."""
    import inspect

    from app.services import audit_trail, case_edits, cases, risk, victim_care

    public = set()
    for module in (cases, case_edits, risk, victim_care, audit_trail):
        for fname, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or fname.startswith("_"):
                continue
            params = inspect.signature(fn).parameters
            keyword_version = ("expected_version" in params and params["expected_version"].kind
                               == inspect.Parameter.KEYWORD_ONLY)
            if "ctx" in params and (keyword_version or fname in {"open_case", "case_audit_trail"}):
                public.add(fname)
    assert public == {name.split(" ")[0] for name in ACTIONS}


def test_the_trail_shows_who_viewed_and_changed_the_case(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    officer = make_context("officer.northern")
    open_case(officer, crime_ref=REF)
    add_included_classification(officer, crime_ref=REF, code="8L", reason="sister harassed",
                                expected_version=1)
    open_case(make_context("supervisor.southern"), crime_ref=REF, reason="linked suspect")
    trail = case_audit_trail(make_context("auditor"), crime_ref=REF)
    assert [(e.username, e.action, e.reason) for e in trail] == [
        ("auditor", "view", "case audit trail viewed"),
        ("supervisor.southern", "view",
         "case record viewed outside own area (Southern): linked suspect"),
        ("officer.northern", "create", "included classification 8L added: sister harassed"),
        ("officer.northern", "view", "case record viewed"),
    ]
    assert trail[2].changed == ("code", "included_codes", "source", "title")
    assert trail[0].is_view and not trail[2].is_view


def test_officers_and_analysts_may_not_read_the_trail(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    from app.errors import PermissionDenied

    _seed(database)
    for user in ("officer.northern", "analyst"):
        with pytest.raises(PermissionDenied):
            case_audit_trail(make_context(user), crime_ref=REF)
    with database.read() as session:
        actions = session.exec(select(AuditEvent.action, AuditEvent.username)).all()
    assert [tuple(a) for a in actions] == [("denied", "officer.northern"), ("denied", "analyst")]
