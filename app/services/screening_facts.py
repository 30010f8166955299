"""The facts screening gathers beyond a crime's summary: the other crimes of
its victim-suspect pair (:class:`PairHistory`), the breached orders between
them, and the victim's latest S-DASH answers, each read a batch at a time."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Float,
    cast,
    func,
    select,
)
from sqlmodel import Session

from models import (
    Breach,
    Case,
    ProtectiveOrder,
    RiskAssessment,
)

PAIR_CHUNK = 400  # victim-suspect pairs per IN list
MAX_LINKED = 50  # linked crime refs kept as evidence for one crime


@dataclass
class PairHistory:
    """Crimes of one victim-suspect pair, in report order."""

    times: list[float] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)

    def others_within(self, case_id: int, at: float, window: float) -> tuple[str, ...]:
        lo = bisect_left(self.times, at - window)
        hi = bisect_right(self.times, at + window)
        refs = [self.refs[i] for i in range(lo, hi) if self.ids[i] != case_id]
        return tuple(refs[-MAX_LINKED:])


def epoch(session: Session, column: Any) -> Any:
    """``column`` as seconds since 1970 (UTC), computed by the database."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(column) - 2440587.5) * 86400.0
    return cast(func.extract("epoch", column), Float)


def _pair_columns(session: Session) -> tuple[Any, ...]:
    return (Case.victim_id, Case.suspect_id, epoch(session, Case.reported_at), Case.id,
            Case.crime_ref)


def _add_pairs(histories: dict[tuple[int, int], PairHistory], rows: Iterable[Any]) -> None:
    for victim_id, suspect_id, reported_at, case_id, crime_ref in rows:
        history = histories.get((victim_id, suspect_id))
        if history is None:
            history = histories[(victim_id, suspect_id)] = PairHistory()
        history.times.append(reported_at)
        history.ids.append(case_id)
        history.refs.append(crime_ref)


def pair_histories_for(session: Session, pairs: Sequence[tuple[int, int]]
                        ) -> dict[tuple[int, int], PairHistory]:
    """The crimes of each victim-suspect pair. Read by victim (an IN list the
    pair index seeks; SQLite scans the whole index for a list of row values)
    and kept for the pairs asked about."""
    histories: dict[tuple[int, int], PairHistory] = {pair: PairHistory() for pair in pairs}
    wanted = set(pairs)
    victims = sorted({victim for victim, _ in pairs})
    for start in range(0, len(victims), PAIR_CHUNK):
        batch = victims[start:start + PAIR_CHUNK]
        stmt = (
            select(*_pair_columns(session))
            .where(Case.victim_id.in_(batch), Case.suspect_id.is_not(None))
            .order_by(Case.victim_id, Case.suspect_id, Case.reported_at, Case.id)
        )
        _add_pairs(histories, (row for row in session.connection().execute(stmt)
                               if (row.victim_id, row.suspect_id) in wanted))
    return histories


def breached_orders(session: Session, pair: tuple[int, int] | None = None
                     ) -> dict[tuple[int, int], tuple[str, ...]]:
    """(protected victim, subject) -> refs of their orders that have been
    breached (every pair, or only ``pair``)."""
    original = select(Case.id, Case.victim_id, Case.suspect_id).subquery()
    protected = func.coalesce(ProtectiveOrder.protected_id, original.c.victim_id)
    subject = func.coalesce(ProtectiveOrder.subject_id, original.c.suspect_id)
    stmt = (
        select(protected, subject, ProtectiveOrder.order_ref)
        .join(Breach, Breach.order_id == ProtectiveOrder.id)
        .join(original, original.c.id == ProtectiveOrder.case_id)
        .distinct()
    )
    if pair is not None:
        protected_id, subject_id = pair
        stmt = stmt.where(protected == protected_id, subject == subject_id)
    found: dict[tuple[int, int], list[str]] = defaultdict(list)
    for victim_id, suspect_id, order_ref in session.execute(stmt):
        if victim_id is not None and suspect_id is not None:
            found[(victim_id, suspect_id)].append(order_ref)
    return {pair: tuple(sorted(refs)) for pair, refs in found.items()}


def breached_orders_for(session: Session, pairs: Sequence[tuple[int, int]]
                         ) -> dict[tuple[int, int], tuple[str, ...]]:
    """:func:`breached_orders` for ``pairs`` only, read by victim (the order's
    protected person, or the victim of the crime it was made on) through the
    indexes, so an incremental run reads the orders of its pairs and not
    every breach in the force."""
    wanted = set(pairs)
    victims = sorted({victim for victim, _ in pairs})
    original = select(Case.id, Case.victim_id, Case.suspect_id).subquery()
    columns = (ProtectiveOrder.protected_id, ProtectiveOrder.subject_id, original.c.victim_id,
               original.c.suspect_id, ProtectiveOrder.order_ref)
    base = (select(*columns).join(Breach, Breach.order_id == ProtectiveOrder.id)
            .join(original, original.c.id == ProtectiveOrder.case_id))
    found: dict[tuple[int, int], set[str]] = defaultdict(set)
    for start in range(0, len(victims), PAIR_CHUNK):
        batch = victims[start:start + PAIR_CHUNK]
        for stmt in (base.where(ProtectiveOrder.protected_id.in_(batch)),
                     base.where(ProtectiveOrder.protected_id.is_(None),
                                original.c.victim_id.in_(batch))):
            for protected_id, subject_id, victim_id, suspect_id, order_ref in session.execute(stmt):
                pair = (protected_id if protected_id is not None else victim_id,
                        subject_id if subject_id is not None else suspect_id)
                if pair in wanted:
                    found[pair].add(order_ref)
    return {pair: tuple(sorted(refs)) for pair, refs in found.items()}


def sdash_answers(session: Session, ids: Sequence[int], tool: str) -> dict[int, str]:
    """Latest answers per crime for the crimes ``ids``."""
    stmt = (
        select(RiskAssessment.case_id, RiskAssessment.answers)
        .where(RiskAssessment.case_id.in_(ids), RiskAssessment.tool == tool)
        .order_by(RiskAssessment.case_id, RiskAssessment.assessed_at, RiskAssessment.id)
    )
    return dict(session.connection().execute(stmt).all())  # in order: the latest wins

