"""DMM rules: the meeting calendar, one test per reason code, and the priority."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.policy import default_policy, policy_from_mapping
from app.rules.dmm import (
    MeetingFrame,
    crossing_on_agenda,
    gap_may_reach_meeting,
    is_meeting_day,
    meeting_date_for,
    meeting_start,
    meeting_window,
    next_meeting_date,
    previous_meeting_date,
    priority,
    rank_key,
    reasons_for,
    standing_gaps,
    upcoming_meeting_date,
    victim_not_referred_gap,
    working_deadline_cutoff,
)
from app.rules.dmm_facts import (
    ActionFact,
    AssessmentFact,
    BreachFact,
    CaseFacts,
    NotificationFact,
    PairCrimeFact,
    StandingGap,
)
from app.rules.dmm_reasons import REASON_ORDER, REASON_SHORT, REASON_TITLES, Reason
from app.rules.dmm_words import needs_decision

POLICY = default_policy()
MONDAY = date(2026, 3, 2)
# Monday 2 March 2026 08:00 GMT (= UTC): the meeting starts; it covers from Friday 08:00.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
FRIDAY_START = datetime(2026, 2, 27, 8, 0, tzinfo=UTC)
# The database took its first extract three weeks ago: events and thresholds since count.
EPOCH = START - timedelta(days=21)
FRAME = MeetingFrame.for_date(MONDAY, POLICY, EPOCH)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def quiet(**changes: object) -> CaseFacts:
    """A harassment case a month old, from before the first extract, that needs
    nothing: assessed, referred, allocated as policy says."""
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
    friday_early = dataclasses.replace(saturday, reported_at=utc(2026, 2, 27, 7, 59),
                                       last_decided_at=utc(2026, 2, 27, 8, 25))
    assert "NEW_CRIME" not in codes(friday_early)  # Friday's meeting decided on it
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


# --- meeting items ------------------------------------------------------


def frame_on(day: date, epoch: datetime | None = EPOCH) -> MeetingFrame:
    return MeetingFrame.for_date(day, POLICY, epoch)


TUESDAY, WEDNESDAY, THURSDAY = date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5)


def test_quiet_case_has_no_reason() -> None:
    assert codes(quiet()) == []


def test_new_crime_only_for_agenda_families() -> None:
    new = quiet(reported_at=utc(2026, 3, 1, 10, 0))
    assert codes(new) == ["NEW_CRIME"]
    assert hit(new, "NEW_CRIME") == "harassment (8L) reported Sun 01/03 10:00"
    damage = quiet(reported_at=utc(2026, 3, 1, 10, 0), principal_code="58A",
                   principal_family="criminal damage", families=frozenset({"criminal damage"}))
    assert "NEW_CRIME" not in codes(damage)
    # ...unless stalking is included on the same report
    damage_stalking = dataclasses.replace(damage, families=frozenset({"criminal damage", "stalking"}))
    assert "NEW_CRIME" in codes(damage_stalking)


def test_an_undecided_item_stays_on_three_consecutive_days_until_decided() -> None:
    # reported on Sunday; no meeting decides on it on Monday, Tuesday or Wednesday
    new = quiet(reported_at=utc(2026, 3, 1, 10, 0))
    for day in (MONDAY, TUESDAY, WEDNESDAY):
        assert "NEW_CRIME" in codes(new, frame_on(day)), day
    assert hit(new, "NEW_CRIME", frame_on(TUESDAY)).endswith("no decision yet")
    # Wednesday's meeting decides: Thursday's agenda no longer carries it
    decided = dataclasses.replace(new, last_decided_at=utc(2026, 3, 4, 8, 20))
    assert codes(decided, frame_on(THURSDAY)) == []
    # a decision taken before the crime was reported does not cover it
    earlier = dataclasses.replace(new, last_decided_at=utc(2026, 2, 27, 8, 20))
    assert "NEW_CRIME" in codes(earlier, frame_on(THURSDAY))


def test_events_before_the_first_extract_reach_only_its_first_meeting_window() -> None:
    # first extract on Monday 2 March at 06:00: Monday's meeting sees the weekend
    epoch = utc(2026, 3, 2, 6, 0)
    weekend = quiet(reported_at=utc(2026, 2, 28, 9, 0))
    assert "NEW_CRIME" in codes(weekend, frame_on(MONDAY, epoch))
    assert "NEW_CRIME" in codes(weekend, frame_on(TUESDAY, epoch))  # carried: undecided
    thursday_before = quiet(reported_at=utc(2026, 2, 26, 9, 0))
    assert "NEW_CRIME" not in codes(thursday_before, frame_on(MONDAY, epoch))
    # without any extract, an undecided event always counts
    assert "NEW_CRIME" in codes(thursday_before, frame_on(MONDAY, None))
    assert needs_decision(utc(2026, 2, 26, 9), None, frame_on(MONDAY, None))


def breach_on(**changes: object) -> BreachFact:
    base = BreachFact("BR/26/0004", utc(2026, 2, 28, 14, 10), None, "RO", "RO/25/0007",
                      "NC/24/0099", "closed")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def breach_crime(*breaches: BreachFact, **changes: object) -> CaseFacts:
    """The breach's own crime: reported when the breach was."""
    first = breaches[0].reported_at if breaches else START - timedelta(days=1)
    return quiet(crime_ref="NC/26/0500", principal_code="BRO", principal_family="breach",
                 families=frozenset({"breach"}), reported_at=first, breaches=breaches,
                 risk_level=None, risk_assessed_at=None, risk_review_due=None, assessments=(),
                 **changes)


