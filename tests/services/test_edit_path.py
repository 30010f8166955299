"""The one edit path of a case (``app.services.case_lock.edit_case``):
authorise, lock, check the version read, write, audit, return the new version.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.db import Database
from app.errors import BadInput, ConflictError, PermissionDenied
from app.services.case_lock import ADDITION, edit_case
from app.services.permissions import Permission
from models import AuditEvent, Case
from models.enums import AuditAction
from tests.conftest import NOW
from tests.factories import add_case

REF = "NC/26/000301"


def _seed(database: Database) -> None:
    with database.write() as session:
        add_case(session, REF, NOW - timedelta(days=2), code="8L", victim="VIC31",
                 suspect="SUS31", summary="Unwanted messages", team="Response")


def _case(database: Database) -> Case:
    with database.read() as session:
        return session.exec(select(Case).where(Case.crime_ref == REF)).one()


def _events(database: Database) -> list[AuditEvent]:
    with database.read() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.entity_id == REF)
                                 .order_by(AuditEvent.id)))


def _edit_summary(ctx, version: int, text: str) -> int:  # type: ignore[no-untyped-def]
    with edit_case(ctx, crime_ref=REF, expected_version=version) as (session, case, new):
        case.summary = text
        session.add(case)
        ctx.audit(session, AuditAction.UPDATE, "case", REF, reason="summary corrected",
                  after={"summary": text})
        return new


def test_an_edit_writes_audits_and_returns_the_new_version(database: Database,
                                                           make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("supervisor.northern")
    assert _case(database).version == 1
    assert _edit_summary(ctx, 1, "Messages and calls") == 2
    case = _case(database)
    assert (case.version, case.summary) == (2, "Messages and calls")
    assert case.last_activity_at is not None
    (event,) = _events(database)
    assert (event.action, event.username, event.after) == (
        "update", "supervisor.northern", {"summary": "Messages and calls"})


def test_a_stale_version_is_refused_naming_the_case_and_who_changed_it(
        database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    first, second = make_context("supervisor.northern"), make_context("inspector.northern")
    _edit_summary(first, 1, "Messages and calls")
    with pytest.raises(ConflictError) as refused:
        _edit_summary(second, 1, "Something else")
    message = str(refused.value)
    assert message.startswith(f"{REF} was changed by someone else since you opened it "
                              "(your version 1, now 2): last changed by supervisor.northern")
    assert "nothing was saved" in message
    assert (refused.value.crime_ref, refused.value.changed_by) == (REF, "supervisor.northern")
    case = _case(database)
    assert (case.version, case.summary) == (2, "Messages and calls")  # nothing lost, nothing saved
    assert [e.username for e in _events(database)] == ["supervisor.northern"]
    # the same user in another window is told so
    with pytest.raises(ConflictError, match="last changed by you, in another window"):
        _edit_summary(first, 1, "Again")


def test_without_permission_nothing_is_written_and_the_refusal_is_audited(
        database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    southern = make_context("supervisor.southern")
    with pytest.raises(PermissionDenied, match="may not edit case in Northern"):
        _edit_summary(southern, 1, "Not theirs")
    analyst = make_context("analyst")
    with pytest.raises(PermissionDenied):
        _edit_summary(analyst, 1, "Not theirs")
    assert _case(database).version == 1
    assert [(e.action, e.username) for e in _events(database)] == [
        ("denied", "supervisor.southern"), ("denied", "analyst")]


def test_any_of_several_permissions_and_additions(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    officer = make_context("officer.northern")
    with edit_case(officer, crime_ref=REF, expected_version=1,
                   permission=(Permission.DECIDE_DMM, Permission.EDIT_CASE)) as edit:
        assert edit.version == 2
    # an addition checks no version read, yet the version moves
    with edit_case(make_context("analyst"), crime_ref=REF, expected_version=ADDITION,
                   permission=Permission.RAISE_FLAG) as edit:
        assert edit.version == 3
    assert _case(database).version == 3


def test_the_version_read_is_required(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("supervisor.northern")
    with pytest.raises(BadInput, match="the version of the case you read is required"):
        _edit_summary(ctx, None, "No version")  # type: ignore[arg-type]
    assert _case(database).version == 1


def test_an_error_in_the_write_saves_nothing(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("supervisor.northern")
    with pytest.raises(BadInput, match="bad"):
        with edit_case(ctx, crime_ref=REF, expected_version=1) as (session, case, _version):
            case.summary = "half done"
            session.add(case)
            raise BadInput("bad input found after the lock")
    case = _case(database)
    assert (case.version, case.summary) == (1, "Unwanted messages")
