"""Finding cases: by reference, person, classification (principal **or any
included**, rec 7), risk, team, area, flags and dates; paged in SQL.

The classification filter is a UNION ALL of two indexed selects, each
ordered by report time and cut to the page: the principal classification
walks ``ix_case_principal_reported``; the included ones start from
``ix_included_code_case``. An ``OR EXISTS`` over the case table scanned every
case (0.3-0.5 s at a million cases on SQLite); the union answers in tens of
milliseconds. Reference prefixes use ranges on the unique indexes instead of
``upper(...) LIKE``, which cannot use an index.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, union, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.errors import BadInput
from app.services import restricted
from app.services.audit_trail import audit_naming
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import Case, IncludedClassification, Person, ScreeningFlag
from models.enums import AuditAction, FlagStatus, RiskLevel

MAX_PAGE_SIZE = 500
# Prefix searches on person references consider at most this many people.
PERSON_PREFIX_LIMIT = 1000
# A total is counted up to this many matches (beyond it: "10,000+").
TOTAL_CAP = 10_000
UNASSESSED = "unassessed"
UNALLOCATED = "unallocated"


@dataclass(frozen=True)
class CaseSearch:
    """Search criteria; every field optional. ``text`` matches a crime
    reference or a person reference (prefix, case-insensitive). ``risk`` may be
    ``unassessed``; ``team`` may be ``unallocated``. ``reported_to`` is
    exclusive. ``reassessment_due``: an open case with a re-assessment made
    due (e.g. by a breach) or its risk review date passed."""

    text: str | None = None
    crime_ref: str | None = None
    person_ref: str | None = None
    code: str | None = None
    risk: str | None = None
    team: str | None = None
    area: str | None = None
    status: str | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    online: bool | None = None
    domestic_abuse: bool | None = None
    pin_issued: bool | None = None
    unassessed: bool | None = None
    open_flag: bool | None = None
    reassessment_due: bool | None = None
    page: int = 0
    page_size: int = 50

    def describe(self) -> str:
        parts = [f"{k}={v.isoformat() if isinstance(v, datetime) else v}"
                 for k, v in asdict(self).items()
                 if v not in (None, "") and k not in ("page", "page_size")]
        return ", ".join(parts) or "all cases"

    def with_page(self, page: int) -> CaseSearch:
        return replace(self, page=max(0, page))


@dataclass(frozen=True)
class CaseRow:
    crime_ref: str
    reported_at: datetime
    area_command: str
    principal_code: str
    included_codes: tuple[str, ...]
    risk_level: str | None
    allocation_team: str | None
    status: str
    victim_ref: str
    suspect_ref: str | None
    relationship: str
    online: bool
    domestic_abuse: bool
    pin_issued: bool
    summary: str

    def as_json(self) -> dict[str, Any]:
        """The machine-readable shape (CLI JSON, exports)."""
        return {
            "crime_ref": self.crime_ref,
            "principal_code": self.principal_code,
            "included_codes": list(self.included_codes),
            "risk": self.risk_level,
            "team": self.allocation_team,
            "area": self.area_command,
            "reported_at": self.reported_at.isoformat(),
            "status": self.status,
            "victim_ref": self.victim_ref,
            "suspect_ref": self.suspect_ref,
            "online": self.online,
            "domestic_abuse": self.domestic_abuse,
            "pin_issued": self.pin_issued,
        }


@dataclass(frozen=True)
class SearchPage:
    criteria: CaseSearch
    rows: list[CaseRow] = field(default_factory=list)
    has_more: bool = False
    total: int | None = None  # only when asked for; TOTAL_CAP + 1 means "more than the cap"

    @property
    def total_capped(self) -> bool:
        return self.total is not None and self.total > TOTAL_CAP

    @property
    def total_text(self) -> str:
        if self.total is None:
            return ""
        return f"{TOTAL_CAP:,}+" if self.total_capped else f"{self.total:,}"

    @property
    def first_index(self) -> int:
        return self.criteria.page * self.criteria.page_size

    @property
    def page_size(self) -> int:
        return self.criteria.page_size

    @property
    def pages(self) -> int | None:
        if self.total is None:
            return None
        return max(1, -(-self.total // max(1, self.criteria.page_size)))


def _successor(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _prefix(column: Any, prefix: str, dialect: str) -> Any:
    """``column`` starts with ``prefix``: an index range in binary order plus a
    LIKE that keeps the answer exact. PostgreSQL compares in the "C" collation
    so a linguistic database collation cannot drop a match from the range."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    ordered = column.collate("C") if dialect == "postgresql" else column
    return and_(ordered >= prefix, ordered < _successor(prefix),
                column.like(escaped + "%", escape="\\"))