def test_breach_on_a_closed_original_case_is_an_item_on_its_own_crime() -> None:
    facts = breach_crime(breach_on())
    assert codes(facts)[:1] == ["BREACH"] and "NEW_CRIME" in codes(facts)
    assert hit(facts, "BREACH") == (
        "breach BR/26/0004 of RO RO/25/0007 reported Sat 28/02 14:10 "
        "(original crime NC/24/0099, closed); not acknowledged; "
        "suspect not arrested for it (outstanding?)")


def test_breach_reported_since_last_meeting_or_unacknowledged() -> None:
    recent = breach_on(reported_at=utc(2026, 3, 1, 9, 0), acknowledged_at=utc(2026, 3, 1, 10, 0))
    assert hit(breach_crime(recent), "BREACH").startswith("breach BR/26/0004 of RO RO/25/0007 "
                                                          "reported Sun 01/03 09:00")
    old_unack = breach_on(reported_at=utc(2025, 11, 10, 9, 0))
    assert "not acknowledged" in hit(breach_crime(old_unack), "BREACH")
    old_ack = dataclasses.replace(old_unack, acknowledged_at=utc(2025, 11, 10, 12, 0))
    assert "BREACH" not in codes(breach_crime(old_ack))
    # acknowledged after the meeting began: still this meeting's item
    during = dataclasses.replace(old_unack, acknowledged_at=START + timedelta(minutes=20))
    assert "; acknowledged since the meeting began" in hit(breach_crime(during), "BREACH")
    # an arrest for the breach before the meeting: the suspect is not outstanding
    arrested = dataclasses.replace(old_unack, arrested_at=utc(2025, 11, 10, 15, 0))
    assert "suspect not arrested" not in hit(breach_crime(arrested), "BREACH")


def test_breach_item_shows_the_re_assessment_due() -> None:
    facts = breach_crime(breach_on(), reassessment_due_at=utc(2026, 3, 1, 14, 10))
    assert hit(facts, "BREACH").endswith("re-assessment due by Sun 01/03 14:10")


