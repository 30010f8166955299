"""The RMS extract format (DESIGN.md "RMS extract format"): column lists,
the vocabulary a row is checked against, a streaming CSV reader that knows
physical line numbers, and one parser per file.

A parser turns the text of one row into a typed record, or appends
``(field, what is wrong)`` pairs to an error list and returns ``None``. The
validation pass keeps the records it parsed (``app.rms.spool.Spool``) and
the apply pass writes those, so what was checked is exactly what is written.

Dates are read as ISO 8601 or UK day-first (``dd/mm/yyyy HH:MM``), in
Europe/London when no offset is given, and written back as ISO 8601 UTC with
the offset (``2026-03-02T08:00:00+00:00``) so an export re-imports exactly.
"""

from __future__ import annotations

import csv
import functools
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple, TypeVar

from app.dates import DateError, DateOutOfRange, local, parse_date, parse_datetime
from app.policy import Policy
from app.rms.manifest import MARKER, Manifest
from app.rules.risk import suggested_level
from models.enums import (
    CaseStatus,
    MultiAgencyKind,
    OrderKind,
    OrderStatus,
    ReferralOutcome,
    Relationship,
    RiskLevel,
    SpoStatus,
)
from seed.reference import classifications, force_organisation, organisation, questionnaire

CRIMES = "crimes.csv"
RISK = "risk.csv"
ORDERS = "orders.csv"
BREACHES = "breaches.csv"
VICTIM_CARE = "victim_care.csv"
# format 2
SPO_DECISIONS = "spo_decisions.csv"
SEARCHES = "searches.csv"
MULTI_AGENCY = "multi_agency.csv"
# format 2, the action plan's figures (recs 10 and 25)
OFFICER_TRAINING = "officer_training.csv"
PROGRAMMES = "perpetrator_programmes.csv"
PERPETRATOR_REFERRALS = "perpetrator_referrals.csv"

# The order files are validated and applied in: later files refer to earlier ones.
# SPO decisions come before orders: an order then moves the decision only where
# the decisions file does not already record what the order implies.
# Programmes come before the referrals to them.
FILE_ORDER: tuple[str, ...] = (CRIMES, RISK, SPO_DECISIONS, ORDERS, BREACHES, VICTIM_CARE,
                               SEARCHES, MULTI_AGENCY, OFFICER_TRAINING, PROGRAMMES,
                               PERPETRATOR_REFERRALS)
FORMAT1_FILES: tuple[str, ...] = (CRIMES, RISK, ORDERS, BREACHES, VICTIM_CARE)
FORMAT2_FILES: tuple[str, ...] = (SPO_DECISIONS, SEARCHES, MULTI_AGENCY, OFFICER_TRAINING,
                                  PROGRAMMES, PERPETRATOR_REFERRALS)

COLUMNS: dict[str, tuple[str, ...]] = {
    CRIMES: (
        "crime_ref", "reported_at", "area_command", "principal_code", "included_codes",
        "victim_ref", "suspect_ref", "relationship", "domestic_abuse", "online",
        "allocation_team", "officer", "status", "pin_issued", "summary",
    ),
    RISK: ("crime_ref", "assessed_at", "tool", "answers", "level", "rationale", "assessor"),
    ORDERS: (
        "order_ref", "crime_ref", "kind", "status", "applied_at", "granted_at", "served_at",
        "expires_at",
    ),
    BREACHES: ("breach_ref", "order_ref", "crime_ref", "occurred_at", "reported_at"),
    VICTIM_CARE: (
        "crime_ref", "needs_assessed_at", "enhanced_rights", "rights_explained_at", "consent",
        "service", "referred_at", "outcome",
    ),
    SPO_DECISIONS: ("crime_ref", "status", "rationale", "decided_by", "decided_at"),
    SEARCHES: ("crime_ref", "power", "conducted_at", "officer", "authorised_by", "premises",
               "result"),
    MULTI_AGENCY: ("crime_ref", "kind", "referred_at", "referred_by", "outcome"),
    OFFICER_TRAINING: ("officer", "course", "completed_on"),
    PROGRAMMES: ("code", "name", "area_command", "available_from", "available_to"),
    PERPETRATOR_REFERRALS: ("crime_ref", "programme_code", "referred_at", "referred_by",
                            "outcome"),
}

# Format 2: columns a format-1 file may also carry (each optional: a column
# left out, or a cell left empty, leaves what Vigil holds).
EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {
    CRIMES: ("closed_at", "outcome", "reassessment_due_at", "pin_authorised_by", "arrested_at",
             "digital_enquiries"),
    RISK: ("management_plan", "plan_set_at", "plan_review_due", "approved_by", "approved_at"),
    ORDERS: ("notification_due_at", "notified_at"),
    BREACHES: ("threats_or_violence", "acknowledged_by", "acknowledged_at",
               "acknowledgement_note", "escalation_level", "escalated_by", "escalated_at",
               "arrest_at", "reassessment_requested_at", "outcome"),
    VICTIM_CARE: ("consent_at", "last_update_at", "vps_offered_at"),
    SPO_DECISIONS: (),
    SEARCHES: (),
    MULTI_AGENCY: (),
    OFFICER_TRAINING: (),
    PROGRAMMES: (),
    PERPETRATOR_REFERRALS: (),
}


def all_columns(file_name: str, format_version: int = 2) -> tuple[str, ...]:
    """The columns a file of ``format_version`` may hold, in the order the export writes them."""
    if format_version < 2:
        return COLUMNS[file_name]
    return COLUMNS[file_name] + EXTRA_COLUMNS[file_name]


# consent to referral in format 2: Y given, N not yet asked, refused asked and declined
CONSENT_GIVEN = "Y"
CONSENT_NOT_ASKED = "N"
CONSENT_REFUSED = "refused"

# Lengths of the columns the values are stored in (models/tables.py).
REF_LENGTH = 32
NAME_LENGTH = 64
EARLIEST_YEAR = 1900
INCLUDED_SEPARATOR = ";"

