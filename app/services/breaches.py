"""The escalation board of breaches of protective orders (DOMAIN.md §5;
recs 12.3, 13). Recording a breach is in :mod:`app.services.breach_recording`,
the supervisor's actions on one in :mod:`app.services.breach_actions`.

**Which breaches are on the board**: every unacknowledged breach, plus those
acknowledged within the last ``breach.board_acknowledged_days`` (default 7)
that are at level 2 or more and whose original case has not been
re-assessed since the breach was reported. Area = the original case's area
command.

The board is built in SQL with indexes: one query for the breaches (index on
``acknowledged_at``), one grouped query counting each pair's breaches in the
board windows, one for the pairs' breach dates the repeat rule needs, one for
the SPOs in force between the pairs; never a query per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, case, func, or_, select, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.rules import orders as order_rules
from app.rules.escalation import (
    BreachFacts,
    Escalation,
    assess_breach,
    format_time_left,
)
from app.services.audit_trail import audit_naming
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import (
    Breach,
    Case,
    MultiAgencyReferral,
    Person,
    ProtectiveOrder,
    RiskAssessment,
)
from models.enums import ORDERS_IN_FORCE, AuditAction, OrderStatus

LEVEL_TITLES: dict[int, str] = {
    3: "Level 3: overdue — acknowledgement or re-assessment not done in time",
    2: "Level 2: repeated, high risk, SPO breach or threats/violence — inspector review",
    1: "Level 1: supervisor acknowledgement due",
}

# --- results ------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardItem:
    breach_ref: str
    crime_ref: str  # the breach's own crime
    original_crime_ref: str
    order_ref: str
    order_kind: str
    area_command: str
    level: int
    reasons: tuple[str, ...]  # stable codes
    reason_texts: tuple[str, ...]
    due_at: datetime | None
    due_for: str | None  # "acknowledgement", "re-assessment" or None
    overdue: bool
    time_left: timedelta | None  # negative when overdue
    time_text: str  # "5h 20m left", "1d 2h overdue"
    occurred_at: datetime
    reported_at: datetime
    victim_ref: str | None
    suspect_ref: str | None
    breach_counts: tuple[tuple[int, int], ...]  # (window days, breaches of the pair)
    expected_actions: tuple[str, ...]
    outstanding_actions: tuple[str, ...]
    acknowledged: bool
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    threats_or_violence: bool
    manual_level: int | None
    arrest_at: datetime | None
    reassessment_requested_at: datetime | None
    reassessment_due_at: datetime | None
    reassessed: bool
    risk_level: str | None
    case_version: int  # the original case's version (optimistic lock for the actions)

    def breaches_in(self, days: int) -> int | None:
        for window, count in self.breach_counts:
            if window == days:
                return count
        return None

    @property
    def breaches_30d(self) -> int | None:
        return self.breaches_in(30)

    @property
    def breaches_90d(self) -> int | None:
        return self.breaches_in(90)

    @property
    def pair(self) -> str:
        return f"{self.victim_ref or '?'} ← {self.suspect_ref or '?'}"

    def as_dict(self) -> dict[str, Any]:
        """The exported shape (JSON, CSV): stable keys."""
        data: dict[str, Any] = {
            "breach_ref": self.breach_ref,
            "crime_ref": self.crime_ref,
            "original_crime_ref": self.original_crime_ref,
            "order_ref": self.order_ref,
            "order_kind": self.order_kind,
            "area_command": self.area_command,
            "level": self.level,
            "reasons": list(self.reasons),
            "due_at": self.due_at,
            "due_for": self.due_for,
            "overdue": self.overdue,
            "time_left_minutes": (None if self.time_left is None
                                  else int(self.time_left.total_seconds() // 60)),
            "time_left": self.time_text,
            "occurred_at": self.occurred_at,
            "reported_at": self.reported_at,
            "victim_ref": self.victim_ref,
            "suspect_ref": self.suspect_ref,
        }
        for days, count in self.breach_counts:
            data[f"breaches_{days}d"] = count
        data.update({
            "expected_actions": list(self.expected_actions),
            "outstanding_actions": list(self.outstanding_actions),
            "acknowledged": self.acknowledged,
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": self.acknowledged_at,
            "threats_or_violence": self.threats_or_violence,
            "manual_level": self.manual_level,
            "arrest_at": self.arrest_at,
            "reassessment_requested_at": self.reassessment_requested_at,
            "reassessed": self.reassessed,
            "risk_level": self.risk_level,
        })
        return data


@dataclass(frozen=True)
class BoardLevel:
    level: int
    title: str
    items: tuple[BoardItem, ...]
    total: int  # before any per-level limit

    @property
    def truncated(self) -> bool:
        return self.total > len(self.items)


@dataclass(frozen=True)
class BreachBoard:
    area: str | None
    built_at: datetime
    windows_days: tuple[int, ...]
    levels: tuple[BoardLevel, ...]  # level 3 first

    @property
    def items(self) -> tuple[BoardItem, ...]:
        return tuple(item for level in self.levels for item in level.items)

    @property
    def total(self) -> int:
        return sum(level.total for level in self.levels)

    def level(self, number: int) -> BoardLevel:
        for level in self.levels:
            if level.level == number:
                return level
        raise KeyError(number)

    def find(self, breach_ref: str) -> BoardItem | None:
        return next((i for i in self.items if i.breach_ref == breach_ref), None)


# --- building items -----------------------------------------------------------------


@dataclass(frozen=True)
class _Aliases:
    breach_case: Any
    original: Any
    victim: Any
    suspect: Any


@cache
def _aliases() -> _Aliases:
    return _Aliases(aliased(Case, name="breach_case"), aliased(Case, name="original_case"),
                    aliased(Person, name="victim"), aliased(Person, name="suspect"))


def _joined(*columns: Any) -> Select[Any]:
    """``columns`` from each breach joined to its order, original case, breach
    crime and the pair (the aliases of :func:`_aliases`)."""
    a = _aliases()
    return (
        select(*columns)
        .select_from(Breach)
        .join(ProtectiveOrder, ProtectiveOrder.id == Breach.order_id)
        .join(a.original, a.original.id == Breach.original_case_id)
        .join(a.breach_case, a.breach_case.id == Breach.breach_case_id)
        .outerjoin(a.victim, a.victim.id == ProtectiveOrder.protected_id)
        .outerjoin(a.suspect, a.suspect.id == ProtectiveOrder.subject_id)
    )


@cache
def _board_columns() -> tuple[Any, ...]:
    """The breach, its crime, original case, order, pair and the newest risk
    assessment on the original case."""
    a = _aliases()
    # the pair's last assessment, on the original case or on the breach crime
    last_assessed = (
        select(func.max(RiskAssessment.assessed_at))
        .where(RiskAssessment.case_id.in_([a.original.id, a.breach_case.id]))
        .correlate(a.original, a.breach_case)
        .scalar_subquery()
    )
    multi_agency = (
        select(func.max(MultiAgencyReferral.referred_at))
        .where(MultiAgencyReferral.case_id == a.original.id)
        .correlate(a.original)
        .scalar_subquery()
    )
    return (
        Breach.id, Breach.breach_ref, Breach.occurred_at, Breach.reported_at,
        Breach.threats_or_violence, Breach.acknowledged_at, Breach.acknowledged_by,
        Breach.manual_level, Breach.escalated_at, Breach.arrest_at,
        Breach.reassessment_requested_at,
        a.breach_case.crime_ref.label("crime_ref"),
        a.original.id.label("original_id"), a.original.crime_ref.label("original_crime_ref"),
        a.original.area_command, a.original.risk_level, a.original.version,
        a.breach_case.reassessment_due_at,
        ProtectiveOrder.order_ref, ProtectiveOrder.kind,
        ProtectiveOrder.protected_id, ProtectiveOrder.subject_id,
        a.victim.person_ref.label("victim_ref"), a.suspect.person_ref.label("suspect_ref"),
        last_assessed.label("last_assessed_at"), multi_agency.label("multi_agency_at"),
    )


Pair = tuple[int | None, int | None]


def _pair_counts(session: Session, victims: Select[Any], windows: Sequence[int],
                 now: datetime) -> dict[Pair, tuple[int, ...]]:
    """Breaches of each pair (of the board's victims) that occurred in each
    board window up to ``now``: one grouped query."""
    if not windows:
        return {}
    widest = now - timedelta(days=max(windows))
    sums = [
        func.sum(case((Breach.occurred_at >= now - timedelta(days=days), 1), else_=0))
        .label(f"breaches_{days}d")
        for days in windows
    ]
    stmt = (
        select(ProtectiveOrder.protected_id, ProtectiveOrder.subject_id, *sums)
        .join(ProtectiveOrder, ProtectiveOrder.id == Breach.order_id)
        .where(ProtectiveOrder.protected_id.in_(victims), Breach.occurred_at >= widest,
               Breach.occurred_at <= now)
        .group_by(ProtectiveOrder.protected_id, ProtectiveOrder.subject_id)
    )
    return {(row.protected_id, row.subject_id):
            tuple(int(row._mapping[f"breaches_{days}d"] or 0) for days in windows)
            for row in session.connection().execute(stmt)}


def _pair_breach_times(session: Session, victims: Select[Any], since: datetime,
                       until: datetime) -> dict[Pair, list[datetime]]:
    """When each breach of the board's pairs occurred, within the span the
    repeat rule looks at."""
    stmt = (
        select(ProtectiveOrder.protected_id, ProtectiveOrder.subject_id, Breach.occurred_at)
        .join(ProtectiveOrder, ProtectiveOrder.id == Breach.order_id)
        .where(ProtectiveOrder.protected_id.in_(victims), Breach.occurred_at >= since,
               Breach.occurred_at <= until)
    )
    times: dict[Pair, list[datetime]] = {}
    for protected, subject, occurred in session.connection().execute(stmt):
        times.setdefault((protected, subject), []).append(occurred)
    return times


_SPO_PENDING = frozenset({OrderStatus.APPLICATION_IN_PREPARATION, OrderStatus.APPLIED})


def _pairs_with_spo(session: Session, victims: Select[Any]) -> tuple[set[Pair], set[Pair]]:
    """Pairs with an SPO or interim SPO in force, and pairs with one pending."""
    in_force: set[Pair] = set()
    pending: set[Pair] = set()
    # kind and status are checked here, not in SQL: the victims' few orders
    # come straight off the protected-person index (never the kind or status ones)
    stmt = select(ProtectiveOrder.protected_id, ProtectiveOrder.subject_id,
                  ProtectiveOrder.kind, ProtectiveOrder.status).where(
        ProtectiveOrder.protected_id.in_(victims))
    for protected, subject, kind, status in session.connection().execute(stmt):
        if kind not in order_rules.SPO_KINDS:
            continue
        if status in ORDERS_IN_FORCE:
            in_force.add((protected, subject))
        elif status in _SPO_PENDING:
            pending.add((protected, subject))
    return in_force, pending


def _victims(filters: Sequence[Any], *, lean: bool) -> Select[Any]:
    """The protected people of the breaches matching ``filters``. ``lean``
    when the filters name only the breach and the original case."""
    if not lean:
        return _joined(ProtectiveOrder.protected_id).where(*filters)
    original = _aliases().original
    return (
        select(ProtectiveOrder.protected_id)
        .select_from(Breach)
        .join(ProtectiveOrder, ProtectiveOrder.id == Breach.order_id)
        .join(original, original.id == Breach.original_case_id)
        .where(*filters)
    )


def _items(ctx: ServiceContext, session: Session, filters: Sequence[Any], *,
           board_only: bool = False, lean: bool = True) -> list[tuple[BoardItem, Escalation]]:
    """Read the breaches matching ``filters`` and assess each: the board rows,
    then three reads for the pairs (their victims as a subquery with the same
    filters, never a list of ids or a query per row). ``board_only`` drops
    the breaches the board does not show before building their items."""
    rows = session.connection().execute(_joined(*_board_columns()).where(*filters)).all()
    if not rows:
        return []
    policy = ctx.policy.breach
    now = ctx.now()
    windows = tuple(policy.board_windows_days)
    victims = _victims(filters, lean=lean)
    counts = _pair_counts(session, victims, windows, now)
    reach = timedelta(days=policy.repeat_window_days)
    times = _pair_breach_times(session, victims, min(r.occurred_at for r in rows) - reach,
                               max(r.occurred_at for r in rows) + reach)
    spo_pairs, spo_pending = _pairs_with_spo(session, victims)
    no_counts = (0,) * len(windows)
    out: list[tuple[BoardItem, Escalation]] = []
    for (_id, breach_ref, occurred_at, reported_at, threats, acknowledged_at, acknowledged_by,
         manual_level, escalated_at, arrest_at, reassessment_requested_at, crime_ref,
         _original_id, original_crime_ref, area_command, risk_level, version,
         reassessment_due_at, order_ref, kind, protected_id, subject_id, victim_ref,
         suspect_ref, last_assessed_at, multi_agency_at) in rows:
        pair = (protected_id, subject_id)
        facts = BreachFacts(
            order_kind=kind, occurred_at=occurred_at, reported_at=reported_at,
            threats_or_violence=bool(threats), risk_level=risk_level,
            pair_breach_times=tuple(times.get(pair, ())) or (occurred_at,),
            last_assessed_at=last_assessed_at, acknowledged_at=acknowledged_at,
            manual_level=manual_level, escalated_at=escalated_at, arrest_at=arrest_at,
            pair_has_spo_in_force=pair in spo_pairs, spo_application_pending=pair in spo_pending,
            multi_agency_referred_at=multi_agency_at,
        )
        esc = assess_breach(facts, policy, now)
        if board_only and not _on_board_now(acknowledged_at is not None, esc):
            continue
        left = esc.time_left(now)
        item = BoardItem(
            breach_ref=breach_ref, crime_ref=crime_ref, original_crime_ref=original_crime_ref,
            order_ref=order_ref, order_kind=kind, area_command=area_command,
            level=esc.level, reasons=esc.codes, reason_texts=tuple(x.text for x in esc.reasons),
            due_at=esc.due_at, due_for=esc.due_for, overdue=esc.overdue, time_left=left,
            time_text=format_time_left(left), occurred_at=occurred_at,
            reported_at=reported_at, victim_ref=victim_ref, suspect_ref=suspect_ref,
            # no count row: the pair had no breach in the windows (an old one still open)
            breach_counts=tuple(zip(windows, counts.get(pair, no_counts), strict=True)),
            expected_actions=esc.expected_actions, outstanding_actions=esc.outstanding_actions,
            acknowledged=acknowledged_at is not None, acknowledged_by=acknowledged_by,
            acknowledged_at=acknowledged_at, threats_or_violence=bool(threats),
            manual_level=manual_level, arrest_at=arrest_at,
            reassessment_requested_at=reassessment_requested_at,
            reassessment_due_at=reassessment_due_at, reassessed=esc.reassessed,
            risk_level=risk_level, case_version=int(version),
        )
        out.append((item, esc))
    return out


def _on_board_now(acknowledged: bool, esc: Escalation) -> bool:
    """Unacknowledged, or (acknowledged lately) level 2+ and not re-assessed."""
    return not acknowledged or (esc.level >= 2 and not esc.reassessed)


def _sort_key(item: BoardItem) -> tuple[Any, ...]:
    # most overdue first, then the nearest deadline, then the oldest report
    due = item.due_at.timestamp() if item.due_at else float("inf")
    return (0 if item.overdue else 1, due, item.reported_at, item.breach_ref)


def item_for(ctx: ServiceContext, session: Session, breach_id: int) -> BoardItem:
    return _items(ctx, session, [Breach.id == breach_id])[0][0]


def _text_filter(text: str, a: _Aliases) -> Any:
    """Prefix match (any case) on the breach, its crime, the original crime,
    the order or either person's reference."""
    prefix = text.strip().upper() + "%"
    return or_(*(func.upper(column).like(prefix) for column in (
        Breach.breach_ref, a.breach_case.crime_ref, a.original.crime_ref,
        ProtectiveOrder.order_ref, a.victim.person_ref, a.suspect.person_ref)))


def breach_board(ctx: ServiceContext, *, area: str | None = None, text: str | None = None,
                 limit_per_level: int | None = None, audit: bool = True) -> BreachBoard:
    """The breach board for ``area`` (force-wide when None), grouped by level
    (3, 2, 1), most urgent first. ``text`` keeps breaches whose breach, crime,
    original crime, order or person reference starts with it. ``limit_per_level``
    caps the items kept per level (the totals still count them all)."""
    ctx.require(Permission.VIEW_BREACHES, entity="breach_board")
    now = ctx.now()
    policy = ctx.policy.breach
    recent = now - timedelta(days=policy.board_acknowledged_days)
    aliases = _aliases()
    # candidates straight off the acknowledgement index (two index ranges); an
    # acknowledged breach whose original case was re-assessed since its report
    # is never on the board, so it is not read at all
    reassessed = (
        select(RiskAssessment.id)
        .where(RiskAssessment.case_id == Breach.original_case_id,
               RiskAssessment.assessed_at > Breach.reported_at)
        .exists()
    )
    candidates = union_all(
        select(Breach.id).where(Breach.acknowledged_at.is_(None)),
        select(Breach.id).where(Breach.acknowledged_at >= recent, ~reassessed),
    )
    filters: list[Any] = [Breach.id.in_(candidates)]
    if area:
        # coalesce() keeps the planner on the breach index: driving from the
        # area's cases would probe every case of the area for breaches
        filters.append(func.coalesce(aliases.original.area_command, "") == area)
    if text and text.strip():
        filters.append(_text_filter(text, aliases))
    with ctx.read() as session:
        assessed = _items(ctx, session, filters, board_only=True,
                          lean=not (text and text.strip()))
    items = sorted((item for item, _ in assessed), key=_sort_key)
    levels = []
    for number in (3, 2, 1):
        at_level = [i for i in items if i.level == number]
        kept = at_level if limit_per_level is None else at_level[:limit_per_level]
        levels.append(BoardLevel(number, LEVEL_TITLES[number], tuple(kept), len(at_level)))
    board = BreachBoard(area=area, built_at=now, windows_days=tuple(policy.board_windows_days),
                        levels=tuple(levels))
    if audit:
        with ctx.write() as session:
            counts = ", ".join(f"level {lv.level}: {lv.total}" for lv in board.levels)
            where = area or "force-wide"
            if text and text.strip():
                where += f", filter {text.strip()!r}"
            shown = [ref for item in board.items
                     for ref in (item.crime_ref, item.original_crime_ref)]
            audit_naming(ctx, session, AuditAction.VIEW, "breach_board", area or "force-wide",
                         shown, reason=f"breach board viewed ({where}; {counts})")
    return board
