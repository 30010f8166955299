"""DMM rules: the meeting calendar, one test per reason code, and the priority."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from app.policy import default_policy, policy_from_mapping
from app.rules.dmm import (
    REASON_ORDER,
    REASON_SHORT,
    REASON_TITLES,
    ActionFact,
    AssessmentFact,
    BreachFact,
    CaseFacts,
    MeetingFrame,
    PairCrimeFact,
    Reason,
    is_meeting_day,
    meeting_date_for,
    meeting_start,
    meeting_window,
    next_meeting_date,
    previous_meeting_date,
    priority,
    rank_key,
    reasons_for,
    upcoming_meeting_date,
    victim_not_referred,
    working_deadline_cutoff,
)

POLICY = default_policy()
MONDAY = date(2026, 3, 2)
# Monday 2 March 2026 08:00 GMT (= UTC): the meeting starts; it covers from Friday 08:00.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
FRIDAY_START = datetime(2026, 2, 27, 8, 0, tzinfo=UTC)
FRAME = MeetingFrame.for_date(MONDAY, POLICY)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def quiet(**changes: object) -> CaseFacts:
    """A harassment case a month old that needs nothing: assessed, referred,
    allocated as policy says."""
    reported = START - timedelta(days=30)
    assessed = reported + timedelta(days=1)
    base = CaseFacts(
        crime_ref="NC/26/0001",
        reported_at=reported,
        principal_code="8L",
        principal_family="harassment",
        families=frozenset({"harassment"}),
        risk_level="standard",
        risk_assessed_at=assessed,
        risk_review_due=assessed + timedelta(days=90),
        team="Response",
        assessments=(AssessmentFact(assessed, "standard", "standard",
                                    assessed + timedelta(days=90), has_plan=True),),
        needs_assessed_at=reported + timedelta(days=1),
        first_referral_at=reported + timedelta(days=1),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def codes(facts: CaseFacts, frame: MeetingFrame = FRAME, policy=POLICY) -> list[str]:  # type: ignore[no-untyped-def]
    return [hit.code for hit in reasons_for(facts, frame, policy)]


def hit(facts: CaseFacts, code: str, frame: MeetingFrame = FRAME) -> str:
    found = [h for h in reasons_for(facts, frame, POLICY) if h.code == code]
    assert found, f"{code} did not fire: {codes(facts, frame)}"
    return found[0].explanation


# --- calendar -----------------------------------------------------------


def test_meeting_starts_at_eight_local_in_winter_and_summer() -> None:
    assert meeting_start(MONDAY, POLICY) == START
    # 1 June 2026 is BST: 08:00 London is 07:00 UTC.
    assert meeting_start(date(2026, 6, 1), POLICY) == utc(2026, 6, 1, 7, 0)


def test_weekend_rule_monday_covers_from_friday() -> None:
    assert previous_meeting_date(MONDAY, POLICY) == date(2026, 2, 27)
    assert meeting_window(MONDAY, POLICY) == (FRIDAY_START, START)
    # Tuesday covers Monday 08:00 to Tuesday 08:00 only.
    assert meeting_window(date(2026, 3, 3), POLICY) == (START, utc(2026, 3, 3, 8, 0))


def test_weekend_crimes_reach_monday_and_friday_morning_crimes_do_not() -> None:
    saturday = quiet(reported_at=utc(2026, 2, 28, 23, 30), risk_assessed_at=None,
                     risk_level=None, assessments=(), risk_review_due=None)
    assert "NEW_CRIME" in codes(saturday)
    assert hit(saturday, "NEW_CRIME") == "harassment (8L) reported Sat 28/02 23:30"
    friday_early = dataclasses.replace(saturday, reported_at=utc(2026, 2, 27, 7, 59))
    assert "NEW_CRIME" not in codes(friday_early)  # Friday's meeting had it
    friday_late = dataclasses.replace(saturday, reported_at=FRIDAY_START)
    assert "NEW_CRIME" in codes(friday_late)
    # reported after the meeting started: the next meeting's business
    assert "NEW_CRIME" not in codes(dataclasses.replace(saturday, reported_at=START))


def test_bank_holidays_are_skipped() -> None:
    # Good Friday 3 April and Easter Monday 6 April 2026: Tuesday's meeting
    # covers from Thursday 08:00 BST (07:00 UTC).
    assert not is_meeting_day(date(2026, 4, 3), POLICY)
    assert previous_meeting_date(date(2026, 4, 7), POLICY) == date(2026, 4, 2)
    assert meeting_window(date(2026, 4, 7), POLICY) == (utc(2026, 4, 2, 7), utc(2026, 4, 7, 7))
    assert next_meeting_date(date(2026, 4, 2), POLICY) == date(2026, 4, 7)


def test_meeting_date_for_now() -> None:
    assert meeting_date_for(START, POLICY) == MONDAY
    assert meeting_date_for(utc(2026, 3, 2, 22, 0), POLICY) == MONDAY
    # Saturday: the next meeting is Monday's.
    assert meeting_date_for(utc(2026, 2, 28, 9, 0), POLICY) == MONDAY
    # 23:30 UTC on Sunday 28 June 2026 is already Monday in London (BST).
    assert meeting_date_for(utc(2026, 6, 28, 23, 30), POLICY) == date(2026, 6, 29)


def test_upcoming_meeting_is_the_first_not_yet_started() -> None:
    assert upcoming_meeting_date(utc(2026, 3, 2, 6, 0), POLICY) == MONDAY
    assert upcoming_meeting_date(START, POLICY) == date(2026, 3, 3)  # Monday's has started
    assert upcoming_meeting_date(utc(2026, 3, 2, 23, 0), POLICY) == date(2026, 3, 3)
    # Friday evening: Monday's, across the weekend
    assert upcoming_meeting_date(utc(2026, 2, 27, 20, 0), POLICY) == MONDAY
    # Thursday 2 April 2026 after the meeting: Good Friday and Easter Monday are skipped
    assert upcoming_meeting_date(utc(2026, 4, 2, 12, 0), POLICY) == date(2026, 4, 7)
    # 07:30 UTC on a BST Tuesday is 08:30 in London: that meeting has started
    assert upcoming_meeting_date(utc(2026, 6, 30, 7, 30), POLICY) == date(2026, 7, 1)


def test_policy_weekdays_and_time() -> None:
    policy = policy_from_mapping({"dmm": {"meeting_weekdays": [0, 2, 4], "meeting_time": "09:30"}})
    assert previous_meeting_date(date(2026, 3, 4), policy) == MONDAY
    assert meeting_start(MONDAY, policy) == utc(2026, 3, 2, 9, 30)


# --- one test per reason ------------------------------------------------


def test_quiet_case_has_no_reason() -> None:
    assert codes(quiet()) == []


def test_new_crime_only_for_agenda_families() -> None:
    new = quiet(reported_at=utc(2026, 3, 1, 10, 0))
    assert codes(new) == ["NEW_CRIME"]
    damage = quiet(reported_at=utc(2026, 3, 1, 10, 0), principal_code="58A",
                   principal_family="criminal damage", families=frozenset({"criminal damage"}))
    assert "NEW_CRIME" not in codes(damage)
    # ...unless stalking is included on the same report
    damage_stalking = dataclasses.replace(damage, families=frozenset({"criminal damage", "stalking"}))
    assert "NEW_CRIME" in codes(damage_stalking)


def test_new_breach_is_new_crime_evidence_for_the_original() -> None:
    facts = quiet(breaches=(BreachFact("BR/26/0004", utc(2026, 2, 28, 14, 10), utc(2026, 2, 28, 16),
                                       "RO", "NC/26/0099"),))
    assert hit(facts, "NEW_CRIME") == "breach BR/26/0004 (crime NC/26/0099) reported Sat 28/02 14:10"


def test_breach_reported_since_last_meeting_or_unacknowledged() -> None:
    recent = BreachFact("BR/1", utc(2026, 3, 1, 9, 0), utc(2026, 3, 1, 10, 0), "SPO", "NC/9")
    assert hit(quiet(breaches=(recent,)), "BREACH") == "breach BR/1 of SPO reported Sun 01/03 09:00"
    old_unack = BreachFact("BR/2", utc(2026, 2, 10, 9, 0), None, "RO", "NC/8")
    assert hit(quiet(breaches=(old_unack,)), "BREACH") == (
        "breach BR/2 of RO reported Tue 10/02 09:00, not acknowledged")
    old_ack = dataclasses.replace(old_unack, acknowledged_at=utc(2026, 2, 10, 12, 0))
    assert "BREACH" not in codes(quiet(breaches=(old_ack,)))


def test_high_risk_new_raised_and_without_plan() -> None:
    new = AssessmentFact(utc(2026, 2, 28, 11, 0), "high", "high", utc(2026, 3, 7, 11), True)
    facts = quiet(risk_level="high", assessments=(new,), risk_assessed_at=new.assessed_at,
                  risk_review_due=new.review_due, team="CID")
    assert hit(facts, "HIGH_RISK") == "new high risk, assessed Sat 28/02 11:00"
    earlier = AssessmentFact(utc(2026, 2, 1), "medium", "medium", utc(2026, 3, 1), True)
    raised = dataclasses.replace(facts, assessments=(earlier, new))
    assert hit(raised, "HIGH_RISK") == "risk raised to high from medium, Sat 28/02 11:00"
    # high before the window, still high, with a plan and a future review: nothing new
    old = dataclasses.replace(new, assessed_at=utc(2026, 2, 20))
    settled = dataclasses.replace(facts, assessments=(old,), risk_assessed_at=old.assessed_at)
    assert "HIGH_RISK" not in codes(settled)
    no_plan = dataclasses.replace(settled, assessments=(dataclasses.replace(old, has_plan=False),))
    assert hit(no_plan, "HIGH_RISK") == "high risk without a current risk management plan"
    stale = dataclasses.replace(settled, assessments=(dataclasses.replace(
        old, review_due=utc(2026, 2, 27)),))
    assert hit(stale, "HIGH_RISK") == (
        "high risk; its risk management plan is out of date (review was due Fri 27/02)")


def test_no_risk_assessment_after_policy_days() -> None:
    unassessed = dict(risk_level=None, risk_assessed_at=None, risk_review_due=None, assessments=())
    late = quiet(reported_at=START - timedelta(days=5), **unassessed)
    assert hit(late, "NO_RISK_ASSESSMENT") == (
        "harassment case 5 days old with no risk assessment (policy: 2 days)")
    on_time = quiet(reported_at=START - timedelta(days=1, hours=23), **unassessed)
    assert "NO_RISK_ASSESSMENT" not in codes(on_time)
    malicious = dataclasses.replace(late, principal_code="8R", principal_family="malicious communications",
                                    families=frozenset({"malicious communications"}))
    assert "NO_RISK_ASSESSMENT" not in codes(malicious)


def test_risk_review_due_date_passed_marked_or_new_offence() -> None:
    assert hit(quiet(risk_review_due=utc(2026, 2, 25)), "RISK_REVIEW_DUE") == "review was due Wed 25/02"
    marked = quiet(reassessment_due_at=utc(2026, 2, 28, 15, 0))
    assert hit(marked, "RISK_REVIEW_DUE") == "re-assessment due by Sat 28/02 15:00"
    assessed = utc(2026, 2, 3, 9, 0)
    after_breach = quiet(risk_assessed_at=assessed,
                         breaches=(BreachFact("BR/3", utc(2026, 2, 12), utc(2026, 2, 12, 9)),))
    assert hit(after_breach, "RISK_REVIEW_DUE") == "breach BR/3 after the last assessment (Tue 03/02)"
    new_offence = quiet(risk_assessed_at=assessed,
                        pair_crimes=(PairCrimeFact("NC/26/0050", utc(2026, 2, 20), "harassment"),))
    assert hit(new_offence, "RISK_REVIEW_DUE") == (
        "new offence NC/26/0050 by the same suspect after the last assessment (Tue 03/02)")
    before = quiet(risk_assessed_at=assessed,
                   pair_crimes=(PairCrimeFact("NC/26/0040", utc(2026, 1, 20), "harassment"),))
    assert "RISK_REVIEW_DUE" not in codes(before)


def test_spo_not_considered_on_stalking_after_policy_days() -> None:
    stalking = quiet(principal_code="8Q", principal_family="stalking", families=frozenset({"stalking"}),
                     reported_at=START - timedelta(days=20), team="CID")
    assert hit(stalking, "SPO_NOT_CONSIDERED") == (
        "stalking case 20 days old with no SPO decision (policy: 14 days)")
    assert "SPO_NOT_CONSIDERED" not in codes(dataclasses.replace(stalking, spo_status="applied"))
    young = dataclasses.replace(stalking, reported_at=START - timedelta(days=13))
    assert "SPO_NOT_CONSIDERED" not in codes(young)
    assert "SPO_NOT_CONSIDERED" not in codes(quiet(reported_at=START - timedelta(days=20)))


def test_victim_not_referred_in_working_days() -> None:
    # Reported Wednesday 25 Feb 10:00: needs assessment and referral due by the
    # end of Friday 27 Feb (2 working days).
    reported = utc(2026, 2, 25, 10, 0)
    neither = quiet(reported_at=reported, needs_assessed_at=None, first_referral_at=None)
    assert hit(neither, "VICTIM_NOT_REFERRED") == (
        "no victim needs assessment (due by Fri 27/02); "
        "no referral to support services (due by Fri 27/02)")
    assessed_only = dataclasses.replace(neither, needs_assessed_at=reported + timedelta(hours=5))
    assert hit(assessed_only, "VICTIM_NOT_REFERRED") == (
        "no referral to support services (due by Fri 27/02)")
    # Reported Thursday 26 Feb: due end of Monday 2 Mar, not yet late at 08:00 Monday.
    thursday = dataclasses.replace(neither, reported_at=utc(2026, 2, 26, 10, 0))
    assert "VICTIM_NOT_REFERRED" not in codes(thursday)


def test_allocation_contrary_to_policy() -> None:
    # high-risk domestic-abuse stalking held by Response instead of CID
    stalking = quiet(principal_code="8Q", principal_family="stalking", families=frozenset({"stalking"}),
                     risk_level="high", domestic_abuse=True, team="Response", spo_status="applied")
    assert hit(stalking, "ALLOCATION_CONTRARY_TO_POLICY") == (
        "held by Response; High-risk domestic-abuse stalking is allocated to CID (CID)")
    assert "ALLOCATION_CONTRARY_TO_POLICY" not in codes(dataclasses.replace(stalking, team="CID"))
    unallocated = quiet(team=None)
    assert hit(unallocated, "ALLOCATION_CONTRARY_TO_POLICY").startswith("not allocated")


def test_repeat_pair_when_a_new_crime_makes_it_two_in_the_window() -> None:
    facts = quiet(reported_at=START - timedelta(days=40),
                  pair_crimes=(PairCrimeFact("NC/26/0007", utc(2026, 2, 28, 9, 0), "harassment"),))
    assert hit(facts, "REPEAT_PAIR") == (
        "2 crimes for this victim and suspect in 90 days (NC/26/0001, NC/26/0007); "
        "new since the last meeting: NC/26/0007")
    outside = dataclasses.replace(facts, reported_at=START - timedelta(days=91))
    assert "REPEAT_PAIR" not in codes(outside)
    # a breach crime of the pair counts even when the original is older
    with_breach = dataclasses.replace(outside, breaches=(
        BreachFact("BR/9", START - timedelta(days=3), START - timedelta(days=2), "RO", "NC/26/0011"),))
    assert hit(with_breach, "REPEAT_PAIR").startswith(
        "2 crimes for this victim and suspect in 90 days (NC/26/0011, NC/26/0007)")
    assert "REPEAT_PAIR" not in codes(dataclasses.replace(facts, has_suspect=False))


def test_repeat_pair_old_repeat_only_when_policy_says_so() -> None:
    old = quiet(reported_at=START - timedelta(days=40),
                pair_crimes=(PairCrimeFact("NC/26/0007", START - timedelta(days=10), "harassment"),))
    assert "REPEAT_PAIR" not in codes(old)  # nothing new since the last meeting
    every_day = policy_from_mapping({"dmm": {"repeat_pair_new_only": False}})
    assert "REPEAT_PAIR" in codes(old, policy=every_day)


def test_pin_recorded() -> None:
    assert hit(quiet(pin_issued=True), "PIN_RECORDED") == (
        "a Police Information Notice is recorded instead of an investigation")


def test_action_overdue() -> None:
    action = ActionFact("Refer victim to ISAC", "PC Hebden", utc(2026, 2, 27, 17, 0))
    assert hit(quiet(overdue_actions=(action,)), "ACTION_OVERDUE") == (
        "'Refer victim to ISAC' (PC Hebden) was due Fri 27/02 17:00")
    later = ActionFact("Consider SPO", "DS Lowther", utc(2026, 3, 1, 12, 0))
    two = hit(quiet(overdue_actions=(later, action)), "ACTION_OVERDUE")
    assert two == "2 actions overdue; first: 'Refer victim to ISAC' (PC Hebden) was due Fri 27/02 17:00"
    not_yet = ActionFact("Visit victim", "PC Hebden", START + timedelta(hours=1))
    assert "ACTION_OVERDUE" not in codes(quiet(overdue_actions=(not_yet,)))


def test_carried_over() -> None:
    assert hit(quiet(carried_from=date(2026, 2, 27)), "CARRIED_OVER") == (
        "not discussed at the meeting of Fri 27/02/2026")


def test_case_on_the_agenda_for_several_reasons_ranks_by_weight() -> None:
    facts = quiet(
        principal_code="8Q", principal_family="stalking", families=frozenset({"stalking"}),
        reported_at=utc(2026, 2, 28, 9, 0), risk_level=None, risk_assessed_at=None,
        risk_review_due=None, assessments=(), pin_issued=True, team="Response",
        breaches=(BreachFact("BR/5", utc(2026, 3, 1, 20, 0), None, "NMO", "NC/26/0002"),),
    )
    assert codes(facts) == ["BREACH", "REPEAT_PAIR", "PIN_RECORDED", "NEW_CRIME"]
    score = priority(codes(facts), facts.risk_level, POLICY)
    # BREACH 40 + REPEAT_PAIR 12 + PIN 8 + NEW_CRIME 6 + unassessed 8
    assert score.score == 74
    assert score.explanation == (
        "BREACH +40, REPEAT_PAIR +12, PIN_RECORDED +8, NEW_CRIME +6, unassessed risk +8 = 74")


def test_disabled_reason_does_not_fire() -> None:
    policy = policy_from_mapping({"dmm": {"enabled_reasons": ["BREACH"]}})
    assert codes(quiet(pin_issued=True), policy=policy) == []


def test_priority_uses_policy_weights_and_tie_break() -> None:
    policy = policy_from_mapping({"dmm": {"weights": {"PIN_RECORDED": 50},
                                          "risk_weights": {"high": 1}}})
    assert priority(["PIN_RECORDED"], "high", policy).score == 51
    a = rank_key(40, utc(2026, 2, 1), "NC/2")
    b = rank_key(40, utc(2026, 2, 1), "NC/1")
    c = rank_key(40, utc(2026, 1, 1), "NC/9")
    d = rank_key(41, utc(2026, 2, 1), "NC/9")
    assert sorted([a, b, c, d]) == [d, c, b, a]


@pytest.mark.parametrize("code", REASON_ORDER)
def test_every_reason_has_words_a_chip_and_a_weight(code: str) -> None:
    assert REASON_TITLES[code] and REASON_SHORT[code]
    assert code in POLICY.dmm.weights
    assert Reason(code).value == code


def test_working_deadline_cutoff_matches_the_rule_day_by_day() -> None:
    # For every report time in February 2026 (hourly), "reported before the
    # cutoff" must equal "the rule says the Victims' Code deadline has passed".
    for meeting in (MONDAY, date(2026, 3, 3), date(2026, 4, 7)):
        start = meeting_start(meeting, POLICY)
        cutoff = working_deadline_cutoff(start, 2, POLICY)
        moment = start - timedelta(days=20)
        while moment < start:
            facts = quiet(reported_at=moment, needs_assessed_at=None, first_referral_at=utc(2026, 1, 1))
            fired = victim_not_referred(facts, MeetingFrame.for_date(meeting, POLICY), POLICY)
            assert (fired is not None) == (moment < cutoff), (meeting, moment, cutoff)
            moment += timedelta(minutes=37)
    # Monday 2 March 08:00: Wednesday's reports are late, Thursday's not yet
    assert working_deadline_cutoff(START, 2, POLICY) == utc(2026, 2, 26, 0, 0)


def test_dates_of_another_year_carry_the_year() -> None:
    old = BreachFact("BR/24/1", utc(2024, 6, 24, 11, 28), None, "NMO", "NC/24/2")
    assert hit(quiet(breaches=(old,)), "BREACH") == (
        "breach BR/24/1 of NMO reported Mon 24/06/2024 12:28, not acknowledged")  # BST