_DATE_SHAPE = re.compile(r"^\s*(\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2})")


# --- writing values --------------------------------------------------------
def format_when(value: datetime | None) -> str:
    """ISO 8601 in UTC with the offset: what the export writes."""
    return "" if value is None else value.astimezone(UTC).isoformat()


def format_day(value: date | None) -> str:
    """A calendar date as the export writes it (ISO, ``2026-03-02``)."""
    return "" if value is None else value.isoformat()


def format_yn(value: bool | None) -> str:
    if value is None:
        return ""
    return "Y" if value else "N"


def format_codes(codes: Iterable[str]) -> str:
    return INCLUDED_SEPARATOR.join(sorted(codes))


def format_consent(value: bool | None) -> str:
    """Consent as format 2 writes it (True Y, False refused, None N)."""
    if value is None:
        return CONSENT_NOT_ASKED
    return CONSENT_GIVEN if value else CONSENT_REFUSED


# --- vocabulary ------------------------------------------------------------
@dataclass(frozen=True)
class RiskTool:
    name: str
    version: str
    questions: int


@dataclass(frozen=True)
class Vocabulary:
    """What a row's values are checked against, and "now" for future dates."""

    now: datetime
    policy: Policy
    codes: frozenset[str]
    areas: tuple[str, ...]
    teams: tuple[str, ...]
    services: tuple[str, ...]
    tools: dict[str, RiskTool]
    manifest: Manifest = Manifest()

    @property
    def format_version(self) -> int:
        return self.manifest.format_version

    @classmethod
    def load(cls, policy: Policy, now: datetime) -> Vocabulary:
        org = force_organisation(policy)  # the force's own areas and teams
        sheet = questionnaire(policy.risk.tool, policy.risk.tool_version)
        return cls(
            now=now,
            policy=policy,
            codes=frozenset(classifications()),
            areas=org.area_commands,
            teams=org.teams,
            services=tuple(s.code for s in org.services),
            tools={sheet.tool: RiskTool(sheet.tool, sheet.version, len(sheet.questions))},
        )


_RELATIONSHIPS = tuple(r.value for r in Relationship)
_STATUSES = tuple(s.value for s in CaseStatus)
_KINDS = tuple(k.value for k in OrderKind)
_ORDER_STATUSES = tuple(s.value for s in OrderStatus)
_LEVELS = tuple(level.value for level in RiskLevel)
_OUTCOMES = tuple(o.value for o in ReferralOutcome)
_SPO_STATUSES = tuple(s.value for s in SpoStatus)
_MULTI_AGENCY_KINDS = tuple(k.value for k in MultiAgencyKind)
_CONSENTS = (CONSENT_GIVEN, CONSENT_NOT_ASKED, CONSENT_REFUSED)
_ESCALATION_LEVELS = ("1", "2", "3")
OUTCOME_LENGTH = 64
PREMISES_LENGTH = 200
COURSE_LENGTH = 120
PROGRAMME_NAME_LENGTH = 120


# --- records ---------------------------------------------------------------
class CrimeRecord(NamedTuple):
    line: int
    crime_ref: str
    reported_at: datetime
    area_command: str
    principal_code: str
    included_codes: frozenset[str]
    victim_ref: str
    suspect_ref: str | None
    relationship: str
    domestic_abuse: bool
    online: bool
    allocation_team: str | None
    officer: str | None
    status: str
    pin_issued: bool
    summary: str
    closed_at: datetime | None = None
    outcome: str | None = None
    reassessment_due_at: datetime | None = None  # made due by a breach
    # format 2 (recs 18 and 2017): an empty cell keeps what Vigil holds
    pin_authorised_by: str | None = None
    arrested_at: datetime | None = None
    digital_enquiries: str | None = None


class RiskRecord(NamedTuple):
    line: int
    crime_ref: str
    assessed_at: datetime
    tool: str
    tool_version: str
    answers: str
    yes_count: int
    suggested_level: str
    level: str
    rationale: str | None
    assessor: str
    management_plan: str | None = None
    plan_set_at: datetime | None = None
    plan_review_due: datetime | None = None
    approved_by: str | None = None  # the second supervisor (four-eyes)
    approved_at: datetime | None = None


class OrderRecord(NamedTuple):
    line: int
    order_ref: str
    crime_ref: str
    kind: str
    status: str
    applied_at: datetime | None
    granted_at: datetime | None
    served_at: datetime | None
    expires_at: datetime | None
    notification_due_at: datetime | None = None  # SPA 2019 s9: from service if not given
    notified_at: datetime | None = None


class BreachRecord(NamedTuple):
    line: int
    breach_ref: str
    order_ref: str
    crime_ref: str
    occurred_at: datetime
    reported_at: datetime
    threats_or_violence: bool | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    acknowledgement_note: str | None = None
    manual_level: int | None = None  # the escalation_level column
    escalated_by: str | None = None
    escalated_at: datetime | None = None
    arrest_at: datetime | None = None
    reassessment_requested_at: datetime | None = None
    outcome: str | None = None


class CareRecord(NamedTuple):
    line: int
    crime_ref: str
    needs_assessed_at: datetime | None
    enhanced_rights: bool | None
    rights_explained_at: datetime | None
    consent: bool | None
    service: str | None
    referred_at: datetime | None
    outcome: str | None
    consent_at: datetime | None = None
    last_update_at: datetime | None = None
    vps_offered_at: datetime | None = None

    @property
    def has_care(self) -> bool:
        """Does the row say anything about the victim-care record itself?"""
        return any(value is not None for value in self.care_values)

    @property
    def care_values(self) -> tuple[object, ...]:
        return (self.needs_assessed_at, self.enhanced_rights, self.rights_explained_at,
                self.consent, self.consent_at, self.last_update_at, self.vps_offered_at)


class SpoDecisionRecord(NamedTuple):
    line: int
    crime_ref: str
    status: str
    rationale: str | None
    decided_by: str
    decided_at: datetime


