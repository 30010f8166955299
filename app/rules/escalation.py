"""Breach escalation: the level of a breach, why, when the next step is due
and what is expected of the supervisor (DOMAIN.md §5; recs 12.3, 13).

Pure: the caller gathers the facts, the policy (``[breach]``) gives the
thresholds, ``now`` is passed in.

- **Level 1** on any breach: supervisor acknowledgement due within
  ``acknowledge_within_hours`` of the report.
- **Level 2** on repeated breaches (``repeat_count`` or more by the same
  suspect against the same victim within ``repeat_window_days`` of each
  other), a breach while the victim's risk is high, a breach of an order kind
  in ``level2_order_kinds`` (SPO, interim SPO), or a breach with threats or
  violence.
- **Level 3** when the acknowledgement is overdue, or a level-2 breach has no
  risk re-assessment within ``level2_reassessment_hours``.
- A manual escalation (``manual_level``) raises the level, never lowers it.

A re-assessment counts when a risk assessment on the original case was made
after the breach was reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.policy import BreachPolicy
from app.rules.orders import ORDER_KIND_TITLES
from models.enums import RiskLevel

# Reason codes (stable: exports and tests rely on them).
ANY_BREACH = "ANY_BREACH"
REPEATED = "REPEATED"
HIGH_RISK = "HIGH_RISK"
SPO_BREACH = "SPO_BREACH"
THREATS_OR_VIOLENCE = "THREATS_OR_VIOLENCE"
ACK_OVERDUE = "ACK_OVERDUE"
NO_REASSESSMENT = "NO_REASSESSMENT"
MANUAL = "MANUAL"

LEVEL_2_CODES = (REPEATED, HIGH_RISK, SPO_BREACH, THREATS_OR_VIOLENCE)
LEVEL_3_CODES = (ACK_OVERDUE, NO_REASSESSMENT)
MAX_LEVEL = 3

# Expected actions (stable wording: shown on the board and exported).
ACKNOWLEDGE = "acknowledge"
REASSESS_RISK = "re-assess risk"
CONSIDER_ARREST = "consider arrest"
CONSIDER_SPO = "consider SPO/interim SPO"
CONSIDER_MULTI_AGENCY = "consider MAPPA or multi-agency referral"
INSPECTOR_REVIEW = "inspector review"

# What the next deadline is for.
DUE_ACKNOWLEDGEMENT = "acknowledgement"
DUE_REASSESSMENT = "re-assessment"


@dataclass(frozen=True)
class BreachFacts:
    """What the rules look at for one breach.

    ``pair_breach_times``: when each breach by this suspect against this victim
    occurred (this one included; any order). ``risk_level``: the original
    case's current risk level. ``last_assessed_at``: the newest risk
    assessment on the original case. ``pair_has_spo_in_force``: an SPO or
    interim SPO protects this victim from this suspect now.
    """

    order_kind: str
    occurred_at: datetime
    reported_at: datetime
    threats_or_violence: bool = False
    risk_level: str | None = None
    pair_breach_times: tuple[datetime, ...] = ()
    last_assessed_at: datetime | None = None
    acknowledged_at: datetime | None = None
    manual_level: int | None = None
    escalated_at: datetime | None = None
    arrest_at: datetime | None = None
    pair_has_spo_in_force: bool = False
    spo_application_pending: bool = False  # an SPO/ISPO applied for or in preparation
    # the newest MARAC, MAPPA or MASIP referral of the original case
    multi_agency_referred_at: datetime | None = None


@dataclass(frozen=True)
class Reason:
    code: str
    text: str


@dataclass(frozen=True)
class Escalation:
    level: int
    reasons: tuple[Reason, ...]
    due_at: datetime | None
    due_for: str | None  # DUE_ACKNOWLEDGEMENT, DUE_REASSESSMENT or None (nothing pending)
    overdue: bool
    acknowledge_due_at: datetime
    reassessment_due_at: datetime | None  # set when the level needs a re-assessment in time
    reassessed: bool
    repeat_count: int  # breaches of the pair within the repeat window of this one
    expected_actions: tuple[str, ...]
    outstanding_actions: tuple[str, ...] = field(default=())

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def time_left(self, now: datetime) -> timedelta | None:
        """Time until the next deadline (negative when overdue)."""
        return None if self.due_at is None else self.due_at - now


def breaches_within(times: Iterable[datetime], around: datetime, window_days: int) -> int:
    """How many of ``times`` fall within ``window_days`` either side of ``around``."""
    window = timedelta(days=window_days)
    return sum(1 for t in times if abs(t - around) <= window)


def was_reassessed(facts: BreachFacts) -> bool:
    return facts.last_assessed_at is not None and facts.last_assessed_at > facts.reported_at


def expected_actions_for(level: int, *, pair_has_spo_in_force: bool) -> tuple[str, ...]:
    """Everything expected of a breach at ``level`` (done or not)."""
    actions = [ACKNOWLEDGE, REASSESS_RISK, CONSIDER_ARREST]
    if not pair_has_spo_in_force:
        actions.append(CONSIDER_SPO)
    if level >= 2:
        actions += [CONSIDER_MULTI_AGENCY, INSPECTOR_REVIEW]
    return tuple(actions)


def _hours(value: int) -> str:
    return f"{value} h" if value % 24 else f"{value // 24} day{'s' if value != 24 else ''}"


def assess_breach(facts: BreachFacts, policy: BreachPolicy, now: datetime) -> Escalation:
    """The level of one breach, its reasons, the next deadline and the expected actions."""
    reasons: list[Reason] = [Reason(ANY_BREACH, "breach of a protective order: a new offence")]
    times = facts.pair_breach_times or (facts.occurred_at,)
    if facts.occurred_at not in times:
        times = (*times, facts.occurred_at)
    repeats = breaches_within(times, facts.occurred_at, policy.repeat_window_days)

    if repeats >= policy.repeat_count:
        reasons.append(Reason(
            REPEATED,
            f"{repeats} breaches by this suspect against this victim within "
            f"{policy.repeat_window_days} days",
        ))
    if facts.risk_level == RiskLevel.HIGH:
        reasons.append(Reason(HIGH_RISK, "breach while the victim's risk is high"))
    if facts.order_kind in policy.level2_order_kinds:
        title = ORDER_KIND_TITLES.get(facts.order_kind, facts.order_kind)
        reasons.append(Reason(SPO_BREACH, f"breach of {title}"))
    if facts.threats_or_violence:
        reasons.append(Reason(THREATS_OR_VIOLENCE, "breach with threats or violence"))
    auto_level = 2 if len(reasons) > 1 else 1
    manual = min(max(facts.manual_level or 0, 0), MAX_LEVEL)

    acknowledged = facts.acknowledged_at is not None
    acknowledge_due = facts.reported_at + timedelta(hours=policy.acknowledge_within_hours)
    reassessed = was_reassessed(facts)

    # The re-assessment deadline of a level-2 breach runs from the report, or
    # from the manual escalation when only a supervisor's decision made it level 2.
    reassessment_due: datetime | None = None
    reassess_hours = timedelta(hours=policy.level2_reassessment_hours)
    if auto_level >= 2:
        reassessment_due = facts.reported_at + reassess_hours
    elif manual >= 2:
        reassessment_due = (facts.escalated_at or facts.reported_at) + reassess_hours

    level = max(auto_level, manual if manual >= 2 else 0)
    if not acknowledged and now > acknowledge_due:
        reasons.append(Reason(
            ACK_OVERDUE,
            f"supervisor acknowledgement overdue (due within "
            f"{_hours(policy.acknowledge_within_hours)} of the report)",
        ))
        level = 3
    if reassessment_due is not None and not reassessed and now > reassessment_due:
        reasons.append(Reason(
            NO_REASSESSMENT,
            f"no risk re-assessment within {_hours(policy.level2_reassessment_hours)} "
            "of a level-2 breach",
        ))
        level = 3
    if manual > level:
        level = manual
    if manual >= 2:
        reasons.append(Reason(MANUAL, f"escalated to level {manual} by a supervisor"))

    if not acknowledged:
        due_at: datetime | None = acknowledge_due
        due_for: str | None = DUE_ACKNOWLEDGEMENT
    elif reassessment_due is not None and not reassessed:
        due_at, due_for = reassessment_due, DUE_REASSESSMENT
    else:
        due_at, due_for = None, None
    overdue = due_at is not None and now > due_at

    expected = expected_actions_for(level, pair_has_spo_in_force=facts.pair_has_spo_in_force)
    done = set()
    if acknowledged:
        done.add(ACKNOWLEDGE)
    if reassessed:
        done.add(REASSESS_RISK)
    if facts.arrest_at is not None:
        done.add(CONSIDER_ARREST)
    if facts.spo_application_pending:
        done.add(CONSIDER_SPO)
    if (facts.multi_agency_referred_at is not None
            and facts.multi_agency_referred_at >= facts.reported_at):
        done.add(CONSIDER_MULTI_AGENCY)
    outstanding = tuple(a for a in expected if a not in done)
    return Escalation(
        level=level,
        reasons=tuple(reasons),
        due_at=due_at,
        due_for=due_for,
        overdue=overdue,
        acknowledge_due_at=acknowledge_due,
        reassessment_due_at=reassessment_due,
        reassessed=reassessed,
        repeat_count=repeats,
        expected_actions=expected,
        outstanding_actions=outstanding,
    )


def format_time_left(delta: timedelta | None) -> str:
    """``"5h 20m left"``, ``"2d 3h overdue"``, or ``""`` when nothing is due."""
    if delta is None:
        return ""
    overdue = delta < timedelta(0)
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = f"{days}d {hours}h"
    elif hours:
        text = f"{hours}h {mins:02d}m"
    else:
        text = f"{mins}m"
    return f"{text} overdue" if overdue else f"{text} left"
