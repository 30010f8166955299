"""Analyst screening: finding stalking recorded as something else (rec 23.1);
the run and what is screenable.

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
- The run is set-based: crimes are read by primary-key ranges (id, summary,
  code); the facts of the few that can qualify come from one query each per
  chunk (:mod:`app.services.screening_facts`); results are written with one
  driver-level executemany every ``WRITE_EVERY`` chunks. A run reads in one
  transaction and writes in short transactions of their own (deleting the
  chunks' old results first), so it never holds other writers up for long;
  until it finishes a crime shows this run's result or the previous one, and
  an unfinished run is not the "last run".
- The queue of results is :mod:`app.services.screening_queue`; flags raised
  on them, their decisions and feedback are :mod:`app.services.screening_flags`.
"""
from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import (
    JSON,
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

from app.errors import NotFound
from app.policy import ScreeningPolicy
from app.rules.screening import (
    PhraseMatch,
    PhraseMatcher,
    PreparedCrime,
    ScoredCrime,
    compile_policy,
    needs_facts,
    score_batch,
    summaries_may_qualify,
    summary_matches,
)
from app.services.context import ServiceContext
from app.services.forked_workers import (
    MAX_WORKERS,
    ForkedWorkers,
    WorkerLost,
    can_fork,
    cores,
)
from app.services.permissions import Permission
from app.services.screening_facts import (
    PairHistory,
    breached_orders,
    breached_orders_for,
    epoch,
    pair_histories_for,
    sdash_answers,
)
from models import (
    Case,
    Classification,
    IncludedClassification,
    ScreeningResult,
    ScreeningRun,
)
from models.enums import AuditAction
from models.types import UTCDateTime

CHUNK = 5_000  # crimes read and screened at a time
WRITE_EVERY = 10  # chunks whose results are written in one short transaction
# An incremental run re-reads what changed this long before the last run
# started: a change whose clock was read before that start but committed after
# the run's read began is not missed.
INCREMENTAL_OVERLAP = timedelta(minutes=5)
# A run through at least this many crime ids is spread over worker processes
# (below it, a run takes well under a second in one process)
WORKERS_FROM = 50_000


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


@dataclass(frozen=True)
class _Chunk:
    """Crimes read together: (id, summary, principal code) of those to screen,
    and which stored results they replace."""

    rows: list[Any]
    replaces: Any  # a condition on ScreeningResult


@dataclass(frozen=True)
class ScreenedChunk:
    """What screening one chunk gave: the results of the crimes that qualify
    (for writing), how many crimes were screened, how many are candidates
    and how many had their other facts read."""

    results: list[ScoredCrime]
    screened: int
    candidates: int
    facts_read: int


@dataclass
class _Screener:
    """Screens chunks of crimes: every summary first; the other facts (pairs,
    S-DASH answers, breached orders) only for crimes whose summary lets them
    qualify; then writes the results of those that do, a few chunks at a time."""

    ctx: ServiceContext
    session: Session
    codes: _Codes
    now: datetime
    histories: dict[tuple[int, int], PairHistory] = field(default_factory=dict)
    screened: int = 0
    candidates: int = 0
    facts_read: int = 0

    def __post_init__(self) -> None:
        self.policy = self.ctx.policy.screening
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

    @cached_property
    def matcher(self) -> PhraseMatcher:
        """The policy's matcher, compiled when this process first screens (a
        run spread over workers has them do it)."""
        return compile_policy(self.policy)

    @property
    def breached(self) -> dict[tuple[int, int], tuple[str, ...]]:
        if self._breached is None:
            self._breached = breached_orders(self.session)
        return self._breached

    def prepare(self, rows: Sequence[Any]) -> list[PreparedCrime]:
        """What the rules need for ``rows`` ((id, summary, code) in id order)."""
        if not rows:
            return []
        ids = [case_id for case_id, _summary, _code in rows]
        facts = {case_id: (relationship, online, victim_id, suspect_id, reported_at)
                 for case_id, relationship, online, victim_id, suspect_id, reported_at
                 in self.session.connection().execute(
                     select(Case.id, Case.relationship, Case.online, Case.victim_id,
                            Case.suspect_id, epoch(self.session, Case.reported_at))
                     .where(Case.id.in_(ids)))}
        answers = sdash_answers(self.session, ids, self.ctx.policy.risk.tool)
        histories = self.histories
        # (a set less the dict's keys would walk every pair read so far in the run)
        missing = sorted({(victim_id, suspect_id)
                          for _, _, victim_id, suspect_id, _ in facts.values()
                          if suspect_id is not None and (victim_id, suspect_id) not in histories})
        if missing:
            histories.update(pair_histories_for(self.session, missing))
        families, window = self.codes.families, self.window
        breached = self.breached
        prepared: list[PreparedCrime] = []
        for case_id, summary, code in rows:
            relationship, online, victim_id, suspect_id, reported_at = facts[case_id]
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

    def screen(self, rows: Sequence[Any]) -> ScreenedChunk:
        """Read every summary of ``rows`` ((id, summary, code)), gather the
        facts of the crimes that can qualify and score them."""
        matcher, policy, families = self.matcher, self.policy, self.codes.families
        found: dict[int, list[PhraseMatch]] = {}
        need = []
        kinds = [families.get(code, "") for _case_id, _summary, code in rows]
        # only summaries whose words can make the crime qualify are read clause by clause
        summaries = [summary for _case_id, summary, _code in rows]
        for index in summaries_may_qualify(matcher, summaries, kinds):
            row = rows[index]
            case_id, summary, _code = row
            matches = summary_matches(matcher, summary or "", prefiltered=True)
            if needs_facts(matches, policy, kinds[index]):
                need.append(row)
                found[case_id] = matches
        results, candidates = score_batch(self.prepare(need), policy, matcher, matches=found)
        return ScreenedChunk(results, len(rows), candidates, len(need))

    def score_chunk(self, chunk: _Chunk) -> None:
        """Screen the chunk's crimes and queue their results for writing."""
        self.accept(self.screen(chunk.rows), chunk.replaces)

    def accept(self, screened: ScreenedChunk, replaces: Any) -> None:
        """Queue the results of one screened chunk (replacing ``replaces``),
        writing them with the chunks before when enough have gathered."""
        self.screened += screened.screened
        self.facts_read += screened.facts_read
        self.candidates += screened.candidates
        self._pending.extend(screened.results)
        self._replaces.append(replaces)
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

    def keep(self, rows: Sequence[Any]) -> list[Any]:
        """The rows ((id, summary, code), as the driver gives them) to screen."""
        codes, excluded = self.codes, self.stalking_included
        kept = []
        for row in rows:
            case_id, _summary, code = row
            if code in codes and case_id not in excluded:
                kept.append(row)
        return kept


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


class _DriverSelect:
    """A select compiled once, run straight on the driver's cursor."""

    def __init__(self, compiled: Any) -> None:
        self.sql = str(compiled)
        self.order = tuple(compiled.positiontup or ()) if compiled.positional else None

    def rows(self, session: Session, params: dict[str, Any]) -> list[Any]:
        connection = session.connection()
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if self.order is not None:
                cursor.execute(self.sql, tuple(params[k] for k in self.order))
            else:
                cursor.execute(self.sql, params)
            return cursor.fetchall()
        finally:
            cursor.close()


def chunk_bounds(session: Session) -> list[tuple[int, int]]:
    """The id ranges (low exclusive, high inclusive) a full read goes through,
    ``CHUNK`` ids each."""
    # one sub-select each: SQLite answers a lone min() or max() from the key's
    # end, but both in one select from a scan of every crime
    low, high = session.execute(select(
        select(func.min(Case.id)).scalar_subquery(),
        select(func.max(Case.id)).scalar_subquery())).one()
    if low is None:
        return []
    return [(start, start + CHUNK) for start in range(low - 1, high, CHUNK)]


def range_replaces(start: int, end: int, scope_start: datetime | None) -> Any:
    """The stored results that screening the id range (start, end] replaces."""
    replaces = and_(ScreeningResult.case_id > start, ScreeningResult.case_id <= end)
    if scope_start is not None:
        replaces = and_(replaces, ScreeningResult.case_id.in_(
            select(Case.id).where(Case.id > start, Case.id <= end,
                                  Case.reported_at >= scope_start)))
    return replaces


class RangeReader:
    """Reads the screenable crimes of one id range at a time, straight from
    the driver (a full run reads every crime: no result objects)."""

    def __init__(self, session: Session, keep: _Filter, scope_start: datetime | None) -> None:
        self.session = session
        self.keep = keep
        dialect = session.get_bind().dialect
        in_range = and_(Case.id > bindparam("low"), Case.id <= bindparam("high"))
        self.params: dict[str, Any] = {}
        if scope_start is not None:
            in_range = and_(in_range, Case.reported_at >= bindparam("since", type_=UTCDateTime))
            to_db = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
            self.params["since"] = to_db(scope_start) if to_db else scope_start
        stmt = select(*_SUMMARY_COLUMNS).where(in_range)
        self._select = _DriverSelect(stmt.compile(dialect=dialect))

    def rows(self, start: int, end: int) -> list[Any]:
        """(id, summary, code) of the screenable crimes with ids in (start, end]."""
        rows = self._select.rows(self.session, {**self.params, "low": start, "high": end})
        return self.keep.keep(rows)


def _crime_chunks_for(session: Session, ids: Sequence[int], keep: _Filter) -> Iterator[_Chunk]:
    """The crimes ``ids`` a chunk at a time; each chunk replaces their results."""
    for start in range(0, len(ids), CHUNK):
        batch = list(ids[start:start + CHUNK])
        stmt = select(*_SUMMARY_COLUMNS).where(Case.id.in_(batch)).order_by(Case.id)
        yield _Chunk(keep.keep(session.connection().execute(stmt).all()),
                     ScreeningResult.case_id.in_(batch))


# --- worker processes for runs through every crime --------------------------------
@dataclass(frozen=True)
class _RangeWork:
    """A worker's part of a run through every crime: the id ranges it
    screens, and what reading them needs."""

    started: datetime
    codes: _Codes
    keep: _Filter
    scope_start: datetime | None
    bounds: tuple[tuple[int, int], ...]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a run screens. A run makes
    millions of short-lived objects, freed as they go by reference counting,
    while the prefilter's and the full reading's caches hold millions more:
    each of the collector's full passes walked every cached object, and its
    passes landed at random in a run (a warm run at 100,000 crimes took
    1.32 to 1.65 s in one process with it, 1.32 to 1.34 s without). What a
    run leaves in cycles is collected once the collector runs again."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _compile_for(ctx: ServiceContext) -> None:
    """A worker's first task: the policy's matcher, and the lemma dictionary."""
    compile_policy(ctx.policy.screening)


def _screen_ranges(ctx: ServiceContext, work: _RangeWork
                   ) -> Iterator[tuple[int, int, ScreenedChunk]]:
    """In a worker: screen each range of ``work`` in one read transaction,
    yielding ``(low, high, screened)`` per range (the caller writes)."""
    with collector_paused(), ctx.read() as session:
        screener = _Screener(ctx, session, work.codes, work.started)
        reader = RangeReader(session, work.keep, work.scope_start)
        for start, end in work.bounds:
            yield start, end, screener.screen(reader.rows(start, end))


_workers: ForkedWorkers | None = None


def _same_context(kept: ServiceContext, ctx: ServiceContext) -> bool:
    return (kept.database is ctx.database and kept.actor == ctx.actor
            and kept.policy == ctx.policy and kept.kind == ctx.kind)


def _screening_workers(ctx: ServiceContext, bounds: Sequence[tuple[int, int]]
                       ) -> ForkedWorkers | None:
    """The worker processes to spread a run through the id ranges ``bounds``
    over: one per core (at most ``MAX_WORKERS``), forked at the first such
    run and kept, with what they learn, for the next runs in the same
    context. None (the run is screened in this process) on one core, for
    fewer than ``WORKERS_FROM`` ids or two ranges per worker, or where
    forking is not safe."""
    global _workers
    count = min(MAX_WORKERS, cores())
    if count < 2 or len(bounds) < 2 * count or bounds[-1][1] - bounds[0][0] < WORKERS_FROM:
        return None
    kept = _workers
    if kept is not None and not kept.closed and _same_context(kept.ctx, ctx):
        return kept
    if kept is not None:
        kept.close()
    _workers = None
    if can_fork():
        try:
            _workers = ForkedWorkers(ctx, _screen_ranges, count, prepare=_compile_for)
        except OSError:  # no process to spare (a limit on processes): screened here
            _workers = None
    return _workers


def worker_processes() -> int:
    """How many worker processes this process keeps for screening runs (0: none)."""
    kept = _workers
    return 0 if kept is None or kept.closed else kept.count


def _screen_in_workers(screener: _Screener, workers: ForkedWorkers, work: _RangeWork) -> None:
    """Screen ``work``'s ranges spread over ``workers`` (ranges dealt in turn,
    so each worker's share spans the ids), writing each worker's results as
    they come. What a lost worker did not finish is screened here."""
    shares = [dataclasses.replace(work, bounds=work.bounds[i::workers.count])
              for i in range(workers.count)]
    done: set[tuple[int, int]] = set()
    lost = False
    for _index, answer in workers.map(shares):
        if answer is WorkerLost:
            lost = True
            continue
        start, end, screened = answer
        done.add((start, end))
        screener.accept(screened, range_replaces(start, end, work.scope_start))
    if lost:
        reader = RangeReader(screener.session, work.keep, work.scope_start)
        for start, end in work.bounds:
            if (start, end) not in done:
                screener.accept(screener.screen(reader.rows(start, end)),
                                range_replaces(start, end, work.scope_start))


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
    return [(case_id, victim_id, suspect_id)
            for case_id, victim_id, suspect_id in session.execute(stmt)]


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
    with ctx.read() as session:
        codes = _codes(session, policy)
        mark = None if full else _watermark(session, scope_start)
        bounds = chunk_bounds(session) if mark is None else []
    # a run through every crime is spread over worker processes where there are
    # cores for them, forked before this run writes or opens its read: each
    # compiles the policy while this process records the run
    workers = _screening_workers(ctx, bounds)
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
    with collector_paused(), ctx.read() as session:
        screener = _Screener(ctx, session, codes, started)
        if mark is None:
            keep = _filter(session, codes)
            if workers is not None:
                _screen_in_workers(screener, workers, _RangeWork(
                    started, codes, keep, scope_start, tuple(bounds)))
                chunks: Iterable[_Chunk] = ()
            else:
                reader = RangeReader(session, keep, scope_start)
                chunks = (_Chunk(reader.rows(start, end), range_replaces(start, end, scope_start))
                          for start, end in bounds)
        else:
            # an incremental run reads what its changed crimes and their pairs need
            changed = _changed_cases(session, mark, scope)
            pairs = sorted({(v, s) for _, v, s in changed if s is not None})
            screener.histories = pair_histories_for(session, pairs)
            screener._breached = breached_orders_for(session, pairs)
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

