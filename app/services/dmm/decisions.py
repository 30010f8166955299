"""Decisions, actions and discussed marks recorded at a meeting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    select,
)
from sqlmodel import Session

from app.dates import format_local
from app.errors import BadInput, NotFound
from app.rules import dmm as rules
from app.services.case_lock import case_area_of, edit_case
from app.services.context import ServiceContext
from app.services.dmm.common import check_area, check_meeting_day, current_meeting_date
from app.services.dmm.items import (
    actions_where,
    ensure_item,
    ensure_meeting,
    find_meeting,
    with_meeting,
)
from app.services.dmm.views import DECISION_LABELS, DmmActionView, DmmItemState
from app.services.dmm.worklist import WORK_QUEUE_PREFIX
from app.services.permissions import Permission
from models import Case, DmmAction, DmmAddendum, DmmItem, DmmMeeting
from models.enums import AuditAction, DmmDecision

# ---------------------------------------------------------------------------
# Public: decisions, actions, discussed marks
# ---------------------------------------------------------------------------


def minutes_closed_at(ctx: ServiceContext, meeting_date: date) -> datetime | None:
    """When the minutes of the meeting on ``meeting_date`` closed (the next
    meeting started), or None while they are open."""
    closes = rules.meeting_start(rules.next_meeting_date(meeting_date, ctx.policy), ctx.policy)
    return closes if ctx.now() >= closes else None


def _closed_text(area: str, meeting_date: date, closed: datetime) -> str:
    return (f"the minutes of the {area} meeting of {meeting_date:%d/%m/%Y} closed when the next "
            f"meeting started ({format_local(closed)})")


def _addendum(ctx: ServiceContext, session: Session, meeting: DmmMeeting, case_row: Case,
              *, change: str, text: str, decision: str | None = None) -> DmmAddendum:
    row = DmmAddendum(meeting_id=meeting.id, case_id=case_row.id, change=change,  # type: ignore[arg-type]
                      decision=decision, text=text[:2000], recorded_by=ctx.actor.username,
                      recorded_at=ctx.now())
    session.add(row)
    return row


@dataclass(frozen=True)
class AddendumView:
    crime_ref: str
    change: str
    decision: str | None
    text: str
    recorded_by: str
    recorded_at: datetime


def minutes_addenda(ctx: ServiceContext, *, area: str, meeting_date: date) -> list[AddendumView]:
    """The addenda to a meeting's closed minutes, oldest first (the minutes
    show them after the items, the record of the meeting unchanged)."""
    check_area(area, ctx.policy)
    ctx.require(Permission.VIEW_DMM, area=area, entity="dmm_queue",
                entity_id=f"{area}/{meeting_date.isoformat()}")
    with ctx.read() as session:
        rows = session.execute(
            select(DmmAddendum, Case.crime_ref)
            .join(DmmMeeting, DmmMeeting.id == DmmAddendum.meeting_id)
            .join(Case, Case.id == DmmAddendum.case_id)
            .where(DmmMeeting.area_command == area, DmmMeeting.meeting_date == meeting_date)
            .order_by(DmmAddendum.recorded_at, DmmAddendum.id)).all()
    return [AddendumView(ref, a.change, a.decision, a.text, a.recorded_by, a.recorded_at)
            for a, ref in rows]


def _check_meeting_case(ctx: ServiceContext, area: str, meeting_date: date,
                        crime_ref: str) -> None:
    """The meeting's day, and the case one of its area's."""
    check_meeting_day(meeting_date, ctx.policy)
    case_area, _ref = case_area_of(ctx, crime_ref=crime_ref)
    if case_area != area:
        raise BadInput(f"{crime_ref} belongs to {case_area}, not to the {area} meeting")


@contextmanager
def _meeting_edit(ctx: ServiceContext, area: str, meeting_date: date, crime_ref: str,
                  expected_version: int) -> Iterator[tuple[Session, Case, int, DmmMeeting, DmmItem]]:
    """The edit path on a case at a meeting: the case locked and its version
    checked, then its item on the meeting (held, or added now)."""
    _check_meeting_case(ctx, area, meeting_date, crime_ref)
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version,
                   permission=Permission.DECIDE_DMM) as (session, case_row, version):
        meeting, item = _item_for_change(ctx, session, area, meeting_date, case_row)
        yield session, case_row, version, meeting, item


def _item_for_change(ctx: ServiceContext, session: Session, area: str, meeting_date: date,
                     case_row: Case) -> tuple[DmmMeeting, DmmItem]:
    meeting = find_meeting(session, area, meeting_date)
    if meeting is None:
        if meeting_date < current_meeting_date(ctx):
            raise BadInput(f"no DMM was held for {area} on {meeting_date:%a %d/%m/%Y}: "
                           "decisions are recorded on a meeting that took place")
        meeting = ensure_meeting(session, ctx, area, meeting_date)
    return meeting, ensure_item(session, meeting, case_row)


def _state(session: Session, case_row: Case, version: int, meeting: DmmMeeting,
           item: DmmItem) -> DmmItemState:
    actions = actions_where(session, DmmAction.item_id == item.id, {case_row.id: case_row.crime_ref})  # type: ignore[dict-item]
    return DmmItemState(
        crime_ref=case_row.crime_ref,
        case_version=version,
        meeting_date=meeting.meeting_date,
        decision=item.decision,
        rationale=item.rationale,
        decided_by=item.decided_by,
        decided_at=item.decided_at,
        discussed_at=item.discussed_at,
        discussed_by=item.discussed_by,
        actions=[with_meeting(a, meeting.meeting_date) for a in actions.get(case_row.id, [])],  # type: ignore[arg-type]
    )


def _item_snapshot(item: DmmItem) -> dict[str, Any]:
    return {"decision": item.decision, "rationale": item.rationale,
            "discussed_at": item.discussed_at}


def record_decision(ctx: ServiceContext, *, area: str, meeting_date: date, crime_ref: str,
                    decision: str, rationale: str, owner: str | None = None,
                    due_at: datetime | None = None,
                    expected_version: int) -> DmmItemState:
    """Record the meeting's decision on a case, with its rationale. The item
    counts as discussed, and the case leaves later agendas until a new event
    or threshold. ``work_queue`` hands a standing gap to the team's work queue:
    it needs the ``owner`` and the date it is due by (``due_at``), recorded as
    an action. Supervisors of the area only (trainers in training)."""
    check_area(area, ctx.policy)
    try:
        chosen = DmmDecision(str(decision).strip().lower())
    except ValueError:
        raise BadInput(f"decision {decision!r}: choose one of "
                       f"{', '.join(d.value for d in DmmDecision)}") from None
    text = (rationale or "").strip()
    if not text:
        raise BadInput(f"a rationale is required for the decision on {crime_ref}")
    who = " ".join((owner or "").split())
    if chosen == DmmDecision.WORK_QUEUE:
        if not who or due_at is None:
            raise BadInput(f"to hand {crime_ref} to the work queue, name the owner and the "
                           "date it is due by")
        if due_at.tzinfo is None:
            raise BadInput(f"decision on {crime_ref}: the due time needs a time zone")
    ctx.require(Permission.DECIDE_DMM, area=area, entity="case", entity_id=crime_ref)
    now = ctx.now()
    closed = minutes_closed_at(ctx, meeting_date)
    if closed is not None and chosen == DmmDecision.WORK_QUEUE:
        raise BadInput(f"{crime_ref}: {_closed_text(area, meeting_date, closed)}; hand it to "
                       "the work queue at the current meeting")
    with _meeting_edit(ctx, area, meeting_date, crime_ref, expected_version) as (
            session, case_row, version, meeting, item):
        if closed is not None:  # the record stands; the change is added beside it
            _addendum(ctx, session, meeting, case_row, change="decision",
                      decision=chosen.value, text=text)
            ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                      reason=f"DMM addendum ({_closed_text(area, meeting_date, closed)}): "
                             f"decision {DECISION_LABELS[chosen]}",
                      before=_item_snapshot(item),
                      after={"addendum": "decision", "decision": chosen.value,
                             "rationale": text})
            return _state(session, case_row, version, meeting, item)
        before = _item_snapshot(item)
        if chosen == DmmDecision.WORK_QUEUE:
            session.add(DmmAction(item_id=item.id, case_id=case_row.id,  # type: ignore[arg-type]
                                  text=f"{WORK_QUEUE_PREFIX}{text}"[:2000], owner=who[:64],
                                  due_at=due_at, created_by=ctx.actor.username,
                                  created_at=now))
        item.decision = chosen.value
        item.rationale = text
        item.decided_by = ctx.actor.username
        item.decided_at = now
        if item.discussed_at is None:
            item.discussed_at = now
            item.discussed_by = ctx.actor.username
        if meeting.chaired_by is None:
            meeting.chaired_by = ctx.actor.username
        session.add_all([item, meeting])
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=f"DMM decision: {DECISION_LABELS[chosen]} "
                         f"({area} meeting {meeting_date:%d/%m/%Y})",
                  before=before, after=_item_snapshot(item))
        return _state(session, case_row, version, meeting, item)


def add_action(ctx: ServiceContext, *, area: str, meeting_date: date, crime_ref: str, text: str,
               owner: str, due_at: datetime | None,
               expected_version: int) -> DmmActionView:
    """Set an action on a case at the meeting: what, who, by when (default:
    the policy's ``dmm.default_action_hours`` from now)."""
    check_area(area, ctx.policy)
    words = " ".join((text or "").split())
    who = (owner or "").strip()
    if not words:
        raise BadInput(f"action on {crime_ref}: say what is to be done")
    if not who:
        raise BadInput(f"action on {crime_ref}: name the owner")
    now = ctx.now()
    due = due_at or now + timedelta(hours=ctx.policy.dmm.default_action_hours)
    if due.tzinfo is None:
        raise BadInput(f"action on {crime_ref}: the due time needs a time zone")
    ctx.require(Permission.DECIDE_DMM, area=area, entity="case", entity_id=crime_ref)
    closed = minutes_closed_at(ctx, meeting_date)
    if closed is not None:
        raise BadInput(f"action on {crime_ref}: {_closed_text(area, meeting_date, closed)}; "
                       "set the action at the current meeting")
    with _meeting_edit(ctx, area, meeting_date, crime_ref, expected_version) as (
            session, case_row, version, meeting, item):
        action = DmmAction(item_id=item.id, case_id=case_row.id, text=words[:2000], owner=who[:64],  # type: ignore[arg-type]
                           due_at=due, created_by=ctx.actor.username, created_at=now)
        session.add(action)
        if meeting.chaired_by is None:
            meeting.chaired_by = ctx.actor.username
            session.add(meeting)
        session.flush()
        ctx.audit(session, AuditAction.CREATE, "case", crime_ref,
                  reason=f"DMM action set ({area} meeting {meeting_date:%d/%m/%Y})",
                  after={"action_id": action.id, "text": action.text, "owner": action.owner,
                         "due_at": due})
        return DmmActionView(action.id, crime_ref, action.text, action.owner, action.due_at,  # type: ignore[arg-type]
                             None, action.created_by, action.created_at, meeting_date,
                             case_version=version)


def mark_discussed(ctx: ServiceContext, *, area: str, meeting_date: date, crime_ref: str,
                   discussed: bool = True, expected_version: int) -> DmmItemState:
    """Mark an item discussed (or not). An item with a decision stays discussed."""
    check_area(area, ctx.policy)
    ctx.require(Permission.DECIDE_DMM, area=area, entity="case", entity_id=crime_ref)
    now = ctx.now()
    closed = minutes_closed_at(ctx, meeting_date)
    with _meeting_edit(ctx, area, meeting_date, crime_ref, expected_version) as (
            session, case_row, version, meeting, item):
        if closed is not None:  # the record stands; the change is added beside it
            mark = "discussed" if discussed else "not discussed"
            _addendum(ctx, session, meeting, case_row, change="discussed",
                      text=f"marked {mark}")
            ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                      reason=f"DMM addendum ({_closed_text(area, meeting_date, closed)}): "
                             f"marked {mark}",
                      before=_item_snapshot(item), after={"addendum": "discussed",
                                                          "discussed": discussed})
            return _state(session, case_row, version, meeting, item)
        before = _item_snapshot(item)
        if discussed:
            if item.discussed_at is None:
                item.discussed_at = now
                item.discussed_by = ctx.actor.username
        else:
            if item.decision is not None:
                raise BadInput(f"{crime_ref} has a decision ({item.decision}); it stays discussed")
            item.discussed_at = None
            item.discussed_by = None
        session.add(item)
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=f"DMM item marked {'discussed' if discussed else 'not discussed'} "
                         f"({area} meeting {meeting_date:%d/%m/%Y})",
                  before=before, after=_item_snapshot(item))
        return _state(session, case_row, version, meeting, item)


