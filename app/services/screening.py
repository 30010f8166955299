"""Analyst screening: finding stalking recorded as something else (rec 23.1).

- :func:`run_screening` reads the summary of every screenable crime with the
  pure rules of :mod:`app.rules.screening`; only crimes whose summary can
  make them qualify for the queue (the behaviour rule reaching the policy's
  ``candidate_min_behaviour``) have their other facts gathered (pair
  history, S-DASH answers, breached orders) and are scored, and only crimes
  that qualify keep a :class:`ScreeningResult`, with their evidence.
- An incremental run re-screens the crimes whose ``last_activity_at`` moved
  since the last finished run that covered at least the same crimes (less
  ``INCREMENTAL_OVERLAP``), and the other crimes of the same victim-suspect
  pairs (a new crime can make an old one part of a course of conduct); a
  first run screens everything. A crime that stops being screenable (now
  recorded as stalking) or stops qualifying loses its result.
- The queue shows qualifying results whose score reaches the policy's
  ``min_score``, highest first.
- The run is set-based: crimes are read by primary-key ranges (id, summary,
  code); the facts of the few that can qualify come from one query each per
  chunk; results are written with one driver-level executemany every
  ``WRITE_EVERY`` chunks. A run reads in one transaction and writes in
  short transactions of their own (deleting the chunks' old results
  first), so it never holds other writers up for long; until it finishes a
  crime shows this run's result or the previous one, and an unfinished run
  is not the "last run".
- :func:`raise_flag` (analyst) proposes a change; :func:`decide_flag`
  (supervisor of the case's area, never the person who raised it) accepts,
  applying the change to the classification with audit, or rejects with a
  reason. :func:`flag_feedback` counts decisions per rule and per team so
  the policy can be tuned.
"""
from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    Text,
    and_,
    bindparam,
    cast,
    column,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    table,
    text,
)
from sqlmodel import Session

from app.errors import BadInput, ConflictError, NotFound, PermissionDenied
from app.policy import ScreeningPolicy
from app.rules.screening import (
    RULE_NAMES,
    CrimeFacts,
    PhraseMatch,
    PhraseMatcher,
    PreparedCrime,
    ScoredCrime,
    compile_policy,
    needs_facts,
    score_batch,
    screen_crime,
    summaries_may_qualify,
    summary_matches,
)
from app.services.audit_trail import audit_naming
from app.services.case_lock import ADDITION, edit_case
from app.services.context import ServiceContext
from app.services.permissions import Permission
from app.services.search import included_codes
from models import (
    Breach,
    Case,
    Classification,
    IncludedClassification,
    ProtectiveOrder,
    RiskAssessment,
    ScreeningFlag,
    ScreeningResult,
    ScreeningRun,
)
from models.enums import AuditAction, ClassificationSource, FlagStatus, SuggestedChange
from models.types import UTCDateTime

CHUNK = 5_000  # crimes read and screened at a time
WRITE_EVERY = 10  # chunks whose results are written in one short transaction
# An incremental run re-reads what changed this long before the last run
# started: a change whose clock was read before that start but committed after
# the run's read began is not missed.
INCREMENTAL_OVERLAP = timedelta(minutes=5)
PAIR_CHUNK = 400  # victim-suspect pairs per IN list
MAX_PAGE_SIZE = 500
MAX_LINKED = 50  # linked crime refs kept as evidence for one crime

SUGGESTED_CHANGE_LABELS: dict[str, str] = {
    SuggestedChange.PRINCIPAL_TO_STALKING: "principal to stalking (8Q)",
    SuggestedChange.ADD_INCLUDED_STALKING: "add included stalking (8Q)",
    SuggestedChange.NO_CHANGE: "no change",
}


# --- results handed to callers ---------------------------------------------------
@dataclass(frozen=True)
class ScreeningRunSummary:
    run_id: int
    full: bool
    run_by: str
    started_at: datetime
    finished_at: datetime | None
    screened: int
    candidates: int
    seconds: float = 0.0


@dataclass(frozen=True)
class LinkedCrime:
    crime_ref: str
    reported_at: datetime
    principal_code: str


@dataclass(frozen=True)
class FlagView:
    id: int
    crime_ref: str
    rules: tuple[str, ...]
    score: float
    suggested_change: str
    reason: str
    raised_by: str
    raised_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    rationale: str | None


@dataclass(frozen=True)
class QueueItem:
    crime_ref: str
    reported_at: datetime
    principal_code: str
    included_codes: tuple[str, ...]
    area: str
    team: str | None
    score: float
    rules: tuple[str, ...]
    evidence: tuple[dict[str, Any], ...]
    explanations: tuple[str, ...]
    linked_crimes: tuple[LinkedCrime, ...]
    summary: str
    relationship: str
    online: bool
    version: int
    screened_at: datetime
    flag: FlagView | None = None

    @property
    def flag_status(self) -> str | None:
        return self.flag.status if self.flag else None

    def as_dict(self) -> dict[str, Any]:
        """The item as JSON export carries it."""
        return {
            "crime_ref": self.crime_ref,
            "reported_at": self.reported_at,
            "principal_code": self.principal_code,
            "included_codes": list(self.included_codes),
            "area": self.area,
            "team": self.team,
            "score": self.score,
            "rules": list(self.rules),
            "explanations": list(self.explanations),
            "evidence": [e for e in self.evidence if "explanation" not in e],
            "linked_crimes": [
                {"crime_ref": c.crime_ref, "reported_at": c.reported_at,
                 "principal_code": c.principal_code} for c in self.linked_crimes
            ],
            "summary": self.summary,
            "flag_status": self.flag_status,
            "flag_id": self.flag.id if self.flag else None,
        }


