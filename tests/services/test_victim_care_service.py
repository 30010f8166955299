"""Victims' Code care on a case: needs assessment, rights, consent, referrals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.db import Database
from app.errors import BadInput, ConflictError, NotFound, PermissionDenied
from app.services.cases import open_case
from app.services.victim_care import refer_victim, update_referral_outcome, update_victim_care
from models import AuditEvent, Case, Referral, VictimCare
from tests.conftest import NOW
from tests.factories import add_case, add_victim_care

REF = "NC/26/000301"
DA_REF = "NC/26/000302"


def _seed(database: Database) -> None:
    with database.write() as session:
        add_case(session, REF, NOW - timedelta(days=2), code="8Q", relationship="stranger")
        add_case(session, DA_REF, NOW - timedelta(days=2), code="8Q", domestic_abuse=True,
                 victim="V2", suspect="S2")


def _care(database: Database, ref: str = REF) -> VictimCare | None:
    with database.read() as session:
        return session.exec(select(VictimCare).join(Case).where(Case.crime_ref == ref)).first()


def _last_event(database: Database, ref: str = REF) -> AuditEvent:
    with database.read() as session:
        return session.exec(select(AuditEvent).where(AuditEvent.entity_id == ref)
                            .order_by(AuditEvent.id.desc())).first()


def test_victim_care_is_created_then_updated(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("officer.northern")
    first = update_victim_care(ctx, crime_ref=REF, needs_assessed_at=NOW - timedelta(days=1),
                               enhanced_rights=True, rights_explained_at=None, consent=None,
                               expected_version=1)
    assert first.version == 2
    event = _last_event(database)
    assert (event.action, event.before) == ("create", None)
    assert event.after == {"needs_assessed_at": (NOW - timedelta(days=1)).isoformat(),
                           "enhanced_rights": True, "rights_explained_at": None, "consent": None,
                           "consent_at": None, "last_update_at": None, "vps_offered_at": None}
    second = update_victim_care(ctx, crime_ref=REF, needs_assessed_at=NOW - timedelta(days=1),
                                enhanced_rights=True, rights_explained_at=NOW, consent=True,
                                expected_version=2)
    care = _care(database)
    assert (care.rights_explained_at, care.consent, second.version) == (NOW, True, 3)
    event = _last_event(database)
    assert event.action == "update"
    assert (event.before["consent"], event.after["consent"]) == (None, True)
    # the consent decision is dated when it changes
    assert (event.before["consent_at"], event.after["consent_at"]) == (None, NOW.isoformat())
    view = open_case(ctx, crime_ref=REF).victim_care
    assert view is not None and view.rights_explained_at == NOW
    with pytest.raises(BadInput, match="nothing changed"):
        update_victim_care(ctx, crime_ref=REF, needs_assessed_at=NOW - timedelta(days=1),
                           enhanced_rights=True, rights_explained_at=NOW, consent=True,
                           expected_version=3)


def test_victim_care_dates_cannot_be_in_the_future(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    with pytest.raises(BadInput, match="rights explained date 2026-03-02T09:00:00\\+00:00 is in the future"):
        update_victim_care(make_context("officer.northern"), crime_ref=REF, needs_assessed_at=None,
                           enhanced_rights=True, rights_explained_at=NOW + timedelta(hours=1),
                           consent=None, expected_version=1)


def test_refer_and_record_the_outcome(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("officer.northern")
    referral = refer_victim(ctx, crime_ref=REF, service="isha", referred_at=NOW - timedelta(hours=3),
                            expected_version=1)
    assert referral.message == "victim referred to Independent Stalking or Harassment Advisor"
    with database.read() as session:
        row = session.get(Referral, referral.item_id)
    assert (row.service, row.outcome, row.referred_by, row.referred_at) == (
        "ISHA", "pending", "officer.northern", NOW - timedelta(hours=3))
    with pytest.raises(BadInput, match="already has a pending referral to ISHA"):
        refer_victim(ctx, crime_ref=REF, service="ISHA", referred_at=NOW, expected_version=2)
    outcome = update_referral_outcome(ctx, referral_id=referral.item_id, outcome="accepted",
                                      expected_version=2)
    assert (outcome.version, outcome.message) == (3, "referral to ISHA: accepted")
    event = _last_event(database)
    assert (event.action, event.before["outcome"], event.after["outcome"]) == ("update", "pending", "accepted")
    assert [(r.service, r.outcome) for r in open_case(ctx, crime_ref=REF).referrals] == [("ISHA", "accepted")]
    with pytest.raises(BadInput, match="referral outcome 'lost': expected one of pending, accepted"):
        update_referral_outcome(ctx, referral_id=referral.item_id, outcome="lost", expected_version=3)
    with pytest.raises(NotFound, match="referral 424242 is not in Vigil"):
        update_referral_outcome(ctx, referral_id=424242, outcome="accepted", expected_version=3)


def test_domestic_abuse_referral_needs_consent(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("officer.northern")
    with pytest.raises(BadInput, match="NC/26/000302 is domestic abuse: record the victim's consent"):
        refer_victim(ctx, crime_ref=DA_REF, service="ISAC", referred_at=NOW, expected_version=1)
    with database.write() as session:
        case = session.exec(select(Case).where(Case.crime_ref == DA_REF)).one()
        add_victim_care(session, case, consent=True)
    result = refer_victim(ctx, crime_ref=DA_REF, service="ISAC", referred_at=NOW, expected_version=1)
    assert result.version == 2


def test_high_risk_domestic_abuse_is_referred_without_consent(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    with database.write() as session:
        case = session.exec(select(Case).where(Case.crime_ref == DA_REF)).one()
        case.risk_level = "high"
        session.add(case)
    result = refer_victim(make_context("officer.northern"), crime_ref=DA_REF, service="PALADIN",
                          referred_at=NOW, expected_version=1)
    assert result.version == 2


@pytest.mark.parametrize(("service", "when", "message"), [
    ("SAMARITANS", NOW, "service 'SAMARITANS': expected one of ISAC, ISHA, PALADIN, HELPLINE, LOCAL"),
    ("ISAC", NOW + timedelta(minutes=5), "referral date .* is in the future"),
    ("ISAC", NOW - timedelta(days=30), "is before NC/26/000301 was reported"),
])
def test_referral_refuses_bad_input(database: Database, make_context, service, when, message) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    with pytest.raises(BadInput, match=message):
        refer_victim(make_context("officer.northern"), crime_ref=REF, service=service,
                     referred_at=when, expected_version=1)


def test_victim_care_edits_check_permission_and_version(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    with pytest.raises(PermissionDenied):
        refer_victim(make_context("analyst"), crime_ref=REF, service="ISAC", referred_at=NOW,
                     expected_version=1)
    with pytest.raises(PermissionDenied):
        update_victim_care(make_context("supervisor.coastal"), crime_ref=REF, needs_assessed_at=NOW,
                           enhanced_rights=True, rights_explained_at=None, consent=True,
                           expected_version=1)
    refer_victim(make_context("officer.northern"), crime_ref=REF, service="ISAC", referred_at=NOW,
                 expected_version=1)
    with pytest.raises(ConflictError):
        update_victim_care(make_context("supervisor.northern"), crime_ref=REF, needs_assessed_at=NOW,
                           enhanced_rights=True, rights_explained_at=None, consent=True,
                           expected_version=1)
    assert _care(database) is None


def test_the_victims_code_list(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    """Consent refused: nothing outstanding and counted apart; signposting is not
    a referral; a referral off the route; an ageing referral; late updates."""
    from app.services.victim_care import victims_code_list
    from tests.factories import add_referral

    ten_days = NOW - timedelta(days=10)
    with database.write() as session:
        refused = add_case(session, "VC/1", ten_days, code="8Q", domestic_abuse=True,
                           victim="V1", suspect="S1")
        care = add_victim_care(session, refused, needs_assessed_at=ten_days, consent=False)
        care.last_update_at = NOW - timedelta(hours=2)
        care.vps_offered_at = ten_days
        session.add(care)
        signposted = add_case(session, "VC/2", ten_days, code="8Q", victim="V2", suspect="S2")
        add_victim_care(session, signposted, needs_assessed_at=ten_days)
        add_referral(session, signposted, "HELPLINE", ten_days + timedelta(hours=2))
        off_route = add_case(session, "VC/3", NOW - timedelta(days=20), code="8Q", victim="V3",
                             suspect="S3", area="Southern")
        add_victim_care(session, off_route, needs_assessed_at=NOW - timedelta(days=20))
        add_referral(session, off_route, "ISAC", NOW - timedelta(days=19))
    listed = victims_code_list(make_context("analyst"))
    gaps = {row.crime_ref: row.state.codes for row in listed.rows}
    assert "VC/1" not in gaps and listed.consent_refused == 1
    assert gaps["VC/2"] == ("REFERRAL_LATE", "UPDATE_LATE")
    # non-domestic stalking goes to ISHA; the ISAC referral is 19 days pending
    assert gaps["VC/3"] == ("REFERRAL_OFF_ROUTE", "REFERRAL_PENDING", "UPDATE_LATE")
    assert listed.cases == 3 and listed.counts["UPDATE_LATE"] == 2
    southern = victims_code_list(make_context("analyst"), area="Southern",
                                 codes=("REFERRAL_PENDING",))
    assert [row.crime_ref for row in southern.rows] == ["VC/3"]
    with database.read() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.entity == "victims_code")
                             .order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.action == "view" and event.username == "analyst"
    with pytest.raises(BadInput, match="gap 'LATE'"):
        victims_code_list(make_context("analyst"), codes=("LATE",))