class SearchRow(NamedTuple):
    line: int
    crime_ref: str
    power: str
    conducted_at: datetime
    officer: str
    authorised_by: str | None
    premises: str | None
    result: str | None


class MultiAgencyRecord(NamedTuple):
    line: int
    crime_ref: str
    kind: str
    referred_at: datetime
    referred_by: str | None
    outcome: str | None


class TrainingRow(NamedTuple):
    line: int
    officer: str
    course: str
    completed_on: date


class ProgrammeRecord(NamedTuple):
    line: int
    code: str
    name: str
    area_command: str
    available_from: date
    available_to: date | None


class PerpetratorReferralRecord(NamedTuple):
    line: int
    crime_ref: str
    programme_code: str
    referred_at: datetime
    referred_by: str | None
    outcome: str | None


Record = (CrimeRecord | RiskRecord | OrderRecord | BreachRecord | CareRecord | SpoDecisionRecord
          | SearchRow | MultiAgencyRecord | TrainingRow | ProgrammeRecord
          | PerpetratorReferralRecord)
RECORDS: dict[str, type[Record]] = {}  # filled below, per file


def _time_fields(cls: type) -> tuple[int, ...]:
    hints = cls.__annotations__
    return tuple(i for i, name in enumerate(cls._fields) if "datetime" in str(hints[name]))


def _day_fields(cls: type) -> tuple[int, ...]:
    hints = cls.__annotations__
    return tuple(i for i, name in enumerate(cls._fields)
                 if re.search(r"\bdate\b", str(hints[name])) and "datetime" not in str(hints[name]))


def record_to_plain(record: Record, times: tuple[int, ...]) -> tuple[object, ...]:
    """The record as builtin values only (timestamps as ISO text), for ``marshal``."""
    values = list(record)
    for i in times:
        if values[i] is not None:
            values[i] = values[i].isoformat()
    for i in DAY_FIELDS.get(type(record).__name__, ()):
        if values[i] is not None:
            values[i] = values[i].isoformat()
    return tuple(values)


def record_from_plain(cls: type[Record], values: tuple[object, ...],
                      times: tuple[int, ...]) -> Record:
    items = list(values)
    for i in times:
        if items[i] is not None:
            items[i] = datetime.fromisoformat(items[i])  # type: ignore[arg-type]
    for i in DAY_FIELDS.get(cls.__name__, ()):
        if items[i] is not None:
            items[i] = date.fromisoformat(items[i])  # type: ignore[arg-type]
    return cls._make(items)  # type: ignore[union-attr]
Errors = list[tuple[str, str]]


# --- field readers ---------------------------------------------------------
_R = TypeVar("_R")


class _Fields:
    """Reads the fields of one row, appending ``(field, problem)`` to ``errors``."""

    __slots__ = ("before", "errors", "values", "vocab")

    def __init__(self, values: dict[str, str], vocab: Vocabulary, errors: Errors) -> None:
        self.values = values
        self.vocab = vocab
        self.errors = errors
        self.before = len(errors)

    @property
    def found_problems(self) -> bool:
        """Whether reading this row has found a problem so far."""
        return len(self.errors) > self.before

    def checked(self, record: _R) -> _R | None:
        """``record``, or None when reading its row found a problem."""
        return None if self.found_problems else record

    def fail(self, name: str, problem: str) -> None:
        self.errors.append((name, problem))

    def text(self, name: str, *, required: bool = False, length: int | None = None,
             strip: bool = True) -> str | None:
        raw = self.values.get(name) or ""
        if raw[:1] == "'":
            raw = self.vocab.manifest.undo_protection(raw)
        value = raw.strip() if strip else raw
        if not value or (not strip and not value.strip()):
            if required:
                self.errors.append((name, "required, but empty"))
            return None
        if "\x00" in value:
            self.errors.append((name, "contains a NUL character"))
            return None
        if length is not None and len(value) > length:
            self.errors.append((name, f"{_quote(value)} is longer than {length} characters"))
            return None
        return value

    def choice(self, name: str, allowed: tuple[str, ...], what: str, *,
               required: bool = False) -> str | None:
        value = (self.values.get(name) or "").strip()
        if value in _members(allowed):  # the usual case, checked first
            return value
        value = self.text(name, required=required)
        if value is None:
            return None
        if value not in allowed:
            self.fail(name, f"unknown {what} {_quote(value)} (expected {', '.join(allowed)})")
            return None
        return value

    def yn(self, name: str) -> bool | None:
        value = (self.values.get(name) or "").strip()
        if value == "N":
            return False
        if value == "Y":
            return True
        value = self.text(name)
        if value is None:
            return None
        if value == "Y":
            return True
        if value == "N":
            return False
        self.fail(name, f"{_quote(value)} is not Y or N")
        return None

    def when(self, name: str, *, required: bool = False, future: bool = False) -> datetime | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            moment = parse_datetime(value)
        except DateOutOfRange as exc:
            side = f"before {EARLIEST_YEAR}" if exc.year < EARLIEST_YEAR else "too far ahead"
            self.fail(name, f"{_quote(value)} is {side}")
            return None
        except (DateError, ValueError, OverflowError):
            if _DATE_SHAPE.match(value):
                self.fail(name, f"{_quote(value)} is not a real date")
            else:
                self.fail(name, f"{_quote(value)} is not a date (use ISO 8601 or dd/mm/yyyy HH:MM)")
            return None
        if moment.year < EARLIEST_YEAR:
            self.fail(name, f"{_quote(value)} is before {EARLIEST_YEAR}")
            return None
        if not future and moment > self.vocab.now:
            self.fail(name, f"{_quote(value)} is in the future")
            return None
        return moment


    def day(self, name: str, *, required: bool = False, future: bool = False) -> date | None:
        """A calendar date (ISO or dd/mm/yyyy); a date-time is read as its
        Europe/London day."""
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            found = parse_date(value) if len(value) <= 10 else local(parse_datetime(value)).date()
        except DateOutOfRange as exc:
            side = f"before {EARLIEST_YEAR}" if exc.year < EARLIEST_YEAR else "too far ahead"
            self.fail(name, f"{_quote(value)} is {side}")
            return None
        except (DateError, ValueError, OverflowError, TypeError):
            if _DATE_SHAPE.match(value):
                self.fail(name, f"{_quote(value)} is not a real date")
            else:
                self.fail(name, f"{_quote(value)} is not a date (use ISO 8601 or dd/mm/yyyy)")
            return None
        if not future and found > local(self.vocab.now).date():
            self.fail(name, f"{_quote(value)} is in the future")
            return None
        return found