@dataclass(frozen=True)
class ScreeningQueue:
    items: list[QueueItem]
    total: int
    page: int
    page_size: int
    min_score: float
    last_run: ScreeningRunSummary | None = None

    @property
    def has_more(self) -> bool:
        return (self.page + 1) * self.page_size < self.total


@dataclass(frozen=True)
class FeedbackRow:
    key: str
    raised: int
    open: int
    accepted: int
    rejected: int
    changed: int  # accepted flags that changed the classification

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected

    @property
    def acceptance_rate(self) -> float | None:
        return round(self.accepted / self.decided, 3) if self.decided else None

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "raised": self.raised, "open": self.open,
                "accepted": self.accepted, "rejected": self.rejected, "changed": self.changed,
                "acceptance_rate": self.acceptance_rate}


@dataclass(frozen=True)
class FlagFeedback:
    by_rule: list[FeedbackRow] = field(default_factory=list)
    by_team: list[FeedbackRow] = field(default_factory=list)
    total: FeedbackRow = field(default_factory=lambda: FeedbackRow("all", 0, 0, 0, 0, 0))
    since: datetime | None = None


@dataclass(frozen=True)
class FlagDecision:
    flag: FlagView
    principal_code: str
    included_codes: tuple[str, ...]
    version: int


# --- what is screenable ------------------------------------------------------------
@dataclass(frozen=True)
class _Codes:
    families: dict[str, str]  # code -> family
    screened: tuple[str, ...]  # principal codes whose crimes are screened
    stalking: tuple[str, ...]  # codes that are stalking

    @property
    def stalking_code(self) -> str:
        if not self.stalking:
            raise NotFound("no stalking classification (8Q) in the reference data")
        return "8Q" if "8Q" in self.stalking else self.stalking[0]


def _codes(session: Session, policy: ScreeningPolicy) -> _Codes:
    rows = session.execute(
        select(Classification.code, Classification.family, Classification.is_stalking)
    ).all()
    stalking = tuple(sorted(code for code, family, is_stalking in rows
                            if is_stalking or family == "stalking"))
    screened = tuple(sorted(code for code, family, _ in rows
                            if family in policy.families and code not in stalking))
    return _Codes({code: family for code, family, _ in rows}, screened, stalking)


def _screenable(codes: _Codes) -> Any:
    """SQL: the crime's principal is a screened family and no included code is stalking."""
    included_stalking = exists().where(
        IncludedClassification.case_id == Case.id, IncludedClassification.code.in_(codes.stalking)
    )
    return and_(Case.principal_code.in_(codes.screened), ~included_stalking)


def _scope_start(ctx: ServiceContext, since: datetime | None) -> datetime | None:
    lookback = ctx.policy.screening.lookback_days
    starts = [s for s in (since, ctx.now() - timedelta(days=lookback) if lookback else None) if s]
    return max(starts) if starts else None


# --- the run ------------------------------------------------------------------------
@dataclass
class _PairHistory:
    """Crimes of one victim-suspect pair, in report order."""

    times: list[float] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)

    def others_within(self, case_id: int, at: float, window: float) -> tuple[str, ...]:
        lo = bisect_left(self.times, at - window)
        hi = bisect_right(self.times, at + window)
        refs = [self.refs[i] for i in range(lo, hi) if self.ids[i] != case_id]
        return tuple(refs[-MAX_LINKED:])


