"""The single edit path of a case.

Every change a user makes to a case (or to a record hanging off it: an
order, a breach, an assessment, a DMM item, a screening flag) goes through
:func:`edit_case`:

1. **authorise**: the permission in the case's area (a refusal is audited on
   its own, before any write);
2. **lock**: the case row is read ``SELECT ... FOR UPDATE`` (PostgreSQL; on
   SQLite the write transaction is ``BEGIN IMMEDIATE``, one writer at a time),
   so everything read after it (the breach's acknowledgement, the order's
   status) is the state the change depends on, not a stale copy;
3. **check the version read**: the user's ``expected_version`` must still be
   the case's, else :class:`ConflictError` naming the case and who changed it,
   and nothing is saved;
4. **write** and **audit**, in the caller's block, in the same transaction;
5. **return the new state**: the new version is in :attr:`CaseEdit.version`
   and every service hands it back in its result (screens never compute it).

An addition that overwrites nothing the user read (a screening flag, a breach
recorded against an order) passes ``expected_version=ADDITION``: the case is
still authorised, locked and its version moves, so other editors see it.

An integrity error raised by two writers racing past every check (a unique
reference taken at the same moment) becomes the same "changed by someone
else, nothing saved" message, never SQL text.

Imports (``app/rms/apply.py``) are the source of truth and bump the versions
of the cases they touch in bulk, in one statement; erasure locks the row it
deletes (:func:`lock_case`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.dates import format_local
from app.errors import BadInput, ConflictError, NotFound
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import AuditEvent, Case
from models.enums import AuditAction


class _NoVersionRead(Enum):
    ADDITION = "addition"


# An addition that overwrites nothing the user read: no version to check.
ADDITION = _NoVersionRead.ADDITION


@dataclass
class CaseEdit:
    """An edit in progress: the session, the locked case and its new version
    (unpacks as ``session, case, version``)."""

    session: Session
    case: Case
    version: int
    now: datetime

    def __iter__(self) -> Iterator[Any]:
        return iter((self.session, self.case, self.version))

    def touch(self, case_id: int) -> int:
        """Another case changed by the same edit (a breach's own crime): lock
        it and move its version in this transaction; its new version."""
        return _bump(self.session, lock_case(self.session, case_id=case_id), self.now)


def load_case(session: Session, crime_ref: str) -> Case:
    case = session.execute(select(Case).where(Case.crime_ref == crime_ref)).scalars().first()
    if case is None:
        raise NotFound(f"crime {crime_ref} is not in Vigil")
    return case


def lock_case(session: Session, *, crime_ref: str | None = None,
              case_id: int | None = None) -> Case:
    """The case row, locked for the rest of the transaction and read afresh."""
    stmt = select(Case).execution_options(populate_existing=True)
    stmt = stmt.where(Case.crime_ref == crime_ref) if crime_ref is not None else \
        stmt.where(Case.id == case_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Case)  # type: ignore[arg-type]
    case = session.execute(stmt).scalars().first()
    if case is None:
        raise NotFound(f"crime {crime_ref or f'(case id {case_id})'} is not in Vigil")
    return case


def case_area_of(ctx: ServiceContext, *, crime_ref: str | None = None,
                 case_id: int | None = None) -> tuple[str, str]:
    """(area command, crime reference) of a case, for the permission check."""
    stmt = select(Case.area_command, Case.crime_ref)
    stmt = stmt.where(Case.crime_ref == crime_ref) if crime_ref is not None else \
        stmt.where(Case.id == case_id)
    with ctx.read() as session:
        row = session.execute(stmt).first()
    if row is None:
        if crime_ref is not None:
            from app.services import restricted

            restricted.check_hidden(ctx, crime_ref)  # hidden from this user by the database
        raise NotFound(f"crime {crime_ref or f'(case id {case_id})'} is not in Vigil")
    return str(row._mapping["area_command"]), str(row._mapping["crime_ref"])


def require_version(expected_version: object, crime_ref: str) -> int:
    """The version the user read is required: an edit without it could
    overwrite a change they never saw."""
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise BadInput(f"{crime_ref}: the version of the case you read is required to change it "
                       f"(got {expected_version!r}); reload the case")
    return expected_version


_CHANGES = (AuditAction.CREATE.value, AuditAction.UPDATE.value, AuditAction.DELETE.value)


def last_change(session: Session, crime_ref: str) -> tuple[str, datetime] | None:
    """Who last changed the case and when, from the audit log."""
    row = session.execute(
        select(AuditEvent.username, AuditEvent.at)
        .where(AuditEvent.entity == "case", AuditEvent.entity_id == crime_ref,
               AuditEvent.action.in_(_CHANGES))  # type: ignore[attr-defined]
        .order_by(AuditEvent.id.desc()).limit(1)  # type: ignore[union-attr]
    ).first()
    if row is None:
        return None
    return str(row._mapping["username"]), row._mapping["at"]


def conflict(crime_ref: str, expected: int | None, current: int | None, *,
             changed_by: str | None = None, changed_at: datetime | None = None,
             me: str | None = None) -> ConflictError:
    """The refusal of a stale edit: names the case, both versions and who
    changed it since."""
    who = ""
    if changed_by is not None:
        person = "you, in another window or command" if changed_by == me else changed_by
        when = f" at {format_local(changed_at)}" if changed_at is not None else ""
        who = f": last changed by {person}{when}"
    return ConflictError(
        f"{crime_ref} was changed by someone else since you opened it (your version "
        f"{expected}, now {current}){who}; nothing was saved. Your input is kept: reload the "
        "case and retry.",
        crime_ref=crime_ref, changed_by=changed_by,
    )


def _bump(session: Session, case: Case, now: datetime) -> int:
    new_version = session.execute(
        update(Case).where(Case.id == case.id)
        .values(version=Case.version + 1, last_activity_at=now)
        .returning(Case.version)
    ).scalar()
    session.expire(case, ["version", "last_activity_at"])
    return int(new_version)  # type: ignore[arg-type]


def authorise(ctx: ServiceContext, permission: Permission | tuple[Permission, ...], *,
              area: str, crime_ref: str) -> None:
    """The permission (any of several) in the case's area; a refusal is
    audited and names the last one asked for."""
    wanted = permission if isinstance(permission, tuple) else (permission,)
    if any(ctx.allowed(p, area=area) for p in wanted):
        return
    ctx.require(wanted[-1], area=area, entity="case", entity_id=crime_ref)


@contextmanager
def edit_case(ctx: ServiceContext, *, crime_ref: str | None = None, case_id: int | None = None,
              expected_version: int | _NoVersionRead,
              permission: Permission | tuple[Permission, ...] = Permission.EDIT_CASE,
              race_message: str | None = None) -> Iterator[CaseEdit]:
    """The edit path (see the module): yields the locked case and its new
    version; the caller writes and audits inside the block and returns the
    new state. ``permission``: one, or a tuple of which any will do.
    ``race_message``: what to say when a unique reference was taken at the
    same moment (default: the case was changed by someone else)."""
    area, ref = case_area_of(ctx, crime_ref=crime_ref, case_id=case_id)
    authorise(ctx, permission, area=area, crime_ref=ref)
    expected = None if expected_version is ADDITION else require_version(expected_version, ref)
    now = ctx.now()
    try:
        with ctx.write() as session:
            case = lock_case(session, crime_ref=ref)
            if expected is not None and case.version != expected:
                changed_by, changed_at = last_change(session, ref) or (None, None)
                raise conflict(ref, expected, case.version, changed_by=changed_by,
                               changed_at=changed_at, me=ctx.actor.username)
            version = _bump(session, case, now)
            yield CaseEdit(session=session, case=case, version=version, now=now)
    except IntegrityError:
        raise ConflictError(
            race_message or f"{ref} was changed by someone else at the same moment; nothing "
            "was saved. Reload the case and retry.", crime_ref=ref,
        ) from None
