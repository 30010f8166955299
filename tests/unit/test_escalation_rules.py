"""Breach escalation rules: every level-1, level-2 and level-3 rule, the
deadlines, manual escalation and the expected actions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.policy import default_policy, policy_from_mapping
from app.rules.escalation import (
    ACK_OVERDUE,
    ACKNOWLEDGE,
    ANY_BREACH,
    CONSIDER_ARREST,
    CONSIDER_MULTI_AGENCY,
    CONSIDER_SPO,
    DUE_ACKNOWLEDGEMENT,
    DUE_REASSESSMENT,
    HIGH_RISK,
    INSPECTOR_REVIEW,
    MANUAL,
    NO_REASSESSMENT,
    REASSESS_RISK,
    REPEATED,
    SPO_BREACH,
    THREATS_OR_VIOLENCE,
    BreachFacts,
    assess_breach,
    breaches_within,
    format_time_left,
)

POLICY = default_policy().breach  # 24 h ack, 2 in 30 days, 48 h re-assessment, SPO/ISPO
REPORTED = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


def facts(**changes: object) -> BreachFacts:
    base = BreachFacts(
        order_kind="RO",
        occurred_at=REPORTED - timedelta(hours=3),
        reported_at=REPORTED,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_any_breach_is_level_1_with_acknowledgement_due_in_24_hours() -> None:
    now = REPORTED + timedelta(hours=12)
    result = assess_breach(facts(), POLICY, now)
    assert result.level == 1
    assert result.codes == (ANY_BREACH,)
    assert result.due_at == datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    assert result.due_for == DUE_ACKNOWLEDGEMENT
    assert result.overdue is False
    assert result.time_left(now) == timedelta(hours=12)
    assert result.reassessment_due_at is None


def test_acknowledgement_window_comes_from_policy() -> None:
    policy = policy_from_mapping({"breach": {"acknowledge_within_hours": 4}}).breach
    result = assess_breach(facts(), policy, REPORTED + timedelta(hours=5))
    assert result.due_at == REPORTED + timedelta(hours=4)
    assert result.level == 3
    assert ACK_OVERDUE in result.codes


def test_two_breaches_within_30_days_are_repeated() -> None:
    other = REPORTED - timedelta(days=20)
    result = assess_breach(facts(pair_breach_times=(other, REPORTED - timedelta(hours=3))),
                           POLICY, REPORTED + timedelta(hours=1))
    assert result.level == 2
    assert result.codes == (ANY_BREACH, REPEATED)
    assert result.repeat_count == 2


def test_breaches_31_days_apart_are_not_repeated() -> None:
    occurred = REPORTED - timedelta(hours=3)
    result = assess_breach(
        facts(pair_breach_times=(occurred - timedelta(days=31), occurred)),
        POLICY, REPORTED + timedelta(hours=1),
    )
    assert result.level == 1
    assert result.repeat_count == 1


def test_an_earlier_breach_becomes_repeated_when_a_later_one_follows() -> None:
    occurred = REPORTED - timedelta(hours=3)
    later = occurred + timedelta(days=6)
    result = assess_breach(facts(pair_breach_times=(occurred, later)), POLICY,
                           REPORTED + timedelta(hours=1))
    assert REPEATED in result.codes


def test_repeat_threshold_comes_from_policy() -> None:
    policy = policy_from_mapping({"breach": {"repeat_count": 3, "repeat_window_days": 10}}).breach
    occurred = REPORTED - timedelta(hours=3)
    two = (occurred - timedelta(days=5), occurred)
    three = (occurred - timedelta(days=9), *two)
    assert assess_breach(facts(pair_breach_times=two), policy, REPORTED).level == 1
    result = assess_breach(facts(pair_breach_times=three), policy, REPORTED)
    assert result.level == 2 and result.repeat_count == 3


def test_breach_while_risk_is_high_is_level_2() -> None:
    result = assess_breach(facts(risk_level="high"), POLICY, REPORTED + timedelta(hours=1))
    assert (result.level, result.codes) == (2, (ANY_BREACH, HIGH_RISK))
    medium = assess_breach(facts(risk_level="medium"), POLICY, REPORTED + timedelta(hours=1))
    assert medium.level == 1


@pytest.mark.parametrize("kind", ["SPO", "ISPO"])
def test_breach_of_spo_or_interim_spo_is_level_2(kind: str) -> None:
    result = assess_breach(facts(order_kind=kind), POLICY, REPORTED + timedelta(hours=1))
    assert (result.level, result.codes) == (2, (ANY_BREACH, SPO_BREACH))


@pytest.mark.parametrize("kind", ["RO", "NMO", "DVPO"])
def test_breach_of_other_orders_is_level_1(kind: str) -> None:
    assert assess_breach(facts(order_kind=kind), POLICY, REPORTED).level == 1


def test_level2_order_kinds_come_from_policy() -> None:
    policy = policy_from_mapping({"breach": {"level2_order_kinds": ["SPO", "ISPO", "NMO"]}}).breach
    assert assess_breach(facts(order_kind="NMO"), policy, REPORTED).codes == (ANY_BREACH, SPO_BREACH)


def test_breach_with_threats_or_violence_is_level_2() -> None:
    result = assess_breach(facts(threats_or_violence=True), POLICY, REPORTED + timedelta(hours=1))
    assert (result.level, result.codes) == (2, (ANY_BREACH, THREATS_OR_VIOLENCE))


def test_unacknowledged_after_24_hours_is_level_3() -> None:
    result = assess_breach(facts(), POLICY, REPORTED + timedelta(hours=24, minutes=1))
    assert result.level == 3
    assert result.codes == (ANY_BREACH, ACK_OVERDUE)
    assert result.overdue is True
    assert result.time_left(REPORTED + timedelta(hours=24, minutes=1)) == -timedelta(minutes=1)


def test_exactly_at_the_deadline_is_not_yet_overdue() -> None:
    result = assess_breach(facts(), POLICY, REPORTED + timedelta(hours=24))
    assert (result.level, result.overdue) == (1, False)


def test_acknowledged_level_1_has_nothing_due() -> None:
    result = assess_breach(facts(acknowledged_at=REPORTED + timedelta(hours=2)), POLICY,
                           REPORTED + timedelta(days=5))
    assert (result.level, result.due_at, result.due_for, result.overdue) == (1, None, None, False)


def test_acknowledged_level_2_is_due_a_reassessment_within_48_hours() -> None:
    now = REPORTED + timedelta(hours=30)
    result = assess_breach(
        facts(order_kind="ISPO", acknowledged_at=REPORTED + timedelta(hours=2)), POLICY, now
    )
    assert result.level == 2
    assert result.due_for == DUE_REASSESSMENT
    assert result.due_at == datetime(2026, 3, 3, 20, 0, tzinfo=UTC)
    assert result.time_left(now) == timedelta(hours=18)
    assert not result.overdue


def test_level_2_without_reassessment_in_48_hours_is_level_3() -> None:
    now = REPORTED + timedelta(hours=49)
    result = assess_breach(
        facts(threats_or_violence=True, acknowledged_at=REPORTED + timedelta(hours=1)), POLICY, now
    )
    assert result.level == 3
    assert result.codes == (ANY_BREACH, THREATS_OR_VIOLENCE, NO_REASSESSMENT)
    assert result.overdue and result.due_for == DUE_REASSESSMENT


def test_reassessment_after_the_report_stops_level_3() -> None:
    now = REPORTED + timedelta(hours=49)
    result = assess_breach(
        facts(threats_or_violence=True, acknowledged_at=REPORTED + timedelta(hours=1),
              last_assessed_at=REPORTED + timedelta(hours=20)),
        POLICY, now,
    )
    assert result.level == 2
    assert result.reassessed
    assert (result.due_at, result.overdue) == (None, False)
    assert REASSESS_RISK not in result.outstanding_actions


def test_an_assessment_before_the_report_does_not_count() -> None:
    result = assess_breach(
        facts(risk_level="high", acknowledged_at=REPORTED + timedelta(hours=1),
              last_assessed_at=REPORTED - timedelta(minutes=1)),
        POLICY, REPORTED + timedelta(hours=49),
    )
    assert result.level == 3 and NO_REASSESSMENT in result.codes


def test_level_1_without_reassessment_does_not_reach_level_3() -> None:
    result = assess_breach(facts(acknowledged_at=REPORTED + timedelta(hours=1)), POLICY,
                           REPORTED + timedelta(days=10))
    assert result.level == 1


def test_both_level_3_rules_can_fire() -> None:
    result = assess_breach(facts(order_kind="SPO"), POLICY, REPORTED + timedelta(hours=50))
    assert result.codes == (ANY_BREACH, SPO_BREACH, ACK_OVERDUE, NO_REASSESSMENT)
    # still unacknowledged: the acknowledgement is the deadline shown
    assert result.due_for == DUE_ACKNOWLEDGEMENT
    assert result.due_at == REPORTED + timedelta(hours=24)


def test_manual_escalation_raises_the_level() -> None:
    escalated = REPORTED + timedelta(hours=2)
    result = assess_breach(facts(manual_level=2, escalated_at=escalated), POLICY,
                           REPORTED + timedelta(hours=3))
    assert result.level == 2
    assert result.codes == (ANY_BREACH, MANUAL)
    # the re-assessment clock of a manually escalated breach runs from the escalation
    assert result.reassessment_due_at == escalated + timedelta(hours=48)


def test_manual_escalation_never_lowers_the_level() -> None:
    result = assess_breach(facts(order_kind="SPO", manual_level=1), POLICY,
                           REPORTED + timedelta(hours=30))
    assert result.level == 3
    assert MANUAL not in result.codes


def test_manual_level_3() -> None:
    result = assess_breach(facts(manual_level=3, escalated_at=REPORTED), POLICY,
                           REPORTED + timedelta(hours=1))
    assert result.level == 3
    assert result.codes == (ANY_BREACH, MANUAL)


def test_expected_actions_at_level_1_without_spo() -> None:
    result = assess_breach(facts(), POLICY, REPORTED)
    assert result.expected_actions == (ACKNOWLEDGE, REASSESS_RISK, CONSIDER_ARREST, CONSIDER_SPO)
    assert result.outstanding_actions == result.expected_actions


def test_expected_actions_at_level_2_add_multi_agency_and_inspector_review() -> None:
    result = assess_breach(facts(threats_or_violence=True), POLICY, REPORTED)
    assert result.expected_actions == (
        ACKNOWLEDGE, REASSESS_RISK, CONSIDER_ARREST, CONSIDER_SPO, CONSIDER_MULTI_AGENCY,
        INSPECTOR_REVIEW,
    )


def test_no_spo_consideration_when_the_pair_has_an_spo_in_force() -> None:
    result = assess_breach(facts(order_kind="ISPO", pair_has_spo_in_force=True), POLICY, REPORTED)
    assert CONSIDER_SPO not in result.expected_actions
    assert INSPECTOR_REVIEW in result.expected_actions


def test_done_actions_are_not_outstanding() -> None:
    result = assess_breach(
        facts(acknowledged_at=REPORTED + timedelta(hours=1),
              arrest_at=REPORTED + timedelta(hours=2)),
        POLICY, REPORTED + timedelta(hours=3),
    )
    assert result.outstanding_actions == (REASSESS_RISK, CONSIDER_SPO)


def test_board_window_counts() -> None:
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    times = [now - timedelta(days=d) for d in (1, 29, 31, 89, 91)]
    assert breaches_within(times, now - timedelta(days=30), 2) == 2


def test_format_time_left() -> None:
    assert format_time_left(timedelta(hours=5, minutes=20)) == "5h 20m left"
    assert format_time_left(-timedelta(days=2, hours=3, minutes=1)) == "2d 3h overdue"
    assert format_time_left(timedelta(minutes=7)) == "7m left"
    assert format_time_left(None) == ""


@given(
    kind=st.sampled_from(["SPO", "ISPO", "RO", "NMO", "DVPO"]),
    risk=st.sampled_from([None, "standard", "medium", "high"]),
    threats=st.booleans(),
    hours=st.integers(min_value=0, max_value=24 * 60),
    acknowledged=st.booleans(),
    manual=st.sampled_from([None, 1, 2, 3]),
)
def test_level_is_always_1_to_3_and_manual_never_lowers(
    kind: str, risk: str | None, threats: bool, hours: int, acknowledged: bool, manual: int | None
) -> None:
    now = REPORTED + timedelta(hours=hours)
    base = facts(order_kind=kind, risk_level=risk, threats_or_violence=threats,
                 acknowledged_at=REPORTED if acknowledged else None)
    without = assess_breach(base, POLICY, now)
    with_manual = assess_breach(dataclasses.replace(base, manual_level=manual,
                                                    escalated_at=REPORTED), POLICY, now)
    assert 1 <= without.level <= 3
    assert with_manual.level >= without.level
    assert with_manual.level >= (manual or 1)
    assert without.codes[0] == ANY_BREACH


def test_a_pending_spo_application_means_the_spo_was_considered() -> None:
    result = assess_breach(facts(spo_application_pending=True), POLICY, REPORTED)
    assert CONSIDER_SPO in result.expected_actions
    assert result.outstanding_actions == (ACKNOWLEDGE, REASSESS_RISK, CONSIDER_ARREST)


def test_a_multi_agency_referral_after_the_breach_is_the_multi_agency_action_done() -> None:
    from dataclasses import replace as _replace

    from app.policy import default_policy as _policy
    from app.rules.escalation import CONSIDER_MULTI_AGENCY, BreachFacts, assess_breach

    at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    facts = BreachFacts(order_kind="SPO", occurred_at=at, reported_at=at, manual_level=3)
    policy = _policy().breach
    before = assess_breach(facts, policy, at)
    assert before.level == 3 and CONSIDER_MULTI_AGENCY in before.outstanding_actions
    earlier = assess_breach(_replace(facts, multi_agency_referred_at=at.replace(day=1, hour=9)),
                            policy, at)
    assert CONSIDER_MULTI_AGENCY in earlier.outstanding_actions  # made before the breach
    after = assess_breach(_replace(facts, multi_agency_referred_at=at.replace(hour=12)), policy,
                          at)
    assert CONSIDER_MULTI_AGENCY not in after.outstanding_actions