def _epoch(session: Session, column: Any) -> Any:
    """``column`` as seconds since 1970 (UTC), computed by the database."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(column) - 2440587.5) * 86400.0
    return cast(func.extract("epoch", column), Float)


def _pair_columns(session: Session) -> tuple[Any, ...]:
    return (Case.victim_id, Case.suspect_id, _epoch(session, Case.reported_at), Case.id,
            Case.crime_ref)


def _add_pairs(histories: dict[tuple[int, int], _PairHistory], rows: Iterable[Any]) -> None:
    for victim_id, suspect_id, reported_at, case_id, crime_ref in rows:
        history = histories.get((victim_id, suspect_id))
        if history is None:
            history = histories[(victim_id, suspect_id)] = _PairHistory()
        history.times.append(reported_at)
        history.ids.append(case_id)
        history.refs.append(crime_ref)


def _pair_histories_for(session: Session, pairs: Sequence[tuple[int, int]]
                        ) -> dict[tuple[int, int], _PairHistory]:
    """The crimes of each victim-suspect pair. Read by victim (an IN list the
    pair index seeks; SQLite scans the whole index for a list of row values)
    and kept for the pairs asked about."""
    histories: dict[tuple[int, int], _PairHistory] = {pair: _PairHistory() for pair in pairs}
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
                               if (row[0], row[1]) in wanted))
    return histories


def _breached_orders(session: Session, pair: tuple[int, int] | None = None
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
        stmt = stmt.where(protected == pair[0], subject == pair[1])
    found: dict[tuple[int, int], list[str]] = defaultdict(list)
    for victim_id, suspect_id, order_ref in session.execute(stmt):
        if victim_id is not None and suspect_id is not None:
            found[(victim_id, suspect_id)].append(order_ref)
    return {pair: tuple(sorted(refs)) for pair, refs in found.items()}


def _breached_orders_for(session: Session, pairs: Sequence[tuple[int, int]]
                         ) -> dict[tuple[int, int], tuple[str, ...]]:
    """:func:`_breached_orders` for ``pairs`` only, read by victim (the order's
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


def _sdash_answers(session: Session, ids: Sequence[int], tool: str) -> dict[int, str]:
    """Latest answers per crime for the crimes ``ids``."""
    stmt = (
        select(RiskAssessment.case_id, RiskAssessment.answers)
        .where(RiskAssessment.case_id.in_(ids), RiskAssessment.tool == tool)
        .order_by(RiskAssessment.case_id, RiskAssessment.assessed_at, RiskAssessment.id)
    )
    return dict(session.connection().execute(stmt).all())  # in order: the latest wins


@dataclass(frozen=True)
class _Chunk:
    """Crimes read together: (id, summary, principal code) of those to screen,
    and which stored results they replace."""

    rows: list[Any]
    replaces: Any  # a condition on ScreeningResult


@dataclass
class _Screener:
    """Screens chunks of crimes: every summary first; the other facts (pairs,
    S-DASH answers, breached orders) only for crimes whose summary lets them
    qualify; then writes the results of those that do, a few chunks at a time."""

    ctx: ServiceContext
    session: Session
    codes: _Codes
    now: datetime
    histories: dict[tuple[int, int], _PairHistory] = field(default_factory=dict)
    screened: int = 0
    candidates: int = 0
    facts_read: int = 0

    def __post_init__(self) -> None:
        self.policy = self.ctx.policy.screening
        self.matcher: PhraseMatcher = compile_policy(self.policy)
        self.window = timedelta(days=self.policy.window_days).total_seconds()
        self._breached: dict[tuple[int, int], tuple[str, ...]] | None = None
        dialect = self.session.get_bind().dialect
        compiled = _result_insert(dialect.name).compile(dialect=dialect)
        self.insert_sql = str(compiled)
        self.insert_keys = tuple(compiled.positiontup or ()) if compiled.positional else None
        # the run's time, converted for the database once rather than per row
        to_db = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        self.screened_at = to_db(self.now) if to_db else self.now
        self._pending: list[ScoredCrime] = []
        self._replaces: list[Any] = []

    @property
    def breached(self) -> dict[tuple[int, int], tuple[str, ...]]:
        if self._breached is None:
            self._breached = _breached_orders(self.session)
        return self._breached

    def prepare(self, rows: Sequence[Any]) -> list[PreparedCrime]:
        """What the rules need for ``rows`` ((id, summary, code) in id order)."""
        if not rows:
            return []
        ids = [r[0] for r in rows]
        facts = {r[0]: r for r in self.session.connection().execute(
            select(Case.id, Case.relationship, Case.online, Case.victim_id, Case.suspect_id,
                   _epoch(self.session, Case.reported_at)).where(Case.id.in_(ids)))}
        answers = _sdash_answers(self.session, ids, self.ctx.policy.risk.tool)
        missing = sorted({(f[3], f[4]) for f in facts.values() if f[4] is not None}
                         - self.histories.keys())
        if missing:
            self.histories.update(_pair_histories_for(self.session, missing))
        families, histories, window = self.codes.families, self.histories, self.window
        breached = self.breached
        prepared: list[PreparedCrime] = []
        for case_id, summary, code in rows:
            _, relationship, online, victim_id, suspect_id, reported_at = facts[case_id]
            linked: tuple[str, ...] = ()
            orders: tuple[str, ...] = ()
            if suspect_id is not None:
                pair = (victim_id, suspect_id)
                history = histories.get(pair)
                if history is not None:
                    linked = history.others_within(case_id, reported_at, window)
                orders = breached.get(pair, ())
            prepared.append((case_id, summary or "", families.get(code, ""), relationship,
                             bool(online), linked, answers.get(case_id), orders))
        return prepared

    def score_chunk(self, chunk: _Chunk) -> None:
        """Read every summary of the chunk, gather the facts of the crimes
        that can qualify, score them and queue their results for writing."""
        matcher, policy, families = self.matcher, self.policy, self.codes.families
        found: dict[int, list[PhraseMatch]] = {}
        need = []
        rows = chunk.rows
        kinds = [families.get(row[2], "") for row in rows]
        # only summaries whose words can make the crime qualify are read clause by clause
        for index in summaries_may_qualify(matcher, [row[1] for row in rows], kinds):
            row = rows[index]
            matches = summary_matches(matcher, row[1] or "", prefiltered=True)
            if needs_facts(matches, policy, kinds[index]):
                need.append(row)
                found[row[0]] = matches
        self.screened += len(chunk.rows)
        self.facts_read += len(need)
        rows, candidates = score_batch(self.prepare(need), policy, matcher, matches=found)
        self.candidates += candidates
        self._pending.extend(rows)
        self._replaces.append(chunk.replaces)
        if len(self._replaces) >= WRITE_EVERY or len(self._pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Replace the results of the chunks screened since the last write in
        one short write transaction: their old results go, then one
        executemany of the compiled insert straight to the driver."""
        if not self._replaces:
            return
        at = self.screened_at
        rows = self._pending
        if self.insert_keys == _RESULT_KEYS:
            params: list[Any] = [(*row, at) for row in rows]
        elif self.insert_keys is not None:
            order = [_RESULT_KEYS.index(k) for k in self.insert_keys]
            params = [tuple([*row, at][i] for i in order) for row in rows]
        else:
            params = [dict(zip(_RESULT_KEYS, (*row, at), strict=True)) for row in rows]
        with self.ctx.write() as session:
            if session.get_bind().dialect.name == "postgresql":
                # two analysts' runs at once: one replaces its chunk's results at a
                # time (otherwise both delete nothing, then both insert the same case)
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                {"key": SCREENING_WRITE_LOCK})
            session.execute(delete(ScreeningResult).where(or_(*self._replaces)))
            if params:
                session.connection().exec_driver_sql(self.insert_sql, params)
        self._pending = []
        self._replaces = []


# pg_advisory_xact_lock key serialising the replacement of screening results
SCREENING_WRITE_LOCK = 0x5C12EE17


_RESULT_KEYS = ("case_id", "score", "qualifies", "rules", "evidence", "screened_at")


def _result_insert(dialect: str) -> Any:
    """A Core insert into screening_result taking the JSON columns already
    serialised (rules shared between rows are serialised once)."""
    results = table(
        "screening_result", column("case_id"), column("score"), column("qualifies"),
        column("rules", Text),
        column("evidence", Text), column("screened_at"),
    )
    if dialect == "postgresql":
        return insert(results).values(
            case_id=bindparam("case_id"), score=bindparam("score"),
            qualifies=bindparam("qualifies"),
            rules=cast(bindparam("rules", type_=Text), JSON),
            evidence=cast(bindparam("evidence", type_=Text), JSON),
            screened_at=bindparam("screened_at"),
        )
    return insert(results)


@dataclass(frozen=True)
class _Filter:
    """Which fetched crimes are screened, decided in Python so the chunk
    queries stay plain primary-key range reads on both engines (an IN list
    on the principal code made SQLite walk that index and sort every chunk)."""

    codes: frozenset[str]
    stalking_included: frozenset[int]

    def keep(self, rows: Iterable[Any]) -> list[Any]:
        codes, excluded = self.codes, self.stalking_included
        return [r for r in rows if r[2] in codes and r[0] not in excluded]


def _filter(session: Session, codes: _Codes, ids: Sequence[int] | None = None) -> _Filter:
    """Which crimes are screened: of every crime, or of the crimes ``ids``
    (an incremental run reads the included stalking codes of those only)."""
    stalking = IncludedClassification.code.in_(codes.stalking)
    if ids is None:
        included = set(session.execute(
            select(IncludedClassification.case_id).where(stalking)).scalars())
    else:
        included = set()
        for start in range(0, len(ids), CHUNK):
            included.update(session.execute(
                select(IncludedClassification.case_id).where(
                    IncludedClassification.case_id.in_(ids[start:start + CHUNK]), stalking)
            ).scalars())
    return _Filter(frozenset(codes.screened), frozenset(included))


_SUMMARY_COLUMNS = (Case.id, Case.summary, Case.principal_code)


def _driver_rows(session: Session, stmt: Any, params: dict[str, Any]) -> list[Any]:
    """Rows of a select as the driver returns them (plain tuples, no result
    objects), in the session's transaction. ``params`` are already in the
    driver's terms."""
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if compiled.positional:
            cursor.execute(str(compiled), tuple(params[k] for k in compiled.positiontup or ()))
        else:
            cursor.execute(str(compiled), params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _crime_chunks_by_id(session: Session, keep: _Filter, scope_start: datetime | None
                        ) -> Iterator[_Chunk]:
    """Screenable crimes in id order, a range of ids at a time, read straight
    from the driver (a full run reads every crime: no result objects); each
    chunk replaces the results of its range."""
    low, high = session.execute(select(func.min(Case.id), func.max(Case.id))).one()
    if low is None:
        return
    dialect = session.get_bind().dialect
    in_range = and_(Case.id > bindparam("low"), Case.id <= bindparam("high"))
    params: dict[str, Any] = {}
    if scope_start is not None:
        in_range = and_(in_range, Case.reported_at >= bindparam("since", type_=UTCDateTime))
        to_db = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        params["since"] = to_db(scope_start) if to_db else scope_start
    stmt = select(*_SUMMARY_COLUMNS).where(in_range)
    for start in range(low - 1, high, CHUNK):
        end = start + CHUNK
        replaces = and_(ScreeningResult.case_id > start, ScreeningResult.case_id <= end)
        if scope_start is not None:
            replaces = and_(replaces, ScreeningResult.case_id.in_(
                select(Case.id).where(Case.id > start, Case.id <= end,
                                      Case.reported_at >= scope_start)))
        rows = _driver_rows(session, stmt, {**params, "low": start, "high": end})
        yield _Chunk(keep.keep(rows), replaces)


def _crime_chunks_for(session: Session, ids: Sequence[int], keep: _Filter) -> Iterator[_Chunk]:
    """The crimes ``ids`` a chunk at a time; each chunk replaces their results."""
    for start in range(0, len(ids), CHUNK):
        batch = list(ids[start:start + CHUNK])
        stmt = select(*_SUMMARY_COLUMNS).where(Case.id.in_(batch)).order_by(Case.id)
        yield _Chunk(keep.keep(session.connection().execute(stmt).all()),
                     ScreeningResult.case_id.in_(batch))


def _watermark(session: Session, scope_start: datetime | None) -> datetime | None:
    """When the last finished run that screened at least the crimes in scope
    started: every crime not changed since then has its current result."""
    covers = ScreeningRun.scope_start.is_(None)
    if scope_start is not None:
        covers = or_(covers, ScreeningRun.scope_start <= scope_start)
    return session.execute(
        select(func.max(ScreeningRun.started_at))
        .where(ScreeningRun.finished_at.is_not(None), covers)
    ).scalar()


def _changed_cases(session: Session, since: datetime, scope: Sequence[Any]
                   ) -> list[tuple[int, int, int | None]]:
    """(id, victim, suspect) of crimes active since ``since`` (less the
    overlap; by the activity index). A crime now recorded as stalking is
    among them, so its result goes."""
    stmt = select(Case.id, Case.victim_id, Case.suspect_id).where(
        Case.last_activity_at > since - INCREMENTAL_OVERLAP, *scope)
    return [(r[0], r[1], r[2]) for r in session.execute(stmt)]


def run_screening(ctx: ServiceContext, *, full: bool = False,
                  since: datetime | None = None) -> ScreeningRunSummary:
    """Screen crimes for stalking recorded as something else.

    ``full`` re-screens every screenable crime; otherwise only the crimes
    changed since the last finished run that covered them (and the other
    crimes of the same pairs), or everything when there was none. ``since``
    limits the run to crimes reported since then (as does the policy's
    ``lookback_days``)."""
    ctx.require(Permission.RUN_SCREENING, entity="screening_run")
    policy = ctx.policy.screening
    started = ctx.now()
    wall = time.perf_counter()
    scope_start = _scope_start(ctx, since)
    scope = [Case.reported_at >= scope_start] if scope_start else []
    with ctx.write() as session:
        run = ScreeningRun(started_at=started, run_by=ctx.actor.username, full=full,
                           scope_start=scope_start)
        session.add(run)
        session.flush()
        run_id = int(run.id)  # type: ignore[arg-type]
    # Crimes are read in one read transaction (one consistent view) and their
    # results written a few chunks at a time, each write in its own short
    # transaction, so other users' writes never wait long for a run (SQLite
    # has one writer at a time). Until the run finishes, a crime shows the
    # result of this run or of the one before.
    with ctx.read() as session:
        codes = _codes(session, policy)
        screener = _Screener(ctx, session, codes, started)
        mark = None if full else _watermark(session, scope_start)
        if mark is None:
            chunks = _crime_chunks_by_id(session, _filter(session, codes), scope_start)
        else:
            # an incremental run reads what its changed crimes and their pairs need
            changed = _changed_cases(session, mark, scope)
            pairs = sorted({(v, s) for _, v, s in changed if s is not None})
            screener.histories = _pair_histories_for(session, pairs)
            screener._breached = _breached_orders_for(session, pairs)
            ids = {case_id for case_id, _, _ in changed}
            for history in screener.histories.values():
                ids.update(history.ids)
            screen = sorted(ids)
            chunks = _crime_chunks_for(session, screen, _filter(session, codes, screen))
        for chunk in chunks:
            screener.score_chunk(chunk)
        screener.flush()
    with ctx.write() as session:
        run = session.get(ScreeningRun, run_id)  # type: ignore[assignment]
        finished = ctx.now()
        run.finished_at = finished
        run.screened = screener.screened
        run.candidates = screener.candidates
        session.add(run)
        seconds = round(time.perf_counter() - wall, 3)
        kind = "full" if mark is None else "incremental"
        ctx.audit(session, AuditAction.CREATE, "screening_run", run_id,
                  reason=f"{kind} screening run: {screener.screened} crimes screened, "
                         f"{screener.candidates} candidates",
                  after={"full": full, "since": scope_start, "screened": screener.screened,
                         "candidates": screener.candidates, "seconds": seconds})
    return ScreeningRunSummary(
        run_id=run_id, full=full, run_by=run.run_by, started_at=started,
        finished_at=finished, screened=screener.screened, candidates=screener.candidates,
        seconds=seconds,
    )


# --- the queue -----------------------------------------------------------------------
def _run_summary(run: ScreeningRun | None) -> ScreeningRunSummary | None:
    if run is None:
        return None
    return ScreeningRunSummary(run_id=int(run.id), full=run.full, run_by=run.run_by,  # type: ignore[arg-type]
                               started_at=run.started_at, finished_at=run.finished_at,
                               screened=run.screened, candidates=run.candidates)


def last_run(ctx: ServiceContext) -> ScreeningRunSummary | None:
    ctx.require(Permission.VIEW_SCREENING, entity="screening_run")
    with ctx.read() as session:
        return _run_summary(_last_run(session))


def _last_run(session: Session) -> ScreeningRun | None:
    stmt = (select(ScreeningRun).where(ScreeningRun.finished_at.is_not(None))
            .order_by(ScreeningRun.id.desc()).limit(1))
    return session.execute(stmt).scalars().first()


def _flag_view(flag: ScreeningFlag, crime_ref: str) -> FlagView:
    return FlagView(
        id=int(flag.id), crime_ref=crime_ref, rules=tuple(flag.rules or ()), score=flag.score,  # type: ignore[arg-type]
        suggested_change=flag.suggested_change, reason=flag.reason, raised_by=flag.raised_by,
        raised_at=flag.raised_at, status=flag.status, decided_by=flag.decided_by,
        decided_at=flag.decided_at, rationale=flag.rationale,
    )


def _latest_flags(session: Session, case_ids: Sequence[int]) -> dict[int, ScreeningFlag]:
    """The open flag of each case if any, else its latest decided flag."""
    if not case_ids:
        return {}
    stmt = (select(ScreeningFlag).where(ScreeningFlag.case_id.in_(case_ids))
            .order_by(ScreeningFlag.case_id, ScreeningFlag.id))
    latest: dict[int, ScreeningFlag] = {}
    for flag in session.execute(stmt).scalars():
        current = latest.get(flag.case_id)
        if current is None or current.status != FlagStatus.OPEN:
            latest[flag.case_id] = flag
    return latest


FLAG_FILTERS = ("unflagged", "open", "accepted", "rejected")


def screening_queue(ctx: ServiceContext, *, since: datetime | None = None,
                    min_score: float | None = None, area: str | None = None,
                    team: str | None = None, flag_status: str | None = None,
                    text: str | None = None, page: int = 0,
                    page_size: int = 100, audit: bool = True) -> ScreeningQueue:
    """The candidates ranked by score (then newest first), a page at a time,
    with the evidence, linked crimes and flag of each. Viewing is audited
    (``audit=False`` for an export, which audits itself)."""
    ctx.require(Permission.VIEW_SCREENING, entity="screening_run")
    if flag_status is not None and flag_status not in FLAG_FILTERS:
        raise BadInput(f"flag status {flag_status!r}: choose one of {', '.join(FLAG_FILTERS)}")
    if page < 0:
        raise BadInput("page must not be negative")
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    threshold = ctx.policy.screening.min_score if min_score is None else min_score
    conds: list[Any] = [ScreeningResult.qualifies.is_(True), ScreeningResult.score >= threshold]
    if since is not None:
        conds.append(Case.reported_at >= since)
    if area:
        conds.append(Case.area_command == area)
    if team:
        conds.append(Case.allocation_team == team)
    if text:
        conds.append(func.upper(Case.crime_ref).like(text.strip().upper() + "%"))
    if flag_status is not None:
        any_flag = exists().where(ScreeningFlag.case_id == Case.id)
        if flag_status == "unflagged":
            conds.append(~any_flag)
        else:
            conds.append(exists().where(ScreeningFlag.case_id == Case.id,
                                        ScreeningFlag.status == flag_status))
    base = select(ScreeningResult.case_id).join(Case, Case.id == ScreeningResult.case_id).where(*conds)
    stmt = (
        select(ScreeningResult.case_id, ScreeningResult.score, ScreeningResult.rules,
               ScreeningResult.evidence, ScreeningResult.screened_at, Case.crime_ref,
               Case.reported_at, Case.principal_code, Case.area_command, Case.allocation_team,
               Case.summary, Case.relationship, Case.online, Case.version)
        .join(Case, Case.id == ScreeningResult.case_id)
        .where(*conds)
        .order_by(ScreeningResult.score.desc(), Case.reported_at.desc(), Case.id.desc())
        .offset(page * size)
        .limit(size)
    )
    with ctx.read() as session:
        total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        rows = session.execute(stmt).all()
        ids = [r[0] for r in rows]
        included = included_codes(session, ids)
        flags = _latest_flags(session, ids)
        linked_refs = sorted({ref for r in rows for e in (r[3] or []) for ref in e.get("crime_refs", ())})
        linked: dict[str, LinkedCrime] = {}
        for start in range(0, len(linked_refs), CHUNK):
            batch = linked_refs[start:start + CHUNK]
            for ref, at, code in session.execute(
                select(Case.crime_ref, Case.reported_at, Case.principal_code)
                .where(Case.crime_ref.in_(batch))
            ):
                linked[ref] = LinkedCrime(ref, at, code)
        run = _run_summary(_last_run(session))
    items = []
    for (case_id, score, rules, evidence, screened_at, ref, reported_at, code, area_command,
         team_name, summary, relationship, online, version) in rows:
        evidence = list(evidence or [])
        refs = [r for e in evidence for r in e.get("crime_refs", ())]
        items.append(QueueItem(
            crime_ref=ref, reported_at=reported_at, principal_code=code,
            included_codes=included.get(case_id, ()), area=area_command, team=team_name,
            score=score, rules=tuple(rules or ()), evidence=tuple(evidence),
            explanations=tuple(f"{e['rule']}: {e['explanation']}" for e in evidence
                               if "explanation" in e),
            linked_crimes=tuple(sorted((linked[r] for r in refs if r in linked),
                                       key=lambda c: c.reported_at)),
            summary=summary or "", relationship=relationship, online=online, version=version,
            screened_at=screened_at,
            flag=_flag_view(flags[case_id], ref) if case_id in flags else None,
        ))
    if audit:
        with ctx.write() as session:
            audit_naming(ctx, session, AuditAction.VIEW, "screening_run",
                         run.run_id if run else None, [i.crime_ref for i in items],
                         reason=f"screening queue page {page + 1} ({len(items)} of {total} "
                                "candidates)")
    return ScreeningQueue(items=items, total=total, page=page, page_size=size,
                          min_score=threshold, last_run=run)


def consult_candidate(ctx: ServiceContext, *, crime_ref: str,
                      reason: str | None = None) -> str:
    """Opening a candidate's detail (its summary, evidence and linked crimes)
    is a consultation of the crime, as the case record is: restricted cases
    are refused to anyone not named on them, outside the user's own area a
    ``reason`` is required (:class:`ReasonRequired`), and the view is audited
    on the case with it. Returns the crime's area command."""
    from app.services.cases import consult_case
    from app.services.restricted import require_visible

    ctx.require(Permission.VIEW_SCREENING, entity="case", entity_id=crime_ref)
    require_visible(ctx, crime_ref)
    return consult_case(ctx, crime_ref=crime_ref, reason=reason, what="screening detail")


# --- flags ---------------------------------------------------------------------------
def _required(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise BadInput(f"{what} is required")
    return text


def raise_flag(ctx: ServiceContext, *, crime_ref: str, suggested_change: str,
               reason: str) -> FlagView:
    """An analyst proposes a change of classification for a crime. One open
    flag per crime, held by a partial unique index: of two raised at the same
    moment one is saved and the other analyst is told so, nothing saved. The
    flag carries the rules and score of its screening (screened now when the
    crime has no stored result)."""
    ctx.require(Permission.RAISE_FLAG, entity="case", entity_id=crime_ref)
    try:
        change = SuggestedChange(suggested_change)
    except ValueError:
        raise BadInput(
            f"suggested change {suggested_change!r}: choose one of "
            f"{', '.join(c.value for c in SuggestedChange)}"
        ) from None
    text = _required(reason, "a reason for the flag")
    return _raise_flag(ctx, crime_ref, change, text)


def _raise_flag(ctx: ServiceContext, crime_ref: str, change: SuggestedChange,
                text: str) -> FlagView:
    # two flags raised at once: the partial unique index keeps the other one
    race = (f"{crime_ref} was flagged by someone else at the same moment: nothing saved "
            "(a supervisor decides their flag first)")
    with edit_case(ctx, crime_ref=crime_ref, expected_version=ADDITION,
                   permission=Permission.RAISE_FLAG, race_message=race) as (
            session, case, _version):
        codes = _codes(session, ctx.policy.screening)
        if change != SuggestedChange.NO_CHANGE and _is_stalking(session, case, codes):
            raise ConflictError(f"{crime_ref} is already recorded as stalking: nothing to change")
        open_flag = session.execute(
            select(ScreeningFlag.id, ScreeningFlag.raised_by).where(
                ScreeningFlag.case_id == case.id, ScreeningFlag.status == FlagStatus.OPEN)
        ).first()
        if open_flag is not None:
            raise ConflictError(
                f"{crime_ref} already has an open screening flag (#{open_flag[0]} raised by "
                f"{open_flag[1]}): a supervisor decides it first"
            )
        result = session.get(ScreeningResult, case.id)
        rules, score = ((list(result.rules), result.score) if result is not None
                        else _screen_one(ctx, session, codes, case))
        flag = ScreeningFlag(
            case_id=case.id, rules=rules, score=score, suggested_change=change.value, reason=text,
            raised_by=ctx.actor.username, raised_at=ctx.now(), status=FlagStatus.OPEN,
        )
        session.add(flag)
        session.flush()
        view = _flag_view(flag, crime_ref)
        ctx.audit(session, AuditAction.CREATE, "case", crime_ref,
                  reason=f"screening flag raised: {SUGGESTED_CHANGE_LABELS[change]}",
                  after={"flag_id": view.id, "suggested_change": change.value, "reason": text,
                         "rules": list(view.rules), "score": view.score})
        return view


def _screen_one(ctx: ServiceContext, session: Session, codes: _Codes, case: Case
                ) -> tuple[list[str], float]:
    """The rules and score of one crime that has no stored result (the runs
    keep only crimes that qualify for the queue), screened now."""
    screener = _Screener(ctx, session, codes, ctx.now())
    if case.suspect_id is not None:  # only this pair's orders, not every breach in the force
        screener._breached = _breached_orders(session, (case.victim_id, case.suspect_id))
    else:
        screener._breached = {}
    prepared = screener.prepare([(case.id, case.summary or "", case.principal_code)])
    (_, summary, family, relationship, online, linked, sdash, orders), = prepared
    facts = CrimeFacts(summary=summary, family=family, relationship=relationship,
                       online=online, pair_crime_refs=linked, sdash_answers=sdash,
                       breached_orders=orders)
    result = screen_crime(facts, ctx.policy.screening, screener.matcher)
    if result is None:
        return [], 0.0
    return [hit.rule for hit in result.hits], result.score


def _is_stalking(session: Session, case: Case, codes: _Codes) -> bool:
    if case.principal_code in codes.stalking:
        return True
    return session.execute(
        select(IncludedClassification.id).where(
            IncludedClassification.case_id == case.id,
            IncludedClassification.code.in_(codes.stalking))
    ).first() is not None


def decide_flag(ctx: ServiceContext, *, flag_id: int, accept: bool, rationale: str | None,
                expected_version: int) -> FlagDecision:
    """A supervisor of the crime's area accepts the flag (its change is applied
    to the classification, with audit) or rejects it with a reason. Nobody
    decides a flag they raised."""
    with ctx.read() as session:
        found = session.execute(
            select(ScreeningFlag, Case.crime_ref, Case.area_command)
            .join(Case, Case.id == ScreeningFlag.case_id).where(ScreeningFlag.id == flag_id)
        ).first()
    if found is None:
        raise NotFound(f"screening flag #{flag_id} does not exist")
    flag, crime_ref, area = found
    ctx.require(Permission.DECIDE_FLAG, area=area, entity="case", entity_id=crime_ref)
    if flag.raised_by == ctx.actor.username:
        with ctx.write() as session:
            ctx.audit(session, AuditAction.DENIED, "case", crime_ref,
                      reason=f"screening flag #{flag_id}: {ctx.actor.username} may not decide "
                             "a flag they raised")
        raise PermissionDenied(
            f"screening flag #{flag_id} on {crime_ref} was raised by you: another "
            "supervisor must decide it (nobody decides their own flag)"
        )
    note = (rationale or "").strip()
    if not accept and not note:
        raise BadInput("a reason is required to reject a screening flag")
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version,
                   permission=Permission.DECIDE_FLAG) as (session, case, version):
        flag = session.get(ScreeningFlag, flag_id, populate_existing=True)
        if flag is None:  # pragma: no cover - deleted between read and write
            raise NotFound(f"screening flag #{flag_id} does not exist")
        if flag.status != FlagStatus.OPEN:
            raise ConflictError(
                f"screening flag #{flag_id} on {crime_ref} was already {flag.status} by "
                f"{flag.decided_by}", crime_ref=crime_ref, changed_by=flag.decided_by
            )
        codes = _codes(session, ctx.policy.screening)
        before_codes = _classification(session, case.id)
        before = {"flag_id": flag_id, "flag_status": flag.status, **before_codes}
        change = SuggestedChange(flag.suggested_change)
        if accept:
            _apply_change(ctx, session, case, change, codes, flag_id, note)
        flag.status = FlagStatus.ACCEPTED if accept else FlagStatus.REJECTED
        flag.decided_by = ctx.actor.username
        flag.decided_at = ctx.now()
        flag.rationale = note or None
        session.add(flag)
        session.flush()
        after_codes = _classification(session, case.id)
        if accept and change != SuggestedChange.NO_CHANGE:
            # now recorded as stalking: no longer screened
            session.execute(delete(ScreeningResult).where(ScreeningResult.case_id == case.id))
        verb = "accepted" if accept else "rejected"
        label = SUGGESTED_CHANGE_LABELS[change]
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=f"screening flag #{flag_id} {verb}: {label}" + (f" ({note})" if note else ""),
                  before=before, after={"flag_id": flag_id, "flag_status": flag.status, **after_codes})
        return FlagDecision(flag=_flag_view(flag, crime_ref),
                            principal_code=after_codes["principal_code"],
                            included_codes=tuple(after_codes["included_codes"]), version=version)


def _classification(session: Session, case_id: int) -> dict[str, Any]:
    principal = session.execute(select(Case.principal_code).where(Case.id == case_id)).scalar_one()
    return {"principal_code": principal,
            "included_codes": list(included_codes(session, [case_id]).get(case_id, ()))}


def _apply_change(ctx: ServiceContext, session: Session, case: Case, change: SuggestedChange,
                  codes: _Codes, flag_id: int, note: str) -> None:
    if change == SuggestedChange.NO_CHANGE:
        return
    stalking = codes.stalking_code
    if _is_stalking(session, case, codes):
        raise ConflictError(
            f"{case.crime_ref} is already recorded as stalking: reject flag #{flag_id} or "
            "ask for no change"
        )
    why = f"screening flag #{flag_id}" + (f": {note}" if note else "")
    existing = set(included_codes(session, [case.id]).get(case.id, ()))  # type: ignore[list-item]
    if change == SuggestedChange.PRINCIPAL_TO_STALKING:
        old = case.principal_code
        session.execute(Case.__table__.update().where(Case.id == case.id)  # type: ignore[attr-defined]
                        .values(principal_code=stalking))
        if old not in existing:
            session.add(IncludedClassification(
                case_id=case.id, code=old, source=ClassificationSource.SCREENING,
                added_by=ctx.actor.username, added_at=ctx.now(),
                reason=f"principal before {why}"))
    elif change == SuggestedChange.ADD_INCLUDED_STALKING:
        session.add(IncludedClassification(
            case_id=case.id, code=stalking, source=ClassificationSource.SCREENING,
            added_by=ctx.actor.username, added_at=ctx.now(), reason=why))
    session.flush()
    session.expire(case)


# --- feedback ------------------------------------------------------------------------
def flag_feedback(ctx: ServiceContext, *, since: datetime | None = None) -> FlagFeedback:
    """Per rule and per team (the crime's current team): flags raised, open,
    accepted, rejected, and accepted with a change, so the policy can be tuned."""
    ctx.require(Permission.VIEW_SCREENING, entity="screening_run")
    stmt = (select(ScreeningFlag.rules, ScreeningFlag.status, ScreeningFlag.suggested_change,
                   Case.allocation_team)
            .join(Case, Case.id == ScreeningFlag.case_id))
    if since is not None:
        stmt = stmt.where(ScreeningFlag.raised_at >= since)
    counts: dict[str, dict[str, _Tally]] = {"rule": {}, "team": {}, "all": {}}
    with ctx.read() as session:
        for rules, status, change, team in session.execute(stmt):
            keys = [("rule", r) for r in (rules or ["(no rule)"])]
            keys += [("team", team or "unallocated"), ("all", "all")]
            for kind, key in keys:
                bucket = counts[kind].setdefault(key, _Tally())
                bucket.add(status, change)
    order = {name: i for i, name in enumerate(RULE_NAMES)}
    by_rule = [c.row(k) for k, c in sorted(counts["rule"].items(),
                                           key=lambda kv: (order.get(kv[0], 99), kv[0]))]
    by_team = [c.row(k) for k, c in sorted(counts["team"].items())]
    total = counts["all"].get("all", _Tally()).row("all")
    return FlagFeedback(by_rule=by_rule, by_team=by_team, total=total, since=since)


@dataclass
class _Tally:
    raised: int = 0
    open: int = 0
    accepted: int = 0
    rejected: int = 0
    changed: int = 0

    def add(self, status: str, change: str) -> None:
        self.raised += 1
        if status == FlagStatus.OPEN:
            self.open += 1
        elif status == FlagStatus.ACCEPTED:
            self.accepted += 1
            self.changed += change != SuggestedChange.NO_CHANGE
        elif status == FlagStatus.REJECTED:
            self.rejected += 1

    def row(self, key: str) -> FeedbackRow:
        return FeedbackRow(key, self.raised, self.open, self.accepted, self.rejected, self.changed)


