"""S-DASH assessments on a case and the four-eyes rule on lowering from high."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.db import Database
from app.errors import BadInput, ConflictError, NotFound, PermissionDenied
from app.services.cases import open_case
from app.services.risk import approve_risk_assessment, record_risk_assessment
from models import AuditEvent, Case, RiskAssessment
from tests.conftest import NOW
from tests.factories import add_case, add_risk

REF = "NC/26/000201"


def _seed(database: Database, *, risk: str | None = None, answers: str = "NNNNNNNNNNN",
          reassessment_due: bool = False) -> None:
    with database.write() as session:
        case = add_case(session, REF, NOW - timedelta(days=5), code="8Q", domestic_abuse=True)
        if risk:
            add_risk(session, case, NOW - timedelta(days=4), answers=answers, level=risk,
                     assessor="officer.northern")
        if reassessment_due:
            case.reassessment_due_at = NOW - timedelta(hours=2)
            session.add(case)


def _case(database: Database) -> Case:
    with database.read() as session:
        return session.exec(select(Case).where(Case.crime_ref == REF)).one()


def _assessments(database: Database) -> list[RiskAssessment]:
    with database.read() as session:
        return list(session.exec(select(RiskAssessment).order_by(RiskAssessment.id)).all())


def _events(database: Database) -> list[AuditEvent]:
    with database.read() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.entity_id == REF)
                                 .order_by(AuditEvent.id)).all())


def test_assessment_sets_the_case_level_and_review_date(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database, reassessment_due=True)
    ctx = make_context("officer.northern")
    result = record_risk_assessment(ctx, crime_ref=REF, answers="YYYNNNNNNNN", level="medium",
                                    rationale=None, management_plan="Panic alarm; daily contact",
                                    expected_version=1)
    assert (result.yes_count, result.suggested_level, result.level) == (3, "medium", "medium")
    assert (result.approval_required, result.case_risk_level, result.version) == (False, "medium", 2)
    assert result.review_due == NOW + timedelta(days=28)
    case = _case(database)
    assert (case.risk_level, case.risk_assessed_at, case.risk_review_due) == (
        "medium", NOW, NOW + timedelta(days=28))
    assert case.reassessment_due_at is None
    [row] = _assessments(database)
    assert (row.tool, row.tool_version, row.answers, row.assessor, row.management_plan) == (
        "S-DASH", "2009", "YYYNNNNNNNN", "officer.northern", "Panic alarm; daily contact")
    [event] = _events(database)
    assert event.action == "create"
    assert event.reason == "risk assessment recorded: S-DASH 3 yes, suggested medium, medium set"
    assert event.before["risk_level"] is None
    assert event.before["reassessment_due_at"] == (NOW - timedelta(hours=2)).isoformat()
    assert event.after["level"] == "medium" and event.after["answers"] == "YYYNNNNNNNN"


def test_answers_as_booleans(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    answers = [True] * 6 + [False] * 5
    result = record_risk_assessment(make_context("officer.northern"), crime_ref=REF, answers=answers,
                                    level="high", rationale=None, management_plan=None,
                                    expected_version=1)
    assert (result.yes_count, result.suggested_level, result.case_risk_level) == (6, "high", "high")
    assert result.review_due == NOW + timedelta(days=7)


def test_raising_on_professional_judgement_needs_no_rationale(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    result = record_risk_assessment(make_context("officer.northern"), crime_ref=REF,
                                    answers="YNNNNNNNNNN", level="high", rationale=None,
                                    management_plan=None, expected_version=1)
    assert (result.suggested_level, result.level, result.approval_required) == ("standard", "high", False)
    assert _case(database).risk_level == "high"


def test_lowering_below_the_suggestion_needs_a_rationale(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("officer.northern")
    with pytest.raises(BadInput, match=r"setting standard below the suggested medium \(4 yes\) "
                                       "needs a written rationale"):
        record_risk_assessment(ctx, crime_ref=REF, answers="YYYYNNNNNNN", level="standard",
                               rationale="  ", management_plan=None, expected_version=1)
    assert _assessments(database) == [] and _case(database).version == 1
    result = record_risk_assessment(ctx, crime_ref=REF, answers="YYYYNNNNNNN", level="standard",
                                    rationale="Suspect now in custody", management_plan=None,
                                    expected_version=1)
    # four-eyes: below the suggestion waits for a second supervisor; the case,
    # unassessed before, carries the suggested (higher) level meanwhile
    assert (result.approval_required, result.case_risk_level) == (True, "medium")
    assert _assessments(database)[0].rationale == "Suspect now in custody"


def test_lowering_from_high_waits_for_a_second_supervisor(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database, risk="high", answers="YYYYYYNNNNN")
    assessor = make_context("supervisor.northern")
    with pytest.raises(BadInput, match="lowering the level from high to medium needs a written rationale"):
        record_risk_assessment(assessor, crime_ref=REF, answers="YYYNNNNNNNN", level="medium",
                               rationale=None, management_plan=None, expected_version=1)
    result = record_risk_assessment(assessor, crime_ref=REF, answers="YYYNNNNNNNN", level="medium",
                                    rationale="Suspect remanded", management_plan="Review on release",
                                    expected_version=1)
    assert result.approval_required and result.case_risk_level == "high"
    assert "waits for a second supervisor's approval (the case stays high)" in result.message
    case = _case(database)
    assert (case.risk_level, case.risk_assessed_at) == ("high", NOW - timedelta(days=4))
    pending = _assessments(database)[-1]
    assert (pending.approval_required, pending.approved_by, pending.level) == (True, None, "medium")
    assert open_case(assessor, crime_ref=REF).pending_assessment.id == pending.id

    # the assessor may not approve their own downgrade: refused and audited
    with pytest.raises(PermissionDenied, match="four-eyes rule: you assessed NC/26/000201 yourself"):
        approve_risk_assessment(assessor, assessment_id=pending.id, expected_version=2)
    assert _events(database)[-1].action == "denied"
    # an officer may not approve; nor a supervisor of another area
    with pytest.raises(PermissionDenied):
        approve_risk_assessment(make_context("officer.northern"), assessment_id=pending.id,
                                expected_version=2)
    with pytest.raises(PermissionDenied, match=r"supervisor.southern \(Southern\) may not"):
        approve_risk_assessment(make_context("supervisor.southern"), assessment_id=pending.id,
                                expected_version=2)
    assert _case(database).risk_level == "high"

    approved = approve_risk_assessment(make_context("inspector.northern"), assessment_id=pending.id,
                                       expected_version=2)
    assert (approved.level, approved.approved_by, approved.version) == ("medium", "inspector.northern", 3)
    case = _case(database)
    assert (case.risk_level, case.risk_assessed_at, case.risk_review_due) == (
        "medium", NOW, NOW + timedelta(days=28))
    row = _assessments(database)[-1]
    assert (row.approved_by, row.approved_at) == ("inspector.northern", NOW)
    event = _events(database)[-1]
    assert (event.action, event.username) == ("update", "inspector.northern")
    assert event.before["risk_level"] == "high" and event.after["risk_level"] == "medium"
    with pytest.raises(BadInput, match="was already approved by inspector.northern"):
        approve_risk_assessment(make_context("inspector.northern"), assessment_id=pending.id,
                                expected_version=3)


def test_a_high_suggestion_set_lower_on_an_unassessed_case(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    result = record_risk_assessment(make_context("officer.northern"), crime_ref=REF,
                                    answers="YYYYYYYNNNN", level="medium", rationale="Context",
                                    management_plan=None, expected_version=1)
    # nothing to keep: until a second supervisor approves, the case carries the
    # checklist's high suggestion, never "unassessed"
    assert result.approval_required and result.case_risk_level == "high"
    assert _case(database).risk_level == "high"


def test_only_the_newest_pending_assessment_can_be_approved(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database, risk="high", answers="YYYYYYNNNNN")
    officer = make_context("officer.northern")
    first = record_risk_assessment(officer, crime_ref=REF, answers="NNNNNNNNNNN", level="standard",
                                   rationale="r1", management_plan=None, expected_version=1)
    record_risk_assessment(officer, crime_ref=REF, answers="NNNNNNNNNNN", level="high",
                           rationale=None, management_plan=None, expected_version=first.version)
    with pytest.raises(BadInput, match="a newer risk assessment was recorded"):
        approve_risk_assessment(make_context("supervisor.northern"),
                                assessment_id=first.assessment_id, expected_version=3)


def test_an_assessment_that_needs_no_approval(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    result = record_risk_assessment(make_context("officer.northern"), crime_ref=REF,
                                    answers="NNNNNNNNNNN", level="standard", rationale=None,
                                    management_plan=None, expected_version=1)
    with pytest.raises(BadInput, match=f"risk assessment {result.assessment_id} on {REF} needs no approval"):
        approve_risk_assessment(make_context("supervisor.northern"),
                                assessment_id=result.assessment_id, expected_version=2)
    with pytest.raises(NotFound, match="risk assessment 999999 is not in Vigil"):
        approve_risk_assessment(make_context("supervisor.northern"), assessment_id=999999,
                                expected_version=2)


@pytest.mark.parametrize(("answers", "level", "message"), [
    ("YYY", "high", "expected 11 Y/N letters, got 3"),
    ("YYYNNNNNNN?", "high", "only Y and N allowed"),
    ("NNNNNNNNNNN", "severe", "level 'severe': expected standard, medium or high"),
])
def test_bad_forms_are_refused(database: Database, make_context, answers, level, message) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    with pytest.raises(BadInput, match=message):
        record_risk_assessment(make_context("officer.northern"), crime_ref=REF, answers=answers,
                               level=level, rationale=None, management_plan=None,
                               expected_version=1)


def test_a_stale_assessment_is_refused(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    officer = make_context("officer.northern")
    record_risk_assessment(officer, crime_ref=REF, answers="NNNNNNNNNNN", level="standard",
                           rationale=None, management_plan=None, expected_version=1)
    with pytest.raises(ConflictError, match="your version 1, now 2"):
        record_risk_assessment(make_context("supervisor.northern"), crime_ref=REF,
                               answers="YYYYYYYYYYY", level="high", rationale=None,
                               management_plan=None, expected_version=1)
    assert [a.level for a in _assessments(database)] == ["standard"]


def test_approval_with_a_stale_version_is_refused(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database, risk="high", answers="YYYYYYNNNNN")
    pending = record_risk_assessment(make_context("officer.northern"), crime_ref=REF,
                                     answers="NNNNNNNNNNN", level="standard", rationale="r",
                                     management_plan=None, expected_version=1)
    with pytest.raises(ConflictError):
        approve_risk_assessment(make_context("supervisor.northern"),
                                assessment_id=pending.assessment_id, expected_version=1)
    assert _case(database).risk_level == "high"
