"""Measures particular to one recommendation: the classification families the
allocation rules look at (rec 17), each breach's outcome against its
deadlines (acknowledged, escalated, risk reassessed; rec 12), officers
trained by each month (rec 10) and programmes available (rec 25)."""


from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.policy import AllocationPolicy, Policy
from app.rules.metric_figures import (
    AreaFigure,
    MetricResult,
    Sample,
    Tally,
    TrendPoint,
    figure,
    status_of,
)
from app.rules.metric_periods import shift_months
from app.rules.metrics import (
    BREACH_ACK_IN_TIME,
    BREACH_ACK_MEDIAN,
    BREACH_ESCALATED_IN_TIME,
    R12_BREACH_REASSESSED,
    STATUS_INFO,
    MetricDefinition,
)


# --- allocation (rec 17) -------------------------------------------------
def rule_families(policy: AllocationPolicy) -> frozenset[str]:
    """The classification families any allocation rule looks at: the only
    ones a case's facts need to carry."""
    return frozenset(f for rule in policy.rules for f in rule.families)


# --- breaches ------------------------------------------------------------
@dataclass(frozen=True)
class BreachRecord:
    """One breach reported in the period, with what the breach metrics need."""

    breach_ref: str
    crime_ref: str  # the breach crime
    area: str
    team: str
    month: int
    reported_at: datetime
    occurred_at: datetime
    order_kind: str
    threats_or_violence: bool = False
    risk_level: str | None = None  # the original case's current risk level
    acknowledged_at: datetime | None = None
    escalated_at: datetime | None = None
    manual_level: int | None = None
    reassessed_at: datetime | None = None  # first assessment on the original case after the report
    # occurred_at of the pair's breaches, sorted (this one included or not)
    pair_breach_times: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class BreachOutcome:
    """Where one breach counts, per breach metric: (in denominator, in numerator)."""

    acknowledged_hours: float | None
    ack_due: bool
    ack_in_time: bool
    reassessment_due: bool
    reassessed_in_time: bool
    needs_escalation: bool
    escalation_due: bool
    escalated_in_time: bool

    def counts(self, code: str) -> tuple[bool, bool]:
        """(in the denominator, in the numerator) of metric ``code``."""
        if code == BREACH_ACK_IN_TIME:
            return self.ack_due, self.ack_due and self.ack_in_time
        if code == R12_BREACH_REASSESSED:
            return self.reassessment_due, self.reassessment_due and self.reassessed_in_time
        if code == BREACH_ESCALATED_IN_TIME:
            due = self.needs_escalation and self.escalation_due
            return due, due and self.escalated_in_time
        if code == BREACH_ACK_MEDIAN:
            return True, self.acknowledged_hours is not None
        raise KeyError(code)


BREACH_COUNTED = (R12_BREACH_REASSESSED, BREACH_ACK_IN_TIME, BREACH_ESCALATED_IN_TIME)


@dataclass(frozen=True)
class BreachLimits:
    """The breach time limits of the policy, as durations."""

    acknowledge: timedelta
    reassess: timedelta
    escalate: timedelta
    repeat_window: timedelta
    repeat_count: int
    level2_order_kinds: frozenset[str]

    @classmethod
    def of(cls, policy: Policy) -> BreachLimits:
        return cls(
            acknowledge=timedelta(hours=policy.breach.acknowledge_within_hours),
            reassess=timedelta(hours=policy.risk.reassessment_due_hours),
            escalate=timedelta(hours=policy.assurance.breach_escalation_hours),
            repeat_window=timedelta(days=policy.breach.repeat_window_days),
            repeat_count=policy.breach.repeat_count,
            level2_order_kinds=frozenset(policy.breach.level2_order_kinds),
        )


def pair_repeats(times: Sequence[datetime], occurred_at: datetime, window: timedelta) -> int:
    """How many of the pair's breaches (``times``, sorted, this one included
    or added) occurred within ``window`` either side of ``occurred_at``."""
    inside = bisect_right(times, occurred_at + window) - bisect_left(times, occurred_at - window)
    at = bisect_left(times, occurred_at)
    if at == len(times) or times[at] != occurred_at:
        inside += 1  # this breach, when the caller left it out
    return inside


def needs_escalation(record: BreachRecord, policy: Policy | BreachLimits) -> bool:
    """The breach board's level-2 reasons: repeated by the pair within the
    window, a breach of an SPO or interim SPO, threats or violence, high risk
    on the original case, or a manual level of 2 or more.
    ``record.pair_breach_times`` must be sorted."""
    limits = policy if isinstance(policy, BreachLimits) else BreachLimits.of(policy)
    return (
        record.order_kind in limits.level2_order_kinds
        or record.threats_or_violence
        or record.risk_level == "high"
        or (record.manual_level or 0) >= 2
        or pair_repeats(record.pair_breach_times, record.occurred_at,
                        limits.repeat_window) >= limits.repeat_count
    )


def _by(event: datetime | None, limit: datetime) -> bool:
    return event is not None and event <= limit


