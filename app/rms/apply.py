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

Mapping (DESIGN.md, models/tables.py):

- crimes.csv → ``Person`` by person_ref (created with a neutral name, the
  extract carries none), ``Case`` by crime_ref, its ``IncludedClassification``
  rows of source ``import`` replaced to match the file's list (rows recorded
  in Vigil, e.g. accepted screening flags, are kept), an ``Allocation`` row
  when the team or officer changes. A crime first seen already closed gets
  ``closed_at`` = its ``closed_at`` (format 2) or else its reported time; a
  crime that closes between extracts gets the import time.
- risk.csv → ``RiskAssessment`` by (crime, assessed_at, tool); the case's
  risk mirrors follow the latest assessment; an assessment made after the
  event that made a re-assessment due clears it.
- orders.csv → ``ProtectiveOrder`` by order_ref (subject and protected person
  from the case's suspect and victim). A changed SPO or interim SPO moves the
  case's SPO decision (``spo_status``, with a ``SpoDecision`` row) to what its
  status implies; the newest order of a case wins.
- breaches.csv → ``Breach`` by breach_ref; the breach crime is linked to the
  order's case, and a new breach makes a re-assessment of the original case
  due (``risk.reassessment_due_hours`` after it was reported) unless the case
  was assessed since.
- victim_care.csv → ``VictimCare`` by crime, ``Referral`` by (crime, service).
- officer_training.csv → ``TrainingRecord`` by (officer, course, completed_on);
  perpetrator_programmes.csv → ``PerpetratorProgramme`` by code;
  perpetrator_referrals.csv → ``PerpetratorReferral`` by (crime, programme,
  referred_at). crimes.csv's pin_authorised_by, arrested_at and
  digital_enquiries (format 2) keep what Vigil holds when empty.

Every case that existed before the import and is changed by it gets its
version bumped and ``last_activity_at`` moved (what
:func:`app.services.case_lock.edit_case` does for one case, here in one
``UPDATE`` per batch of ids) and an audit event naming what changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update

from app.errors import BadInput
from app.rms.bulk import BulkSql
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
    BreachRecord,
    CareRecord,
    CrimeRecord,
    MultiAgencyRecord,
    OrderRecord,
    PerpetratorReferralRecord,
    ProgrammeRecord,
    Record,
    RiskRecord,
    SearchRow,
    SpoDecisionRecord,
    TrainingRow,
    Vocabulary,
    format_when,
)
from app.rms.validate import Spool
from app.rules.orders import NOTIFICATION_KINDS, notification_due, spo_decision_for_order
from app.rules.risk import AssessmentStep, review_due, walk_assessments
from models import (
    Allocation,
    AuditEvent,
    Breach,
    Case,
    IncludedClassification,
    MultiAgencyReferral,
    PerpetratorProgramme,
    PerpetratorReferral,
    Person,
    ProtectiveOrder,
    Referral,
    RiskAssessment,
    SearchRecord,
    SpoDecision,
    TrainingRecord,
    VictimCare,
)
from models.enums import (
    ORDERS_IN_FORCE,
    AuditAction,
    CaseStatus,
    ClassificationSource,
    OrderStatus,
    ReferralOutcome,
    RiskLevel,
)

CHUNK_ROWS = 10_000
DELTA_LIST_CAP = 1_000
# An extract of at least this many crimes, twice as many as the database holds
# (a first load), is a bulk load: the secondary indexes the import does not
# read are rebuilt once at the end instead of updated row by row (SQLite).
BULK_LOAD_ROWS = 50_000
SOURCE_REASON = "RMS extract"

T_CASE = Case.__table__
T_PERSON = Person.__table__
T_INCLUDED = IncludedClassification.__table__
T_ALLOCATION = Allocation.__table__
T_RISK = RiskAssessment.__table__
T_ORDER = ProtectiveOrder.__table__
T_BREACH = Breach.__table__
T_CARE = VictimCare.__table__
T_REFERRAL = Referral.__table__
T_AUDIT = AuditEvent.__table__
T_SPO_DECISION = SpoDecision.__table__
T_SEARCH = SearchRecord.__table__
T_MULTI_AGENCY = MultiAgencyReferral.__table__
T_TRAINING = TrainingRecord.__table__
T_PROGRAMME = PerpetratorProgramme.__table__
T_PERPETRATOR_REFERRAL = PerpetratorReferral.__table__

GRANTED_STATUSES = frozenset({OrderStatus.GRANTED.value, OrderStatus.INTERIM_GRANTED.value})

CRIME_FIELDS = ("reported_at", "area_command", "principal_code", "victim_ref", "suspect_ref",
                "relationship", "domestic_abuse", "online", "allocation_team", "officer",
                "status", "pin_issued", "summary")
RISK_FIELDS = ("tool_version", "answers", "level", "rationale", "assessor", "management_plan",
               "plan_set_at", "plan_review_due", "approved_by", "approved_at")
# format 2 columns: an empty cell leaves what Vigil holds
RISK_KEPT_FIELDS = ("management_plan", "plan_set_at", "plan_review_due", "approved_by",
                    "approved_at")
ORDER_FIELDS = ("case_id", "kind", "status", "applied_at", "granted_at", "served_at",
                "expires_at", "notification_due_at", "notified_at")
ORDER_KEPT_FIELDS = ("notification_due_at", "notified_at")
# format 2 columns: an empty cell leaves what Vigil holds (an acknowledgement
# made in Vigil is not undone by an RMS that does not record it)
BREACH_KEPT_FIELDS = ("threats_or_violence", "acknowledged_by", "acknowledged_at",
                      "acknowledgement_note", "manual_level", "escalated_by", "escalated_at",
                      "arrest_at", "reassessment_requested_at", "outcome")
BREACH_FIELDS = ("order_id", "breach_case_id", "original_case_id", "occurred_at",
                 "reported_at") + BREACH_KEPT_FIELDS
# format 2 columns: an empty cell leaves what Vigil holds
CARE_KEPT_FIELDS = ("consent_at", "last_update_at", "vps_offered_at")
CARE_FIELDS = ("needs_assessed_at", "enhanced_rights", "rights_explained_at",
               "consent") + CARE_KEPT_FIELDS
# format 2 columns of crimes.csv: an empty cell leaves what Vigil holds
CRIME_KEPT_FIELDS = ("closed_at", "outcome", "reassessment_due_at", "pin_authorised_by",
                     "arrested_at", "digital_enquiries")
PROGRAMME_FIELDS = ("name", "area_command", "available_from", "available_to")
TRAINING_SOURCE = "import"


class ExtractChanged(BadInput):
    """A file no longer reads as it did when it was validated."""


