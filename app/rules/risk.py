"""S-DASH scoring: yes count, suggested level, and the rules on setting a level."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.policy import RiskPolicy
from models.enums import RISK_RANK, RiskLevel


class AnswersError(ValueError):
    pass


def parse_answers(answers: str, questions: int) -> tuple[bool, ...]:
    """`YNYNN...` (one Y/N per question) as booleans; wrong length or letters raise."""
    text = answers.strip().upper()
    if len(text) != questions:
        raise AnswersError(f"answers {answers!r}: expected {questions} Y/N letters, got {len(text)}")
    bad = sorted({ch for ch in text if ch not in "YN"})
    if bad:
        raise AnswersError(f"answers {answers!r}: only Y and N allowed, found {''.join(bad)!r}")
    return tuple(ch == "Y" for ch in text)


def yes_count(answers: tuple[bool, ...]) -> int:
    return sum(answers)


def suggested_level(answers: tuple[bool, ...], policy: RiskPolicy) -> RiskLevel:
    """The policy's suggested level from the answers (no national cut-off exists)."""
    count = yes_count(answers)
    if count >= policy.high_from_yes:
        return RiskLevel.HIGH
    if count >= policy.medium_from_yes:
        return RiskLevel.MEDIUM
    for question in policy.at_least_medium_if_yes:
        if 0 < question <= len(answers) and answers[question - 1]:
            return RiskLevel.MEDIUM
    return RiskLevel.STANDARD


@dataclass(frozen=True)
class LevelCheck:
    """What setting ``level`` against ``suggested`` requires."""

    needs_rationale: bool
    needs_second_approval: bool
    is_downgrade_from_suggestion: bool
    is_raise_on_judgement: bool


def check_level(*, suggested: RiskLevel, level: RiskLevel, previous: RiskLevel | None) -> LevelCheck:
    """Raising above the suggestion is professional judgement (allowed; a
    rationale is good practice but not forced). Lowering below the suggestion
    needs a written rationale; lowering below the suggestion, or lowering from
    high (the suggestion or the previous level), needs a second supervisor's
    approval (four-eyes), whether typed in Vigil or imported."""
    below = RISK_RANK[level] < RISK_RANK[suggested]
    from_high = level != RiskLevel.HIGH and (
        suggested == RiskLevel.HIGH or previous == RiskLevel.HIGH
    )
    return LevelCheck(
        needs_rationale=below or from_high,
        needs_second_approval=from_high or below,
        is_downgrade_from_suggestion=below,
        is_raise_on_judgement=RISK_RANK[level] > RISK_RANK[suggested],
    )


def review_due(level: RiskLevel, assessed_at: datetime, policy: RiskPolicy) -> datetime:
    return assessed_at + timedelta(days=policy.review_days[level.value])


@dataclass(frozen=True)
class AssessmentStep:
    """One assessment of a case, in the order they were made."""

    level: RiskLevel
    suggested: RiskLevel
    assessed_at: datetime
    approved: bool  # a second supervisor approved it


@dataclass(frozen=True)
class CaseRisk:
    """What the case carries: its level, when it was assessed, its review date."""

    level: RiskLevel
    assessed_at: datetime
    review_due: datetime


@dataclass(frozen=True)
class StepOutcome:
    approval_required: bool
    pending: bool  # four-eyes not yet satisfied: the case keeps the higher level
    case: CaseRisk


def level_while_pending(previous: RiskLevel | None, suggested: RiskLevel) -> RiskLevel:
    """The level a case carries while a lower level waits for approval: the
    level it had, or, when it had none, the checklist's suggestion (the
    higher level in play)."""
    return previous if previous is not None else suggested


def walk_assessments(steps: list[AssessmentStep], policy: RiskPolicy) -> list[StepOutcome]:
    """The four-eyes rule over a case's assessments in order: which need a
    second supervisor, which are still pending, and what the case carries
    after each (a pending one never lowers it)."""
    carried: CaseRisk | None = None
    outcomes: list[StepOutcome] = []
    for step in steps:
        previous = carried.level if carried is not None else None
        check = check_level(suggested=step.suggested, level=step.level, previous=previous)
        pending = check.needs_second_approval and not step.approved
        if not pending:
            carried = CaseRisk(step.level, step.assessed_at,
                               review_due(step.level, step.assessed_at, policy))
        elif carried is None:
            held = level_while_pending(None, step.suggested)
            carried = CaseRisk(held, step.assessed_at, review_due(held, step.assessed_at, policy))
        outcomes.append(StepOutcome(check.needs_second_approval, pending, carried))
    return outcomes


@dataclass(frozen=True)
class AssessmentOutcome:
    """What an S-DASH form adds up to, before it is stored: the count, the
    suggestion, and what the level chosen requires."""

    answers: tuple[bool, ...]
    yes_count: int
    suggested: RiskLevel
    level: RiskLevel
    check: LevelCheck

    @property
    def rationale_required(self) -> bool:
        return self.check.needs_rationale


def assess(answers: tuple[bool, ...], level: RiskLevel, previous: RiskLevel | None,
           policy: RiskPolicy) -> AssessmentOutcome:
    """Count, suggestion and the level check for one completed form."""
    suggested = suggested_level(answers, policy)
    return AssessmentOutcome(
        answers=answers,
        yes_count=yes_count(answers),
        suggested=suggested,
        level=level,
        check=check_level(suggested=suggested, level=level, previous=previous),
    )


def rationale_problem(outcome: AssessmentOutcome, rationale: str | None) -> str | None:
    """Why the rationale given is not enough for the level chosen, or None."""
    if not outcome.check.needs_rationale or (rationale or "").strip():
        return None
    if outcome.check.is_downgrade_from_suggestion:
        return (f"setting {outcome.level.value} below the suggested {outcome.suggested.value} "
                f"({outcome.yes_count} yes) needs a written rationale")
    return f"lowering the level from high to {outcome.level.value} needs a written rationale"


def level_guidance(outcome: AssessmentOutcome) -> str:
    """One line for the assessor about the level chosen against the suggestion."""
    if outcome.check.needs_second_approval and outcome.check.is_downgrade_from_suggestion:
        return (f"{outcome.level.value} is below the suggested {outcome.suggested.value}: "
                "needs a rationale and a second supervisor's approval; the case keeps the "
                "higher level until approved")
    if outcome.check.needs_second_approval:
        return (f"{outcome.level.value} lowers from high: needs a rationale and a second "
                "supervisor's approval; the case keeps its current level until approved")
    if outcome.check.is_raise_on_judgement:
        return (f"{outcome.level.value} is above the suggested {outcome.suggested.value}: "
                "raised on professional judgement")
    return f"{outcome.level.value} follows the suggested level"


def reassessment_due(breaches_reported: Iterable[datetime], last_assessed_at: datetime | None,
                     policy: RiskPolicy) -> datetime | None:
    """When the victim's risk must be re-assessed after breaches of an order
    protecting her: ``risk.reassessment_due_hours`` after the **latest** breach
    reported since the pair's last assessment (never the earliest: each breach
    restarts the clock); None when she was assessed after every breach."""
    pending = [at for at in breaches_reported if last_assessed_at is None or at > last_assessed_at]
    if not pending:
        return None
    return max(pending) + timedelta(hours=policy.reassessment_due_hours)