def _variants(text: str) -> list[str]:
    raw = text.strip()
    return list(dict.fromkeys([raw.upper(), raw]))


def _people(refs: list[str], *, prefix: bool, dialect: str = "sqlite") -> Any:
    if prefix:
        cond = or_(*(_prefix(Person.person_ref, ref, dialect) for ref in refs))
        return select(Person.id).where(cond).limit(PERSON_PREFIX_LIMIT)
    return select(Person.id).where(Person.person_ref.in_(refs))


def _person_condition(people: Any) -> Any:
    return or_(Case.victim_id.in_(people), Case.suspect_id.in_(people))


def _conditions(criteria: CaseSearch, now: datetime, dialect: str) -> list[Any]:
    """Every criterion except the classification code, on the case table only."""
    conds: list[Any] = []
    if criteria.crime_ref and criteria.crime_ref.strip():
        conds.append(Case.crime_ref.in_(_variants(criteria.crime_ref)))
    if criteria.person_ref and criteria.person_ref.strip():
        conds.append(_person_condition(_people(_variants(criteria.person_ref), prefix=False)))
    if criteria.text and criteria.text.strip():
        refs = _variants(criteria.text)
        conds.append(or_(*(_prefix(Case.crime_ref, ref, dialect) for ref in refs),
                         _person_condition(_people(refs, prefix=True, dialect=dialect))))
    risk = (criteria.risk or "").strip().lower()
    if risk == UNASSESSED:
        conds.append(Case.risk_level.is_(None))
    elif risk:
        if risk not in {r.value for r in RiskLevel}:
            raise BadInput(f"risk {criteria.risk!r}: expected standard, medium, high or unassessed")
        conds.append(Case.risk_level == risk)
    if criteria.unassessed is not None:
        conds.append(Case.risk_level.is_(None) if criteria.unassessed
                     else Case.risk_level.is_not(None))
    team = (criteria.team or "").strip()
    if team.lower() == UNALLOCATED:
        conds.append(Case.allocation_team.is_(None))
    elif team:
        conds.append(Case.allocation_team == team)
    if criteria.area and criteria.area.strip():
        conds.append(Case.area_command == criteria.area.strip())
    if criteria.status and criteria.status.strip():
        conds.append(Case.status == criteria.status.strip().lower())
    if criteria.reported_from is not None:
        conds.append(Case.reported_at >= criteria.reported_from)
    if criteria.reported_to is not None:
        conds.append(Case.reported_at < criteria.reported_to)
    for name in ("online", "domestic_abuse", "pin_issued"):
        wanted = getattr(criteria, name)
        if wanted is not None:
            conds.append(getattr(Case, name) == wanted)
    if criteria.open_flag is not None:
        flagged = Case.id.in_(select(ScreeningFlag.case_id)
                              .where(ScreeningFlag.status == FlagStatus.OPEN))
        conds.append(flagged if criteria.open_flag else ~flagged)
    if criteria.reassessment_due is not None:
        due = and_(Case.status == "open",
                   or_(Case.reassessment_due_at.is_not(None),
                       and_(Case.risk_review_due.is_not(None), Case.risk_review_due <= now)))
        conds.append(due if criteria.reassessment_due else ~due)
    return conds


def _code(criteria: CaseSearch) -> str | None:
    code = (criteria.code or "").strip().upper()
    return code or None


