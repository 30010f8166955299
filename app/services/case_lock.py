"""The single edit path of a case.

Every change a user makes to a case (or to a record hanging off it: an
order, a breach, an assessment) goes through :func:`edit_case` or
:func:`edit_case_by_id`:

1. **authorise**: the permission in the case's area (a refusal is audited on
   its own, before any write);
2. **lock**: the case row is read ``SELECT ... FOR UPDATE`` (PostgreSQL; on
   SQLite the write transaction is ``BEGIN IMMEDIATE``, one writer at a time),
   so everything read after it — the breach's acknowledgement, the order's
   status — is the state the change depends on, not a stale copy;
3. **check the version read**: the user's ``expected_version`` must still be
   the case's, else :class:`ConflictError` and nothing is saved;
4. **write** and **audit**, in the caller's block, in the same transaction;
5. **return the new state**: the new version is in :attr:`CaseEdit.version`.

An integrity error raised by two writers racing past every check (a unique
reference taken at the same moment) becomes the same "changed by someone
else, nothing saved" message, never SQL text.

:func:`claim_case` remains for system actions (an import, a breach crime
recorded against an order), which are the source of truth and check no
version; it also locks the row first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.errors import BadInput, ConflictError, NotFound
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import Case


@dataclass
class CaseEdit:
    """An edit in progress: the session, the locked case and its new version."""

    session: Session
    case: Case
    version: int


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
        raise NotFound(f"crime {crime_ref or f'(case id {case_id})'} is not in Vigil")
    return str(row[0]), str(row[1])


def require_version(expected_version: object, crime_ref: str) -> int:
    """The version the user read is required: an edit without it could
    overwrite a change they never saw."""
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise BadInput(f"{crime_ref}: the version of the case you read is required to change it "
                       f"(got {expected_version!r}); reload the case")
    return expected_version


def conflict(crime_ref: str, expected: int | None, current: int | None) -> ConflictError:
    return ConflictError(
        f"{crime_ref} was changed by someone else since you opened it (your version "
        f"{expected}, now {current}); nothing was saved. Your input is kept: reload the "
        "case and retry."
    )


def _bump(session: Session, case: Case, now: datetime) -> int:
    new_version = session.execute(
        update(Case).where(Case.id == case.id)
        .values(version=Case.version + 1, last_activity_at=now)
        .returning(Case.version)
    ).scalar()
    session.expire(case, ["version", "last_activity_at"])
    return int(new_version)  # type: ignore[arg-type]


@contextmanager
def edit_case(ctx: ServiceContext, *, crime_ref: str | None = None, case_id: int | None = None,
              expected_version: int, permission: Permission = Permission.EDIT_CASE
              ) -> Iterator[CaseEdit]:
    """The edit path (see the module): yields the locked case and its new
    version; the caller writes and audits inside the block."""
    area, ref = case_area_of(ctx, crime_ref=crime_ref, case_id=case_id)
    ctx.require(permission, area=area, entity="case", entity_id=ref)
    expected = require_version(expected_version, ref)
    try:
        with ctx.write() as session:
            case = lock_case(session, crime_ref=ref)
            if case.version != expected:
                raise conflict(ref, expected, case.version)
            version = _bump(session, case, ctx.now())
            yield CaseEdit(session=session, case=case, version=version)
    except IntegrityError:
        raise ConflictError(
            f"{ref} was changed by someone else at the same moment; nothing was saved. "
            "Reload the case and retry."
        ) from None


def claim_case(session: Session, case_id: int, expected_version: int | None, now: datetime,
               *, crime_ref: str | None = None) -> int:
    """Lock the case row and bump its version inside the caller's transaction;
    return the new version. ``expected_version=None`` skips the check (system
    actions such as an import, which are the source of truth)."""
    case = lock_case(session, case_id=case_id)
    if expected_version is not None and case.version != expected_version:
        raise conflict(crime_ref or case.crime_ref, expected_version, case.version)
    return _bump(session, case, now)
