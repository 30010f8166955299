"""The screening queue: qualifying results whose score reaches the policy's
``min_score``, highest first, a page at a time with their evidence, linked
crimes and flags (:func:`screening_queue`, its view audited); the last
finished run; and the audited consultation of one candidate's detail."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    exists,
    func,
    select,
)
from sqlmodel import Session

from app.errors import BadInput
from app.services.audit_trail import audit_naming
from app.services.context import ServiceContext
from app.services.permissions import Permission
from app.services.screening import CHUNK, ScreeningRunSummary
from app.services.screening_flags import FlagView, _flag_view
from app.services.search import included_codes
from models import (
    Case,
    ScreeningFlag,
    ScreeningResult,
    ScreeningRun,
)
from models.enums import AuditAction, FlagStatus

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class QueueItem:
    """One candidate of the queue: the crime, its score and evidence, and its flag."""

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
class LinkedCrime:
    """A crime of the same victim-suspect pair cited in a candidate's evidence."""

    crime_ref: str
    reported_at: datetime
    principal_code: str


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
        ids = [row.case_id for row in rows]
        included = included_codes(session, ids)
        flags = _latest_flags(session, ids)
        linked_refs = sorted({ref for row in rows for e in (row.evidence or []) for ref in e.get("crime_refs", ())})
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