def _code_branches(code: str, conds: list[Any]) -> tuple[Any, Any]:
    """(principal is ``code``, ``code`` included and not principal): disjoint."""
    principal = select(Case.id.label("id"), Case.reported_at.label("reported_at")).where(
        Case.principal_code == code, *conds)
    included = (
        select(Case.id.label("id"), Case.reported_at.label("reported_at"))
        .join(IncludedClassification, IncludedClassification.case_id == Case.id)
        .where(IncludedClassification.code == code, Case.principal_code != code, *conds)
    )
    return principal, included


def _ordered_only(criteria: CaseSearch) -> bool:
    """True when, besides the code, the criteria are served by an index in
    report-time order (area, area + status, report dates)."""
    ordered = {"code", "area", "reported_from", "reported_to", "page", "page_size"}
    if criteria.area:
        ordered.add("status")
    return all(value in (None, "") or name in ordered for name, value in asdict(criteria).items())


def _walk_included(session: Session, criteria: CaseSearch, code: str, reach: int) -> bool:
    """Whether to find the newest cases with ``code`` included by walking the
    cases newest first (cheap when the code is common: a few rows per match)
    rather than reading every inclusion of the code and sorting (cheap when it
    is rare). Walks only when the other criteria keep report-time order."""
    if not _ordered_only(criteria):
        return False
    included = session.execute(
        select(func.count()).where(IncludedClassification.code == code)).scalar() or 0
    cases = session.execute(select(func.max(Case.id))).scalar() or 0
    # walking reads about cases/included rows per match; sorting reads `included` rows
    return included * included >= cases * reach


def _page_ids(criteria: CaseSearch, conds: list[Any], offset: int, size: int,
              walk_included: bool = False) -> Any:
    """A subquery of (id, reported_at) for the page (plus one row to tell if
    there is more), newest report first."""
    code = _code(criteria)
    if code is None:
        return (
            select(Case.id.label("id"), Case.reported_at.label("reported_at"))
            .where(*conds)
            .order_by(Case.reported_at.desc(), Case.id.desc())
            .offset(offset).limit(size + 1)
            .subquery("page_ids")
        )
    reach = offset + size + 1  # each branch contributes at most this many
    principal, included = _code_branches(code, conds)
    if walk_included:
        has_code = exists().where(IncludedClassification.case_id == Case.id,
                                  IncludedClassification.code == code)
        included = select(Case.id.label("id"), Case.reported_at.label("reported_at")).where(
            has_code, *conds)
    branches = []
    for branch in (principal, included):
        cut = branch.order_by(Case.reported_at.desc(), Case.id.desc()).limit(reach).subquery()
        branches.append(select(cut.c.id, cut.c.reported_at))
    # the walk does not exclude the principal code (that needs the case row):
    # UNION removes a case found by both branches
    both = (union(*branches) if walk_included else union_all(*branches)).subquery("by_code")
    return (
        select(both.c.id, both.c.reported_at)
        .order_by(both.c.reported_at.desc(), both.c.id.desc())
        .offset(offset).limit(size + 1)
        .subquery("page_ids")
    )


def count_cases(session: Session, criteria: CaseSearch, now: datetime,
                cap: int | None = None) -> int:
    """How many cases match ``criteria``, counting up to ``cap`` (default
    :data:`TOTAL_CAP`) so a broad search stays cheap: ``cap + 1`` means more."""
    cap = TOTAL_CAP if cap is None else cap
    conds = _conditions(criteria, now, session.get_bind().dialect.name)
    code = _code(criteria)
    if code is None:
        branches = [select(Case.id).where(*conds)]
    else:
        branches = list(_code_branches(code, conds))
    total = 0
    for branch in branches:
        capped = branch.limit(cap + 1 - total).subquery()
        total += int(session.execute(select(func.count()).select_from(capped)).scalar() or 0)
        if total > cap:
            return cap + 1
    return total


def restricted_row(crime_ref: str, reported_at: datetime, area: str,
                   contact: str | None) -> CaseRow:
    """What a restricted case shows someone not named on it: that it exists
    and whom to ask (app.services.restricted)."""
    ask = contact or f"the {area} area command"
    return CaseRow(crime_ref=crime_ref, reported_at=reported_at, area_command=area,
                   principal_code="", included_codes=(), risk_level=None, allocation_team=None,
                   status="restricted", victim_ref="restricted", suspect_ref=None,
                   relationship="", online=False, domestic_abuse=False, pin_issued=False,
                   summary=f"RESTRICTED — ask {ask}")


