"""Helpers every part of the DMM services shares: areas, meeting days, the
code book, reason masks and fast Core reads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, type_coerce
from sqlalchemy.types import NullType
from sqlmodel import Session

from app.errors import BadInput
from app.policy import Policy
from app.rules import dmm as rules
from app.rules.dmm import MeetingFrame
from app.rules.dmm_reasons import REASON_BITS, REASON_ORDER
from app.services.context import ServiceContext
from models import AppMeta, Classification, DmmAction, ImportBatch
from models.types import UTCDateTime
from seed.reference import classifications, force_organisation

# SQLite allows 32,766 bound parameters; stay well below for IN lists.
CHUNK = 5000
# app_meta key the synthetic force generator writes (seed.generator.GENERATED_KEY)
GENERATED_KEY = "generated"
# app_meta key of a training story told as if Vigil had been in use since then
IN_USE_SINCE_KEY = "in_use_since"


def queue_id(area: str, meeting_date: date) -> str:
    return f"{area}/{meeting_date.isoformat()}"


def check_area(area: str, policy: Policy) -> str:
    """``area`` when it is one of the force's area commands (its own
    organisation when loaded, else the shipped one)."""
    areas = force_organisation(policy).area_commands
    if area not in areas:
        raise BadInput(f"area {area!r} is not an area command; choose one of {', '.join(areas)}")
    return area


def check_meeting_day(meeting_date: date, policy: Policy) -> None:
    if rules.is_meeting_day(meeting_date, policy):
        return
    before = rules.previous_meeting_date(meeting_date, policy)
    after = rules.next_meeting_date(meeting_date, policy)
    raise BadInput(
        f"{meeting_date:%a %d/%m/%Y} is not a DMM day in the policy "
        f"(previous meeting {before:%a %d/%m/%Y}, next {after:%a %d/%m/%Y})"
    )


def current_meeting_date(ctx: ServiceContext) -> date:
    """The meeting a supervisor works on now: today's, or the next if none today."""
    return rules.meeting_date_for(ctx.now(), ctx.policy)


def chunks(values: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start:start + CHUNK])


def ts(value: datetime) -> Any:
    """A bound timestamp typed like the columns (SQLite stores naive UTC)."""
    return literal(value, UTCDateTime)


# The queue reads a few thousand rows of facts. Timestamps are fetched as the
# driver gives them and converted here (SQLite: naive UTC text; PostgreSQL:
# aware datetimes), which costs a fraction of the generic result processing.
def unconverted(column: Any) -> Any:
    return type_coerce(column, NullType())


def as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:  # naive UTC text: parsed with its offset in one step (replace() costs more)
            parsed = datetime.fromisoformat(value + "+00:00")
        except ValueError:  # text that already carries an offset
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def core_rows(session: Session, stmt: Any) -> Any:
    """Execute on the session's connection (Core rows, no ORM result layer)."""
    return session.connection().execute(stmt)


@dataclass(frozen=True)
class CodeBook:
    family: dict[str, str]  # code -> family
    title: dict[str, str]

    def codes(self, families: Iterable[str]) -> list[str]:
        wanted = set(families)
        return sorted(code for code, family in self.family.items() if family in wanted)

    @property
    def breach_codes(self) -> list[str]:
        return self.codes(["breach"])


def code_book(session: Session) -> CodeBook:
    rows = session.execute(select(Classification.code, Classification.family,
                                  Classification.title)).all()
    if not rows:  # reference data not installed: fall back to the shipped list
        refs = classifications().values()
        return CodeBook({r.code: r.family for r in refs}, {r.code: r.title for r in refs})
    return CodeBook({row.code: row.family for row in rows}, {row.code: row.title for row in rows})


# ---------------------------------------------------------------------------
# Step 1: every item's reasons as a bit mask, in SQL
# ---------------------------------------------------------------------------


def agenda_epoch(session: Session) -> datetime | None:
    """When the database took its first extract: the first RMS import, or the
    time a synthetic force was generated as of (a training scenario says
    since when its story has Vigil in use). Thresholds crossed and events
    before it do not reach a meeting (except events in the meeting's own
    window): a first import fills the work queues, not the agenda. None: the
    database has never had an extract (every event and threshold counts)."""
    found: list[datetime] = []
    first_import = session.execute(select(func.min(ImportBatch.started_at))).scalar()
    if first_import is not None:
        found.append(as_utc(first_import))  # type: ignore[arg-type]
    in_use = session.get(AppMeta, IN_USE_SINCE_KEY)
    if in_use is not None:
        try:
            return datetime.fromisoformat(in_use.value).astimezone(UTC)
        except ValueError:
            pass
    generated = session.get(AppMeta, GENERATED_KEY)
    if generated is not None:
        try:
            found.append(datetime.fromisoformat(json.loads(generated.value)["now"])
                         .astimezone(UTC))
        except (ValueError, KeyError, TypeError):
            pass
    return min(found) if found else None


@dataclass(frozen=True)
class Bounds:
    """The meeting as the SQL sees it."""

    area: str
    covers_from: datetime
    starts_at: datetime
    next_starts_at: datetime
    closed_since: datetime
    epoch: datetime | None
    events_from: datetime | None
    meeting_date: date
    # the clock the facts are read at (DMM actions set and done by then); None:
    # as the database holds them
    as_of: datetime | None = None


def bounds(area: str, frame: MeetingFrame, policy: Policy,
           as_of: datetime | None = None) -> Bounds:
    """The meeting of ``frame`` as the SQL sees it; with ``as_of``, a past
    meeting's facts as they stood at that clock (never later than the next
    meeting's start), so an agenda rebuilt at a meeting's start is the one the
    meeting had."""
    if as_of is not None:
        as_of = min(as_of, frame.next_starts_at)
    return Bounds(area, frame.covers_from, frame.starts_at, frame.next_starts_at,
                  frame.starts_at - timedelta(days=policy.dmm.closed_grace_days),
                  frame.epoch, frame.events_from, frame.meeting_date, as_of)


def action_open(b: Bounds) -> Any:
    """A DMM action not done at the facts' clock: set by then and not done by
    then (one done later was still open at a past meeting)."""
    if b.as_of is None:
        return DmmAction.done_at.is_(None)
    moment = ts(b.as_of)
    return and_(DmmAction.created_at <= moment,
                or_(DmmAction.done_at.is_(None), DmmAction.done_at > moment))




class MaskBook:
    """Reason codes and priority for a mask and risk level (memoised: a queue
    has a few dozen distinct combinations however long it is)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._codes: dict[int, list[str]] = {}
        self._json: dict[int, str] = {}
        self._priority: dict[tuple[int, str | None], rules.Priority] = {}

    def codes(self, mask: int) -> list[str]:
        found = self._codes.get(mask)
        if found is None:
            weights = self.policy.dmm.weights
            found = sorted((c for c, bit in REASON_BITS.items() if mask & bit),
                           key=lambda c: (-weights.get(c, 0), REASON_ORDER.index(c)))
            self._codes[mask] = found
        return found

    def json(self, mask: int) -> str:
        found = self._json.get(mask)
        if found is None:
            found = self._json[mask] = json.dumps(self.codes(mask))
        return found

    def priority(self, mask: int, risk: str | None) -> rules.Priority:
        key = (mask, risk)
        found = self._priority.get(key)
        if found is None:
            found = self._priority[key] = rules.priority(self.codes(mask), risk, self.policy)
        return found


def mask_of(codes: Iterable[str]) -> int:
    mask = 0
    for code in codes:
        mask |= REASON_BITS.get(code, 0)
    return mask


