"""Restricted cases: a police officer or member of staff is the suspect or
the victim.

A supervisor of the case's area marks it restricted, naming whom to ask and
the users who may see it (themselves included). Only those named users and
auditors see its content; everyone else sees that a restricted case exists
and whom to ask, and each such attempt is audited. On PostgreSQL the
database enforces it with row-level security (the case's row is not returned
to anyone else, whatever they query); on SQLite the services do (the case
record and search).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select, text
from sqlmodel import Session

from app.errors import BadInput, NotFound, PermissionDenied
from app.services.case_lock import edit_case, load_case
from app.services.context import ServiceContext
from app.services.permissions import Permission
from app.services.users import normalise_username
from models import Case, CaseAccess, User
from models.enums import AuditAction, Role

# Roles that see every restricted case (oversight, and the RMS import).
SEES_ALL = frozenset({Role.AUDITOR.value, Role.IMPORTER.value})


class RestrictedCase(PermissionDenied):
    """The case exists but is restricted: whom to ask, never its content."""


@dataclass(frozen=True)
class RestrictionResult:
    crime_ref: str
    version: int
    restricted: bool
    contact: str | None
    named: tuple[str, ...]
    message: str


def contact_text(case: Case) -> str:
    return case.restricted_contact or f"the {case.area_command} area command"


def named_users(session: Session, case_id: int) -> set[str]:
    return set(session.execute(
        select(CaseAccess.username).where(CaseAccess.case_id == case_id)).scalars())


def may_see(ctx: ServiceContext, session: Session, case: Case) -> bool:
    if not case.restricted or ctx.actor.role in SEES_ALL:
        return True
    return ctx.actor.username in named_users(session, case.id)  # type: ignore[arg-type]


def hidden_case_ids(ctx: ServiceContext, session: Session, cases: Iterable[tuple[int, bool]]) -> set[int]:
    """Of (case id, restricted) pairs, the ids whose content this user may not see."""
    restricted = [case_id for case_id, flag in cases if flag]
    if not restricted or ctx.actor.role in SEES_ALL:
        return set()
    allowed = set(session.execute(
        select(CaseAccess.case_id).where(CaseAccess.case_id.in_(restricted),
                                         CaseAccess.username == ctx.actor.username)).scalars())
    return set(restricted) - allowed


def refuse(ctx: ServiceContext, crime_ref: str, contact: str) -> RestrictedCase:
    """Audit the attempt and give the error to raise."""
    with ctx.write() as session:
        ctx.audit(session, AuditAction.DENIED, "case", crime_ref,
                  reason="restricted case: content not shown")
    return RestrictedCase(f"{crime_ref} is a restricted case: ask {contact} for access")


def check_hidden(ctx: ServiceContext, crime_ref: str) -> None:
    """After a case was not found: on PostgreSQL a restricted case is hidden
    from this user by the database; say that it exists and whom to ask."""
    if ctx.database.dialect != "postgresql":
        return
    with ctx.read() as session:
        contact = session.execute(text("SELECT vigil_restricted_contact(:ref)"),
                                  {"ref": crime_ref}).scalar()
    if contact:
        raise refuse(ctx, crime_ref, str(contact))


def _users(session: Session, names: Iterable[str]) -> list[str]:
    found: list[str] = []
    for raw in names:
        name = normalise_username(raw, where="--named")
        user = session.execute(select(User).where(User.username == name)).scalars().first()
        if user is None or not user.active:
            raise BadInput(f"--named {name!r}: not an active Vigil user of this database")
        if name not in found:
            found.append(name)
    return found


def restrict_case(ctx: ServiceContext, *, crime_ref: str, contact: str, named: Iterable[str],
                  reason: str, expected_version: int) -> RestrictionResult:
    """Mark the case restricted: only ``named`` (and the one restricting it)
    and auditors see it; others are told to ask ``contact``."""
    contact = (contact or "").strip()
    why = (reason or "").strip()
    if not contact:
        raise BadInput("--contact: say whom others should ask (e.g. DI Ashdown, Professional Standards)")
    if not why:
        raise BadInput("--reason: say why the case is restricted")
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version,
                   permission=Permission.RESTRICT_CASE) as (session, case, version):
        people = _users(session, [ctx.actor.username, *named])
        before = {"restricted": case.restricted, "contact": case.restricted_contact,
                  "named": sorted(named_users(session, case.id))}  # type: ignore[arg-type]
        existing = named_users(session, case.id)  # type: ignore[arg-type]
        for name in people:  # named first: on PostgreSQL the restricted row must stay visible
            if name not in existing:
                session.add(CaseAccess(case_id=case.id, username=name,  # type: ignore[arg-type]
                                       granted_by=ctx.actor.username, granted_at=ctx.now(),
                                       reason=why))
        session.flush()
        case.restricted, case.restricted_contact = True, contact[:120]
        session.add(case)
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref, reason=f"restricted: {why}",
                  before=before, after={"restricted": True, "contact": contact,
                                        "named": sorted(existing | set(people))})
        named_now = tuple(sorted(existing | set(people)))
    return RestrictionResult(crime_ref, version, True, contact, named_now,
                             f"{crime_ref} is restricted to {', '.join(named_now)} and auditors")


def lift_restriction(ctx: ServiceContext, *, crime_ref: str, reason: str,
                     expected_version: int) -> RestrictionResult:
    why = (reason or "").strip()
    if not why:
        raise BadInput("--reason: say why the restriction is lifted")
    with ctx.read() as session:
        try:
            case = load_case(session, crime_ref)
        except NotFound:
            check_hidden(ctx, crime_ref)
            raise
        if not may_see(ctx, session, case):
            raise refuse(ctx, crime_ref, contact_text(case))
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version,
                   permission=Permission.RESTRICT_CASE) as (session, case, version):
        if not case.restricted:
            raise BadInput(f"{crime_ref} is not restricted")
        before = {"restricted": True, "contact": case.restricted_contact,
                  "named": sorted(named_users(session, case.id))}  # type: ignore[arg-type]
        case.restricted, case.restricted_contact = False, None
        session.add(case)
        session.execute(delete(CaseAccess).where(CaseAccess.case_id == case.id))
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=f"restriction lifted: {why}", before=before,
                  after={"restricted": False})
    return RestrictionResult(crime_ref, version, False, None, (),
                             f"{crime_ref} is no longer restricted")


def restriction_of(ctx: ServiceContext, *, crime_ref: str) -> RestrictionResult:
    """Whether a case is restricted, whom to ask, and (for those who may see
    it) who is named; audited as a view."""
    ctx.require(Permission.VIEW_CASE, entity="case", entity_id=crime_ref)
    with ctx.read() as session:
        try:
            case = load_case(session, crime_ref)
        except NotFound:
            check_hidden(ctx, crime_ref)
            raise
        visible = may_see(ctx, session, case)
        named = tuple(sorted(named_users(session, case.id))) if visible else ()  # type: ignore[arg-type]
        result = RestrictionResult(
            crime_ref, case.version, case.restricted,
            contact_text(case) if case.restricted else None, named,
            (f"{crime_ref} is restricted: ask {contact_text(case)}" if case.restricted
             else f"{crime_ref} is not restricted"))
    with ctx.write() as session:
        ctx.audit(session, AuditAction.VIEW, "case", crime_ref, reason="restriction viewed")
    return result


def version_of(ctx: ServiceContext, crime_ref: str) -> int:
    """The case's current version (for a command-line change made at once)."""
    with ctx.read() as session:
        version = session.execute(select(Case.version).where(Case.crime_ref == crime_ref)).scalar()
    if version is None:
        check_hidden(ctx, crime_ref)
        raise NotFound(f"crime {crime_ref} is not in Vigil")
    return int(version)


def require_visible(ctx: ServiceContext, crime_ref: str) -> None:
    """Refuse (audited) a restricted case's content to someone not named on it."""
    with ctx.read() as session:
        try:
            case = load_case(session, crime_ref)
        except NotFound:
            check_hidden(ctx, crime_ref)
            raise
        visible = may_see(ctx, session, case)
        contact = contact_text(case)
    if not visible:
        raise refuse(ctx, crime_ref, contact)