# Made once: an alias made per call rebuilds its table's column proxies every time.
VICTIM = aliased(Person, name="victim")
SUSPECT = aliased(Person, name="suspect")


def search_cases(ctx: ServiceContext, criteria: CaseSearch, *, audit: bool = True,
                 with_total: bool = False) -> SearchPage:
    """One page of cases matching ``criteria``, newest report first; with
    ``with_total`` also how many match (counted up to :data:`TOTAL_CAP`)."""
    ctx.require(Permission.SEARCH, entity="search")
    size = max(1, min(criteria.page_size, MAX_PAGE_SIZE))
    offset = max(0, criteria.page) * size
    conds = _conditions(criteria, ctx.now(), ctx.database.dialect)
    code = _code(criteria)
    victim, suspect = VICTIM, SUSPECT
    total: int | None = None
    with ctx.read() as session:
        walk = code is not None and _walk_included(session, criteria, code, offset + size + 1)
        page_ids = _page_ids(criteria, conds, offset, size, walk_included=walk)
        stmt = (
            select(
                Case.id, Case.crime_ref, Case.reported_at, Case.area_command, Case.principal_code,
                Case.risk_level, Case.allocation_team, Case.status,
                victim.person_ref.label("victim_ref"), suspect.person_ref.label("suspect_ref"),
                Case.relationship, Case.online, Case.domestic_abuse, Case.pin_issued,
                Case.summary, Case.restricted, Case.restricted_contact,
            )
            .select_from(page_ids)
            .join(Case, Case.id == page_ids.c.id)
            .join(victim, victim.id == Case.victim_id)
            .outerjoin(suspect, suspect.id == Case.suspect_id)
            .order_by(page_ids.c.reported_at.desc(), page_ids.c.id.desc())
        )
        found = session.execute(stmt).all()
        has_more = len(found) > size
        found = found[:size]
        included = included_codes(session, [row.id for row in found])
        hidden = restricted.hidden_case_ids(ctx, session,
                                            [(row.id, row.restricted) for row in found])
        if with_total:
            total = count_cases(session, criteria, ctx.now())
    rows = [
        CaseRow(
            crime_ref=row.crime_ref, reported_at=row.reported_at,
            area_command=row.area_command, principal_code=row.principal_code,
            included_codes=included.get(row.id, ()), risk_level=row.risk_level,
            allocation_team=row.allocation_team, status=row.status, victim_ref=row.victim_ref,
            suspect_ref=row.suspect_ref, relationship=row.relationship, online=row.online,
            domestic_abuse=row.domestic_abuse, pin_issued=row.pin_issued, summary=row.summary,
        )
        if row.id not in hidden else restricted_row(row.crime_ref, row.reported_at,
                                                    row.area_command, row.restricted_contact)
        for row in found
    ]
    page = SearchPage(criteria=replace(criteria, page_size=size), rows=rows, has_more=has_more,
                      total=total)
    if audit:
        with ctx.write() as session:
            counted = f", {page.total_text} in all" if total is not None else ""
            audit_naming(ctx, session, AuditAction.VIEW, "search", None,
                         [row.crime_ref for row in rows],
                         reason=f"{criteria.describe()} (page {criteria.page + 1}, "
                                f"{len(rows)} rows{counted})")
    return page


def included_codes(session, case_ids: list[int]) -> dict[int, tuple[str, ...]]:  # type: ignore[no-untyped-def]
    """Included classification codes for each case id (one query)."""
    if not case_ids:
        return {}
    stmt = (
        select(IncludedClassification.case_id, IncludedClassification.code)
        .where(IncludedClassification.case_id.in_(case_ids))
        .order_by(IncludedClassification.case_id, IncludedClassification.code)
    )
    codes: dict[int, list[str]] = {}
    for case_id, code in session.execute(stmt):
        codes.setdefault(case_id, []).append(code)
    return {k: tuple(v) for k, v in codes.items()}