# supervisors of the area, or officers who may edit the case, change its actions
ACTION_EDITORS = (Permission.DECIDE_DMM, Permission.EDIT_CASE)


def _action_case(ctx: ServiceContext, action_id: int) -> str:
    """The crime reference of a DMM action."""
    with ctx.read() as session:
        crime_ref = session.execute(
            select(Case.crime_ref)
            .join(DmmAction, DmmAction.case_id == Case.id).where(DmmAction.id == action_id)
        ).scalar()
    if crime_ref is None:
        raise NotFound(f"DMM action {action_id} does not exist")
    return str(crime_ref)


def _action_view(session: Session, action: DmmAction, crime_ref: str,
                 version: int) -> DmmActionView:
    meeting_date = session.execute(
        select(DmmMeeting.meeting_date).join(DmmItem, DmmItem.meeting_id == DmmMeeting.id)
        .where(DmmItem.id == action.item_id)).scalar()
    return DmmActionView(action.id, crime_ref, action.text, action.owner, action.due_at,  # type: ignore[arg-type]
                         action.done_at, action.created_by, action.created_at, meeting_date,
                         case_version=version)


def _open_action(session: Session, action_id: int, crime_ref: str) -> DmmAction:
    action = session.get(DmmAction, action_id, with_for_update=True)
    if action is None:
        raise NotFound(f"DMM action {action_id} does not exist")
    if action.done_at is not None:
        raise BadInput(f"DMM action {action_id} on {crime_ref} was already done "
                       f"({action.done_at:%d/%m/%Y %H:%M} UTC)")
    return action


