"""S-DASH risk assessments on a case, and the four-eyes rule on downgrades.

The assessor answers the questionnaire, sees the yes count and the policy's
suggested level, and sets the level with a rationale. Raising above the
suggestion is professional judgement; lowering below it needs a rationale;
lowering from high also needs a second supervisor's approval, never the
assessor's own. Until then the assessment is stored as awaiting approval and
the case keeps its previous level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import aliased

from app.errors import BadInput, NotFound, PermissionDenied
from app.rules.risk import (
    AnswersError,
    assess,
    level_while_pending,
    parse_answers,
    rationale_problem,
    review_due,
)
from app.services.audit_trail import audit_naming
from app.services.case_lock import edit_case
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import Case, RiskAssessment
from models.enums import RISK_RANK, AuditAction, RiskLevel
from seed.reference import Questionnaire, questionnaire


@dataclass(frozen=True)
class RiskAssessmentResult:
    crime_ref: str
    version: int
    assessment_id: int
    yes_count: int
    suggested_level: str
    level: str
    approval_required: bool
    case_risk_level: str | None  # the level the case carries now
    review_due: datetime
    message: str


@dataclass(frozen=True)
class RiskApprovalResult:
    crime_ref: str
    version: int
    assessment_id: int
    level: str
    approved_by: str
    message: str


def current_questionnaire(ctx: ServiceContext) -> Questionnaire:
    return questionnaire(ctx.policy.risk.tool, ctx.policy.risk.tool_version)


def _answers_text(answers: str | Sequence[bool], questions: int) -> tuple[str, tuple[bool, ...]]:
    text = answers if isinstance(answers, str) else "".join("Y" if a else "N" for a in answers)
    try:
        parsed = parse_answers(text, questions)
    except AnswersError as exc:
        raise BadInput(str(exc)) from None
    return "".join("Y" if a else "N" for a in parsed), parsed


def _level(value: str | RiskLevel, what: str = "level") -> RiskLevel:
    try:
        return RiskLevel(str(value).strip().lower())
    except ValueError:
        raise BadInput(f"{what} {value!r}: expected standard, medium or high") from None


def record_risk_assessment(ctx: ServiceContext, *, crime_ref: str, answers: str | Sequence[bool],
                           level: str | RiskLevel, rationale: str | None,
                           management_plan: str | None,
                           expected_version: int) -> RiskAssessmentResult:
    """Store a completed S-DASH assessment and mirror it on the case (unless it
    lowers from high, which waits for a second supervisor)."""
    form = current_questionnaire(ctx)
    answer_text, parsed = _answers_text(answers, len(form.questions))
    chosen = _level(level)
    rationale = (rationale or "").strip() or None
    plan = (management_plan or "").strip() or None
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version) as (
            session, case, version):
        previous = RiskLevel(case.risk_level) if case.risk_level else None
        outcome = assess(parsed, chosen, previous, ctx.policy.risk)
        problem = rationale_problem(outcome, rationale)
        if problem:
            raise BadInput(problem)
        now = ctx.now()
        due = review_due(chosen, now, ctx.policy.risk)
        pending = outcome.check.needs_second_approval
        before = {"risk_level": case.risk_level, "risk_assessed_at": case.risk_assessed_at,
                  "risk_review_due": case.risk_review_due,
                  "reassessment_due_at": case.reassessment_due_at}
        row = RiskAssessment(
            case_id=case.id, tool=form.tool, tool_version=form.version,  # type: ignore[arg-type]
            answers=answer_text, yes_count=outcome.yes_count,
            suggested_level=outcome.suggested.value, level=chosen.value, rationale=rationale,
            management_plan=plan, assessor=ctx.actor.username, assessed_at=now, review_due=due,
            approval_required=pending,
        )
        session.add(row)
        if not pending:
            case.risk_level = chosen.value
            case.risk_assessed_at = now
            case.risk_review_due = due
        elif previous is None:
            # nothing to keep: the case carries the checklist's (higher) suggestion
            held = level_while_pending(None, outcome.suggested)
            case.risk_level = held.value
            case.risk_assessed_at = now
            case.risk_review_due = review_due(held, now, ctx.policy.risk)
        case.reassessment_due_at = None
        session.add(case)
        if case.suspect_id is not None:  # the pair is re-assessed: on every crime of it
            session.execute(update(Case).where(
                Case.victim_id == case.victim_id, Case.suspect_id == case.suspect_id,
                Case.id != case.id, Case.reassessment_due_at.is_not(None),
            ).values(reassessment_due_at=None))
        session.flush()
        after = {"assessment_id": row.id, "tool": f"{form.tool} {form.version}",
                 "answers": answer_text, "yes_count": outcome.yes_count,
                 "suggested_level": outcome.suggested.value, "level": chosen.value,
                 "rationale": rationale, "management_plan": plan, "review_due": due,
                 "approval_required": pending, "risk_level": case.risk_level}
        state = "awaiting a second supervisor's approval" if pending else "set"
        ctx.audit(session, AuditAction.CREATE, "case", crime_ref,
                  reason=(f"risk assessment recorded: {form.tool} {outcome.yes_count} yes, "
                          f"suggested {outcome.suggested.value}, {chosen.value} {state}"),
                  before=before, after=after)
        assessment_id = int(row.id)  # type: ignore[arg-type]
        case_level = case.risk_level
    if pending:
        why = ("is below the suggested " + outcome.suggested.value
               if outcome.check.is_downgrade_from_suggestion else "lowers from high")
        message = (f"{chosen.value} recorded; it {why} and waits for a second "
                   f"supervisor's approval (the case stays {case_level or 'unassessed'})")
    else:
        message = f"risk set to {chosen.value} ({outcome.yes_count} yes, suggested {outcome.suggested.value})"
    return RiskAssessmentResult(
        crime_ref=crime_ref, version=version, assessment_id=assessment_id,
        yes_count=outcome.yes_count, suggested_level=outcome.suggested.value, level=chosen.value,
        approval_required=pending, case_risk_level=case_level, review_due=due, message=message,
    )


def approve_risk_assessment(ctx: ServiceContext, *, assessment_id: int,
                            expected_version: int) -> RiskApprovalResult:
    """A second supervisor of the case's area (never the assessor) approves a
    level below the suggestion or lowered from high; the case then takes the
    assessment's level and review date. The audit names both people."""
    with ctx.read() as session:
        found = session.execute(
            select(RiskAssessment, Case.crime_ref, Case.area_command)
            .join(Case, Case.id == RiskAssessment.case_id)
            .where(RiskAssessment.id == assessment_id)
        ).first()
    if found is None:
        raise NotFound(f"risk assessment {assessment_id} is not in Vigil")
    assessment, crime_ref, area = found
    ctx.require(Permission.APPROVE_RISK_DOWNGRADE, area=area, entity="case", entity_id=crime_ref)
    if not assessment.approval_required:
        raise BadInput(f"risk assessment {assessment_id} on {crime_ref} needs no approval")
    if assessment.approved_at is not None:
        raise BadInput(f"risk assessment {assessment_id} on {crime_ref} was already approved "
                       f"by {assessment.approved_by}")
    if assessment.assessor == ctx.actor.username:
        with ctx.write() as session:
            ctx.audit(session, AuditAction.DENIED, "case", crime_ref,
                      reason=f"four-eyes: {ctx.actor.username} may not approve their own "
                             f"risk downgrade (assessment {assessment_id})")
        raise PermissionDenied(
            f"four-eyes rule: you assessed {crime_ref} yourself; a second supervisor "
            f"of {area} must approve this risk level"
        )
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version,
                   permission=Permission.APPROVE_RISK_DOWNGRADE) as (session, _case, version):
        current = session.execute(
            select(RiskAssessment).where(RiskAssessment.id == assessment_id)
            .execution_options(populate_existing=True)).scalars().one()
        if current.approved_at is not None:
            raise BadInput(f"risk assessment {assessment_id} on {crime_ref} was already "
                           f"approved by {current.approved_by}")
        newer = session.execute(
            select(RiskAssessment.id).where(
                RiskAssessment.case_id == assessment.case_id,
                or_(RiskAssessment.assessed_at > assessment.assessed_at,
                    and_(RiskAssessment.assessed_at == assessment.assessed_at,
                         RiskAssessment.id > assessment.id)),
            )
        ).first()
        if newer:
            raise BadInput(f"a newer risk assessment was recorded on {crime_ref} after "
                           f"assessment {assessment_id}: approve or review that one instead")
        row = session.get(RiskAssessment, assessment_id)
        case = session.get(Case, assessment.case_id)
        assert row is not None and case is not None
        before = {"risk_level": case.risk_level, "risk_assessed_at": case.risk_assessed_at,
                  "risk_review_due": case.risk_review_due, "approved_by": None}
        row.approved_by = ctx.actor.username
        row.approved_at = ctx.now()
        case.risk_level = row.level
        case.risk_assessed_at = row.assessed_at
        case.risk_review_due = row.review_due
        session.add(row)
        session.add(case)
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=(f"risk downgrade approved (four-eyes): {row.level} by "
                          f"{ctx.actor.username}, assessed by {row.assessor}"),
                  before=before,
                  after={"risk_level": row.level, "risk_assessed_at": row.assessed_at,
                         "risk_review_due": row.review_due, "approved_by": ctx.actor.username,
                         "assessment_id": assessment_id, "assessor": row.assessor})
        level = row.level
    return RiskApprovalResult(crime_ref=crime_ref, version=version, assessment_id=assessment_id,
                              level=level, approved_by=ctx.actor.username,
                              message=f"{level} approved; the case is now {level}")