def test_high_risk_new_raised_and_without_plan_in_its_first_days() -> None:
    new = AssessmentFact(utc(2026, 2, 28, 11, 0), "high", "high", utc(2026, 3, 7, 11), True)
    facts = quiet(risk_level="high", assessments=(new,), risk_assessed_at=new.assessed_at,
                  risk_review_due=new.review_due, team="CID")
    assert hit(facts, "HIGH_RISK") == "new high risk, assessed Sat 28/02 11:00"
    earlier = AssessmentFact(utc(2026, 2, 1), "medium", "medium", utc(2026, 3, 1), True)
    raised = dataclasses.replace(facts, assessments=(earlier, new))
    assert hit(raised, "HIGH_RISK") == "risk raised to high from medium, Sat 28/02 11:00"
    no_plan = dataclasses.replace(facts, assessments=(dataclasses.replace(new, has_plan=False),))
    assert hit(no_plan, "HIGH_RISK") == (
        "new high risk, assessed Sat 28/02 11:00; "
        "high risk without a risk management plan (assessed Sat 28/02 11:00)")
    # decided on at Monday's meeting: gone on Tuesday
    seen = dataclasses.replace(facts, last_decided_at=utc(2026, 3, 2, 8, 30))
    assert "HIGH_RISK" not in codes(seen, frame_on(TUESDAY))


def test_high_risk_without_a_plan_after_its_first_days_is_a_standing_gap() -> None:
    old = AssessmentFact(utc(2026, 2, 20), "high", "high", utc(2026, 2, 27), False)
    facts = quiet(risk_level="high", assessments=(old,), risk_assessed_at=old.assessed_at,
                  risk_review_due=utc(2026, 3, 20), team="CID")
    assert "HIGH_RISK" in codes(facts)  # undecided since it became high
    decided = dataclasses.replace(facts, last_decided_at=utc(2026, 2, 21, 8, 30))
    assert "HIGH_RISK" not in codes(decided)
    gap = [g for g in standing_gaps(decided, FRAME, POLICY) if g.code == "NO_RISK_PLAN"][0]
    assert gap.crossed_at == utc(2026, 2, 23) and gap.second_at == utc(2026, 3, 2)
    # crossed on 23/02 after Saturday's decision; its second threshold on 02/03 00:00
    assert hit(decided, "NO_RISK_PLAN") == (
        "high risk since Fri 20/02 without a risk management plan; "
        "crossed its second threshold Mon 02/03")


def test_a_level_lowered_from_high_waits_for_approval_on_the_agenda() -> None:
    lowered = AssessmentFact(utc(2026, 3, 1, 15, 0), "medium", "medium", utc(2026, 3, 29), True,
                             approval_required=True)
    earlier = AssessmentFact(utc(2026, 2, 20), "high", "high", utc(2026, 2, 27), True)
    facts = quiet(risk_level="high", assessments=(earlier, lowered),
                  risk_assessed_at=lowered.assessed_at)
    assert hit(facts, "RISK_BELOW_SUGGESTION") == (
        "level lowered to medium, Sun 01/03 15:00; waiting for a second supervisor's approval")
    approved = dataclasses.replace(facts, assessments=(earlier, dataclasses.replace(
        lowered, approved=True)))
    assert "RISK_BELOW_SUGGESTION" not in codes(approved)


def test_a_level_set_below_the_suggestion_is_seen_once() -> None:
    below = AssessmentFact(utc(2026, 3, 1, 15, 0), "standard", "high", utc(2026, 5, 30), True)
    facts = quiet(risk_level="standard", assessments=(below,), risk_assessed_at=below.assessed_at)
    assert hit(facts, "RISK_BELOW_SUGGESTION") == (
        "level set standard below the checklist's suggested high, Sun 01/03 15:00")
    approved = dataclasses.replace(facts, assessments=(dataclasses.replace(below, approved=True),))
    assert "RISK_BELOW_SUGGESTION" not in codes(approved)
    seen = dataclasses.replace(facts, last_decided_at=utc(2026, 3, 2, 8, 40))
    assert "RISK_BELOW_SUGGESTION" not in codes(seen, frame_on(TUESDAY))
    at_suggestion = dataclasses.replace(facts, assessments=(dataclasses.replace(
        below, level="high"),), risk_level="high")
    assert "RISK_BELOW_SUGGESTION" not in codes(at_suggestion)


