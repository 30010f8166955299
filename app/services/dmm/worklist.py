"""The work queue: standing compliance gaps of an area's open cases, per team.

A standing gap (no risk assessment, review overdue, no plan for a high risk,
SPO not considered, victim not referred in time) is work for the team that
holds the case, not a daily meeting item; SPO consideration goes to the orders
desk (``dmm.orders_desk_team``). Each item has an owner (the action a meeting
gave it, else the case's officer, else the team), the date it crossed its
threshold, its age and the date of the second threshold, when it returns to
the meeting (:mod:`app.rules.dmm`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from app.errors import BadInput
from app.policy import Policy
from app.rules import dmm as rules
from app.rules.dmm import MeetingFrame
from app.rules.dmm_reasons import REASON_TITLES, Reason
from app.services import audit_trail
from app.services.case_lock import load_case
from app.services.context import ServiceContext
from app.services.dmm.common import bounds, check_area, code_book
from app.services.dmm.facts import case_rows, gather_facts
from app.services.dmm.reason_sql import WORKLIST, flagged_rows
from app.services.permissions import Permission
from models import DmmAction
from models.enums import AuditAction
from seed.reference import force_organisation

WORK_QUEUE_PREFIX = "Work queue: "


@dataclass(frozen=True)
class WorkItem:
    crime_ref: str
    code: str
    title: str
    explanation: str
    team: str | None  # the team (or desk) whose queue holds it
    owner: str
    crossed_at: datetime
    second_at: datetime
    age_days: int
    risk: str | None
    reported_at: datetime
    owner_due_at: datetime | None = None  # the date a meeting gave the owner


@dataclass(frozen=True)
class WorkQueue:
    area: str
    team: str | None
    built_at: datetime
    items: list[WorkItem] = field(default_factory=list)  # oldest gap first; a page
    total: int = 0
    offset: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # items per reason code


def _now_frame(ctx: ServiceContext) -> MeetingFrame:
    now = ctx.now()
    return MeetingFrame(meeting_date=now.date(), covers_from=now, starts_at=now,
                        next_starts_at=now)


def _desk(code: str, team: str | None, ctx: ServiceContext) -> str | None:
    return ctx.policy.dmm.orders_desk_team if code == Reason.SPO_NOT_CONSIDERED else team


def _check_team(team: str | None, policy: Policy) -> str | None:
    if team is None:
        return None
    teams = force_organisation(policy).teams
    found = next((t for t in teams if t.lower() == team.strip().lower()), None)
    if found is None:
        raise BadInput(f"team {team!r} is not a team; choose one of {', '.join(teams)}")
    return found


def _work_owners(ctx: ServiceContext, case_ids: list[int]) -> dict[int, tuple[str, datetime]]:
    """The owner and date a meeting gave each case's work (its open
    work-queue action), by case id."""
    if not case_ids:
        return {}
    with ctx.read() as session:
        rows = session.execute(
            select(DmmAction.case_id, DmmAction.owner, DmmAction.due_at)
            .where(DmmAction.case_id.in_(case_ids), DmmAction.done_at.is_(None),
                   DmmAction.text.startswith(WORK_QUEUE_PREFIX))
            .order_by(DmmAction.due_at)).all()
    owners: dict[int, tuple[str, datetime]] = {}
    for row in rows:
        fields = row._mapping
        owners.setdefault(fields["case_id"], (fields["owner"], fields["due_at"]))
    return owners


def work_queue(ctx: ServiceContext, *, area: str, team: str | None = None,
               limit: int | None = None, offset: int = 0, audit: bool = True) -> WorkQueue:
    """The open standing gaps of ``area``'s cases (of ``team``, or the orders
    desk when ``team`` is the desk), oldest first. Viewing is audited, naming
    the cases shown."""
    check_area(area, ctx.policy)
    chosen = _check_team(team, ctx.policy)
    ctx.require(Permission.VIEW_WORKLIST, area=area, entity="work_queue",
                entity_id=f"{area}/{chosen or 'all'}")
    frame = _now_frame(ctx)
    policy = ctx.policy
    b = bounds(area, frame, policy)
    with ctx.read() as session:
        book = code_book(session)
        flagged = flagged_rows(session, b, policy, book, mode=WORKLIST)
        rows = case_rows(session, [f.case_id for f in flagged], area, policy)
        facts = gather_facts(session, rows, b, policy, book, standing_only=True)
    owners = _work_owners(ctx, [r.id for r in rows])
    items: list[WorkItem] = []
    for row in rows:
        for gap in rules.standing_gaps(facts[row.id], frame, policy):
            desk = _desk(gap.code, row.team, ctx)
            if chosen is not None and desk != chosen:
                continue
            given_owner, given_due = owners.get(row.id) or (None, None)
            owner = given_owner or row.officer or desk or "unallocated"
            items.append(WorkItem(
                crime_ref=row.crime_ref, code=gap.code, title=REASON_TITLES[gap.code],
                explanation=gap.explanation, team=desk, owner=owner, crossed_at=gap.crossed_at,
                second_at=gap.second_at, age_days=max(0, (frame.starts_at - gap.crossed_at).days),
                risk=row.risk_level, reported_at=row.reported_at,
                owner_due_at=given_due))
    items.sort(key=lambda i: (i.crossed_at, i.crime_ref, i.code))
    counts: dict[str, int] = {}
    for item in items:
        counts[item.code] = counts.get(item.code, 0) + 1
    start = max(0, offset)
    page = items[start:start + limit] if limit is not None else items[start:]
    if audit:
        shown = sorted({i.crime_ref for i in page})
        with ctx.write() as session:
            audit_trail.audit_naming(
                ctx, session, AuditAction.VIEW, "work_queue", f"{area}/{chosen or 'all'}", shown,
                reason=f"work queue viewed: {len(page)} of {len(items)} items",
                after={"cases": shown})
    return WorkQueue(area=area, team=chosen, built_at=frame.starts_at, items=page,
                     total=len(items), offset=start, counts=counts)


@dataclass(frozen=True)
class CaseGap:
    code: str
    title: str
    explanation: str
    crossed_at: datetime
    second_at: datetime


def case_gaps(ctx: ServiceContext, *, crime_ref: str) -> list[CaseGap]:
    """The standing gaps open on one case now (the case record's work-queue
    history shows them beside the meeting's decisions)."""
    with ctx.read() as session:
        case_row = load_case(session, crime_ref)
    ctx.require(Permission.VIEW_CASE, area=case_row.area_command, entity="case",
                entity_id=crime_ref)
    frame = _now_frame(ctx)
    b = bounds(case_row.area_command, frame, ctx.policy)
    with ctx.read() as session:
        book = code_book(session)
        rows = case_rows(session, [case_row.id], None, ctx.policy)  # type: ignore[list-item]
        facts = gather_facts(session, rows, b, ctx.policy, book, standing_only=True)
    if not rows:
        return []
    return [CaseGap(gap.code, REASON_TITLES[gap.code], gap.explanation, gap.crossed_at,
                    gap.second_at)
            for gap in rules.standing_gaps(facts[rows[0].id], frame, ctx.policy)]


