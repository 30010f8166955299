"""Screening flags and what is learnt from them: an analyst raises a flag
proposing a change of classification (:func:`raise_flag`), a supervisor of
the crime's area, never the person who raised it, accepts it (the change is
applied to the classification, with audit) or rejects it with a reason
(:func:`decide_flag`), and :func:`flag_feedback` counts decisions per rule and
per team so the policy can be tuned."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    delete,
    select,
)
from sqlmodel import Session

from app.errors import BadInput, ConflictError, NotFound, PermissionDenied
from app.rules.screening import (
    RULE_NAMES,
    CrimeFacts,
    screen_crime,
)
from app.services.case_lock import ADDITION, edit_case
from app.services.context import ServiceContext
from app.services.permissions import Permission
from app.services.screening import _Codes, _codes, _Screener
from app.services.screening_facts import breached_orders
from app.services.search import included_codes
from models import (
    Case,
    IncludedClassification,
    ScreeningFlag,
    ScreeningResult,
)
from models.enums import AuditAction, ClassificationSource, FlagStatus, SuggestedChange

SUGGESTED_CHANGE_LABELS: dict[str, str] = {
    SuggestedChange.PRINCIPAL_TO_STALKING: "principal to stalking (8Q)",
    SuggestedChange.ADD_INCLUDED_STALKING: "add included stalking (8Q)",
    SuggestedChange.NO_CHANGE: "no change",
}


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


def _flag_view(flag: ScreeningFlag, crime_ref: str) -> FlagView:
    return FlagView(
        id=int(flag.id), crime_ref=crime_ref, rules=tuple(flag.rules or ()), score=flag.score,  # type: ignore[arg-type]
        suggested_change=flag.suggested_change, reason=flag.reason, raised_by=flag.raised_by,
        raised_at=flag.raised_at, status=flag.status, decided_by=flag.decided_by,
        decided_at=flag.decided_at, rationale=flag.rationale,
    )


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
                f"{crime_ref} already has an open screening flag (#{open_flag.id} raised by "
                f"{open_flag.raised_by}): a supervisor decides it first"
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
        screener._breached = breached_orders(session, (case.victim_id, case.suspect_id))
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