def test_allocation_contrary_to_policy_on_a_new_case() -> None:
    # high-risk domestic-abuse stalking held by Response instead of CID
    stalking = quiet(principal_code="8Q", principal_family="stalking", families=frozenset({"stalking"}),
                     risk_level="high", domestic_abuse=True, team="Response", spo_status="applied",
                     reported_at=utc(2026, 2, 28, 10, 0))
    assert hit(stalking, "ALLOCATION_CONTRARY_TO_POLICY") == (
        "held by Response; High-risk domestic-abuse stalking is allocated to CID (CID)")
    assert "ALLOCATION_CONTRARY_TO_POLICY" not in codes(dataclasses.replace(stalking, team="CID"))
    # an older case, decided on at a meeting: not again
    decided = dataclasses.replace(stalking, last_decided_at=utc(2026, 3, 2, 8, 10))
    assert "ALLOCATION_CONTRARY_TO_POLICY" not in codes(decided, frame_on(TUESDAY))


def test_repeat_pair_with_no_stored_earlier_meeting() -> None:
    # the second crime of the pair was reported last week; no meeting was held
    # (or stored) since: the pair is on the agenda, on its latest crime
    second = quiet(crime_ref="NC/26/0007", reported_at=utc(2026, 2, 24, 9, 0),
                   pair_crimes=(PairCrimeFact("NC/26/0001", utc(2026, 1, 20), "harassment"),))
    assert hit(second, "REPEAT_PAIR") == (
        "2 crimes for this victim and suspect in 90 days (NC/26/0001, NC/26/0007); "
        "no meeting has decided on the pair")
    first = quiet(crime_ref="NC/26/0001", reported_at=utc(2026, 1, 20),
                  pair_crimes=(PairCrimeFact("NC/26/0007", utc(2026, 2, 24, 9, 0), "harassment"),))
    assert "REPEAT_PAIR" not in codes(first)  # the latest crime carries it
    # a decision on any crime of the pair since the latest crime closes it
    decided = dataclasses.replace(second, pair_decided_at=utc(2026, 2, 25, 8, 15))
    assert "REPEAT_PAIR" not in codes(decided)
    outside = dataclasses.replace(second, pair_crimes=(
        PairCrimeFact("NC/26/0001", utc(2025, 10, 1), "harassment"),))
    assert "REPEAT_PAIR" not in codes(outside)
    assert "REPEAT_PAIR" not in codes(dataclasses.replace(second, has_suspect=False))


def test_pin_recorded_until_a_meeting_decides() -> None:
    pin = quiet(pin_issued=True, reported_at=utc(2026, 2, 20))
    assert hit(pin, "PIN_RECORDED") == (
        "a Police Information Notice is recorded instead of an investigation")
    assert "PIN_RECORDED" not in codes(dataclasses.replace(pin, last_decided_at=utc(2026, 2, 23)))


def test_actions_due_or_overdue_name_their_owner_until_completed() -> None:
    action = ActionFact("Refer victim to ISAC", "PC Hebden", utc(2026, 2, 27, 17, 0))
    assert hit(quiet(open_actions=(action,)), "ACTION_OVERDUE") == (
        "'Refer victim to ISAC' (PC Hebden) was due Fri 27/02 17:00")
    today = ActionFact("Visit victim", "DS Lowther", START + timedelta(hours=3))
    both = hit(quiet(open_actions=(today, action)), "ACTION_OVERDUE")
    assert both == ("2 actions (1 overdue): 'Refer victim to ISAC' (PC Hebden) was due "
                    "Fri 27/02 17:00; 'Visit victim' (DS Lowther) due Mon 02/03 11:00")
    later = ActionFact("Review", "PC Hebden", START + timedelta(days=3))
    assert "ACTION_OVERDUE" not in codes(quiet(open_actions=(later,)))
    # completing the action (it is no longer open) takes the case off
    assert "ACTION_OVERDUE" not in codes(quiet(open_actions=()))


