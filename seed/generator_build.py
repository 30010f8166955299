"""Rows of the synthetic force: ids, references, timestamps and the primitive
records (person, case, assessment, order, breach, victim care ...).

Times are whole seconds since the Unix epoch (UTC) while the data is being
built, and become what the database driver stores only when a row is made:
on SQLite the exact text SQLAlchemy writes (``2026-03-02 08:00:00.000000``,
so comparisons with values bound by the app stay correct), on PostgreSQL an
aware ``datetime``. Ids are explicit and handed out in order, so the same seed
gives the same ids.
"""

from __future__ import annotations

import json
import random
import tomllib
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from app.policy import Policy
from app.rules.orders import NOTIFICATION_KINDS
from app.rules.risk import parse_answers, suggested_level, yes_count
from models.enums import RISK_RANK, RiskLevel

MINUTE = 60
HOUR = 3600
DAY = 86400
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SEED_DIR = Path(__file__).resolve().parent

# Columns written for each table, in insert order (parents before children).
TABLES: dict[str, tuple[str, ...]] = {
    "person": ("id", "person_ref", "name", "date_of_birth"),
    "crime_case": (
        "id", "crime_ref", "reported_at", "occurred_from", "occurred_to", "area_command",
        "principal_code", "victim_id", "suspect_id", "relationship", "domestic_abuse", "online",
        "summary", "status", "outcome", "closed_at", "allocation_team", "officer", "risk_level",
        "risk_assessed_at", "risk_review_due", "reassessment_due_at", "spo_status", "pin_issued",
        "linked_case_id", "version", "created_at", "last_activity_at", "pin_authorised_by",
    ),
    "included_classification": ("id", "case_id", "code", "source", "added_by", "added_at",
                                "reason"),
    "risk_assessment": (
        "id", "case_id", "tool", "tool_version", "answers", "yes_count", "suggested_level",
        "level", "rationale", "management_plan", "assessor", "assessed_at", "review_due",
        "approval_required", "approved_by", "approved_at",
    ),
    "protective_order": (
        "id", "order_ref", "case_id", "kind", "status", "applied_at", "granted_at", "served_at",
        "expires_at", "notified_at", "notification_due_at", "conditions", "subject_id",
        "protected_id", "updated_at",
    ),
    "spo_decision": ("id", "case_id", "status", "rationale", "decided_by", "decided_at"),
    "breach": (
        "id", "breach_ref", "order_id", "breach_case_id", "original_case_id", "occurred_at",
        "reported_at", "threats_or_violence", "acknowledged_by", "acknowledged_at",
        "acknowledgement_note", "manual_level", "escalated_by", "escalated_at", "arrest_at",
        "reassessment_requested_at", "outcome",
    ),
    "victim_care": ("id", "case_id", "needs_assessed_at", "enhanced_rights",
                    "rights_explained_at", "consent", "last_update_at", "vps_offered_at"),
    "referral": ("id", "case_id", "service", "referred_at", "outcome", "referred_by"),
    "multi_agency_referral": ("id", "case_id", "kind", "referred_at", "referred_by", "outcome"),
    "allocation": ("id", "case_id", "team", "officer", "allocated_at", "allocated_by", "reason"),
    "search_record": ("id", "case_id", "power", "conducted_at", "officer", "authorised_by",
                      "premises", "items_seized", "recorded_by", "recorded_at"),
    "training_key": ("case_id", "hidden_stalking", "note"),
    "dmm_meeting": ("id", "area_command", "meeting_date", "starts_at", "covers_from",
                    "chaired_by", "closed_at"),
    "dmm_item": ("id", "meeting_id", "case_id", "reasons", "priority", "decision", "rationale",
                 "decided_by", "decided_at", "discussed_at", "discussed_by"),
    "dmm_action": ("id", "item_id", "case_id", "text", "owner", "due_at", "done_at",
                   "created_by", "created_at"),
}

# Tables whose rows carry an integer id handed out here.
ID_TABLES: tuple[str, ...] = tuple(name for name, cols in TABLES.items() if cols[0] == "id")

