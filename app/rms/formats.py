"""The RMS extract format (DESIGN.md "RMS extract format"): column lists,
the vocabulary a row is checked against, a streaming CSV reader that knows
physical line numbers, and one parser per file.

A parser turns the text of one row into a typed record, or appends
``(field, what is wrong)`` pairs to an error list and returns ``None``. The
validation pass keeps the records it parsed (``app.rms.validate.Spool``) and
the apply pass writes those, so what was checked is exactly what is written.

Dates are read as ISO 8601 or UK day-first (``dd/mm/yyyy HH:MM``), in
Europe/London when no offset is given, and written back as ISO 8601 UTC with
the offset (``2026-03-02T08:00:00+00:00``) so an export re-imports exactly.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from app.dates import DateError, DateOutOfRange, parse_datetime
from app.policy import Policy
from app.rules.risk import suggested_level
from models.enums import (
    CaseStatus,
    OrderKind,
    OrderStatus,
    ReferralOutcome,
    Relationship,
    RiskLevel,
)
from seed.reference import classifications, organisation, questionnaire

CRIMES = "crimes.csv"
RISK = "risk.csv"
ORDERS = "orders.csv"
BREACHES = "breaches.csv"
VICTIM_CARE = "victim_care.csv"

# The order files are validated and applied in: later files refer to earlier ones.
FILE_ORDER: tuple[str, ...] = (CRIMES, RISK, ORDERS, BREACHES, VICTIM_CARE)

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
}

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


def format_yn(value: bool | None) -> str:
    if value is None:
        return ""
    return "Y" if value else "N"


def format_codes(codes: Iterable[str]) -> str:
    return INCLUDED_SEPARATOR.join(sorted(codes))


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

    @classmethod
    def load(cls, policy: Policy, now: datetime) -> Vocabulary:
        org = organisation()
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


class BreachRecord(NamedTuple):
    line: int
    breach_ref: str
    order_ref: str
    crime_ref: str
    occurred_at: datetime
    reported_at: datetime


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

    @property
    def has_care(self) -> bool:
        """Does the row say anything about the victim-care record itself?"""
        return not (self.needs_assessed_at is None and self.enhanced_rights is None
                    and self.rights_explained_at is None and self.consent is None)

    @property
    def care_values(self) -> tuple[object, ...]:
        return (self.needs_assessed_at, self.enhanced_rights, self.rights_explained_at,
                self.consent)


Record = CrimeRecord | RiskRecord | OrderRecord | BreachRecord | CareRecord
RECORDS: dict[str, type[Record]] = {}  # filled below, per file


def _time_fields(cls: type) -> tuple[int, ...]:
    hints = cls.__annotations__
    return tuple(i for i, name in enumerate(cls._fields) if "datetime" in str(hints[name]))


def record_to_plain(record: Record, times: tuple[int, ...]) -> tuple[object, ...]:
    """The record as builtin values only (timestamps as ISO text), for ``marshal``."""
    values = list(record)
    for i in times:
        if values[i] is not None:
            values[i] = values[i].isoformat()
    return tuple(values)


def record_from_plain(cls: type[Record], values: tuple[object, ...],
                      times: tuple[int, ...]) -> Record:
    items = list(values)
    for i in times:
        if items[i] is not None:
            items[i] = datetime.fromisoformat(items[i])  # type: ignore[arg-type]
    return cls._make(items)  # type: ignore[union-attr]
Errors = list[tuple[str, str]]


# --- field readers ---------------------------------------------------------
class _Fields:
    """Reads the fields of one row, appending ``(field, problem)`` to ``errors``."""

    __slots__ = ("errors", "values", "vocab")

    def __init__(self, values: dict[str, str], vocab: Vocabulary, errors: Errors) -> None:
        self.values = values
        self.vocab = vocab
        self.errors = errors

    def fail(self, name: str, problem: str) -> None:
        self.errors.append((name, problem))

    def text(self, name: str, *, required: bool = False, length: int | None = None,
             strip: bool = True) -> str | None:
        raw = self.values.get(name) or ""
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
    before = len(errors)
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
    if len(errors) > before:
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
    )


def parse_risk(values: dict[str, str], line: int, vocab: Vocabulary,
               errors: Errors) -> RiskRecord | None:
    f = _Fields(values, vocab, errors)
    before = len(errors)
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
    if len(errors) > before or tool is None:
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
    )


def parse_order(values: dict[str, str], line: int, vocab: Vocabulary,
                errors: Errors) -> OrderRecord | None:
    f = _Fields(values, vocab, errors)
    before = len(errors)
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
    )
    return None if len(errors) > before else record


def parse_breach(values: dict[str, str], line: int, vocab: Vocabulary,
                 errors: Errors) -> BreachRecord | None:
    f = _Fields(values, vocab, errors)
    before = len(errors)
    record = BreachRecord(
        line=line,
        breach_ref=f.text("breach_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        order_ref=f.text("order_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        crime_ref=f.text("crime_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        occurred_at=f.when("occurred_at", required=True),  # type: ignore[arg-type]
        reported_at=f.when("reported_at", required=True),  # type: ignore[arg-type]
    )
    return None if len(errors) > before else record


def parse_care(values: dict[str, str], line: int, vocab: Vocabulary,
               errors: Errors) -> CareRecord | None:
    f = _Fields(values, vocab, errors)
    before = len(errors)
    record = CareRecord(
        line=line,
        crime_ref=f.text("crime_ref", required=True, length=REF_LENGTH),  # type: ignore[arg-type]
        needs_assessed_at=f.when("needs_assessed_at"),
        enhanced_rights=f.yn("enhanced_rights"),
        rights_explained_at=f.when("rights_explained_at"),
        consent=f.yn("consent"),
        service=f.choice("service", vocab.services, "support service"),
        referred_at=f.when("referred_at"),
        outcome=f.choice("outcome", _OUTCOMES, "referral outcome"),
    )
    if len(errors) > before:
        return None
    if record.service is None and (record.referred_at or record.outcome):
        f.fail("service", "required when referred_at or outcome is given")
        return None
    if record.service is not None and record.referred_at is None:
        f.fail("referred_at", "required when a service is given")
        return None
    return record


RECORDS.update({CRIMES: CrimeRecord, RISK: RiskRecord, ORDERS: OrderRecord,
                BREACHES: BreachRecord, VICTIM_CARE: CareRecord})
TIME_FIELDS: dict[str, tuple[int, ...]] = {name: _time_fields(cls) for name, cls in RECORDS.items()}

PARSERS: dict[str, Callable[[dict[str, str], int, Vocabulary, Errors], Record | None]] = {
    CRIMES: parse_crime,
    RISK: parse_risk,
    ORDERS: parse_order,
    BREACHES: parse_breach,
    VICTIM_CARE: parse_care,
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


def read_rows(path: Path, file_name: str, problem: ProblemSink) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, values)`` for each data row of ``path``; structural problems
    (header, field count, CSV syntax, encoding) go to ``problem`` and their
    rows are not yielded. ``line`` is the physical line the row starts on
    (the header is line 1)."""
    expected = COLUMNS[file_name]
    reader = csv.reader(_decoded_lines(path, problem), strict=False)
    try:
        header = next(reader)
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
    unknown = [name for name in names if name not in expected]
    if missing:
        problem(1, "header", f"missing column(s) {', '.join(missing)}")
    if unknown:
        problem(1, "header", f"unknown column(s) {', '.join(_quote(n) for n in unknown)}")
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