def test_carried_over() -> None:
    assert hit(quiet(carried_from=date(2026, 2, 27)), "CARRIED_OVER") == (
        "on the agenda of Fri 27/02/2026, no decision recorded since")


# --- standing gaps ------------------------------------------------------


def unassessed(**changes: object) -> CaseFacts:
    return quiet(risk_level=None, risk_assessed_at=None, risk_review_due=None, assessments=(),
                 **changes)


def test_a_standing_item_crosses_its_first_then_its_second_threshold() -> None:
    # reported Thursday 26/02 09:00: no assessment by Saturday 09:00 (2 days)
    case = unassessed(reported_at=utc(2026, 2, 26, 9, 0))
    gap = [g for g in standing_gaps(case, FRAME, POLICY) if g.code == "NO_RISK_ASSESSMENT"][0]
    assert gap == StandingGap("NO_RISK_ASSESSMENT", utc(2026, 2, 28, 9), utc(2026, 3, 5, 9),
                              "harassment case 3 days old with no risk assessment "
                              "(policy: 2 days)")
    # Monday: it crossed its first threshold on Saturday, undecided: on the agenda
    assert hit(case, "NO_RISK_ASSESSMENT") == (
        "harassment case 3 days old with no risk assessment (policy: 2 days); "
        "crossed its first threshold Sat 28/02")
    # Monday's meeting decides (e.g. to the work queue): off Tuesday to Thursday
    decided = dataclasses.replace(case, last_decided_at=utc(2026, 3, 2, 8, 30))
    for day in (TUESDAY, WEDNESDAY, THURSDAY):
        assert "NO_RISK_ASSESSMENT" not in codes(decided, frame_on(day)), day
    # the second, stricter threshold (7 days) passes Thursday 09:00: back on Friday
    friday = frame_on(date(2026, 3, 6))
    assert hit(decided, "NO_RISK_ASSESSMENT", friday).endswith(
        "crossed its second threshold Thu 05/03")
    assert crossing_on_agenda(gap, decided.last_decided_at, friday) == utc(2026, 3, 5, 9)


def test_thresholds_crossed_before_the_first_extract_stay_on_the_work_queue() -> None:
    case = unassessed(reported_at=utc(2026, 2, 10, 9, 0))
    late_import = frame_on(MONDAY, utc(2026, 3, 1))
    assert "NO_RISK_ASSESSMENT" not in codes(case, late_import)
    # ...but the gap is open: the team's work queue holds it
    assert "NO_RISK_ASSESSMENT" in [g.code for g in standing_gaps(case, late_import, POLICY)]


def test_no_risk_assessment_only_for_stalking_and_harassment() -> None:
    late = unassessed(reported_at=START - timedelta(days=5))
    assert "NO_RISK_ASSESSMENT" in codes(late)
    on_time = unassessed(reported_at=START - timedelta(days=1, hours=23))
    assert "NO_RISK_ASSESSMENT" not in codes(on_time)
    malicious = dataclasses.replace(late, principal_code="8R",
                                    principal_family="malicious communications",
                                    families=frozenset({"malicious communications"}))
    assert "NO_RISK_ASSESSMENT" not in codes(malicious)


def test_risk_review_and_re_assessment_overdue() -> None:
    due = quiet(risk_review_due=utc(2026, 2, 25))
    assert hit(due, "RISK_REVIEW_DUE") == (
        "review was due Wed 25/02; crossed its first threshold Wed 25/02")
    after_breach = quiet(reassessment_due_at=utc(2026, 2, 28, 15, 0))
    assert hit(after_breach, "RISK_REVIEW_DUE").startswith(
        "re-assessment after a breach was due Sat 28/02 15:00")
    not_yet = quiet(reassessment_due_at=START + timedelta(hours=5))
    assert "RISK_REVIEW_DUE" not in codes(not_yet)


