"""Meetings and their stored items."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.rules import dmm as rules
from app.services.context import ServiceContext
from app.services.dmm.common import as_utc, chunks, core_rows, unconverted
from app.services.dmm.views import DmmActionView
from models import Case, DmmAction, DmmItem, DmmMeeting


def find_meeting(session: Session, area: str, meeting_date: date) -> DmmMeeting | None:
    return session.execute(
        select(DmmMeeting).where(DmmMeeting.area_command == area,
                                 DmmMeeting.meeting_date == meeting_date)
    ).scalars().first()


@dataclass
class StoredItem:
    id: int | None  # None: a queue computed for reading only (a meeting never held)
    case_id: int
    reasons_raw: Any  # as the driver gives the JSON column (decoded only when shown)
    priority: int
    decision: str | None = None
    rationale: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    discussed_at: datetime | None = None
    discussed_by: str | None = None
    mask: int | None = None
    crime_ref: str | None = None
    reported_at: datetime | None = None

    @property
    def reasons(self) -> list[str]:
        raw = self.reasons_raw
        value = json.loads(raw) if isinstance(raw, str | bytes) else raw
        return [str(code) for code in (value or [])]

    @property
    def recorded(self) -> bool:
        return self.decision is not None or self.discussed_at is not None


def stored_items(session: Session, meeting_id: int,
                  case_ids: list[int] | None = None) -> dict[int, StoredItem]:
    stmt = (select(DmmItem.id, DmmItem.case_id, unconverted(DmmItem.reasons).label("reasons"),
                   DmmItem.priority, DmmItem.decision, DmmItem.rationale, DmmItem.decided_by,
                   unconverted(DmmItem.decided_at).label("decided_at"),
                   unconverted(DmmItem.discussed_at).label("discussed_at"), DmmItem.discussed_by,
                   DmmItem.mask, DmmItem.crime_ref, unconverted(DmmItem.reported_at).label("reported_at"))
            .where(DmmItem.meeting_id == meeting_id))
    found: dict[int, StoredItem] = {}
    groups: list[list[int] | None] = [None] if case_ids is None else list(chunks(case_ids))
    for group in groups:
        query = stmt if group is None else stmt.where(DmmItem.case_id.in_(group))
        for row in core_rows(session, query):
            r = row._mapping
            found[r["case_id"]] = StoredItem(
                r["id"], r["case_id"], r["reasons"], r["priority"], r["decision"],
                r["rationale"], r["decided_by"], as_utc(r["decided_at"]),
                as_utc(r["discussed_at"]), r["discussed_by"], r["mask"], r["crime_ref"],
                as_utc(r["reported_at"]))
    return found


def ensure_meeting(session: Session, ctx: ServiceContext, area: str,
                    meeting_date: date) -> DmmMeeting:
    meeting = find_meeting(session, area, meeting_date)
    if meeting is not None:
        return meeting
    covers_from, starts_at = rules.meeting_window(meeting_date, ctx.policy)
    meeting = DmmMeeting(area_command=area, meeting_date=meeting_date, starts_at=starts_at,
                         covers_from=covers_from)
    try:
        with session.begin_nested():  # two supervisors opening a new meeting at once
            session.add(meeting)
            session.flush()
    except IntegrityError:
        found = find_meeting(session, area, meeting_date)
        if found is None:
            raise
        return found
    return meeting


def ensure_item(session: Session, meeting: DmmMeeting, case_row: Case) -> DmmItem:
    """The meeting's item for the case, created (mask 0) when the chair adds a
    case that is not on the agenda; safe against a concurrent creation."""
    def find() -> DmmItem | None:
        return session.execute(
            select(DmmItem).where(DmmItem.meeting_id == meeting.id,
                                  DmmItem.case_id == case_row.id)).scalars().first()

    item = find()
    if item is not None:
        return item
    item = DmmItem(meeting_id=meeting.id, case_id=case_row.id, reasons=[], priority=0,  # type: ignore[arg-type]
                   mask=0, crime_ref=case_row.crime_ref, reported_at=case_row.reported_at)
    try:
        with session.begin_nested():
            session.add(item)
            session.flush()
    except IntegrityError:
        found = find()
        if found is None:
            raise
        return found
    return item


def actions_where(session: Session, condition: Any,
             refs: dict[int, str]) -> dict[int, list[DmmActionView]]:
    """Actions matching ``condition``, by case id, earliest due first."""
    grouped: dict[int, list[DmmActionView]] = defaultdict(list)
    rows = core_rows(
        session,
        select(DmmAction.case_id, DmmAction.id, DmmAction.text, DmmAction.owner,
               unconverted(DmmAction.due_at).label("due_at"),
               unconverted(DmmAction.done_at).label("done_at"), DmmAction.created_by,
               unconverted(DmmAction.created_at).label("created_at"))
        .where(condition)
        .order_by(DmmAction.case_id, DmmAction.due_at, DmmAction.id),
    ).all()
    for row in rows:
        grouped[row.case_id].append(DmmActionView(
            id=row.id, crime_ref=refs.get(row.case_id, ""), text=row.text, owner=row.owner,
            due_at=as_utc(row.due_at), done_at=as_utc(row.done_at),  # type: ignore[arg-type]
            created_by=row.created_by, created_at=as_utc(row.created_at)))  # type: ignore[arg-type]
    return grouped


def with_meeting(action: DmmActionView, meeting_date: date) -> DmmActionView:
    return replace(action, meeting_date=meeting_date)