def breach_outcome(record: BreachRecord, policy: Policy | BreachLimits,
                   now: datetime) -> BreachOutcome:
    """Where one breach counts: a step is *due* once its time limit has passed
    by ``now``; it is *in time* when done within the limit."""
    limits = policy if isinstance(policy, BreachLimits) else BreachLimits.of(policy)
    reported = record.reported_at
    acknowledged = None
    if record.acknowledged_at is not None:
        acknowledged = max(0.0, (record.acknowledged_at - reported).total_seconds() / 3600)
    ack_by = reported + limits.acknowledge
    reassess_by = reported + limits.reassess
    escalate_by = reported + limits.escalate
    return BreachOutcome(
        acknowledged_hours=acknowledged,
        ack_due=ack_by <= now,
        ack_in_time=_by(record.acknowledged_at, ack_by),
        reassessment_due=reassess_by <= now,
        reassessed_in_time=_by(record.reassessed_at, reassess_by),
        needs_escalation=needs_escalation(record, limits),
        escalation_due=escalate_by <= now,
        escalated_in_time=_by(record.escalated_at, escalate_by),
    )


def breach_tallies(records: Iterable[BreachRecord], policy: Policy,
                   now: datetime) -> tuple[dict[str, list[Tally]], list[Sample]]:
    """Tallies (one per cell) for the counted breach metrics, and a sample per
    breach for the median."""
    limits = BreachLimits.of(policy)
    cells: dict[tuple[str, str, int], list[int]] = {}
    samples: list[Sample] = []
    for record in records:
        outcome = breach_outcome(record, limits, now)
        counts = cells.setdefault((record.area, record.team, record.month),
                                  [0] * (2 * len(BREACH_COUNTED)))
        for i, code in enumerate(BREACH_COUNTED):
            in_denominator, in_numerator = outcome.counts(code)
            counts[2 * i] += in_numerator
            counts[2 * i + 1] += in_denominator
        samples.append(Sample(record.area, record.team, record.month, outcome.acknowledged_hours))
    tallies = {
        code: [Tally(area, team, month, counts[2 * i], counts[2 * i + 1])
               for (area, team, month), counts in cells.items()]
        for i, code in enumerate(BREACH_COUNTED)
    }
    return tallies, samples


def breach_counts_in(record: BreachRecord, code: str, part: str,
                     policy: Policy | BreachLimits, now: datetime) -> bool:
    """Whether ``record`` is behind the numerator or denominator of ``code``."""
    in_denominator, in_numerator = breach_outcome(record, policy, now).counts(code)
    return in_numerator if part == "numerator" else in_denominator


# --- training (rec 10) ---------------------------------------------------
def is_trained(completions: Sequence[date], by: date, valid_months: int) -> bool:
    """A completion on or before ``by`` and no older than ``valid_months``."""
    return _completed_within(completions, shift_months(by, -valid_months), by)


def _completed_within(completions: Sequence[date], after: date, by: date) -> bool:
    return any(after < done <= by for done in completions)


def training_windows(months: Sequence[date], period_end: date,
                     valid_months: int) -> list[tuple[date, date]]:
    """Per month of the period, the completions that count: after the first
    day and on or before the last of ``(after, last)``; ``last`` is the
    month's last day (or the period's, for a part-month at its end)."""
    windows: list[tuple[date, date]] = []
    for first in months:
        last = min(shift_months(first, 1), period_end) - timedelta(days=1)
        windows.append((shift_months(last, -valid_months), last))
    return windows


def training_tallies(officer_months: Iterable[tuple[int, str]],
                     completions: dict[str, Sequence[date]], months: Sequence[date],
                     period_end: date, valid_months: int) -> list[Tally]:
    """One tally per month: officers named on the month's cases (each once)
    against those trained by the month's last day (or the period's, for a
    part-month at its end)."""
    seen: dict[int, set[str]] = {}
    for month, officer in officer_months:
        seen.setdefault(month, set()).add(officer)
    windows = training_windows(months, period_end, valid_months)
    tallies: list[Tally] = []
    for index, officers in sorted(seen.items()):
        after, last = windows[index]  # is_trained's window, once a month
        trained = sum(1 for o in officers if _completed_within(completions.get(o, ()), after, last))
        tallies.append(Tally("", "", index, trained, len(officers)))
    return tallies


# --- programmes (rec 25) -------------------------------------------------
def programmes_result(definition: MetricDefinition,
                      programmes: Iterable[tuple[str, date, date | None]],
                      months: Sequence[date], period_end: date) -> MetricResult:
    """Programmes (area, available from, available to) available on the last
    day of each month, and of the period, by area."""
    found = list(programmes)

    def available(on: date, area: str | None = None) -> int:
        return sum(1 for a, start, end in found
                   if (area is None or a == area) and start <= on and (end is None or end >= on))

    last_day = period_end - timedelta(days=1)
    overall = figure("count", available(last_day), None)
    by_area = tuple(AreaFigure(area, figure("count", available(last_day, area), None), STATUS_INFO)
                    for area in sorted({a for a, _, _ in found}))
    trend = tuple(
        TrendPoint(month, figure("count", available(
            min(shift_months(month, 1), period_end) - timedelta(days=1)), None))
        for month in months)
    return MetricResult(definition, overall, status_of(definition, overall), by_area, (), trend)
