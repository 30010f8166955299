"""The Victims' Code on one case, as the Code says (DOMAIN.md section 6).

Pure rules over a case's victim-care facts:

- **right 4, referral**: a victim is referred to specialist support within
  ``referral_working_days`` of the report. A referral to a specialist service
  counts whatever its outcome (a victim who later declines the service was
  still referred); signposting (the National Stalking Helpline) is not a
  referral. **Consent refused** (asked, declined) means nothing is
  outstanding: the victim is counted apart, never against the force.
- **the specialist route**: the policy's first matching route names the
  services a kind of case should go to (high-risk domestic-abuse stalking to
  Paladin or an ISAC, non-domestic stalking to ISHA screening); a referral
  elsewhere is reported with the route.
- **pending referrals age**: one still pending ``referral_pending_days``
  after it was made surfaces.
- **right 6, updates**: an open case's victim is updated within
  ``update_working_days_enhanced`` working days (enhanced rights) or
  ``update_working_days_standard`` (otherwise) of the report or of the last
  update.
- **right 7, the Victim Personal Statement**: offered within
  ``vps_offer_days`` of the report.

Every gap carries a stable code and a sentence, and its due time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.dates import add_working_days, format_local
from app.policy import CalendarPolicy, Policy, ReferralRoute, VictimsCodePolicy
from app.rules.case_criteria import covers
from models.enums import ReferralOutcome


class CareGapCode(StrEnum):
    NEEDS_ASSESSMENT_LATE = "NEEDS_ASSESSMENT_LATE"
    REFERRAL_LATE = "REFERRAL_LATE"
    REFERRAL_OFF_ROUTE = "REFERRAL_OFF_ROUTE"
    REFERRAL_PENDING = "REFERRAL_PENDING"
    UPDATE_LATE = "UPDATE_LATE"
    VPS_NOT_OFFERED = "VPS_NOT_OFFERED"


GAP_TEXT: dict[str, str] = {
    CareGapCode.NEEDS_ASSESSMENT_LATE: "victim not needs-assessed in Victims' Code time (right 4)",
    CareGapCode.REFERRAL_LATE: "victim not referred to specialist support in Victims' Code "
                               "time (right 4)",
    CareGapCode.REFERRAL_OFF_ROUTE: "victim referred outside the force's specialist route",
    CareGapCode.REFERRAL_PENDING: "referral still pending with the service",
    CareGapCode.UPDATE_LATE: "victim's investigation update is late (right 6)",
    CareGapCode.VPS_NOT_OFFERED: "Victim Personal Statement not offered (right 7)",
}


@dataclass(frozen=True)
class ReferralFact:
    service: str
    referred_at: datetime
    outcome: str


@dataclass(frozen=True)
class CareFacts:
    """What the rules read about one case and its victim."""

    crime_ref: str
    reported_at: datetime
    families: frozenset[str]  # of the principal and included classifications
    risk_level: str | None
    domestic_abuse: bool
    open: bool
    enhanced_rights: bool = True
    needs_assessed_at: datetime | None = None
    rights_explained_at: datetime | None = None
    consent: bool | None = None  # True given, False asked and refused, None not yet asked
    consent_at: datetime | None = None
    last_update_at: datetime | None = None
    vps_offered_at: datetime | None = None
    referrals: tuple[ReferralFact, ...] = ()


@dataclass(frozen=True)
class CareGap:
    code: str
    explanation: str
    due_at: datetime | None = None


@dataclass(frozen=True)
class CareState:
    """The Victims' Code on the case now: what is outstanding, and how the
    victim is counted for rec 14.5."""

    gaps: tuple[CareGap, ...]
    referred: bool  # referred to a specialist service (whatever the outcome)
    consent_refused: bool  # asked, declined and not referred: nothing outstanding
    route: ReferralRoute | None
    update_due_at: datetime | None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(gap.code for gap in self.gaps)


# --- clocks ------------------------------------------------------------------
@lru_cache(maxsize=8192)
def _deadline(day: date, days: int, calendar: CalendarPolicy) -> datetime:
    zone = ZoneInfo(calendar.timezone)
    return add_working_days(datetime.combine(day, time(12, 0), tzinfo=zone), days,
                            calendar.holidays, zone)


def working_deadline(start: datetime, days: int, policy: Policy) -> datetime:
    """The end of the ``days``-th working day after the (local) day of ``start``."""
    day = start.astimezone(ZoneInfo(policy.calendar.timezone)).date()
    return _deadline(day, days, policy.calendar)


def update_working_days(enhanced_rights: bool, code: VictimsCodePolicy) -> int:
    """Right 6: 1 working day for an enhanced-rights victim, 5 otherwise (policy)."""
    return code.update_working_days_enhanced if enhanced_rights else code.update_working_days_standard


def update_due(facts: CareFacts, policy: Policy) -> datetime:
    """When the victim's next investigation update is due: from the last
    update, or the report when there has been none."""
    since = max(facts.reported_at, facts.last_update_at or facts.reported_at)
    return working_deadline(since, update_working_days(facts.enhanced_rights,
                                                       policy.victims_code), policy)


# --- referrals ---------------------------------------------------------------
def is_referral(service: str, code: VictimsCodePolicy) -> bool:
    """Signposting (the Helpline) is not a referral."""
    return service not in code.signposting_services


def is_specialist(service: str, code: VictimsCodePolicy) -> bool:
    return service in code.specialist_services


def route_for(facts: CareFacts, policy: Policy) -> ReferralRoute | None:
    """The policy's first route matching the case: families (empty matches any),
    risk levels ("unassessed" for none; empty matches any), domestic abuse."""
    return next((route for route in policy.victims_code.routes
                 if covers(route, facts.families, facts.risk_level, facts.domestic_abuse)),
                None)


def _services(names: Iterable[str]) -> str:
    items = sorted(set(names))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def care_state(facts: CareFacts, now: datetime, policy: Policy) -> CareState:
    """What the Victims' Code asks of the case at ``now``."""
    code = policy.victims_code
    gaps: list[CareGap] = []
    specialist = [r for r in facts.referrals if is_specialist(r.service, code)]
    referred = bool(specialist)
    refused = facts.consent is False and not referred
    needs_due = working_deadline(facts.reported_at, code.needs_assessment_working_days, policy)
    if facts.needs_assessed_at is None and needs_due < now:
        gaps.append(CareGap(CareGapCode.NEEDS_ASSESSMENT_LATE,
                            f"no victim needs assessment (due by {format_local(needs_due)})",
                            needs_due))
    route = route_for(facts, policy)
    referral_due = working_deadline(facts.reported_at, code.referral_working_days, policy)
    if not referred and not refused and referral_due < now:
        signposted = [r.service for r in facts.referrals if not is_referral(r.service, code)]
        other = [r.service for r in facts.referrals if is_referral(r.service, code)]
        detail = ""
        if signposted:
            detail = f"; signposted to {_services(signposted)}, which is not a referral"
        elif other:
            detail = f"; {_services(other)} is not specialist support"
        wanted = route.services if route else code.specialist_services
        gaps.append(CareGap(CareGapCode.REFERRAL_LATE,
                            f"no referral to specialist support ({_services(wanted)}) "
                            f"by {format_local(referral_due)}{detail}", referral_due))
    if route is not None and specialist and not any(r.service in route.services
                                                    for r in specialist):
        gaps.append(CareGap(CareGapCode.REFERRAL_OFF_ROUTE,
                            f"referred to {_services(r.service for r in specialist)}; "
                            f"{route.description.rstrip('.')} ({route.name})"))
    ageing = timedelta(days=code.referral_pending_days)
    for referral in facts.referrals:
        if (referral.outcome == ReferralOutcome.PENDING and is_referral(referral.service, code)
                and referral.referred_at + ageing < now):
            days = (now - referral.referred_at).days
            gaps.append(CareGap(CareGapCode.REFERRAL_PENDING,
                                f"referral to {referral.service} of "
                                f"{format_local(referral.referred_at, '%d/%m/%Y')} still pending "
                                f"after {days} days", referral.referred_at + ageing))
    due: datetime | None = None
    if facts.open:
        due = update_due(facts, policy)
        if due < now:
            days = update_working_days(facts.enhanced_rights, code)
            rights = "enhanced rights" if facts.enhanced_rights else "standard rights"
            last = (f"last update {format_local(facts.last_update_at)}"
                    if facts.last_update_at else "no update since the report")
            gaps.append(CareGap(CareGapCode.UPDATE_LATE,
                                f"investigation update due by {format_local(due)} ({rights}: "
                                f"every {days} working day{'s' if days != 1 else ''}; {last})",
                                due))
        vps_due = facts.reported_at + timedelta(days=code.vps_offer_days)
        if facts.vps_offered_at is None and vps_due < now:
            gaps.append(CareGap(CareGapCode.VPS_NOT_OFFERED,
                                f"no Victim Personal Statement offered (due by "
                                f"{format_local(vps_due, '%d/%m/%Y')})", vps_due))
    return CareState(gaps=tuple(gaps), referred=referred, consent_refused=refused, route=route,
                     update_due_at=due)