@functools.cache
def _members(allowed: tuple[str, ...]) -> frozenset[str]:
    return frozenset(allowed)


def _quote(value: str, limit: int = 60) -> str:
    shown = value if len(value) <= limit else value[: limit - 1] + "…"
    return "'" + shown.replace("'", "\\'") + "'"


# --- one parser per file ---------------------------------------------------
def parse_crime(values: dict[str, str], line: int, vocab: Vocabulary,
                errors: Errors) -> CrimeRecord | None:
    f = _Fields(values, vocab, errors)
    crime_ref = f.text("crime_ref", required=True, length=REF_LENGTH)
    reported_at = f.when("reported_at", required=True)
    area = f.choice("area_command", vocab.areas, "area command", required=True)
    principal = f.text("principal_code", required=True)
    if principal is not None and principal not in vocab.codes:
        f.fail("principal_code", f"unknown classification code {_quote(principal)}")
    included: set[str] = set()
    raw_included = f.text("included_codes")
    if raw_included:
        for part in raw_included.split(INCLUDED_SEPARATOR):
            code = part.strip()
            if not code:
                continue
            if code not in vocab.codes:
                f.fail("included_codes", f"unknown classification code {_quote(code)}")
            elif code in included:
                f.fail("included_codes", f"{_quote(code)} is listed twice")
            included.add(code)
    victim = f.text("victim_ref", required=True, length=REF_LENGTH)
    suspect = f.text("suspect_ref", length=REF_LENGTH)
    relationship = f.choice("relationship", _RELATIONSHIPS, "relationship")
    domestic = f.yn("domestic_abuse")
    online = f.yn("online")
    team = f.choice("allocation_team", vocab.teams, "team")
    officer = f.text("officer", length=NAME_LENGTH)
    status = f.choice("status", _STATUSES, "status", required=True)
    pin = f.yn("pin_issued")
    summary = f.text("summary", strip=False)
    closed_at = f.when("closed_at")
    outcome = f.text("outcome", length=OUTCOME_LENGTH)
    reassessment_due_at = f.when("reassessment_due_at", future=True)
    pin_authorised_by = f.text("pin_authorised_by", length=NAME_LENGTH)
    arrested_at = f.when("arrested_at")
    digital_enquiries = f.text("digital_enquiries", strip=False)
    if pin_authorised_by is not None and pin is False:
        f.fail("pin_authorised_by", "given, but pin_issued is N (no PIN to authorise)")
    if closed_at is not None and status == CaseStatus.OPEN:
        f.fail("closed_at", "given, but status is open")
    elif closed_at is not None and reported_at is not None and closed_at < reported_at:
        f.fail("closed_at", "is before reported_at")
    if f.found_problems:
        return None
    return CrimeRecord(
        line=line,
        crime_ref=crime_ref,  # type: ignore[arg-type]
        reported_at=reported_at,  # type: ignore[arg-type]
        area_command=area,  # type: ignore[arg-type]
        principal_code=principal,  # type: ignore[arg-type]
        included_codes=frozenset(included),
        victim_ref=victim,  # type: ignore[arg-type]
        suspect_ref=suspect,
        relationship=relationship or Relationship.UNKNOWN.value,
        domestic_abuse=bool(domestic),
        online=bool(online),
        allocation_team=team,
        officer=officer,
        status=status,  # type: ignore[arg-type]
        pin_issued=bool(pin),
        summary=summary or "",
        closed_at=closed_at,
        outcome=outcome,
        reassessment_due_at=reassessment_due_at,
        pin_authorised_by=pin_authorised_by,
        arrested_at=arrested_at,
        digital_enquiries=digital_enquiries,
    )


def parse_risk(values: dict[str, str], line: int, vocab: Vocabulary,
               errors: Errors) -> RiskRecord | None:
    f = _Fields(values, vocab, errors)
    crime_ref = f.text("crime_ref", required=True, length=REF_LENGTH)
    assessed_at = f.when("assessed_at", required=True)
    tool_name = f.choice("tool", tuple(vocab.tools), "risk tool", required=True)
    tool = vocab.tools.get(tool_name) if tool_name else None
    raw_answers = f.text("answers", required=True)
    answers = raw_answers.upper() if raw_answers else None
    flags: tuple[bool, ...] = ()
    if answers is not None and tool is not None:
        if len(answers) != tool.questions:
            f.fail("answers", f"{_quote(raw_answers or '')} has {len(answers)} answers; "
                              f"{tool.name} {tool.version} has {tool.questions} questions")
        elif set(answers) - {"Y", "N"}:
            f.fail("answers", f"{_quote(raw_answers or '')} may hold only Y and N")
        else:
            flags = tuple(ch == "Y" for ch in answers)
    level = f.choice("level", _LEVELS, "risk level", required=True)
    rationale = f.text("rationale", strip=False)
    assessor = f.text("assessor", required=True, length=NAME_LENGTH)
    plan = f.text("management_plan", strip=False)
    plan_set_at = f.when("plan_set_at")
    plan_review_due = f.when("plan_review_due", future=True)
    approved_by = f.text("approved_by", length=NAME_LENGTH)
    approved_at = f.when("approved_at")
    if f.found_problems or tool is None:
        return None
    if plan is None and (plan_set_at or plan_review_due):
        f.fail("management_plan", "required when plan_set_at or plan_review_due is given")
    if plan_set_at is not None and plan_review_due is not None and plan_review_due < plan_set_at:
        f.fail("plan_review_due", "is before plan_set_at")
    if (approved_by is None) != (approved_at is None):
        f.fail("approved_by" if approved_by is None else "approved_at",
               "required when " + ("approved_at" if approved_by is None else "approved_by")
               + " is given")
    elif approved_by is not None and approved_by == assessor:
        f.fail("approved_by", f"{_quote(approved_by)} is the assessor: a second supervisor "
                              "approves (four-eyes)")
    elif approved_at is not None and approved_at < assessed_at:  # type: ignore[operator]
        f.fail("approved_at", "is before assessed_at")
    if f.found_problems:
        return None
    return RiskRecord(
        line=line,
        crime_ref=crime_ref,  # type: ignore[arg-type]
        assessed_at=assessed_at,  # type: ignore[arg-type]
        tool=tool.name,
        tool_version=tool.version,
        answers=answers,  # type: ignore[arg-type]
        yes_count=sum(flags),
        suggested_level=suggested_level(flags, vocab.policy.risk).value,
        level=level,  # type: ignore[arg-type]
        rationale=rationale,
        assessor=assessor,  # type: ignore[arg-type]
        management_plan=plan,
        plan_set_at=plan_set_at,
        plan_review_due=plan_review_due,
        approved_by=approved_by,
        approved_at=approved_at,
    )