@dataclass(frozen=True)
class PendingApproval:
    """A risk level waiting for a second supervisor (four-eyes)."""

    assessment_id: int
    crime_ref: str
    area_command: str
    assessed_at: datetime
    assessor: str
    level: str
    suggested_level: str
    case_risk_level: str | None  # what the case carries meanwhile (the higher level)
    rationale: str | None
    why: str  # "below the suggestion" or "lowered from high"
    case_version: int
    yours: bool  # you may approve it (a supervisor of its area who did not assess it)
    waiting_for: str  # who may approve it, in words

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def approvals_waiting(ctx: ServiceContext, *, area: str | None = None,
                      force_wide: bool = False) -> list[PendingApproval]:
    """Every risk level awaiting a second supervisor's approval in ``area``
    (a supervisor's own area by default; force-wide for analysts and
    auditors, or with ``force_wide``), oldest first; only the newest assessment of a case can be
    approved. Each says whether you may approve it: a supervisor of the case's
    area other than the assessor. On a database with one supervisor the
    approval stays pending and listed. The view is audited."""
    ctx.require(Permission.VIEW_CASE, entity="approvals")
    scope = None if force_wide else area if area is not None else (
        ctx.actor.area_command if ctx.actor.role == "supervisor" else None)
    newer = aliased(RiskAssessment, name="newer")
    later = (select(newer.id).where(
        newer.case_id == RiskAssessment.case_id,
        or_(newer.assessed_at > RiskAssessment.assessed_at,
            and_(newer.assessed_at == RiskAssessment.assessed_at, newer.id > RiskAssessment.id)))
        .exists())
    stmt = (
        select(RiskAssessment.id, Case.crime_ref, Case.area_command, RiskAssessment.assessed_at,
               RiskAssessment.assessor, RiskAssessment.level, RiskAssessment.suggested_level,
               Case.risk_level, RiskAssessment.rationale, Case.version)
        .select_from(RiskAssessment).join(Case, Case.id == RiskAssessment.case_id)
        .where(RiskAssessment.approval_required.is_(True), RiskAssessment.approved_at.is_(None),
               ~later)
        .order_by(RiskAssessment.assessed_at, RiskAssessment.id)
    )
    if scope:
        stmt = stmt.where(Case.area_command == scope)
    found: list[PendingApproval] = []
    with ctx.read() as session:
        for row in session.execute(stmt):
            suggested = RiskLevel(row.suggested_level)
            below = RISK_RANK[RiskLevel(row.level)] < RISK_RANK[suggested]
            may = (ctx.allowed(Permission.APPROVE_RISK_DOWNGRADE, area=row.area_command)
                   and row.assessor != ctx.actor.username)
            if row.assessor == ctx.actor.username:
                waiting = f"another supervisor of {row.area_command} (you assessed it)"
            else:
                waiting = f"a supervisor of {row.area_command} other than {row.assessor}"
            found.append(PendingApproval(
                assessment_id=row.id, crime_ref=row.crime_ref, area_command=row.area_command,
                assessed_at=row.assessed_at, assessor=row.assessor, level=row.level,
                suggested_level=row.suggested_level, case_risk_level=row.risk_level,
                rationale=row.rationale,
                why=(f"below the suggested {suggested.value}" if below else "lowered from high"),
                case_version=row.version, yours=may, waiting_for=waiting))
    with ctx.write() as session:
        audit_naming(ctx, session, AuditAction.VIEW, "approvals", scope,
                     [f.crime_ref for f in found],
                     reason=f"risk approvals waiting ({scope or 'force-wide'}): "
                            f"{len(found)} listed")
    return found
