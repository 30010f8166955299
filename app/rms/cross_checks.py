"""Checks of a row against other rows and against Vigil, in bounded memory:
references that must exist (in the extract or the database, looked up in
batches), crime references differing only in letter case, dates the
services would refuse; and the collector of every problem found."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.rms.formats import (
    BREACHES,
    CRIMES,
    FILE_ORDER,
    ORDERS,
    PERPETRATOR_REFERRALS,
    RISK,
    BreachRecord,
    CrimeRecord,
    OrderRecord,
    PerpetratorReferralRecord,
    ProgrammeRecord,
    RiskRecord,
)
from models import Case, ProtectiveOrder

# Errors kept for the report (all are counted); the CLI prints fewer.
MAX_KEPT_ERRORS = 1000
# References looked up in the database per query.
LOOKUP_BATCH = 5000
# A risk assessment is made on the crime reported: one dated this long before
# the report belongs to another crime (or a mistyped year).
ASSESSMENT_LEAD = timedelta(days=31)


@dataclass
class ErrorCollector:
    kept: list[tuple[int, int, int, str]] = field(default_factory=list)
    count: int = 0

    def add(self, file_name: str, line: int, field_name: str, problem: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_KEPT_ERRORS:
            self.kept.append((FILE_ORDER.index(file_name), line, self.count,
                              f"{file_name}:{line}: {field_name}: {problem}"))

    def sorted(self) -> tuple[str, ...]:
        return tuple(text for *_key, text in sorted(self.kept))


class ReferenceCheck:
    """References that must exist in the extract or in the database. Those not
    in the extract are looked up in batches."""

    def __init__(self, session: Session, column: object, errors: ErrorCollector) -> None:
        self.session = session
        self.column = column
        self.errors = errors
        self.pending: list[tuple[str, str, int, str, str]] = []

    def need(self, ref: str, file_name: str, line: int, field_name: str, where: str) -> None:
        self.pending.append((ref, file_name, line, field_name, where))
        if len(self.pending) >= LOOKUP_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        refs = {ref for ref, *_where in self.pending}
        found = set(self.session.execute(
            select(self.column).where(self.column.in_(refs))  # type: ignore[attr-defined]
        ).scalars())
        for ref, file_name, line, field_name, where in self.pending:
            if ref not in found:
                self.errors.add(file_name, line, field_name,
                                f"'{ref}' is not in {where} or in Vigil")
        self.pending.clear()


class CaseFold:
    """Crime references that differ only in letter case: within crimes.csv
    and against Vigil (through the lower-case unique index)."""

    def __init__(self, session: Session, errors: ErrorCollector) -> None:
        self.session = session
        self.errors = errors
        self.seen: dict[int, tuple[str, int]] = {}
        self.pending: list[tuple[str, int]] = []

    def add(self, ref: str, line: int) -> None:
        folded = ref.lower()
        earlier = self.seen.get(hash(folded))
        if earlier is None:
            self.seen[hash(folded)] = (ref, line)
        else:
            earlier_ref, earlier_line = earlier
            if earlier_ref != ref and earlier_ref.lower() == folded:
                self.errors.add(CRIMES, line, "crime_ref",
                                f"'{ref}' differs only in letter case from '{earlier_ref}' on "
                                f"line {earlier_line}: a crime reference names one crime")
        self.pending.append((ref, line))
        if len(self.pending) >= LOOKUP_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        folded = {ref.lower() for ref, _line in self.pending}
        held = {ref.lower(): ref for ref in self.session.execute(
            select(Case.crime_ref).where(func.lower(Case.crime_ref).in_(folded))).scalars()}
        for ref, line in self.pending:
            other = held.get(ref.lower())
            if other is not None and other != ref:
                self.errors.add(CRIMES, line, "crime_ref",
                                f"'{ref}' differs only in letter case from '{other}' in Vigil: "
                                "write the reference as Vigil holds it")
        self.pending.clear()


class DateOrder:
    """Facts the services refuse, refused here too: a breach before its order
    was granted, an order served before it was granted, an assessment dated
    long before its crime was reported. Dates come from the extract or, for
    references not in it, from Vigil (in batches)."""

    def __init__(self, session: Session, errors: ErrorCollector) -> None:
        self.session = session
        self.errors = errors
        self.reported: dict[str, float] = {}  # crime_ref -> reported_at (epoch seconds)
        self.granted: dict[str, float | None] = {}  # order_ref -> granted_at
        self.risk_pending: list[RiskRecord] = []
        self.breach_pending: list[BreachRecord] = []

    def crime(self, record: CrimeRecord) -> None:
        self.reported[record.crime_ref] = record.reported_at.timestamp()

    def order(self, record: OrderRecord) -> None:
        granted = record.granted_at
        self.granted[record.order_ref] = granted.timestamp() if granted else None
        # compared to the minute: records management systems record minutes
        if granted and record.served_at and _minute(record.served_at) < _minute(granted):
            self.errors.add(ORDERS, record.line, "served_at",
                            f"{_shown(record.served_at)} is before the order was granted "
                            f"({_shown(granted)})")

    def risk(self, record: RiskRecord) -> None:
        self.risk_pending.append(record)
        if len(self.risk_pending) >= LOOKUP_BATCH:
            self.flush()

    def breach(self, record: BreachRecord) -> None:
        self.breach_pending.append(record)
        if len(self.breach_pending) >= LOOKUP_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.risk_pending:
            wanted = {r.crime_ref for r in self.risk_pending} - set(self.reported)
            held = {row.crime_ref: row.reported_at for row in self.session.execute(
                select(Case.crime_ref, Case.reported_at).where(Case.crime_ref.in_(wanted))
            )} if wanted else {}
            for record in self.risk_pending:
                stamp = self.reported.get(record.crime_ref)
                reported = (datetime.fromtimestamp(stamp, tz=record.assessed_at.tzinfo)
                            if stamp is not None else held.get(record.crime_ref))
                if reported is not None and record.assessed_at < reported - ASSESSMENT_LEAD:
                    self.errors.add(RISK, record.line, "assessed_at",
                                    f"{_shown(record.assessed_at)} is long before crime "
                                    f"'{record.crime_ref}' was reported ({_shown(reported)}): "
                                    "an assessment is made on the crime reported")
            self.risk_pending.clear()
        if self.breach_pending:
            wanted = {b.order_ref for b in self.breach_pending} - set(self.granted)
            held = {row.order_ref: row.granted_at for row in self.session.execute(
                select(ProtectiveOrder.order_ref, ProtectiveOrder.granted_at)
                .where(ProtectiveOrder.order_ref.in_(wanted))
            )} if wanted else {}
            for record in self.breach_pending:
                if record.order_ref in self.granted:
                    stamp = self.granted[record.order_ref]
                    granted = (datetime.fromtimestamp(stamp, tz=record.occurred_at.tzinfo)
                               if stamp is not None else None)
                else:
                    granted = held.get(record.order_ref)
                if granted is not None and record.occurred_at < granted:
                    self.errors.add(BREACHES, record.line, "occurred_at",
                                    f"{_shown(record.occurred_at)} is before order "
                                    f"'{record.order_ref}' was granted ({_shown(granted)}): "
                                    "an order cannot be breached before it exists")
            self.breach_pending.clear()


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _shown(moment: datetime) -> str:
    return moment.isoformat()



@dataclass
class RecordChecks:
    case_fold: CaseFold
    dates: DateOrder
    # programme codes a perpetrator referral names: in the extract or in Vigil
    programmes: ReferenceCheck | None = None
    programme_codes: set[str] = field(default_factory=set)
    programmes_where: str = "the extract"

    def record(self, record: object) -> None:
        if isinstance(record, ProgrammeRecord):
            self.programme_codes.add(record.code)
        elif (isinstance(record, PerpetratorReferralRecord) and self.programmes is not None
              and record.programme_code not in self.programme_codes):
            self.programmes.need(record.programme_code, PERPETRATOR_REFERRALS, record.line,
                                 "programme_code", self.programmes_where)
        if isinstance(record, CrimeRecord):
            self.case_fold.add(record.crime_ref, record.line)
            self.dates.crime(record)
        elif isinstance(record, OrderRecord):
            self.dates.order(record)
        elif isinstance(record, RiskRecord):
            self.dates.risk(record)
        elif isinstance(record, BreachRecord):
            self.dates.breach(record)

    def flush(self) -> None:
        self.case_fold.flush()
        self.dates.flush()
        if self.programmes is not None:
            self.programmes.flush()