def parse_order(values: dict[str, str], line: int, vocab: Vocabulary,
                errors: Errors) -> OrderRecord | None:
    f = _Fields(values, vocab, errors)
    record = OrderRecord(
        line=line,
        order_ref=f.text("order_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        crime_ref=f.text("crime_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        kind=f.choice("kind", _KINDS, "order kind", required=True),  # type: ignore[arg-type]
        status=f.choice("status", _ORDER_STATUSES, "order status", required=True),  # type: ignore[arg-type]
        applied_at=f.when("applied_at"),
        granted_at=f.when("granted_at"),
        served_at=f.when("served_at"),
        expires_at=f.when("expires_at", future=True),
        notification_due_at=f.when("notification_due_at", future=True),
        notified_at=f.when("notified_at"),
    )
    if f.found_problems:
        return None
    if record.notified_at is not None:
        if record.served_at is None:
            f.fail("notified_at", "given, but the order has no served_at")
        elif record.notified_at < record.served_at:
            f.fail("notified_at", "is before served_at")
    if (record.notification_due_at is not None and record.served_at is not None
            and record.notification_due_at < record.served_at):
        f.fail("notification_due_at", "is before served_at")
    return f.checked(record)


def parse_breach(values: dict[str, str], line: int, vocab: Vocabulary,
                 errors: Errors) -> BreachRecord | None:
    f = _Fields(values, vocab, errors)
    record = BreachRecord(
        line=line,
        breach_ref=f.text("breach_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        order_ref=f.text("order_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        crime_ref=f.text("crime_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        occurred_at=f.when("occurred_at", required=True),  # type: ignore[arg-type]
        reported_at=f.when("reported_at", required=True),  # type: ignore[arg-type]
        threats_or_violence=f.yn("threats_or_violence"),
        acknowledged_by=f.text("acknowledged_by", length=NAME_LENGTH),
        acknowledged_at=f.when("acknowledged_at"),
        acknowledgement_note=f.text("acknowledgement_note", strip=False),
        manual_level=_level_number(f.choice("escalation_level", _ESCALATION_LEVELS,
                                            "escalation level")),
        escalated_by=f.text("escalated_by", length=NAME_LENGTH),
        escalated_at=f.when("escalated_at"),
        arrest_at=f.when("arrest_at"),
        reassessment_requested_at=f.when("reassessment_requested_at"),
        outcome=f.text("outcome", length=OUTCOME_LENGTH),
    )
    if f.found_problems:
        return None
    for who, when in (("acknowledged_by", "acknowledged_at"), ("escalated_by", "escalated_at")):
        by, at = getattr(record, who), getattr(record, when)
        if (by is None) != (at is None):
            f.fail(who if by is None else when,
                   f"required when {when if by is None else who} is given")
    if record.acknowledgement_note is not None and record.acknowledged_at is None:
        f.fail("acknowledged_at", "required when acknowledgement_note is given")
    for name in ("acknowledged_at", "escalated_at", "reassessment_requested_at"):
        moment = getattr(record, name)
        if moment is not None and record.reported_at is not None and moment < record.reported_at:
            f.fail(name, "is before reported_at")
    return f.checked(record)


def _level_number(value: str | None) -> int | None:
    return None if value is None else int(value)


def parse_care(values: dict[str, str], line: int, vocab: Vocabulary,
               errors: Errors) -> CareRecord | None:
    f = _Fields(values, vocab, errors)
    record = CareRecord(
        line=line,
        crime_ref=f.text("crime_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        needs_assessed_at=f.when("needs_assessed_at"),
        enhanced_rights=f.yn("enhanced_rights"),
        rights_explained_at=f.when("rights_explained_at"),
        consent=f.yn("consent") if vocab.format_version < 2 else _consent(f),
        service=f.choice("service", vocab.services, "support service"),
        referred_at=f.when("referred_at"),
        outcome=f.choice("outcome", _OUTCOMES, "referral outcome"),
        consent_at=f.when("consent_at"),
        last_update_at=f.when("last_update_at"),
        vps_offered_at=f.when("vps_offered_at"),
    )
    if f.found_problems:
        return None
    if record.consent_at is not None and record.consent is None:
        f.fail("consent_at", "given, but consent is N (not yet asked)")
        return None
    if record.service is None and (record.referred_at or record.outcome):
        f.fail("service", "required when referred_at or outcome is given")
        return None
    if record.service is not None and record.referred_at is None:
        f.fail("referred_at", "required when a service is given")
        return None
    return record


def _consent(f: _Fields) -> bool | None:
    """Format 2 consent: Y given, N not yet asked, refused asked and declined."""
    value = f.text("consent")
    if value is None:
        return None
    if value.lower() == CONSENT_REFUSED:
        return False
    if value.upper() == CONSENT_GIVEN:
        return True
    if value.upper() == CONSENT_NOT_ASKED:
        return None
    f.fail("consent", f"{_quote(value)} is not Y (given), N (not yet asked) or refused")
    return None


def parse_spo_decision(values: dict[str, str], line: int, vocab: Vocabulary,
                       errors: Errors) -> SpoDecisionRecord | None:
    f = _Fields(values, vocab, errors)
    record = SpoDecisionRecord(
        line=line,
        crime_ref=f.text("crime_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        status=f.choice("status", _SPO_STATUSES, "SPO decision", required=True),  # type: ignore[arg-type]
        rationale=f.text("rationale", strip=False),
        decided_by=f.text("decided_by", required=True, length=NAME_LENGTH),  # type: ignore[arg-type]
        decided_at=f.when("decided_at", required=True),  # type: ignore[arg-type]
    )
    if f.found_problems:
        return None
    if (record.status == SpoStatus.CONSIDERED_NOT_APPROPRIATE
            and not (record.rationale or "").strip()):
        f.fail("rationale", "required when the SPO is considered not appropriate")
        return None
    return record


def parse_search(values: dict[str, str], line: int, vocab: Vocabulary,
                 errors: Errors) -> SearchRow | None:
    f = _Fields(values, vocab, errors)
    record = SearchRow(
        line=line,
        crime_ref=f.text("crime_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        power=f.text("power", required=True, length=NAME_LENGTH),  # type: ignore[arg-type]
        conducted_at=f.when("conducted_at", required=True),  # type: ignore[arg-type]
        officer=f.text("officer", required=True, length=NAME_LENGTH),  # type: ignore[arg-type]
        authorised_by=f.text("authorised_by", length=NAME_LENGTH),
        premises=f.text("premises", length=PREMISES_LENGTH),
        result=f.text("result", strip=False),
    )
    return f.checked(record)


def parse_multi_agency(values: dict[str, str], line: int, vocab: Vocabulary,
                       errors: Errors) -> MultiAgencyRecord | None:
    f = _Fields(values, vocab, errors)
    record = MultiAgencyRecord(
        line=line,
        crime_ref=f.text("crime_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        kind=f.choice("kind", _MULTI_AGENCY_KINDS, "multi-agency referral kind",  # type: ignore[arg-type]
                      required=True),
        referred_at=f.when("referred_at", required=True),  # type: ignore[arg-type]
        referred_by=f.text("referred_by", length=NAME_LENGTH),
        outcome=f.text("outcome", length=OUTCOME_LENGTH),
    )
    return f.checked(record)


def parse_training(values: dict[str, str], line: int, vocab: Vocabulary,
                   errors: Errors) -> TrainingRow | None:
    f = _Fields(values, vocab, errors)
    record = TrainingRow(
        line=line,
        officer=f.text("officer", required=True, length=NAME_LENGTH),  # type: ignore[arg-type]
        course=f.text("course", required=True, length=COURSE_LENGTH),  # type: ignore[arg-type]
        completed_on=f.day("completed_on", required=True),  # type: ignore[arg-type]
    )
    return f.checked(record)


def parse_programme(values: dict[str, str], line: int, vocab: Vocabulary,
                    errors: Errors) -> ProgrammeRecord | None:
    f = _Fields(values, vocab, errors)
    record = ProgrammeRecord(
        line=line,
        code=f.text("code", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        name=f.text("name", required=True, length=PROGRAMME_NAME_LENGTH),  # type: ignore[arg-type]
        area_command=f.choice("area_command", vocab.areas, "area command",  # type: ignore[arg-type]
                              required=True),
        available_from=f.day("available_from", required=True, future=True),  # type: ignore[arg-type]
        available_to=f.day("available_to", future=True),
    )
    ends = record.available_to
    if not f.found_problems and ends is not None and ends < record.available_from:
        f.fail("available_to", "is before available_from")
    return f.checked(record)


def parse_perpetrator_referral(values: dict[str, str], line: int, vocab: Vocabulary,
                               errors: Errors) -> PerpetratorReferralRecord | None:
    f = _Fields(values, vocab, errors)
    record = PerpetratorReferralRecord(
        line=line,
        crime_ref=f.text("crime_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        programme_code=f.text("programme_code", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        referred_at=f.when("referred_at", required=True),  # type: ignore[arg-type]
        referred_by=f.text("referred_by", length=NAME_LENGTH),
        outcome=f.text("outcome", length=OUTCOME_LENGTH),
    )
    return f.checked(record)


RECORDS.update({CRIMES: CrimeRecord, RISK: RiskRecord, ORDERS: OrderRecord,
                BREACHES: BreachRecord, VICTIM_CARE: CareRecord,
                SPO_DECISIONS: SpoDecisionRecord, SEARCHES: SearchRow,
                MULTI_AGENCY: MultiAgencyRecord, OFFICER_TRAINING: TrainingRow,
                PROGRAMMES: ProgrammeRecord, PERPETRATOR_REFERRALS: PerpetratorReferralRecord})
TIME_FIELDS: dict[str, tuple[int, ...]] = {name: _time_fields(cls) for name, cls in RECORDS.items()}
# calendar-date fields, by record class name (marshalled as ISO text)
DAY_FIELDS: dict[str, tuple[int, ...]] = {
    cls.__name__: found for cls in RECORDS.values() if (found := _day_fields(cls))}

PARSERS: dict[str, Callable[[dict[str, str], int, Vocabulary, Errors], Record | None]] = {
    CRIMES: parse_crime,
    RISK: parse_risk,
    ORDERS: parse_order,
    BREACHES: parse_breach,
    VICTIM_CARE: parse_care,
    SPO_DECISIONS: parse_spo_decision,
    SEARCHES: parse_search,
    MULTI_AGENCY: parse_multi_agency,
    OFFICER_TRAINING: parse_training,
    PROGRAMMES: parse_programme,
    PERPETRATOR_REFERRALS: parse_perpetrator_referral,
}


# --- reading a CSV file ----------------------------------------------------
ProblemSink = Callable[[int, str, str], None]  # (line, field, problem)


def _decoded_lines(path: Path, problem: ProblemSink) -> Iterator[str]:
    """The file's lines as text, with exact line numbers for bytes that are
    not UTF-8 (a UTF-8 byte-order mark is allowed)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem(number, "text", f"not UTF-8 (byte 0x{raw[exc.start]:02x} at "
                                        f"position {exc.start + 1}); save the extract as UTF-8")
                yield raw.decode("utf-8", errors="replace")


def read_rows(path: Path, file_name: str, problem: ProblemSink,
              format_version: int = 1) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, values)`` for each data row of ``path``; structural problems
    (header, field count, CSV syntax, encoding) go to ``problem`` and their
    rows are not yielded. ``line`` is the physical line the row starts on
    (the header is line 1). Format 2 files may also hold the
    :data:`EXTRA_COLUMNS` of their file."""
    expected = COLUMNS[file_name]
    allowed = all_columns(file_name, format_version)
    reader = csv.reader(_decoded_lines(path, problem), strict=False)
    try:
        header = next(reader)
        if header and header[0].startswith(MARKER):
            header = next(reader)  # a single exported file's marker line (app.rms.manifest)
    except StopIteration:
        problem(1, "header", "the file is empty")
        return
    except csv.Error as exc:
        problem(1, "header", f"cannot be read as CSV ({exc})")
        return
    names = [name.strip().lower() for name in header]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problem(1, "header", f"column {name} appears twice")
        seen.add(name)
    missing = [name for name in expected if name not in seen]
    unknown = [name for name in names if name not in allowed]
    if missing:
        problem(1, "header", f"missing column(s) {', '.join(missing)}")
    if unknown:
        later = [n for n in unknown if n in all_columns(file_name, 2)]
        hint = (" (format 2 columns: give the folder a manifest.json with format_version 2)"
                if later and format_version < 2 else "")
        problem(1, "header", f"unknown column(s) {', '.join(_quote(n) for n in unknown)}{hint}")
    if missing or len(seen) != len(names):
        return
    width = len(names)
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problem(start, "row", f"cannot be read as CSV ({exc})")
            continue
        if not values:
            continue  # a blank line
        if len(values) != width:
            problem(start, "row", f"has {len(values)} fields, the header has {width}")
            continue
        yield start, dict(zip(names, values, strict=True))


# --- what each column holds (vigil import --help, README) --------------------------
FILE_HELP: dict[str, str] = {
    CRIMES: "one row per crime report, by crime_ref",
    RISK: "one row per risk assessment, by (crime_ref, assessed_at, tool)",
    SPO_DECISIONS: "format 2: the SPO decision history, by (crime_ref, decided_at, status); "
                   "when present it is the record of decisions (orders no longer move them)",
    ORDERS: "one row per protective order, by order_ref",
    BREACHES: "one row per breach of an order, by breach_ref",
    VICTIM_CARE: "Victims' Code care, one row per crime, or per (crime_ref, service) referral",
    SEARCHES: "format 2: searches under the stalking powers, by (crime_ref, power, conducted_at)",
    MULTI_AGENCY: "format 2: multi-agency referrals, by (crime_ref, kind, referred_at)",
    OFFICER_TRAINING: "format 2: the force's learning records, one row per course an officer "
                      "completed, by (officer, course, completed_on) (rec 10); not filtered "
                      "by case",
    PROGRAMMES: "format 2: perpetrator programmes available per area command, by code "
                "(rec 25 and the 2017 report); not filtered by case",
    PERPETRATOR_REFERRALS: "format 2: referrals of a case's suspect to a perpetrator "
                           "programme, by (crime_ref, programme_code, referred_at)",
}

COLUMN_HELP: dict[str, dict[str, str]] = {
    CRIMES: {
        "crime_ref": "the crime reference (required, up to 32 characters)",
        "reported_at": "when the crime was reported (required)",
        "area_command": "area command (required): " + ", ".join(organisation().area_commands),
        "principal_code": "the counted Home Office classification (required), e.g. 8Q",
        "included_codes": "other classifications on the report, ;-separated (e.g. 8U;8R)",
        "victim_ref": "the victim's person reference (required)",
        "suspect_ref": "the suspect's person reference",
        "relationship": "ex_partner, partner, family, acquaintance, stranger or unknown",
        "domestic_abuse": "Y or N",
        "online": "Y or N",
        "allocation_team": "team holding the case: " + ", ".join(organisation().teams),
        "officer": "officer in the case",
        "status": "open or closed (required)",
        "pin_issued": "Y when a Police Information Notice was issued",
        "summary": "the MO / summary text",
        "closed_at": "format 2: when the case closed (only when status is closed)",
        "outcome": "format 2: the case outcome, e.g. victim does not support action",
        "reassessment_due_at": "format 2: when a risk re-assessment falls due (a breach or new "
                               "offence made it due)",
        "pin_authorised_by": "format 2: the superintendent who authorised the PIN (only with "
                             "pin_issued Y; a PIN without one is an exception)",
        "arrested_at": "format 2: when the suspect was arrested for this crime (rec 18)",
        "digital_enquiries": "format 2: the digital lines of enquiry recorded (devices, "
                             "accounts, communications data), free text (rec 18)",
    },
    RISK: {
        "crime_ref": "the crime assessed (required)",
        "assessed_at": "when the assessment was made (required)",
        "tool": "S-DASH (required)",
        "answers": "one Y/N per question, e.g. YYNNNNNNNNN (required)",
        "level": "standard, medium or high: the level set (required)",
        "rationale": "why the level was set (needed below the suggestion)",
        "assessor": "who assessed (required)",
        "management_plan": "format 2: the risk management plan (clears 'high risk without a "
                           "current plan')",
        "plan_set_at": "format 2: when the plan was set (needs management_plan)",
        "plan_review_due": "format 2: when the plan is to be reviewed (needs management_plan; once passed, a "
                           "review overdue until a later plan or assessment)",
        "approved_by": "format 2: the second supervisor who approved a level below the "
                       "suggestion or lowered from high (never the assessor)",
        "approved_at": "format 2: when it was approved (with approved_by)",
    },
    SPO_DECISIONS: {
        "crime_ref": "the stalking case (required)",
        "status": "not_considered, considered_not_appropriate, application_in_preparation, "
                  "applied, interim_granted, granted, refused, varied, renewed, discharged or "
                  "expired (required)",
        "rationale": "why (required for considered_not_appropriate)",
        "decided_by": "who decided (required)",
        "decided_at": "when (required)",
    },
    ORDERS: {
        "order_ref": "the order reference (required)",
        "crime_ref": "the case the order protects (required)",
        "kind": "SPO, ISPO, RO, NMO or DVPO (required)",
        "status": "application_in_preparation, applied, interim_granted, granted, refused, "
                  "varied, renewed, discharged or expired (required)",
        "applied_at": "when applied for",
        "granted_at": "when granted",
        "served_at": "when served on the subject",
        "expires_at": "when it expires (may be in the future)",
        "notification_due_at": "format 2: SPA 2019 s9 notification due date as the RMS "
                               "records it (left empty for a served SPO or interim SPO: "
                               "served_at + the policy's notification_days); not notified "
                               "by then is a DMM item",
        "notified_at": "format 2: when the subject notified name and address (needs served_at)",
    },
    BREACHES: {
        "breach_ref": "the breach reference (required)",
        "order_ref": "the order breached (required)",
        "crime_ref": "the breach's own crime (required)",
        "occurred_at": "when the breach happened (required)",
        "reported_at": "when it was reported (required)",
        "threats_or_violence": "format 2: Y when the breach involved threats or violence",
        "acknowledged_by": "format 2: the supervisor who acknowledged it (with acknowledged_at)",
        "acknowledged_at": "format 2: when it was acknowledged (clears it from the board's "
                           "acknowledgement clock)",
        "acknowledgement_note": "format 2: what was done",
        "escalation_level": "format 2: 1, 2 or 3 when a supervisor set the level by hand",
        "escalated_by": "format 2: who escalated it (with escalated_at)",
        "escalated_at": "format 2: when",
        "arrest_at": "format 2: when the suspect was arrested for it",
        "reassessment_requested_at": "format 2: when a risk re-assessment was requested",
        "outcome": "format 2: the breach's outcome, e.g. charged",
    },
    VICTIM_CARE: {
        "crime_ref": "the case (required)",
        "needs_assessed_at": "when the victim's needs were assessed (right 4)",
        "enhanced_rights": "Y or N: enhanced rights set the update clock (right 6)",
        "rights_explained_at": "when the victim's rights were explained",
        "consent": "consent to referral: format 1 Y or N (N: refused); format 2 Y given, "
                   "N not yet asked, refused asked and declined (nothing outstanding)",
        "service": "ISAC, ISHA, PALADIN, HELPLINE (signposting, not a referral) or LOCAL",
        "referred_at": "when referred (required with service)",
        "outcome": "pending, accepted, declined or no_contact",
        "consent_at": "format 2: the date of the consent decision",
        "last_update_at": "format 2: when the victim was last updated on the investigation",
        "vps_offered_at": "format 2: when a Victim Personal Statement was offered (right 7)",
    },
    SEARCHES: {
        "crime_ref": "the case (required)",
        "power": "the power used, e.g. PHA 1997 s2B warrant (stalking) (required)",
        "conducted_at": "when (required)",
        "officer": "who searched (required)",
        "authorised_by": "who authorised it",
        "premises": "where",
        "result": "what was found or seized",
    },
    MULTI_AGENCY: {
        "crime_ref": "the case (required)",
        "kind": "MARAC, MAPPA or MASIP (required)",
        "referred_at": "when referred (required)",
        "referred_by": "who referred",
        "outcome": "the outcome, e.g. listed, adopted",
    },
    OFFICER_TRAINING: {
        "officer": "the officer, as crimes.csv names them in officer (required)",
        "course": "the course completed, e.g. a stalking course the policy counts (required)",
        "completed_on": "the day it was completed, e.g. 2025-11-03 (required)",
    },
    PROGRAMMES: {
        "code": "the programme's reference (required, up to 32 characters)",
        "name": "its name (required)",
        "area_command": "the area command it serves (required): "
                        + ", ".join(organisation().area_commands),
        "available_from": "the first day it takes referrals (required; may be in the future)",
        "available_to": "the last day it takes referrals (empty: still available)",
    },
    PERPETRATOR_REFERRALS: {
        "crime_ref": "the case whose suspect was referred (required)",
        "programme_code": "the programme, by code from perpetrator_programmes.csv or Vigil "
                          "(required)",
        "referred_at": "when referred (required)",
        "referred_by": "who referred",
        "outcome": "the outcome, e.g. accepted, completed, declined",
    },
}


def columns_help() -> str:
    """Every file and column of the extract, in words (``vigil import --help``)."""
    intro = ("Extract files (CSV, UTF-8, header row; a folder may hold any of them). Format 2 "
             "adds the files and columns marked and a manifest.json with format_version (2), "
             "source_kind (live, training, evaluation or synthetic: training and synthetic "
             "rows go only into a training database) and formula_protection (none, or "
             "apostrophe: a leading ' added before = + - @ is removed on import). Dates: ISO "
             "8601 or dd/mm/yyyy HH:MM (Europe/London without an offset). An empty cell of a "
             "format 2 column leaves what Vigil holds.")
    lines = [*textwrap.wrap(intro, 78), ""]
    for file_name in FILE_ORDER:
        lines += textwrap.wrap(f"{file_name}: {FILE_HELP[file_name]}", 78)
        for column in all_columns(file_name, 2):
            lines += textwrap.wrap(f"{column}: {COLUMN_HELP[file_name][column]}", 78,
                                   initial_indent="  ", subsequent_indent="      ")
    return "\n".join(lines)
