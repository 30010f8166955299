"""The apply pass: upsert a validated extract by reference, in chunks, with
SQLAlchemy Core, and record what changed (the delta).

Everything runs on the caller's connection, inside the one transaction the
import service opens for the extract. The records come from the validation
pass (spooled to a temporary file), in chunks of :data:`CHUNK_ROWS`; each
chunk costs a handful of statements: one ``IN`` query for the existing rows,
one ``executemany`` per kind of write (:mod:`app.rms.bulk`). Nothing is held
in memory beyond a chunk, the delta's capped lists and the ids of the
changed cases. A first load into a (nearly) empty database rebuilds the
secondary indexes once at the end (:data:`BULK_LOAD_ROWS`).

Each file's writes are a class of their own, mixed into :class:`Applier`:
:mod:`app.rms.apply_crimes`, :mod:`app.rms.apply_risk`,
:mod:`app.rms.apply_orders` (with spo_decisions.csv),
:mod:`app.rms.apply_breaches` and :mod:`app.rms.apply_records` (victim
care, searches, multi-agency and perpetrator referrals, training,
programmes), over the shared state of :mod:`app.rms.apply_pass`.

Every case that existed before the import and is changed by it gets its
version bumped and ``last_activity_at`` moved (what
:func:`app.services.case_lock.edit_case` does for one case, here in one
``UPDATE`` per batch of ids) and an audit event naming what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from app.rms.apply_breaches import BreachWrites
from app.rms.apply_crimes import CrimeWrites
from app.rms.apply_orders import OrderWrites
from app.rms.apply_records import CaseRecordWrites
from app.rms.apply_risk import RiskWrites
from app.rms.delta import ApplyOutcome, FileCounts, FileTally, ImportDelta
from app.rms.formats import (
    BREACHES,
    CRIMES,
    FILE_ORDER,
    MULTI_AGENCY,
    OFFICER_TRAINING,
    ORDERS,
    PERPETRATOR_REFERRALS,
    PROGRAMMES,
    RISK,
    SEARCHES,
    SPO_DECISIONS,
    VICTIM_CARE,
    Record,
)
from app.rms.spool import Spool
from app.rms.tables import T_ALLOCATION, T_CASE, T_INCLUDED

CHUNK_ROWS = 10_000
# An extract of at least this many crimes, twice as many as the database holds
# (a first load), is a bulk load: the secondary indexes the import does not
# read are rebuilt once at the end instead of updated row by row (SQLite).
BULK_LOAD_ROWS = 50_000


class Applier(CrimeWrites, RiskWrites, OrderWrites, BreachWrites,
              CaseRecordWrites):
    """Applies the files of one extract on ``conn`` (the import's transaction)."""

    # --- driving -------------------------------------------------------------
    def apply(self, spools: dict[str, Spool]) -> ApplyOutcome:
        """Apply the checked records of each file (see :class:`app.rms.spool.Spool`)."""
        handlers: dict[str, Callable[[list[Any]], None]] = {
            CRIMES: self.crimes_chunk,
            RISK: self.risk_chunk,
            ORDERS: self.orders_chunk,
            BREACHES: self.breaches_chunk,
            VICTIM_CARE: self.care_chunk,
            SPO_DECISIONS: self.spo_decisions_chunk,
            SEARCHES: self.searches_chunk,
            MULTI_AGENCY: self.multi_agency_chunk,
            OFFICER_TRAINING: self.training_chunk,
            PROGRAMMES: self.programmes_chunk,
            PERPETRATOR_REFERRALS: self.perpetrator_referrals_chunk,
        }
        # with spo_decisions.csv the extract records the SPO decisions itself;
        # without it an order's status moves the decision (format 1)
        self.decisions_given = SPO_DECISIONS in spools
        crimes = spools[CRIMES].count if CRIMES in spools else 0
        suspended = []
        if crimes >= BULK_LOAD_ROWS and self.max_case_id * 2 <= crimes:
            suspended = self.sql.suspend_indexes((T_CASE, T_ALLOCATION, T_INCLUDED))
        for file_name in FILE_ORDER:
            if file_name in spools:
                self._apply_file(file_name, spools[file_name].records(), handlers[file_name])
        self.sql.restore_indexes(suspended)
        self._claim_touched()
        return ApplyOutcome(
            counts=tuple(
                FileCounts(file=name, read=c.read, new=c.new, updated=c.updated,
                           unchanged=c.unchanged)
                for name, c in self.counters.items()
            ),
            delta=ImportDelta(**{kind: capped.freeze() for kind, capped in self._delta.items()}),
            people_created=self.people_created,
            cases_touched=len(self.touched),
        )

    def _apply_file(self, file_name: str, records: Iterable[Record],
                    handler: Callable[[list[Any]], None]) -> None:
        counter = self.counters.setdefault(file_name, FileTally())
        chunk: list[Record] = []
        chunks = 0
        for record in records:
            chunk.append(record)
            if len(chunk) >= CHUNK_ROWS:
                counter.read += len(chunk)
                handler(chunk)
                chunks += 1
                if self.on_chunk:
                    self.on_chunk(file_name, chunks)
                chunk = []
        if chunk:
            counter.read += len(chunk)
            handler(chunk)
            if self.on_chunk:
                self.on_chunk(file_name, chunks + 1)

    def _claim_touched(self) -> None:
        """Bump the version and activity time of every changed, existing case."""
        self.sql.update_ids(T_CASE, sorted(self.touched), version=T_CASE.c.version + 1,
                            last_activity_at=self.now)