def test_a_risk_management_plan_whose_review_date_passed_is_a_review_due() -> None:
    assessed = START - timedelta(days=29)
    plan = AssessmentFact(assessed, "standard", "standard", assessed + timedelta(days=90),
                          has_plan=True, plan_review_due=utc(2026, 2, 26))
    due = quiet(assessments=(plan,))
    assert hit(due, "RISK_REVIEW_DUE") == (
        "risk management plan review was due Thu 26/02; crossed its first threshold Thu 26/02")
    # an imported plan with a later review date, a plan with none, or a review
    # date on an assessment without a plan: nothing due
    later = dataclasses.replace(plan, plan_review_due=START + timedelta(days=3))
    undated = dataclasses.replace(plan, plan_review_due=None)
    no_plan = dataclasses.replace(plan, has_plan=False)
    for assessment in (later, undated, no_plan):
        assert "RISK_REVIEW_DUE" not in codes(quiet(assessments=(assessment,)))
    # a newer assessment replaces the plan's date with its own
    newer = AssessmentFact(START - timedelta(days=2), "standard", "standard",
                           START + timedelta(days=88), has_plan=True,
                           plan_review_due=START + timedelta(days=28))
    assert "RISK_REVIEW_DUE" not in codes(quiet(assessments=(plan, newer)))


def test_an_spo_subject_not_notified_in_time_is_a_meeting_item_until_notified_or_decided() -> None:
    served = utc(2026, 2, 25, 14, 0)
    order = NotificationFact("SPO/26/000123", "SPO", served, served + timedelta(days=3))
    late = quiet(notifications=(order,))
    assert hit(late, "SPO_NOTIFICATION_OVERDUE") == (
        "SPO SPO/26/000123 served Wed 25/02: the subject has not notified name and address "
        "(due Sat 28/02 14:00; failing to notify is an offence)")
    # notified before the meeting, even late: nothing to decide
    notified = dataclasses.replace(order, notified_at=utc(2026, 3, 1, 9, 0))
    assert "SPO_NOTIFICATION_OVERDUE" not in codes(quiet(notifications=(notified,)))
    # notified after the meeting began: still on this meeting's agenda
    during = dataclasses.replace(order, notified_at=START + timedelta(minutes=30))
    assert "SPO_NOTIFICATION_OVERDUE" in codes(quiet(notifications=(during,)))
    # not yet due at the meeting's start
    young = dataclasses.replace(order, due_at=START + timedelta(hours=2))
    assert "SPO_NOTIFICATION_OVERDUE" not in codes(quiet(notifications=(young,)))
    # a meeting decided on the case after it fell due; a decision before does not count
    assert "SPO_NOTIFICATION_OVERDUE" not in codes(
        quiet(notifications=(order,), last_decided_at=utc(2026, 2, 28, 15, 0)))
    assert "SPO_NOTIFICATION_OVERDUE" in codes(
        quiet(notifications=(order,), last_decided_at=utc(2026, 2, 27, 9, 0)))


def test_spo_not_considered_goes_to_the_orders_desk_after_policy_days() -> None:
    stalking = quiet(principal_code="8Q", principal_family="stalking", families=frozenset({"stalking"}),
                     reported_at=START - timedelta(days=20), team="CID")
    gaps = {g.code: g for g in standing_gaps(stalking, FRAME, POLICY)}
    assert gaps["SPO_NOT_CONSIDERED"].explanation == (
        "stalking case 20 days old with no SPO decision (policy: 14 days)")
    assert "SPO_NOT_CONSIDERED" in codes(stalking)  # crossed 6 days ago, undecided
    assert "SPO_NOT_CONSIDERED" not in codes(dataclasses.replace(stalking, spo_status="applied"))
    young = dataclasses.replace(stalking, reported_at=START - timedelta(days=13))
    assert "SPO_NOT_CONSIDERED" not in codes(young)


