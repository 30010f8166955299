"""The Victims' Code clocks and routes (app.rules.victim_care)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from app.policy import default_policy, policy_from_mapping
from app.rules.victim_care import (
    CareFacts,
    CareGapCode,
    ReferralFact,
    care_state,
    route_for,
    update_due,
)

POLICY = default_policy()
# Tuesday 3 February 2026, 10:00 (GMT)
REPORTED = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def facts(**values: object) -> CareFacts:
    base = CareFacts(crime_ref="CR-1", reported_at=REPORTED, families=frozenset({"stalking"}),
                     risk_level="medium", domestic_abuse=True, open=True,
                     needs_assessed_at=REPORTED, last_update_at=NOW - timedelta(hours=1),
                     vps_offered_at=REPORTED)
    return replace(base, **values)  # type: ignore[arg-type]


def referral(service: str, days: int = 1, outcome: str = "accepted") -> ReferralFact:
    return ReferralFact(service, REPORTED + timedelta(days=days), outcome)


def test_consent_refused_leaves_nothing_outstanding_and_is_counted_apart() -> None:
    state = care_state(facts(consent=False), NOW, POLICY)
    assert state.consent_refused and not state.referred
    assert CareGapCode.REFERRAL_LATE not in state.codes
    # not yet asked: the referral is late
    assert CareGapCode.REFERRAL_LATE in care_state(facts(consent=None), NOW, POLICY).codes


def test_a_referral_the_victim_later_declined_is_still_a_referral() -> None:
    state = care_state(facts(consent=False, referrals=(referral("ISAC", outcome="declined"),)),
                       NOW, POLICY)
    assert state.referred and not state.consent_refused and state.gaps == ()


def test_the_helpline_is_signposting_not_a_referral() -> None:
    state = care_state(facts(referrals=(referral("HELPLINE"),)), NOW, POLICY)
    (gap,) = state.gaps
    assert gap.code == CareGapCode.REFERRAL_LATE and not state.referred
    assert gap.explanation == ("no referral to specialist support (ISAC, ISHA or PALADIN) by "
                               "05/02/2026 23:59; signposted to HELPLINE, which is not a referral")


def test_the_local_service_is_a_referral_but_not_specialist_support() -> None:
    (gap,) = care_state(facts(referrals=(referral("LOCAL"),)), NOW, POLICY).gaps
    assert gap.explanation.endswith("; LOCAL is not specialist support")


def test_the_referral_clock_is_two_working_days() -> None:
    # Friday 6 February 2026 report: due by the end of Tuesday 10th
    friday = datetime(2026, 2, 6, 16, 0, tzinfo=UTC)
    case = facts(reported_at=friday, needs_assessed_at=friday)
    assert care_state(case, datetime(2026, 2, 10, 23, 0, tzinfo=UTC), POLICY).gaps == ()
    late = care_state(case, datetime(2026, 2, 11, 0, 1, tzinfo=UTC), POLICY)
    assert late.codes == (CareGapCode.REFERRAL_LATE,)


def test_the_specialist_route_is_checked_against_the_policy() -> None:
    high_da = facts(risk_level="high", domestic_abuse=True)
    assert route_for(high_da, POLICY).name == "high_risk_domestic_stalking"  # type: ignore[union-attr]
    assert care_state(replace(high_da, referrals=(referral("PALADIN"),)), NOW, POLICY).gaps == ()
    (gap,) = care_state(replace(high_da, referrals=(referral("ISHA"),)), NOW, POLICY).gaps
    assert (gap.code, gap.explanation) == (
        CareGapCode.REFERRAL_OFF_ROUTE,
        "referred to ISHA; High-risk domestic-abuse stalking: automatic referral to Paladin "
        "or an ISAC (high_risk_domestic_stalking)")
    non_domestic = facts(domestic_abuse=False, referrals=(referral("ISAC"),))
    (gap,) = care_state(non_domestic, NOW, POLICY).gaps
    assert gap.code == CareGapCode.REFERRAL_OFF_ROUTE and "ISHA screening" in gap.explanation
    # medium-risk domestic stalking has no route: any specialist service will do
    assert route_for(facts(), POLICY) is None
    assert care_state(facts(referrals=(referral("ISHA"),)), NOW, POLICY).gaps == ()
    # a late referral names the route's services
    (gap,) = care_state(high_da, NOW, POLICY).gaps
    assert "(ISAC or PALADIN)" in gap.explanation


def test_pending_referrals_age_and_surface_after_the_policy_days() -> None:
    fresh = referral("ISAC", days=1, outcome="pending")  # 4 February
    assert care_state(facts(referrals=(fresh,)), fresh.referred_at + timedelta(days=14),
                      POLICY).gaps == ()
    (gap,) = care_state(facts(referrals=(fresh,)), fresh.referred_at + timedelta(days=15),
                        POLICY).gaps
    assert (gap.code, gap.explanation) == (
        CareGapCode.REFERRAL_PENDING, "referral to ISAC of 04/02/2026 still pending after 15 days")
    strict = policy_from_mapping({"victims_code": {"referral_pending_days": 3}})
    assert care_state(facts(referrals=(fresh,)), fresh.referred_at + timedelta(days=4),
                      strict).codes == (CareGapCode.REFERRAL_PENDING,)


def test_enhanced_rights_drive_the_update_clock() -> None:
    # last update Tuesday 3 February: enhanced rights due Wednesday, else the next Tuesday
    last = datetime(2026, 2, 3, 15, 0, tzinfo=UTC)
    enhanced = facts(enhanced_rights=True, last_update_at=last,
                     referrals=(referral("ISAC"),))
    standard = replace(enhanced, enhanced_rights=False)
    assert update_due(enhanced, POLICY) == datetime(2026, 2, 4, 23, 59, 59, tzinfo=UTC)
    assert update_due(standard, POLICY) == datetime(2026, 2, 10, 23, 59, 59, tzinfo=UTC)
    thursday = datetime(2026, 2, 5, 9, 0, tzinfo=UTC)
    (gap,) = care_state(enhanced, thursday, POLICY).gaps
    assert (gap.code, gap.explanation) == (
        CareGapCode.UPDATE_LATE,
        "investigation update due by 04/02/2026 23:59 (enhanced rights: every 1 working day; "
        "last update 03/02/2026 15:00)")
    assert care_state(standard, thursday, POLICY).gaps == ()
    # a closed case is not updated
    assert care_state(replace(enhanced, open=False), thursday, POLICY).gaps == ()


def test_the_vps_offer_is_tracked() -> None:
    case = facts(vps_offered_at=None, referrals=(referral("ISAC"),))
    assert CareGapCode.VPS_NOT_OFFERED not in care_state(
        case, REPORTED + timedelta(days=27), POLICY).codes
    state = care_state(case, REPORTED + timedelta(days=29), POLICY)
    assert CareGapCode.VPS_NOT_OFFERED in state.codes


def test_the_needs_assessment_clock() -> None:
    (gap, *_rest) = care_state(facts(needs_assessed_at=None, referrals=(referral("ISAC"),)),
                               NOW, POLICY).gaps
    assert (gap.code, gap.explanation) == (CareGapCode.NEEDS_ASSESSMENT_LATE,
                                           "no victim needs assessment (due by 05/02/2026 23:59)")