def _action_state(action: DmmAction) -> dict[str, Any]:
    return {"action_id": action.id, "owner": action.owner, "due_at": action.due_at,
            "done_at": action.done_at}


def complete_action(ctx: ServiceContext, *, action_id: int,
                    expected_version: int) -> DmmActionView:
    """Mark a DMM action done (supervisors and officers of the case's area):
    the case stops being listed for it."""
    crime_ref = _action_case(ctx, action_id)
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version,
                   permission=ACTION_EDITORS) as (session, _case, version):
        now = ctx.now()
        action = _open_action(session, action_id, crime_ref)
        before = _action_state(action)
        action.done_at = now
        session.add(action)
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=f"DMM action completed: {action.text[:120]}", before=before,
                  after=_action_state(action))
        return _action_view(session, action, crime_ref, version)


def reassign_action(ctx: ServiceContext, *, action_id: int, owner: str,
                    due_at: datetime | None = None,
                    expected_version: int) -> DmmActionView:
    """Give a DMM action to another owner (and, optionally, a new due time)."""
    who = " ".join((owner or "").split())
    if not who:
        raise BadInput(f"DMM action {action_id}: name the new owner")
    if due_at is not None and due_at.tzinfo is None:
        raise BadInput(f"DMM action {action_id}: the due time needs a time zone")
    crime_ref = _action_case(ctx, action_id)
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version,
                   permission=ACTION_EDITORS) as (session, _case, version):
        action = _open_action(session, action_id, crime_ref)
        before = _action_state(action)
        action.owner = who[:64]
        if due_at is not None:
            action.due_at = due_at
        session.add(action)
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=f"DMM action reassigned to {action.owner}", before=before,
                  after=_action_state(action))
        return _action_view(session, action, crime_ref, version)
