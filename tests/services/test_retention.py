"""Retention under MoPI: a review date per case from the policy, the review
list for the force's reviewers, erasure by an administrator that is logged
(what, why, who) and leaves an audit stub."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

import tui
from app.db import Database
from app.errors import BadInput, PermissionDenied
from app.services.audit_trail import case_audit_trail
from app.services.cases import open_case
from app.services.retention import case_review_date, decide_retention, erase_case, review_list
from models import AuditEvent, Case, RetentionDecision, User
from tests.conftest import NOW
from tests.factories import add_case, add_risk


def _force(database: Database) -> None:
    with database.write() as session:
        session.add(User(username="records.admin", display_name="Records administrator",
                         role="admin", area_command=None))
        old = datetime(2018, 1, 10, 9, 0, tzinfo=UTC)
        # closed 2018-01-20: harassment, due after 6 years (2024)
        add_case(session, "NC/18/000001", old, code="8L", status="closed", victim="V1",
                 suspect="S1")
        # stalking closed 2018-01-20: due after 10 years (2028), not yet
        add_case(session, "NC/18/000002", old, code="8Q", status="closed", victim="V2",
                 suspect="S2")
        # harassment, high risk: serious, not yet
        high = add_case(session, "NC/18/000003", old, code="8L", status="closed", victim="V3",
                        suspect="S3")
        add_risk(session, high, old, level="high", answers="YYYYYYYYNNN")
        # open: never reviewed
        add_case(session, "NC/18/000004", old, code="8L", victim="V4", suspect="S4")
        add_case(session, "SC/18/000005", old, code="8R", status="closed", area="Southern",
                 victim="V5", suspect="S5")


def test_review_dates_come_from_the_policy(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _force(database)
    ctx = make_context("auditor")
    closed = datetime(2018, 1, 20, 9, 0, tzinfo=UTC)
    assert case_review_date(ctx, crime_ref="NC/18/000001") == closed.replace(year=2024)
    assert case_review_date(ctx, crime_ref="NC/18/000002") == closed.replace(year=2028)
    assert case_review_date(ctx, crime_ref="NC/18/000003") == closed.replace(year=2028)
    assert case_review_date(ctx, crime_ref="NC/18/000004") is None
    items = review_list(ctx)
    assert [i.crime_ref for i in items] == ["NC/18/000001", "SC/18/000005"]
    assert [i.crime_ref for i in review_list(ctx, area="Southern")] == ["SC/18/000005"]
    with pytest.raises(PermissionDenied):
        review_list(make_context("officer.northern"))


def test_retain_sets_the_next_review_and_leaves_the_list(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _force(database)
    ctx = make_context("auditor")
    result = decide_retention(ctx, crime_ref="NC/18/000001", decision="retain",
                              reason="linked to an ongoing MAPPA case")
    assert result.next_review_at == NOW.replace(year=NOW.year + 5)
    assert case_review_date(ctx, crime_ref="NC/18/000001") == result.next_review_at
    assert "NC/18/000001" not in [i.crime_ref for i in review_list(ctx)]
    with pytest.raises(BadInput, match="is open"):
        decide_retention(ctx, crime_ref="NC/18/000004", decision="dispose", reason="old")


def test_erasure_is_by_an_admin_after_a_review_and_leaves_a_stub(database: Database,
                                                                 make_context) -> None:  # type: ignore[no-untyped-def]
    _force(database)
    auditor, admin = make_context("auditor"), make_context("records.admin")
    open_case(make_context("supervisor.northern"), crime_ref="NC/18/000001")
    with pytest.raises(BadInput, match="no reviewer has decided"):
        erase_case(admin, crime_ref="NC/18/000001", reason="past review")
    decide_retention(auditor, crime_ref="NC/18/000001", decision="dispose",
                     reason="no further policing purpose")
    with pytest.raises(PermissionDenied):
        erase_case(auditor, crime_ref="NC/18/000001", reason="past review")
    result = erase_case(admin, crime_ref="NC/18/000001", reason="MoPI group 3, reviewed")
    assert "erased" in result.message
    with database.read() as session:
        assert session.execute(select(Case.id).where(Case.crime_ref == "NC/18/000001")).first() \
            is None
        decisions = session.execute(select(RetentionDecision.decision)
                                    .where(RetentionDecision.crime_ref == "NC/18/000001")
                                    .order_by(RetentionDecision.id)).scalars().all()
        stub = session.execute(select(AuditEvent).where(AuditEvent.action == "delete",
                                                        AuditEvent.entity_id == "NC/18/000001")
                               ).scalars().one()
    assert decisions == ["dispose", "erased"]
    assert stub.username == "records.admin" and "MoPI group 3, reviewed" in stub.reason
    assert "no further policing purpose" in stub.reason
    assert stub.before["principal_code"] == "8L" and stub.before["victim_ref"] == "V1"
    # the trail outlives the record: who saw it, who decided, who erased
    trail = case_audit_trail(auditor, crime_ref="NC/18/000001")
    assert [e.action for e in trail][:4] == ["view", "delete", "denied", "update"]
    assert any(e.username == "supervisor.northern" and e.action == "view" for e in trail)


def test_retention_from_the_command_line(sqlite_database: Database,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _force(sqlite_database)
    base = ["--db", sqlite_database.url, "--now", NOW.isoformat()]
    assert tui.main(["retention", "list", "--user", "auditor", "--format", "json", *base]) == 0
    assert '"NC/18/000001"' in capsys.readouterr().out
    assert tui.main(["retention", "decide", "NC/18/000001", "--dispose", "--reason", "reviewed",
                     "--user", "auditor", *base]) == 0
    assert tui.main(["retention", "erase", "NC/18/000001", "--reason", "disposal",
                     "--user", "auditor", *base]) == 1
    assert tui.main(["retention", "erase", "NC/18/000001", "--reason", "disposal",
                     "--user", "records.admin", *base]) == 0
    assert "audit log keeps its stub" in capsys.readouterr().err
