"""Optimistic locking on a case.

Every change to a case (or to a record hanging off it) goes through
:func:`claim_case`: it bumps ``crime_case.version`` only if it still holds the
version the user read, and raises :class:`ConflictError` otherwise, so a
conflicting edit from another user is refused instead of overwriting theirs.
It also moves ``last_activity_at`` (the incremental screening run keys on it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from app.errors import ConflictError, NotFound
from models import Case


def load_case(session: Session, crime_ref: str) -> Case:
    case = session.execute(select(Case).where(Case.crime_ref == crime_ref)).scalars().first()
    if case is None:
        raise NotFound(f"crime {crime_ref} is not in Vigil")
    return case


def claim_case(session: Session, case_id: int, expected_version: int | None, now: datetime,
               *, crime_ref: str | None = None) -> int:
    """Bump the case's version inside the caller's transaction; return the new
    version. ``expected_version=None`` skips the check (system actions such as
    an import, which are the source of truth)."""
    stmt = update(Case).where(Case.id == case_id)
    if expected_version is not None:
        stmt = stmt.where(Case.version == expected_version)
    stmt = stmt.values(version=Case.version + 1, last_activity_at=now).returning(Case.version)
    new_version = session.execute(stmt).scalar()
    if new_version is None:
        ref = crime_ref or f"case id {case_id}"
        current = session.execute(select(Case.version).where(Case.id == case_id)).scalar()
        if current is None:
            raise NotFound(f"{ref} is not in Vigil")
        raise ConflictError(
            f"{ref} was changed by someone else since you opened it (your version "
            f"{expected_version}, now {current}). Your input is kept: reload the case and retry."
        )
    # keep any Case object already in the session in step with the database
    for obj in session.identity_map.values():
        if isinstance(obj, Case) and obj.id == case_id:
            session.expire(obj, ["version", "last_activity_at"])
    return int(new_version)