BREACH_CODES = {"RO": "BRO", "NMO": "BNMO", "SPO": "BSPO", "ISPO": "BSPO", "DVPO": "BDVPO"}
FAMILY = {
    "8L": "harassment", "8M": "harassment", "8Q": "stalking", "8R": "malicious communications",
    "8U": "domestic", "58A": "criminal damage", "58B": "criminal damage",
    "58C": "criminal damage", "58D": "criminal damage", "BRO": "breach", "BNMO": "breach",
    "BSPO": "breach", "BDVPO": "breach",
}
DOMESTIC_RELATIONSHIPS = ("partner", "ex_partner", "family")


class Choice:
    """A weighted choice drawn with one ``random()`` call."""

    __slots__ = ("cumulative", "items", "total")

    def __init__(self, weighted: Sequence[tuple[Any, float]]) -> None:
        self.items = [item for item, _weight in weighted]
        running = 0.0
        cumulative = []
        for _item, weight in weighted:
            running += weight
            cumulative.append(running)
        self.cumulative = cumulative
        self.total = running

    def __call__(self, rng: random.Random) -> Any:
        return self.items[bisect(self.cumulative, rng.random() * self.total)]


# --- texts ------------------------------------------------------------------


@dataclass(frozen=True)
class Texts:
    """The words the generator picks outside a summary (the summaries
    themselves are composed by ``seed.grammar`` from the same file)."""

    acquaintances: tuple[str, ...]
    family: tuple[str, ...]
    orders: dict[str, str]


@cache
def load_texts() -> Texts:
    with (SEED_DIR / "summaries.toml").open("rb") as handle:
        raw = tomllib.load(handle)
    words = raw["words"]
    return Texts(
        acquaintances=tuple(words["acquaintances"]),
        family=tuple(words["family"]),
        orders=dict(raw["orders"]),
    )


# --- timestamps ---------------------------------------------------------------