def test_victim_not_referred_in_working_days() -> None:
    # Reported Wednesday 25 Feb 10:00: needs assessment and referral due by the
    # end of Friday 27 Feb (2 working days).
    reported = utc(2026, 2, 25, 10, 0)
    neither = quiet(reported_at=reported, needs_assessed_at=None, first_referral_at=None,
                    last_decided_at=utc(2026, 2, 26, 8, 30))
    assert hit(neither, "VICTIM_NOT_REFERRED").startswith(
        "no victim needs assessment (due by Fri 27/02); "
        "no referral to support services (due by Fri 27/02)")
    assessed_only = dataclasses.replace(neither, needs_assessed_at=reported + timedelta(hours=5))
    assert hit(assessed_only, "VICTIM_NOT_REFERRED").startswith(
        "no referral to support services (due by Fri 27/02)")
    # Reported Thursday 26 Feb: due end of Monday 2 Mar, not yet late at 08:00 Monday.
    thursday = dataclasses.replace(neither, reported_at=utc(2026, 2, 26, 10, 0))
    assert "VICTIM_NOT_REFERRED" not in codes(thursday)


def test_case_on_the_agenda_for_several_reasons_ranks_by_weight() -> None:
    facts = breach_crime(
        breach_on(reported_at=utc(2026, 3, 1, 20, 0), order_kind="NMO"),
        pin_issued=True, team="Response", original_team="Response",
        pair_crimes=(PairCrimeFact("NC/26/0002", utc(2026, 2, 1), "stalking"),),
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
            fired = victim_not_referred_gap(facts, MeetingFrame.for_date(meeting, POLICY), POLICY)
            assert (fired is not None) == (moment < cutoff), (meeting, moment, cutoff)
            moment += timedelta(minutes=37)
    # Monday 2 March 08:00: Wednesday's reports are late, Thursday's not yet
    assert working_deadline_cutoff(START, 2, POLICY) == utc(2026, 2, 26, 0, 0)


def test_dates_of_another_year_carry_the_year() -> None:
    old = BreachFact("BR/24/1", utc(2024, 6, 24, 11, 28), None, "NMO", "NMO/24/2")
    assert hit(breach_crime(old), "BREACH") == (
        "breach BR/24/1 of NMO NMO/24/2 reported Mon 24/06/2024 12:28; not acknowledged; "
        "suspect not arrested for it (outstanding?)")  # BST


def test_every_reason_has_a_fixed_bit_and_is_a_meeting_item_or_a_standing_gap() -> None:
    from app.rules.dmm import AGENDA_RULES, GAP_RULES
    from app.rules.dmm_reasons import AGENDA_REASONS, REASON_BITS, STANDING_REASONS

    assert set(REASON_BITS) == set(Reason) == AGENDA_REASONS | STANDING_REASONS
    assert not AGENDA_REASONS & STANDING_REASONS
    assert set(AGENDA_RULES) == AGENDA_REASONS and set(GAP_RULES) == STANDING_REASONS
    bits = list(REASON_BITS.values())
    assert len(set(bits)) == len(bits) and all(b & (b - 1) == 0 for b in bits)
    # stored agendas keep their meaning: the first twelve bits never move
    assert REASON_BITS["NEW_CRIME"] == 1 and REASON_BITS["CARRIED_OVER"] == 1 << 11


def test_reason_codes_read_in_words_where_people_read_them() -> None:
    from app.rules.dmm_reasons import REASON_NAMES, REASON_TITLES, in_words

    assert set(REASON_NAMES) == set(REASON_TITLES)  # every reason has a name
    assert in_words("BREACH +40, ALLOCATION_CONTRARY_TO_POLICY +10, high risk +30 = 80") == (
        "Breach +40, Allocation against policy +10, high risk +30 = 80")
    assert in_words("see NC/26/0001 and RMS_ID") == "see NC/26/0001 and RMS_ID"  # not a reason


# --- standing gaps settled from the report alone ----------------------------------

REPORT_TIMED = (Reason.NO_RISK_ASSESSMENT, Reason.SPO_NOT_CONSIDERED, Reason.VICTIM_NOT_REFERRED)


def _gap_open_on(reported_at: datetime, **changes: object) -> CaseFacts:
    """A stalking case with every gap timed from its report still open."""
    open_gaps: dict[str, object] = {
        "reported_at": reported_at, "principal_code": "8Q", "principal_family": "stalking",
        "families": frozenset({"stalking"}), "spo_status": "not_considered", "risk_level": None,
        "risk_assessed_at": None, "risk_review_due": None, "assessments": (),
        "needs_assessed_at": None, "first_referral_at": None}
    return quiet(**{**open_gaps, **changes})


@settings(max_examples=300, deadline=None)
@given(reported_hours=st.integers(min_value=0, max_value=24 * 60),
       epoch_hours=st.one_of(st.none(), st.integers(min_value=-24 * 40, max_value=24 * 40)),
       day=st.sampled_from([MONDAY, date(2026, 3, 3), date(2026, 3, 6), date(2026, 4, 7)]),
       decided_hours=st.one_of(st.none(), st.integers(min_value=1, max_value=24 * 60)),
       referred=st.booleans())
def test_a_gap_settled_from_the_report_never_had_a_crossing_to_give(
        reported_hours: int, epoch_hours: int | None, day: date, decided_hours: int | None,
        referred: bool) -> None:
    """Whenever the report alone says a gap cannot reach the meeting, the
    rules' own judgement of the case's facts agrees, whatever else is known."""
    start = meeting_start(day, POLICY)
    epoch = None if epoch_hours is None else start - timedelta(hours=epoch_hours)
    frame = MeetingFrame.for_date(day, POLICY, epoch)
    reported = start - timedelta(hours=reported_hours)
    decided = None if decided_hours is None else start - timedelta(hours=decided_hours)
    facts = _gap_open_on(reported, last_decided_at=decided,
                         needs_assessed_at=reported + timedelta(hours=1) if referred else None)
    for gap in standing_gaps(facts, frame, POLICY):
        if gap.code in REPORT_TIMED and not gap_may_reach_meeting(gap.code, reported, frame,
                                                                  POLICY):
            assert crossing_on_agenda(gap, decided, frame) is None


def test_gaps_crossed_before_the_first_extract_are_settled_without_the_facts() -> None:
    start = meeting_start(MONDAY, POLICY)
    frame = MeetingFrame.for_date(MONDAY, POLICY, start)  # first extract this morning
    old = start - timedelta(days=40)
    assert not any(gap_may_reach_meeting(code, old, frame, POLICY) for code in REPORT_TIMED)
    # reviews and plans are timed from the case's facts: never settled from the report
    assert gap_may_reach_meeting(Reason.RISK_REVIEW_DUE, old, frame, POLICY)
    assert gap_may_reach_meeting(Reason.NO_RISK_PLAN, old, frame, POLICY)
    # three weeks after the first extract a gap crossing since then still counts
    later = MeetingFrame.for_date(MONDAY, POLICY, start - timedelta(days=21))
    recent = start - timedelta(days=POLICY.dmm.risk_assessment_days + 2)
    assert gap_may_reach_meeting(Reason.NO_RISK_ASSESSMENT, recent, later, POLICY)
    gap = next(g for g in standing_gaps(_gap_open_on(recent), later, POLICY)
               if g.code == Reason.NO_RISK_ASSESSMENT)
    assert crossing_on_agenda(gap, None, later) is not None
    # no first extract recorded: every threshold counts
    assert gap_may_reach_meeting(Reason.NO_RISK_ASSESSMENT, old,
                                 MeetingFrame.for_date(MONDAY, POLICY, None), POLICY)