# --- results ---------------------------------------------------------------
@dataclass(frozen=True)
class FileCounts:
    file: str
    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Reclassification:
    crime_ref: str
    old_principal: str
    old_included: tuple[str, ...]
    new_principal: str
    new_included: tuple[str, ...]

    def describe(self) -> str:
        def side(principal: str, included: tuple[str, ...]) -> str:
            return principal + (f" (+{', '.join(included)})" if included else "")

        return (f"{self.crime_ref}: {side(self.old_principal, self.old_included)} → "
                f"{side(self.new_principal, self.new_included)}")


@dataclass(frozen=True)
class RiskChange:
    crime_ref: str
    old_level: str | None
    new_level: str


@dataclass(frozen=True)
class NewBreach:
    breach_ref: str
    order_ref: str
    crime_ref: str
    original_crime_ref: str


@dataclass(frozen=True)
class OrderEvent:
    order_ref: str
    crime_ref: str
    kind: str
    status: str
    expires_at: datetime | None


@dataclass(frozen=True)
class DeltaList:
    """The first :data:`DELTA_LIST_CAP` items of a list, and how many there were."""

    total: int = 0
    items: tuple[Any, ...] = ()

    @property
    def truncated(self) -> bool:
        return self.total > len(self.items)


@dataclass(frozen=True)
class ImportDelta:
    new_crimes: DeltaList = DeltaList()
    reclassified: DeltaList = DeltaList()
    risk_changes: DeltaList = DeltaList()
    new_breaches: DeltaList = DeltaList()
    orders_granted: DeltaList = DeltaList()
    orders_expiring: DeltaList = DeltaList()
    cases_closed: DeltaList = DeltaList()

    KINDS = ("new_crimes", "reclassified", "risk_changes", "new_breaches", "orders_granted",
             "orders_expiring", "cases_closed")

    def totals(self) -> dict[str, int]:
        return {kind: getattr(self, kind).total for kind in self.KINDS}

    @property
    def empty(self) -> bool:
        return not any(self.totals().values())


class _Capped:
    def __init__(self) -> None:
        self.total = 0
        self.items: list[Any] = []

    def add(self, item: Any) -> None:
        self.total += 1
        if len(self.items) < DELTA_LIST_CAP:
            self.items.append(item)

    def freeze(self) -> DeltaList:
        return DeltaList(total=self.total, items=tuple(self.items))


@dataclass
class _Counter:
    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ApplyOutcome:
    counts: tuple[FileCounts, ...]
    delta: ImportDelta
    people_created: int
    cases_touched: int


# --- helpers -----------------------------------------------------------------
def _differs(old: Any, record_values: dict[str, Any], names: Sequence[str]) -> dict[str, tuple[Any, Any]]:
    changed: dict[str, tuple[Any, Any]] = {}
    for name in names:
        before = getattr(old, name)
        after = record_values[name]
        if before != after:
            changed[name] = (before, after)
    return changed