class Formats:
    """Turns seconds since the epoch into what the driver stores."""

    def __init__(self, dialect: str, now: int) -> None:
        self.sqlite = dialect == "sqlite"
        if self.sqlite:
            self._base = now // DAY - 4000
            first = date(1970, 1, 1) + timedelta(days=self._base)
            self._days = [f"{first + timedelta(days=i)} " for i in range(8000)]
            self._times = [f"{h:02d}:{m:02d}:{s:02d}.000000"
                           for h in range(24) for m in range(60) for s in range(60)]
            self.ts: Callable[[int | None], Any] = self._ts_sqlite
            self.day: Callable[[date], Any] = date.isoformat
            self.json: Callable[[Any], Any] = json.dumps
        else:
            self.ts = self._ts_datetime
            self.day = _same
            self.json = _same

    def _ts_sqlite(self, seconds: int | None) -> str | None:
        if seconds is None:
            return None
        index, rest = divmod(seconds, DAY)
        index -= self._base
        if 0 <= index < 8000:
            return self._days[index] + self._times[rest]
        return (EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S.000000")

    @staticmethod
    def _ts_datetime(seconds: int | None) -> datetime | None:
        if seconds is None:
            return None
        return EPOCH + timedelta(seconds=seconds)


def _same(value: Any) -> Any:
    return value


def to_seconds(moment: datetime) -> int:
    return int((moment.astimezone(UTC) - EPOCH) // timedelta(seconds=1))


def to_datetime(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


# --- records being built -------------------------------------------------------


@dataclass(slots=True)
class RiskRow:
    """A crime's risk assessment among the rows of the current batch, as the
    four-eyes walk over them in time order needs it."""

    index: int  # its row in the batch's risk_assessment rows
    at: int
    level: str
    suggested: str
    assessor: str
    approver: str | None
    approved_at: int | None
    batch: int


# where the four-eyes walk rewrites a risk_assessment row
_APPROVAL_REQUIRED, _APPROVED_BY, _APPROVED_AT = (
    TABLES["risk_assessment"].index(column)
    for column in ("approval_required", "approved_by", "approved_at"))


class CaseRec:
    """A crime being built; becomes a crime_case row when finished."""

    __slots__ = (
        "activity", "area", "assessments", "breach_times", "closed", "code", "crime_ref",
        "domestic", "family", "id", "linked", "occ_from", "occ_to", "officer", "online",
        "outcome", "pin", "pin_by", "reassess_due", "rel", "reported", "risk_at", "risk_level",
        "risk_review", "risk_rows", "spo_status", "stalking", "status", "summary", "suspect", "team",
        "victim",
    )

    def __init__(self) -> None:
        self.activity = 0
        self.assessments = 0
        self.breach_times: list[int] | None = None
        self.closed: int | None = None
        self.linked: int | None = None
        self.officer: str | None = None
        self.outcome: str | None = None
        self.pin = False
        self.pin_by: str | None = None
        self.reassess_due: int | None = None
        self.risk_at: int | None = None
        self.risk_level: str | None = None
        self.risk_review: int | None = None
        # this crime's assessments in the current batch of rows
        self.risk_rows: list[RiskRow] = []
        self.spo_status = "not_considered"
        self.status = "open"
        self.team: str | None = None


class OrderRec:
    __slots__ = ("case", "expires", "granted", "id", "kind", "served", "status")

    def __init__(self, id_: int, kind: str, case: CaseRec, status: str, granted: int | None,
                 served: int | None, expires: int | None) -> None:
        self.id = id_
        self.kind = kind
        self.case = case
        self.status = status
        self.granted = granted
        self.served = served
        self.expires = expires

    def in_force(self, at: int) -> bool:
        start = self.served or self.granted
        return (start is not None and start <= at
                and (self.expires is None or at < self.expires))


@dataclass(frozen=True)
class Person:
    id: int
    first: str
    name: str
    female: bool


@dataclass(frozen=True)
class RecentCase:
    """A case reported in the last weeks: material for the DMM history."""

    id: int
    area: str
    reported: int
    family: str
    risk_level: str | None
    status: str


class Builder:
    """Hands out ids and references and turns records into rows."""

    def __init__(self, *, seed: int, now: datetime, policy: Policy, dialect: str,
                 start_ids: dict[str, int], first_female: Sequence[str],
                 first_male: Sequence[str], last_names: Sequence[str]) -> None:
        self.rng = random.Random(seed)
        self.policy = policy
        self.now = to_seconds(now)
        self.now_date = to_datetime(self.now).date()
        self.formats = Formats(dialect, self.now)
        self.ts = self.formats.ts
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
        self.next_id = {name: start_ids.get(name, 1) for name in ID_TABLES}
        self.case_refs: dict[tuple[str, int], int] = {}
        self.cases_made = 0
        self.pending_cases = 0
        self.batch = 0  # bumped each time the rows are taken
        self.recent: list[RecentCase] = []
        self.recent_since = self.now - 16 * DAY
        self.texts = load_texts()
        self.first_female = list(first_female)
        self.first_male = list(first_male)
        self.last_names = list(last_names)
        self._years = {}
        self._suggested: dict[str, tuple[int, str]] = {}
        self._review_days = {level: days * DAY for level, days in policy.risk.review_days.items()}

    # --- ids and references ---------------------------------------------
    def new_id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def year(self, seconds: int) -> int:
        day = seconds // DAY
        year = self._years.get(day)
        if year is None:
            year = self._years[day] = (date(1970, 1, 1) + timedelta(days=day)).year
        return year

    def crime_ref(self, area: str, reported: int) -> str:
        """``NC/26/000123``: area initial + C, two-digit year of report, a
        number counted per prefix and year (Central and Coastal share the
        prefix CC and so share the count, keeping references unique)."""
        prefix = area[0] + "C"
        year = self.year(reported) % 100
        key = (prefix, year)
        number = self.case_refs.get(key, 0) + 1
        self.case_refs[key] = number
        return f"{prefix}/{year:02d}/{number:06d}"

    def take_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        self.batch += 1
        rows = self.rows
        self.rows = {name: [] for name in TABLES}
        self.pending_cases = 0
        return rows

    # --- people ------------------------------------------------------------
    def person(self, *, female: bool, age_low: int = 18, age_high: int = 70) -> Person:
        rng = self.rng
        first = rng.choice(self.first_female if female else self.first_male)
        name = f"{first} {rng.choice(self.last_names)}"
        pid = self.new_id("person")
        age = rng.randint(age_low, age_high)
        born = date.fromordinal(self.now_date.toordinal() - age * 365 - rng.randrange(365))
        self.rows["person"].append((pid, f"P{pid:07d}", name, self.formats.day(born)))
        return Person(pid, first, name, female)

    # --- cases ---------------------------------------------------------------
    def new_case(self, *, area: str, code: str, reported: int, victim: Person,
                 suspect: Person | None, rel: str, online: bool, summary: str,
                 occurred_days: float = 0.0, linked: CaseRec | None = None) -> CaseRec:
        rng = self.rng
        case = CaseRec()
        case.id = self.new_id("crime_case")
        case.crime_ref = self.crime_ref(area, reported)
        case.reported = reported
        case.occ_to = reported - rng.randrange(10 * MINUTE, 6 * HOUR)
        case.occ_from = case.occ_to - int(occurred_days * DAY) - rng.randrange(HOUR)
        case.area = area
        case.code = code
        case.family = FAMILY[code]
        case.stalking = code == "8Q"
        case.victim = victim.id
        case.suspect = suspect.id if suspect else None
        case.rel = rel
        case.domestic = rel in DOMESTIC_RELATIONSHIPS
        case.online = online
        case.summary = summary
        case.linked = linked.id if linked else None
        case.activity = reported
        return case

    def touch(self, case: CaseRec, at: int | None) -> None:
        if at is not None and case.activity < at <= self.now:
            case.activity = at

    def finish(self, case: CaseRec) -> None:
        ts = self.ts
        self.rows["crime_case"].append((
            case.id, case.crime_ref, ts(case.reported), ts(case.occ_from), ts(case.occ_to),
            case.area, case.code, case.victim, case.suspect, case.rel, case.domestic,
            case.online, case.summary, case.status, case.outcome, ts(case.closed), case.team,
            case.officer, case.risk_level, ts(case.risk_at), ts(case.risk_review),
            ts(case.reassess_due), case.spo_status, case.pin, case.linked, 1,
            ts(case.reported), ts(case.activity), case.pin_by,
        ))
        self.cases_made += 1
        self.pending_cases += 1
        if case.reported >= self.recent_since:
            self.recent.append(RecentCase(case.id, case.area, case.reported, case.family,
                                          case.risk_level, case.status))

    def close(self, case: CaseRec, at: int, outcome: str) -> None:
        case.status = "closed"
        case.closed = at
        case.outcome = outcome
        self.touch(case, at)

    def include(self, case: CaseRec, code: str, at: int, by: str,
                reason: str | None = None) -> None:
        self.rows["included_classification"].append(
            (self.new_id("included_classification"), case.id, code, "recording", by,
             self.ts(at), reason))
        if code == "8Q":
            case.stalking = True
        self.touch(case, at)

    # --- risk ------------------------------------------------------------------
    def suggested(self, answers: str) -> tuple[int, str]:
        found = self._suggested.get(answers)
        if found is None:
            parsed = parse_answers(answers, 11)
            found = (yes_count(parsed), suggested_level(parsed, self.policy.risk).value)
            self._suggested[answers] = found
        return found

    def assess(self, case: CaseRec, at: int, answers: str, *, assessor: str,
               level: str | None = None, plan: str | None = None,
               rationale: str | None = None, approver: str | None = None) -> str:
        """Record an S-DASH assessment; the case mirrors its newest one."""
        yes, suggested = self.suggested(answers)
        chosen = level or suggested
        due = at + self._review_days[chosen]
        # four-eyes (app.rules.risk.check_level): lowered from high, or set below
        # the suggestion, waits for a second supervisor; the case keeps the
        # higher level meanwhile
        from_high = chosen != "high" and (suggested == "high" or case.risk_level == "high")
        below = RISK_RANK[RiskLevel(chosen)] < RISK_RANK[RiskLevel(suggested)]
        needs_approval = from_high or below
        approved_at = (at + self.rng.randrange(HOUR, 20 * HOUR) if from_high
                       else at + 4 * HOUR if below else None)
        if approved_at is not None and approved_at > self.now:
            approved_at = None
        if approved_at is not None and approver is None:
            approver = _second_supervisor(assessor)
        ts = self.ts
        table = self.rows["risk_assessment"]
        table.append((
            self.new_id("risk_assessment"), case.id, self.policy.risk.tool,
            self.policy.risk.tool_version, answers, yes, suggested, chosen, rationale, plan,
            assessor, ts(at), ts(due), needs_approval,
            approver if approved_at is not None else None, ts(approved_at),
        ))
        case.risk_rows.append(RiskRow(len(table) - 1, at, chosen, suggested, assessor, approver,
                                      approved_at, self.batch))
        case.assessments += 1
        pending = needs_approval and approved_at is None
        if case.risk_at is not None and at < case.risk_at:
            self._rewalk(case)  # made before a later one: four-eyes in time order
        elif not (pending and case.risk_level):
            held = suggested if pending else chosen
            case.risk_level = held
            case.risk_at = at
            case.risk_review = at + self._review_days[held]
        self.touch(case, at)
        return chosen

    def _rewalk(self, case: CaseRec) -> None:
        """Four-eyes over the crime's assessments in time order (as
        app.rules.risk.walk_assessments and the import see them), when one was
        recorded before a later one: a later level lowered from this one's
        high waits for a second supervisor too; the case carries the result."""
        table = self.rows["risk_assessment"]
        entries = [e for e in case.risk_rows if e.batch == self.batch]
        if len(entries) != len(case.risk_rows):
            return  # some rows already written out: leave them as they were
        carried: tuple[str, int] | None = None
        for entry in sorted(entries, key=lambda e: (e.at, e.index)):
            at, chosen, suggested = entry.at, entry.level, entry.suggested
            approver, approved_at = entry.approver, entry.approved_at
            previous = carried[0] if carried else None
            from_high = chosen != "high" and (suggested == "high" or previous == "high")
            below = RISK_RANK[RiskLevel(chosen)] < RISK_RANK[RiskLevel(suggested)]
            needs = from_high or below
            if needs and approved_at is None and at + 4 * HOUR <= self.now:
                approved_at = at + 4 * HOUR
                approver = approver or _second_supervisor(entry.assessor)
            row = list(table[entry.index])
            row[_APPROVAL_REQUIRED] = needs
            if needs and approved_at is not None:
                row[_APPROVED_BY] = approver
                row[_APPROVED_AT] = self.ts(approved_at)
            table[entry.index] = tuple(row)
            entry.approver, entry.approved_at = approver, approved_at
            if not (needs and approved_at is None):
                carried = (chosen, at)
            elif carried is None:
                carried = (suggested, at)
        if carried is not None:
            case.risk_level, case.risk_at = carried
            case.risk_review = carried[1] + self._review_days[carried[0]]

    # --- allocation --------------------------------------------------------------
    def allocate(self, case: CaseRec, team: str, at: int, *, by: str, reason: str,
                 officer: str | None) -> None:
        self.rows["allocation"].append(
            (self.new_id("allocation"), case.id, team, officer, self.ts(at), by, reason))
        case.team = team
        case.officer = officer
        self.touch(case, at)

    # --- orders and breaches ---------------------------------------------------------
    def order(self, case: CaseRec, kind: str, status: str, *, applied: int | None,
              granted: int | None, served: int | None, expires: int | None,
              conditions: str | None, subject: int | None, protected: int,
              notified: int | None = None, updated: int | None = None) -> OrderRec:
        oid = self.new_id("protective_order")
        anchor = granted or applied or case.reported
        ref = f"{kind}/{self.year(anchor) % 100:02d}/{oid:06d}"
        ts = self.ts
        # SPA 2019 s9: an SPO's subject notifies within the policy's days of service
        notice_due = (served + self.policy.spo.notification_days * DAY
                      if served is not None and kind in NOTIFICATION_KINDS else None)
        self.rows["protective_order"].append((
            oid, ref, case.id, kind, status, ts(applied), ts(granted), ts(served), ts(expires),
            ts(notified), ts(notice_due), conditions, subject, protected,
            ts(updated or granted or applied),
        ))
        self.touch(case, granted or applied)
        return OrderRec(oid, kind, case, status, granted, served, expires)

    def breach(self, order: OrderRec, breach_case: CaseRec, *, occurred: int, reported: int,
               threats: bool, ack_by: str | None, ack_at: int | None, ack_note: str | None,
               arrest_at: int | None, reassess_requested: int | None,
               outcome: str | None, escalated_by: str | None = None,
               escalated_at: int | None = None) -> None:
        bid = self.new_id("breach")
        ts = self.ts
        self.rows["breach"].append((
            bid, f"BR/{self.year(reported) % 100:02d}/{bid:06d}", order.id, breach_case.id,
            order.case.id, ts(occurred), ts(reported), threats, ack_by, ts(ack_at), ack_note,
            None, escalated_by, ts(escalated_at), ts(arrest_at), ts(reassess_requested), outcome,
        ))
        original = order.case
        if original.breach_times is None:
            original.breach_times = []
        original.breach_times.append((reported, breach_case))
        self.touch(original, reported)
        self.touch(breach_case, ack_at)
        self.touch(breach_case, arrest_at)

    def settle_reassessment(self, case: CaseRec) -> None:
        """The orders of ``case`` were breached after the pair's last assessment:
        a re-assessment is due on the crime of the latest breach (the pair's
        live record), counted from that breach. Call it for every crime of a
        story before any of them is finished."""
        if not case.breach_times:
            return
        assessed = [at for at in [case.risk_at, *(crime.risk_at for _t, crime in case.breach_times)]
                    if at is not None]
        last = max(assessed) if assessed else None
        pending = [(t, crime.id, crime) for t, crime in case.breach_times
                   if last is None or t > last]
        if pending:
            reported, _id, crime = max(pending, key=lambda p: (p[0], p[1]))
            crime.reassess_due = reported + self.policy.risk.reassessment_due_hours * HOUR

    def spo(self, case: CaseRec, status: str, at: int, *, by: str,
            rationale: str | None) -> None:
        self.rows["spo_decision"].append(
            (self.new_id("spo_decision"), case.id, status, rationale, by, self.ts(at)))
        case.spo_status = status
        self.touch(case, at)

    # --- victims -------------------------------------------------------------------
    def care(self, case: CaseRec, *, needs: int | None, enhanced: bool,
             explained: int | None, consent: bool | None, last_update: int | None,
             vps: int | None) -> None:
        ts = self.ts
        self.rows["victim_care"].append((
            self.new_id("victim_care"), case.id, ts(needs), enhanced, ts(explained), consent,
            ts(last_update), ts(vps),
        ))
        self.touch(case, needs)
        self.touch(case, last_update)

    def refer(self, case: CaseRec, service: str, at: int, outcome: str, by: str) -> None:
        self.rows["referral"].append(
            (self.new_id("referral"), case.id, service, self.ts(at), outcome, by))
        self.touch(case, at)

    def multi_agency(self, case: CaseRec, kind: str, at: int, by: str,
                     outcome: str | None) -> None:
        self.rows["multi_agency_referral"].append(
            (self.new_id("multi_agency_referral"), case.id, kind, self.ts(at), by, outcome))
        self.touch(case, at)

    def search(self, case: CaseRec, *, power: str, at: int, officer: str,
               authorised_by: str | None, premises: str, items: str, recorded_by: str,
               recorded_at: int) -> None:
        ts = self.ts
        self.rows["search_record"].append((
            self.new_id("search_record"), case.id, power, ts(at), officer, authorised_by,
            premises, items, recorded_by, ts(recorded_at),
        ))
        self.touch(case, recorded_at)

    def key(self, case: CaseRec, *, hidden: bool, note: str) -> None:
        self.rows["training_key"].append((case.id, hidden, note[:200]))

    # --- DMM -----------------------------------------------------------------------
    def meeting(self, *, area: str, day: date, starts: int, covers_from: int, chair: str,
                closed: int | None) -> int:
        mid = self.new_id("dmm_meeting")
        ts = self.ts
        self.rows["dmm_meeting"].append(
            (mid, area, self.formats.day(day), ts(starts), ts(covers_from), chair, ts(closed)))
        return mid

    def item(self, *, meeting: int, case_id: int, reasons: list[str], priority: int,
             decision: str | None, rationale: str | None, by: str | None,
             discussed: int | None) -> int:
        iid = self.new_id("dmm_item")
        ts = self.ts
        self.rows["dmm_item"].append((
            iid, meeting, case_id, self.formats.json(reasons), priority, decision, rationale,
            by if decision else None, ts(discussed) if decision else None, ts(discussed),
            by if discussed is not None else None,
        ))
        return iid

    def action(self, *, item: int, case_id: int, text: str, owner: str, due: int,
               done: int | None, by: str, created: int) -> None:
        ts = self.ts
        self.rows["dmm_action"].append((
            self.new_id("dmm_action"), item, case_id, text, owner, ts(due), ts(done), by,
            ts(created),
        ))


def _second_supervisor(assessor: str) -> str:
    """The other supervisor of the assessor's area (seed.users: each area has a
    sergeant and an inspector), who approves under the four-eyes rule."""
    role, _, area = assessor.partition(".")
    return f"{'supervisor' if role == 'inspector' else 'inspector'}.{area}"