def _shown(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_when(value)
    if isinstance(value, frozenset | set | tuple | list):
        return sorted(value)
    return value


@dataclass
class Applier:
    """Applies the files of one extract on ``conn`` (the import's transaction)."""

    conn: Connection
    vocab: Vocabulary
    username: str
    audit_role: str
    previous_import_at: datetime | None = None
    on_chunk: Callable[[str, int], None] | None = None
    max_case_id: int = 0
    decisions_given: bool = False
    touched: set[int] = field(default_factory=set)
    people_created: int = 0
    counters: dict[str, _Counter] = field(default_factory=dict)
    _delta: dict[str, _Capped] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.now = self.vocab.now
        self.policy = self.vocab.policy
        self.sql = BulkSql(self.conn)
        self.max_case_id = self.conn.execute(select(func.max(T_CASE.c.id))).scalar() or 0
        self._delta = {kind: _Capped() for kind in ImportDelta.KINDS}

    # --- driving -------------------------------------------------------------
    def apply(self, spools: dict[str, Spool]) -> ApplyOutcome:
        """Apply the checked records of each file (see :class:`app.rms.validate.Spool`)."""
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
        counter = self.counters.setdefault(file_name, _Counter())
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

    def _is_existing(self, case_id: int) -> bool:
        return case_id <= self.max_case_id

    def _claim_touched(self) -> None:
        """Bump the version and activity time of every changed, existing case."""
        self.sql.update_ids(T_CASE, sorted(self.touched), version=T_CASE.c.version + 1,
                            last_activity_at=self.now)

    def _audit(self, rows: list[dict[str, Any]], crime_ref: str, reason: str,
               before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        rows.append({
            "at": self.now, "username": self.username, "role": self.audit_role,
            "action": AuditAction.UPDATE.value, "entity": "case", "entity_id": crime_ref,
            "reason": reason,
            "before": {k: _shown(v) for k, v in before.items()} if before is not None else None,
            "after": {k: _shown(v) for k, v in after.items()} if after is not None else None,
        })

    def _write(self, table: Any, rows: list[dict[str, Any]]) -> None:
        self.sql.insert(table, rows)

    def _update_by_id(self, table: Any, rows: list[dict[str, Any]]) -> None:
        self.sql.update_by_id(table, rows)

    def _case_ids(self, refs: Iterable[str], *columns: Any) -> dict[str, Any]:
        """crime_ref → row(id, crime_ref, *columns) for the refs; every ref must exist."""
        wanted = set(refs)
        found: dict[str, Any] = {}
        stmt = select(T_CASE.c.id, T_CASE.c.crime_ref, *columns)
        for row in self.sql.where_in(stmt, T_CASE.c.crime_ref, wanted):
            found[row.crime_ref] = row
        missing = wanted - found.keys()
        if missing:
            raise ExtractChanged(f"crime '{sorted(missing)[0]}' is no longer in Vigil or the "
                                 "extract; nothing was written")
        return found

    def _person_ids(self, refs: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for pid, ref in self.sql.where_in(select(T_PERSON.c.id, T_PERSON.c.person_ref),
                                          T_PERSON.c.person_ref, refs):
            found[ref] = pid
        missing = sorted(refs - found.keys())
        if missing:
            found.update(self.sql.insert_with_ids(
                T_PERSON, [{"person_ref": ref, "name": f"Person {ref}"} for ref in missing],
                "person_ref"))
            self.people_created += len(missing)
        return found

    # --- crimes.csv ------------------------------------------------------------
    def crimes_chunk(self, records: list[CrimeRecord]) -> None:
        counter = self.counters[CRIMES]
        victim = T_PERSON.alias("victim")
        suspect = T_PERSON.alias("suspect")
        existing: dict[str, Any] = {}
        stmt = (
            select(
                T_CASE.c.id, T_CASE.c.crime_ref, T_CASE.c.reported_at, T_CASE.c.area_command,
                T_CASE.c.principal_code, victim.c.person_ref.label("victim_ref"),
                suspect.c.person_ref.label("suspect_ref"), T_CASE.c.relationship,
                T_CASE.c.domestic_abuse, T_CASE.c.online, T_CASE.c.allocation_team,
                T_CASE.c.officer, T_CASE.c.status, T_CASE.c.pin_issued, T_CASE.c.summary,
                T_CASE.c.closed_at, T_CASE.c.outcome, T_CASE.c.reassessment_due_at,
                T_CASE.c.pin_authorised_by, T_CASE.c.arrested_at, T_CASE.c.digital_enquiries,
            )
            .select_from(
                T_CASE.join(victim, victim.c.id == T_CASE.c.victim_id)
                .outerjoin(suspect, suspect.c.id == T_CASE.c.suspect_id)
            )
        )
        for row in self.sql.where_in(stmt, T_CASE.c.crime_ref, [r.crime_ref for r in records]):
            existing[row.crime_ref] = row
        included: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)
        for inc_id, case_id, code, source in self.sql.where_in(
            select(T_INCLUDED.c.id, T_INCLUDED.c.case_id, T_INCLUDED.c.code, T_INCLUDED.c.source),
            T_INCLUDED.c.case_id, [row.id for row in existing.values()],
        ):
            included[case_id][code] = (inc_id, source)

        new_records: list[CrimeRecord] = []
        changes: list[tuple[CrimeRecord, Any, dict[str, tuple[Any, Any]], set[str],
                          dict[str, int]]] = []
        people: set[str] = set()
        for record in records:
            old = existing.get(record.crime_ref)
            if old is None:
                new_records.append(record)
                people.add(record.victim_ref)
                if record.suspect_ref:
                    people.add(record.suspect_ref)
                continue
            values = {name: getattr(record, name) for name in CRIME_FIELDS}
            changed = _differs(old, values, CRIME_FIELDS)
            for name in CRIME_KEPT_FIELDS:
                # format 2: an empty cell keeps what Vigil holds
                given = getattr(record, name)
                if given is not None and given != getattr(old, name):
                    changed[name] = (getattr(old, name), given)
            current = included.get(old.id, {})
            add = set(record.included_codes - current.keys())
            remove = {code: inc_id for code, (inc_id, source) in current.items()
                      if source == ClassificationSource.IMPORT
                      and code not in record.included_codes}
            if not changed and not add and not remove:
                counter.unchanged += 1
                continue
            if "victim_ref" in changed or "suspect_ref" in changed:
                people.add(record.victim_ref)
                if record.suspect_ref:
                    people.add(record.suspect_ref)
            changes.append((record, old, changed, add, remove))

        person_ids = self._person_ids(people) if people else {}

        # new crimes
        new_rows = []
        for record in new_records:
            new_rows.append({
                "crime_ref": record.crime_ref,
                "reported_at": record.reported_at,
                "area_command": record.area_command,
                "principal_code": record.principal_code,
                "victim_id": person_ids[record.victim_ref],
                "suspect_id": person_ids[record.suspect_ref] if record.suspect_ref else None,
                "relationship": record.relationship,
                "domestic_abuse": record.domestic_abuse,
                "online": record.online,
                "summary": record.summary,
                "status": record.status,
                "closed_at": (record.closed_at or record.reported_at
                              if record.status == CaseStatus.CLOSED else None),
                "outcome": record.outcome,
                "reassessment_due_at": record.reassessment_due_at,
                "allocation_team": record.allocation_team,
                "officer": record.officer,
                "pin_issued": record.pin_issued,
                "pin_authorised_by": record.pin_authorised_by,
                "arrested_at": record.arrested_at,
                "digital_enquiries": record.digital_enquiries,
                "version": 1,
                "created_at": self.now,
                "last_activity_at": self.now,
            })
            self._delta["new_crimes"].add(record.crime_ref)
        counter.new += len(new_rows)
        new_ids = self.sql.insert_with_ids(T_CASE, new_rows, "crime_ref")

        included_rows: list[dict[str, Any]] = []
        allocation_rows: list[dict[str, Any]] = []
        for record in new_records:
            case_id = new_ids[record.crime_ref]
            for code in sorted(record.included_codes):
                included_rows.append(self._included_row(case_id, code))
            if record.allocation_team:
                allocation_rows.append(self._allocation_row(case_id, record))

        # changed crimes
        updates: list[dict[str, Any]] = []
        removals: list[int] = []
        audits: list[dict[str, Any]] = []
        for record, old, changed, add, remove in changes:
            counter.updated += 1
            self.touched.add(old.id)
            closed_at = old.closed_at
            if "status" in changed:
                closing = record.status == CaseStatus.CLOSED
                closed_at = (record.closed_at or self.now) if closing else None
                if closing:
                    self._delta["cases_closed"].add(record.crime_ref)
            elif record.closed_at is not None:
                closed_at = record.closed_at
            row = {
                "b_id": old.id,
                "reported_at": record.reported_at,
                "area_command": record.area_command,
                "principal_code": record.principal_code,
                "relationship": record.relationship,
                "domestic_abuse": record.domestic_abuse,
                "online": record.online,
                "summary": record.summary,
                "status": record.status,
                "closed_at": closed_at,
                "outcome": record.outcome if record.outcome is not None else old.outcome,
                "reassessment_due_at": (record.reassessment_due_at
                                        if record.reassessment_due_at is not None
                                        else old.reassessment_due_at),
                "allocation_team": record.allocation_team,
                "officer": record.officer,
                "pin_issued": record.pin_issued,
                **{name: (getattr(record, name) if getattr(record, name) is not None
                          else getattr(old, name))
                   for name in ("pin_authorised_by", "arrested_at", "digital_enquiries")},
            }
            if "victim_ref" in changed or "suspect_ref" in changed:
                self._update_people(old.id, person_ids[record.victim_ref],
                                    person_ids[record.suspect_ref] if record.suspect_ref else None)
            updates.append(row)
            for code in sorted(add):
                included_rows.append(self._included_row(old.id, code))
            removals.extend(remove.values())
            old_included = set(included.get(old.id, {}))
            new_included = (old_included - remove.keys()) | add
            before = {k: v[0] for k, v in changed.items()}
            after = {k: v[1] for k, v in changed.items()}
            if "principal_code" in changed or old_included != new_included:
                self._delta["reclassified"].add(Reclassification(
                    crime_ref=record.crime_ref,
                    old_principal=old.principal_code,
                    old_included=tuple(sorted(old_included)),
                    new_principal=record.principal_code,
                    new_included=tuple(sorted(new_included)),
                ))
                if old_included != new_included:
                    before["included_codes"] = old_included
                    after["included_codes"] = new_included
            if record.allocation_team and ("allocation_team" in changed or "officer" in changed):
                allocation_rows.append(self._allocation_row(old.id, record))
            self._audit(audits, record.crime_ref, f"updated from {SOURCE_REASON}", before, after)

        self._update_by_id(T_CASE, updates)
        self.sql.delete_ids(T_INCLUDED, removals)
        self._write(T_INCLUDED, included_rows)
        self._write(T_ALLOCATION, allocation_rows)
        self._write(T_AUDIT, audits)

    def _update_people(self, case_id: int, victim_id: int, suspect_id: int | None) -> None:
        self.conn.execute(update(T_CASE).where(T_CASE.c.id == case_id)
                          .values(victim_id=victim_id, suspect_id=suspect_id))

    def _included_row(self, case_id: int, code: str) -> dict[str, Any]:
        return {"case_id": case_id, "code": code, "source": ClassificationSource.IMPORT.value,
                "added_by": self.username, "added_at": self.now, "reason": SOURCE_REASON}

    def _allocation_row(self, case_id: int, record: CrimeRecord) -> dict[str, Any]:
        return {"case_id": case_id, "team": record.allocation_team, "officer": record.officer,
                "allocated_at": self.now, "allocated_by": self.username, "reason": SOURCE_REASON}

    # --- risk.csv ----------------------------------------------------------------
    def risk_chunk(self, records: list[RiskRecord]) -> None:
        counter = self.counters[RISK]
        cases = self._case_ids(
            {r.crime_ref for r in records}, T_CASE.c.risk_level, T_CASE.c.risk_assessed_at,
            T_CASE.c.risk_review_due, T_CASE.c.reassessment_due_at)
        existing: dict[tuple[int, datetime, str], Any] = {}
        for row in self.sql.where_in(
            select(T_RISK.c.id, T_RISK.c.case_id, T_RISK.c.assessed_at, T_RISK.c.tool,
                   T_RISK.c.tool_version, T_RISK.c.answers, T_RISK.c.level,
                   T_RISK.c.rationale, T_RISK.c.assessor, T_RISK.c.management_plan,
                   T_RISK.c.plan_set_at, T_RISK.c.plan_review_due, T_RISK.c.approved_by,
                   T_RISK.c.approved_at),
            T_RISK.c.case_id, [row.id for row in cases.values()],
        ):
            existing[(row.case_id, row.assessed_at, row.tool)] = row

        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        latest_change: dict[int, datetime] = {}
        for record in records:
            case = cases[record.crime_ref]
            level = RiskLevel(record.level)
            old = existing.get((case.id, record.assessed_at, record.tool))
            values = {
                "tool_version": record.tool_version,
                "answers": record.answers,
                "level": record.level,
                "rationale": record.rationale,
                "assessor": record.assessor,
                "yes_count": record.yes_count,
                "suggested_level": record.suggested_level,
                "review_due": review_due(level, record.assessed_at, self.policy.risk),
            }
            # format 2 columns: an empty cell keeps what Vigil holds
            for name in RISK_KEPT_FIELDS:
                given = getattr(record, name)
                values[name] = given if given is not None or old is None else getattr(old, name)
            if (old is not None and record.approved_by is None
                    and (old.level != record.level or old.answers != record.answers)):
                # the assessment was amended: an approval of what it was no longer holds
                values["approved_by"] = values["approved_at"] = None
            if old is None:
                inserts.append({"case_id": case.id, "tool": record.tool,
                                "assessed_at": record.assessed_at, "approval_required": False,
                                **values})
                counter.new += 1
                changed = {name: (None, values[name]) for name in ("answers", "level")}
                if values["approved_by"]:
                    changed["approved_by"] = (None, values["approved_by"])
            else:
                changed = _differs(old, values, RISK_FIELDS)
                if not changed:
                    counter.unchanged += 1
                    continue
                updates.append({"b_id": old.id, **values})
                counter.updated += 1
            when = latest_change.get(case.id)
            if when is None or record.assessed_at > when:
                latest_change[case.id] = record.assessed_at
            if self._is_existing(case.id):
                self.touched.add(case.id)
                self._audit(audits, record.crime_ref,
                            f"{record.tool} risk assessment of {format_when(record.assessed_at)} "
                            f"{'recorded' if old is None else 'updated'} from {SOURCE_REASON}",
                            {k: v[0] for k, v in changed.items()} if old is not None else None,
                            {k: v[1] for k, v in changed.items()})
            if "approved_by" in changed and values["approved_by"]:
                self._audit(audits, record.crime_ref,
                            f"risk level {record.level} approved (four-eyes) in the "
                            f"{SOURCE_REASON}: by {values['approved_by']}, assessed by "
                            f"{record.assessor}", None,
                            {"approved_by": values["approved_by"],
                             "approved_at": values["approved_at"],
                             "assessor": record.assessor, "level": record.level})
        self._write(T_RISK, inserts)
        self._update_by_id(T_RISK, updates)
        self._write(T_AUDIT, audits)
        if latest_change:
            self._follow_latest_assessment(cases, latest_change)

    def _follow_latest_assessment(self, cases: dict[str, Any],
                                  latest_change: dict[int, datetime]) -> None:
        """Four-eyes over each changed case's assessments in order (a level
        below the suggestion, or lowered from high, waits for a second
        supervisor: the case keeps the higher level), then the case's risk
        mirrors follow what it carries."""
        by_id = {row.id: row for row in cases.values()}
        history: dict[int, list[Any]] = defaultdict(list)
        for row in self.sql.where_in(
            select(T_RISK.c.id, T_RISK.c.case_id, T_RISK.c.level, T_RISK.c.suggested_level,
                   T_RISK.c.assessed_at, T_RISK.c.approved_at, T_RISK.c.approval_required)
            .order_by(T_RISK.c.case_id, T_RISK.c.assessed_at, T_RISK.c.id),
            T_RISK.c.case_id, sorted(latest_change),
        ):
            history[row.case_id].append(row)
        hours = timedelta(hours=self.policy.risk.reassessment_due_hours)
        mirrors: list[dict[str, Any]] = []
        flags: list[dict[str, Any]] = []
        for case_id, assessed in latest_change.items():
            case = by_id[case_id]
            rows = sorted(history[case_id], key=lambda r: (_aware(r.assessed_at), r.id))
            outcomes = walk_assessments(
                [AssessmentStep(RiskLevel(r.level), RiskLevel(r.suggested_level),
                                _aware(r.assessed_at), r.approved_at is not None) for r in rows],
                self.policy.risk)
            for row, outcome in zip(rows, outcomes, strict=True):
                if bool(row.approval_required) != outcome.approval_required:
                    flags.append({"b_id": row.id, "approval_required": outcome.approval_required})
            carried = outcomes[-1].case
            due = case.reassessment_due_at
            if due is not None and assessed >= due - hours:
                due = None
            level = carried.level.value
            if (case.risk_level, case.risk_assessed_at, case.risk_review_due,
                    case.reassessment_due_at) == (level, carried.assessed_at,
                                                  carried.review_due, due):
                continue
            if case.risk_level != level and self._is_existing(case_id):
                self._delta["risk_changes"].add(RiskChange(case.crime_ref, case.risk_level,
                                                           level))
            mirrors.append({"b_id": case_id, "risk_level": level,
                            "risk_assessed_at": carried.assessed_at,
                            "risk_review_due": carried.review_due, "reassessment_due_at": due})
        self._update_by_id(T_RISK, flags)
        self._update_by_id(T_CASE, mirrors)

    # --- orders.csv ----------------------------------------------------------------
    def orders_chunk(self, records: list[OrderRecord]) -> None:
        counter = self.counters[ORDERS]
        cases = self._case_ids({r.crime_ref for r in records}, T_CASE.c.victim_id,
                               T_CASE.c.suspect_id, T_CASE.c.spo_status)
        spo_news: dict[int, tuple[tuple[datetime, str], OrderRecord, str]] = {}
        existing: dict[str, Any] = {}
        for row in self.sql.where_in(
            select(T_ORDER.c.id, T_ORDER.c.order_ref, T_ORDER.c.case_id, T_ORDER.c.kind,
                   T_ORDER.c.status, T_ORDER.c.applied_at, T_ORDER.c.granted_at,
                   T_ORDER.c.served_at, T_ORDER.c.expires_at, T_ORDER.c.subject_id,
                   T_ORDER.c.protected_id, T_ORDER.c.notification_due_at,
                   T_ORDER.c.notified_at),
            T_ORDER.c.order_ref, [r.order_ref for r in records],
        ):
            existing[row.order_ref] = row
        warning = timedelta(days=self.policy.spo.expiry_warning_days)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        for record in records:
            case = cases[record.crime_ref]
            values = {
                "case_id": case.id, "kind": record.kind, "status": record.status,
                "applied_at": record.applied_at, "granted_at": record.granted_at,
                "served_at": record.served_at, "expires_at": record.expires_at,
            }
            old = existing.get(record.order_ref)
            for name in ORDER_KEPT_FIELDS:
                given = getattr(record, name)
                values[name] = given if given is not None or old is None else getattr(old, name)
            if (values["notification_due_at"] is None and record.served_at is not None
                    and record.kind in NOTIFICATION_KINDS):
                # the RMS gave no date: SPA 2019 s9's clock from service, as Vigil keeps it
                values["notification_due_at"] = notification_due(record.served_at,
                                                                 self.policy.spo)
            if old is None:
                inserts.append({"order_ref": record.order_ref, **values,
                                "subject_id": case.suspect_id, "protected_id": case.victim_id,
                                "updated_at": self.now})
                counter.new += 1
                changed = {"status": (None, record.status)}
            else:
                changed = _differs(old, values, ORDER_FIELDS)
                if not changed:
                    counter.unchanged += 1
                else:
                    moved = "case_id" in changed
                    updates.append({
                        "b_id": old.id, **values,
                        "subject_id": case.suspect_id if moved else old.subject_id,
                        "protected_id": case.victim_id if moved else old.protected_id,
                        "updated_at": self.now,
                    })
                    counter.updated += 1
                    if moved and self._is_existing(old.case_id):
                        self.touched.add(old.case_id)
            event = OrderEvent(record.order_ref, record.crime_ref, record.kind, record.status,
                               record.expires_at)
            if record.status in GRANTED_STATUSES and (old is None or old.status != record.status):
                self._delta["orders_granted"].add(event)
            expires = record.expires_at
            if (record.status in ORDERS_IN_FORCE and expires is not None
                    and self.now <= expires <= self.now + warning
                    and (changed or self.previous_import_at is None
                         or expires > self.previous_import_at + warning)):
                self._delta["orders_expiring"].add(event)
            if changed and self._is_existing(case.id):
                self.touched.add(case.id)
                self._audit(audits, record.crime_ref,
                            f"{record.kind} {record.order_ref} "
                            f"{'recorded' if old is None else 'updated'} from {SOURCE_REASON}",
                            {k: v[0] for k, v in changed.items()} if old is not None else None,
                            {k: v[1] for k, v in changed.items()})
            decision = spo_decision_for_order(record.kind, record.status)
            if changed and decision is not None and not self.decisions_given:
                when = (record.granted_at or record.applied_at or record.served_at
                        or self.now, record.order_ref)
                newest = spo_news.get(case.id)
                if newest is None or when > newest[0]:
                    spo_news[case.id] = (when, record, decision.value)
        self._write(T_ORDER, inserts)
        self._update_by_id(T_ORDER, updates)
        self._mirror_spo_decisions(cases, spo_news, audits)
        self._write(T_AUDIT, audits)

    def _mirror_spo_decisions(self, cases: dict[str, Any],
                              spo_news: dict[int, tuple[Any, OrderRecord, str]],
                              audits: list[dict[str, Any]]) -> None:
        """The case's SPO decision follows the newest SPO or interim SPO the
        extract changed. The RMS is the record of the court's decisions, so
        the import moves the decision even where Vigil saw no step between
        (an order first seen granted)."""
        current = {row.id: row.spo_status for row in cases.values()}
        decisions: list[dict[str, Any]] = []
        moved: list[dict[str, Any]] = []
        for case_id, (_when, record, decision) in sorted(spo_news.items()):
            before = current.get(case_id)
            if decision == before:
                continue
            decisions.append({"case_id": case_id, "status": decision,
                              "rationale": f"{record.kind} {record.order_ref} {record.status} "
                                           f"in the {SOURCE_REASON}",
                              "decided_by": self.username, "decided_at": self.now})
            moved.append({"b_id": case_id, "spo_status": decision})
            if self._is_existing(case_id):
                self.touched.add(case_id)
                self._audit(audits, record.crime_ref,
                            f"SPO decision from {record.kind} {record.order_ref} in the "
                            f"{SOURCE_REASON}", {"spo_status": before}, {"spo_status": decision})
        self._write(T_SPO_DECISION, decisions)
        self._update_by_id(T_CASE, moved)

    # --- breaches.csv ----------------------------------------------------------------
    def breaches_chunk(self, records: list[BreachRecord]) -> None:
        counter = self.counters[BREACHES]
        orders: dict[str, Any] = {}
        for row in self.sql.where_in(
            select(T_ORDER.c.id, T_ORDER.c.order_ref, T_ORDER.c.case_id, T_CASE.c.crime_ref)
            .select_from(T_ORDER.join(T_CASE, T_CASE.c.id == T_ORDER.c.case_id)),
            T_ORDER.c.order_ref, {r.order_ref for r in records},
        ):
            orders[row.order_ref] = row
        cases = self._case_ids({r.crime_ref for r in records}, T_CASE.c.linked_case_id)
        existing: dict[str, Any] = {}
        for row in self.sql.where_in(
            select(T_BREACH.c.id, T_BREACH.c.breach_ref, T_BREACH.c.order_id,
                   T_BREACH.c.breach_case_id, T_BREACH.c.original_case_id,
                   T_BREACH.c.occurred_at, T_BREACH.c.reported_at,
                   *[T_BREACH.c[name] for name in BREACH_KEPT_FIELDS]),
            T_BREACH.c.breach_ref, [r.breach_ref for r in records],
        ):
            existing[row.breach_ref] = row
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        links: dict[int, int] = {}
        audits: list[dict[str, Any]] = []
        # per original case: the latest new breach and its crime (the live record)
        reassess: dict[int, tuple[datetime, int]] = {}
        for record in records:
            order = orders.get(record.order_ref)
            if order is None:
                raise ExtractChanged(f"order '{record.order_ref}' is no longer in Vigil or the "
                                     "extract; nothing was written")
            case = cases[record.crime_ref]
            values = {"order_id": order.id, "breach_case_id": case.id,
                      "original_case_id": order.case_id, "occurred_at": record.occurred_at,
                      "reported_at": record.reported_at}
            old = existing.get(record.breach_ref)
            for name in BREACH_KEPT_FIELDS:
                given = getattr(record, name)
                values[name] = given if given is not None or old is None else getattr(old, name)
            if values["threats_or_violence"] is None:
                values["threats_or_violence"] = False
            if old is None:
                inserts.append({"breach_ref": record.breach_ref, **values})
                counter.new += 1
                self._delta["new_breaches"].add(NewBreach(record.breach_ref, record.order_ref,
                                                          record.crime_ref, order.crime_ref))
                latest = reassess.get(order.case_id)
                if latest is None or record.reported_at > latest[0]:
                    reassess[order.case_id] = (record.reported_at, case.id)
                changed = {"reported_at": (None, record.reported_at)}
            else:
                changed = _differs(old, values, BREACH_FIELDS)
                if not changed:
                    counter.unchanged += 1
                else:
                    updates.append({"b_id": old.id, **values})
                    counter.updated += 1
                    if "acknowledged_at" in changed and values["acknowledged_at"] is not None:
                        self._audit(audits, order.crime_ref,
                                    f"breach {record.breach_ref} acknowledged in the "
                                    f"{SOURCE_REASON} by {values['acknowledged_by']}",
                                    {"acknowledged_at": old.acknowledged_at},
                                    {"acknowledged_by": values["acknowledged_by"],
                                     "acknowledged_at": values["acknowledged_at"],
                                     "note": values["acknowledgement_note"]})
            linked = links.get(case.id, case.linked_case_id)
            if case.id != order.case_id and linked != order.case_id:
                links[case.id] = order.case_id
                changed = changed or {"linked": (None, order.crime_ref)}
            if changed:
                for case_id, crime_ref in ((case.id, record.crime_ref),
                                           (order.case_id, order.crime_ref)):
                    if self._is_existing(case_id):
                        self.touched.add(case_id)
                        self._audit(audits, crime_ref,
                                    f"breach {record.breach_ref} of {record.order_ref} "
                                    f"{'recorded' if old is None else 'updated'} from "
                                    f"{SOURCE_REASON}", None,
                                    {"breach_ref": record.breach_ref,
                                     "breach_crime": record.crime_ref,
                                     "original_crime": order.crime_ref,
                                     "reported_at": record.reported_at})
        self._write(T_BREACH, inserts)
        self._update_by_id(T_BREACH, updates)
        self._update_by_id(T_CASE, [{"b_id": cid, "linked_case_id": target}
                                    for cid, target in links.items()])
        self._write(T_AUDIT, audits)
        if reassess:
            self._reassessment_due(reassess)

    def _reassessment_due(self, latest: dict[int, tuple[datetime, int]]) -> None:
        """New breaches make a re-assessment due on the crime of the latest of
        them (the pair's live record), counted from that breach, as when a
        breach is recorded in Vigil, unless the pair was assessed since: the
        pair of the breach crime, or of the original case whose order was
        breached (a breach by a suspect the report did not name is still that
        pair's)."""
        hours = timedelta(hours=self.policy.risk.reassessment_due_hours)
        crime_ids = {crime_id: reported for reported, crime_id in latest.values()}
        original_of = {crime_id: original for original, (_r, crime_id) in latest.items()}
        mate = T_CASE.alias("pair_mate")
        pair_assessed = (
            select(func.max(T_RISK.c.assessed_at))
            .select_from(T_RISK.join(mate, mate.c.id == T_RISK.c.case_id))
            .where(mate.c.victim_id == T_CASE.c.victim_id,
                   mate.c.suspect_id == T_CASE.c.suspect_id)
            .scalar_subquery()
        )
        own_assessed = (select(func.max(T_RISK.c.assessed_at))
                        .where(T_RISK.c.case_id == T_CASE.c.id).scalar_subquery())
        original_assessed = {
            # the original case's own assessments count when its suspect is unknown
            case_id: max((_aware(at) for at in (pair, own) if at is not None), default=None)
            for case_id, pair, own in self.sql.where_in(
                select(T_CASE.c.id, pair_assessed, own_assessed), T_CASE.c.id, sorted(latest))}
        changes: list[dict[str, Any]] = []
        for case_id, current, assessed in self.sql.where_in(
            select(T_CASE.c.id, T_CASE.c.reassessment_due_at, pair_assessed),
            T_CASE.c.id, sorted(crime_ids),
        ):
            breach_at = crime_ids[case_id]
            known = [at for at in (_aware(assessed) if assessed is not None else None,
                                   original_assessed.get(original_of[case_id]))
                     if at is not None]
            if known and max(known) >= breach_at:
                continue
            due = breach_at + hours
            if current is not None and _aware(current) == due:
                continue
            changes.append({"b_id": case_id, "reassessment_due_at": due})
        self._update_by_id(T_CASE, changes)

    # --- victim_care.csv ----------------------------------------------------------------
    def care_chunk(self, records: list[CareRecord]) -> None:
        counter = self.counters[VICTIM_CARE]
        cases = self._case_ids({r.crime_ref for r in records})
        ids = [row.id for row in cases.values()]
        care: dict[int, Any] = {}
        referrals: dict[tuple[int, str], Any] = {}
        for row in self.sql.where_in(
            select(T_CARE.c.id, T_CARE.c.case_id, T_CARE.c.needs_assessed_at,
                   T_CARE.c.enhanced_rights, T_CARE.c.rights_explained_at, T_CARE.c.consent,
                   *[T_CARE.c[name] for name in CARE_KEPT_FIELDS]),
            T_CARE.c.case_id, ids,
        ):
            care[row.case_id] = row
        for row in self.sql.where_in(
            select(T_REFERRAL.c.id, T_REFERRAL.c.case_id, T_REFERRAL.c.service,
                   T_REFERRAL.c.referred_at, T_REFERRAL.c.outcome)
            .order_by(T_REFERRAL.c.referred_at, T_REFERRAL.c.id),
            T_REFERRAL.c.case_id, ids,
        ):
            referrals[(row.case_id, row.service)] = row  # the latest per service wins
        care_inserts: list[dict[str, Any]] = []
        care_updates: list[dict[str, Any]] = []
        referral_inserts: list[dict[str, Any]] = []
        referral_updates: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        for record in records:
            case_id = cases[record.crime_ref].id
            state = "unchanged"
            changes: dict[str, tuple[Any, Any]] = {}
            if record.has_care:
                old = care.get(case_id)
                values = {
                    "needs_assessed_at": record.needs_assessed_at,
                    "enhanced_rights": (record.enhanced_rights if record.enhanced_rights is not None
                                        else (old.enhanced_rights if old is not None else True)),
                    "rights_explained_at": record.rights_explained_at,
                    "consent": record.consent,
                }
                for name in CARE_KEPT_FIELDS:
                    given = getattr(record, name)
                    values[name] = (given if given is not None or old is None
                                    else getattr(old, name))
                if old is None:
                    care_inserts.append({"case_id": case_id, **values})
                    state = "new"
                    changes.update({k: (None, v) for k, v in values.items()})
                else:
                    changes.update(_differs(old, values, CARE_FIELDS))
                    if changes:
                        care_updates.append({"b_id": old.id, **values})
                        state = "updated"
                care[case_id] = _Values(id=getattr(old, "id", None), case_id=case_id, **values)
            if record.service:
                key = (case_id, record.service)
                old_ref = referrals.get(key)
                values = {"referred_at": record.referred_at,
                          "outcome": record.outcome or ReferralOutcome.PENDING.value}
                if old_ref is None:
                    referral_inserts.append({"case_id": case_id, "service": record.service,
                                             "referred_by": self.username, **values})
                    state = "new"
                    changes[f"referral {record.service}"] = (None, values["outcome"])
                else:
                    changed = _differs(old_ref, values, ("referred_at", "outcome"))
                    if changed:
                        referral_updates.append({"b_id": old_ref.id, **values})
                        if state == "unchanged":
                            state = "updated"
                        changes.update({f"referral {record.service} {k}": v
                                        for k, v in changed.items()})
                referrals[key] = _Values(id=getattr(old_ref, "id", None), **values)
            if state == "unchanged":
                counter.unchanged += 1
                continue
            if state == "new":
                counter.new += 1
            else:
                counter.updated += 1
            if self._is_existing(case_id):
                self.touched.add(case_id)
                self._audit(audits, record.crime_ref,
                            f"victim care {'recorded' if state == 'new' else 'updated'} from "
                            f"{SOURCE_REASON}",
                            {k: v[0] for k, v in changes.items()},
                            {k: v[1] for k, v in changes.items()})
        self._write(T_CARE, care_inserts)
        self._update_by_id(T_CARE, care_updates)
        self._write(T_REFERRAL, referral_inserts)
        self._update_by_id(T_REFERRAL, referral_updates)
        self._write(T_AUDIT, audits)

    # --- spo_decisions.csv -----------------------------------------------------------
    def spo_decisions_chunk(self, records: list[SpoDecisionRecord]) -> None:
        """``SpoDecision`` by (crime, decided_at, status); the case's SPO
        decision (``spo_status``) follows its newest decision."""
        counter = self.counters[SPO_DECISIONS]
        cases = self._case_ids({r.crime_ref for r in records}, T_CASE.c.spo_status)
        existing: dict[tuple[int, datetime, str], Any] = {}
        for row in self.sql.where_in(
            select(T_SPO_DECISION.c.id, T_SPO_DECISION.c.case_id, T_SPO_DECISION.c.status,
                   T_SPO_DECISION.c.rationale, T_SPO_DECISION.c.decided_by,
                   T_SPO_DECISION.c.decided_at),
            T_SPO_DECISION.c.case_id, [row.id for row in cases.values()],
        ):
            existing[(row.case_id, _aware(row.decided_at), row.status)] = row
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        changed_cases: set[int] = set()
        for record in records:
            case = cases[record.crime_ref]
            values = {"rationale": record.rationale, "decided_by": record.decided_by}
            old = existing.get((case.id, record.decided_at, record.status))
            if old is None:
                inserts.append({"case_id": case.id, "status": record.status,
                                "decided_at": record.decided_at, **values})
                counter.new += 1
                changed = {"status": (None, record.status), "rationale": (None, record.rationale)}
            else:
                changed = _differs(old, values, ("rationale", "decided_by"))
                if not changed:
                    counter.unchanged += 1
                    continue
                updates.append({"b_id": old.id, **values})
                counter.updated += 1
            changed_cases.add(case.id)
            if self._is_existing(case.id):
                self.touched.add(case.id)
                self._audit(audits, record.crime_ref,
                            f"SPO decision {record.status} of {format_when(record.decided_at)} "
                            f"by {record.decided_by} {'recorded' if old is None else 'updated'} "
                            f"from {SOURCE_REASON}",
                            {k: v[0] for k, v in changed.items()} if old is not None else None,
                            {k: v[1] for k, v in changed.items()})
        self._write(T_SPO_DECISION, inserts)
        self._update_by_id(T_SPO_DECISION, updates)
        newest: dict[int, str] = {}
        for row in self.sql.where_in(
            select(T_SPO_DECISION.c.case_id, T_SPO_DECISION.c.status)
            .order_by(T_SPO_DECISION.c.case_id, T_SPO_DECISION.c.decided_at,
                      T_SPO_DECISION.c.id),
            T_SPO_DECISION.c.case_id, sorted(changed_cases),
        ):
            newest[row.case_id] = row.status
        by_id = {row.id: row for row in cases.values()}
        moved: list[dict[str, Any]] = []
        for case_id, status in sorted(newest.items()):
            case = by_id[case_id]
            if case.spo_status == status:
                continue
            moved.append({"b_id": case_id, "spo_status": status})
            if self._is_existing(case_id):
                self._audit(audits, case.crime_ref, f"SPO decision now {status} from "
                            f"{SOURCE_REASON}", {"spo_status": case.spo_status},
                            {"spo_status": status})
        self._update_by_id(T_CASE, moved)
        self._write(T_AUDIT, audits)

    # --- searches.csv ----------------------------------------------------------------
    def searches_chunk(self, records: list[SearchRow]) -> None:
        """``SearchRecord`` by (crime, power, conducted_at); ``result`` is kept
        as the items seized."""
        self._keyed_rows(
            SEARCHES, records, T_SEARCH, ("power", "conducted_at"),
            lambda r: {"officer": r.officer, "authorised_by": r.authorised_by,
                       "premises": r.premises, "items_seized": r.result},
            {"recorded_by": self.username, "recorded_at": self.now},
            lambda r: f"search under {r.power} of {format_when(r.conducted_at)}")

    # --- multi_agency.csv ------------------------------------------------------------
    def multi_agency_chunk(self, records: list[MultiAgencyRecord]) -> None:
        """``MultiAgencyReferral`` by (crime, kind, referred_at)."""
        self._keyed_rows(
            MULTI_AGENCY, records, T_MULTI_AGENCY, ("kind", "referred_at"),
            lambda r: {"referred_by": r.referred_by, "outcome": r.outcome},
            {}, lambda r: f"{r.kind} referral of {format_when(r.referred_at)}")

    # --- officer_training.csv ------------------------------------------------------
    def training_chunk(self, records: list[TrainingRow]) -> None:
        """``TrainingRecord`` by (officer, course, completed_on): a row is a fact
        (a course completed), new or already held."""
        counter = self.counters[OFFICER_TRAINING]
        held: set[tuple[str, str, Any]] = set()
        for row in self.sql.where_in(
            select(T_TRAINING.c.officer, T_TRAINING.c.course, T_TRAINING.c.completed_on),
            T_TRAINING.c.officer, sorted({r.officer for r in records}),
        ):
            held.add((row.officer, row.course, row.completed_on))
        inserts: list[dict[str, Any]] = []
        for record in records:
            key = (record.officer, record.course, record.completed_on)
            if key in held:
                counter.unchanged += 1
                continue
            held.add(key)
            inserts.append({"officer": record.officer, "course": record.course,
                            "completed_on": record.completed_on, "source": TRAINING_SOURCE})
            counter.new += 1
        self._write(T_TRAINING, inserts)

    # --- perpetrator_programmes.csv -----------------------------------------------
    def programmes_chunk(self, records: list[ProgrammeRecord]) -> None:
        """``PerpetratorProgramme`` by code."""
        counter = self.counters[PROGRAMMES]
        existing: dict[str, Any] = {}
        for row in self.sql.where_in(
            select(T_PROGRAMME.c.id, T_PROGRAMME.c.code,
                   *[T_PROGRAMME.c[name] for name in PROGRAMME_FIELDS]),
            T_PROGRAMME.c.code, [r.code for r in records],
        ):
            existing[row.code] = row
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for record in records:
            values = {name: getattr(record, name) for name in PROGRAMME_FIELDS}
            old = existing.get(record.code)
            if old is None:
                inserts.append({"code": record.code, **values})
                counter.new += 1
            elif _differs(old, values, PROGRAMME_FIELDS):
                updates.append({"b_id": old.id, **values})
                counter.updated += 1
            else:
                counter.unchanged += 1
        self._write(T_PROGRAMME, inserts)
        self._update_by_id(T_PROGRAMME, updates)

    # --- perpetrator_referrals.csv ------------------------------------------------
    def perpetrator_referrals_chunk(self, records: list[PerpetratorReferralRecord]) -> None:
        """``PerpetratorReferral`` by (crime, programme, referred_at)."""
        ids: dict[str, int] = {}
        for row in self.sql.where_in(select(T_PROGRAMME.c.id, T_PROGRAMME.c.code),
                                     T_PROGRAMME.c.code, {r.programme_code for r in records}):
            ids[row.code] = row.id
        missing = {r.programme_code for r in records} - ids.keys()
        if missing:
            raise ExtractChanged(f"programme '{sorted(missing)[0]}' is no longer in Vigil or "
                                 "the extract; nothing was written")
        rows = [_Values(crime_ref=r.crime_ref, programme_id=ids[r.programme_code],
                        programme_code=r.programme_code, referred_at=r.referred_at,
                        referred_by=r.referred_by, outcome=r.outcome) for r in records]
        self._keyed_rows(
            PERPETRATOR_REFERRALS, rows, T_PERPETRATOR_REFERRAL, ("programme_id", "referred_at"),
            lambda r: {"referred_by": r.referred_by, "outcome": r.outcome},
            {}, lambda r: f"referral to perpetrator programme {r.programme_code} of "
                          f"{format_when(r.referred_at)}")

    def _keyed_rows(self, file_name: str, records: list[Any], table: Any,
                    key: tuple[str, ...], values_of: Callable[[Any], dict[str, Any]],
                    on_insert: dict[str, Any], what: Callable[[Any], str]) -> None:
        """Upsert rows of ``table`` identified by the case and ``key``."""
        counter = self.counters[file_name]
        cases = self._case_ids({r.crime_ref for r in records})
        sample = values_of(records[0])
        existing: dict[tuple[Any, ...], Any] = {}
        for row in self.sql.where_in(
            select(table.c.id, table.c.case_id, *[table.c[k] for k in key],
                   *[table.c[name] for name in sample]),
            table.c.case_id, [row.id for row in cases.values()],
        ):
            existing[(row.case_id, *[_aware(v) if isinstance(v, datetime) else v
                                     for v in (getattr(row, k) for k in key)])] = row
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        for record in records:
            case_id = cases[record.crime_ref].id
            values = values_of(record)
            old = existing.get((case_id, *[getattr(record, k) for k in key]))
            if old is None:
                inserts.append({"case_id": case_id, **{k: getattr(record, k) for k in key},
                                **values, **on_insert})
                counter.new += 1
                changed = {name: (None, value) for name, value in values.items()
                           if value is not None}
            else:
                changed = _differs(old, values, tuple(values))
                if not changed:
                    counter.unchanged += 1
                    continue
                updates.append({"b_id": old.id, **values})
                counter.updated += 1
            if self._is_existing(case_id):
                self.touched.add(case_id)
                self._audit(audits, record.crime_ref,
                            f"{what(record)} {'recorded' if old is None else 'updated'} from "
                            f"{SOURCE_REASON}",
                            {k: v[0] for k, v in changed.items()} if old is not None else None,
                            {k: v[1] for k, v in changed.items()})
        self._write(table, inserts)
        self._update_by_id(table, updates)
        self._write(T_AUDIT, audits)



class _Values:
    """A row-like holder for values written earlier in the same chunk."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
