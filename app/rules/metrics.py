"""Assurance metrics: how the force meets the stalking recommendations,
measured from case data (super-complaint report, September 2024; HMIC/HMCPSI
"Living in fear", July 2017).

Each metric is defined as data (:class:`MetricDefinition`: numerator,
denominator, period, filters, direction, unit, target) and computed by pure
functions from rows the service gathers with SQL aggregates:

- :class:`Tally`: a numerator and denominator for one cell (area command,
  team, month of the period), from a ``GROUP BY``;
- :class:`Sample`: one value (e.g. hours to acknowledge a breach) for the
  medians, from a bounded set of rows (breaches reported in the period).

Period: ``date_from`` is the first day counted and ``date_to`` the first day
**not** counted (Europe/London calendar days): ``[date_from, date_to)``. The
monthly trend is the same metric per calendar month within the period (the
first and last months may be part-months).

No database and no Textual here: thresholds come from the :class:`Policy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.policy import Policy

Unit = Literal["share", "rate_per_100", "count", "hours", "days"]

UNALLOCATED = "Unallocated"

# What a drill-down lists for a metric (the rows behind its numerator).
LISTS_CASES = "cases"
LISTS_BREACHES = "breaches"
LISTS_ORDERS = "orders"
LISTS_FLAGS = "flags"
LISTS_SEARCHES = "searches"
LISTS_REFERRALS = "referrals"
LISTS_FILES = "files"  # dip-sampled files, one row per checklist answer
LISTS_NOTHING = ""

# Status of a figure against its target.
STATUS_OK = "ok"
STATUS_ATTENTION = "attention"
STATUS_INFO = "info"  # no target: shown for context
STATUS_NO_DATA = "no data"

RECOMMENDATIONS: dict[str, str] = {
    "7": "Rec 7: record stalking as an included classification, and search by it",
    "10": "Rec 10: stalking training for officers and staff",
    "12": "Rec 12: assess risk with S-DASH; re-assess after breaches; plan for high risk",
    "13": "Rec 13: consider Stalking Protection Orders",
    "14": "Rec 14: Victims' Code needs assessment and referral to specialist support",
    "16": "Rec 16: share information with support services; referral outcomes",
    "17": "Rec 17: allocate stalking to the right team",
    "18": "Rec 18: investigation: searches, arrests and digital lines of enquiry",
    "20": "Rec 20: flag online stalking",
    "23": "Rec 23: screen for stalking recorded as something else",
    "25": "Rec 25: multi-agency working and perpetrator interventions",
    "breach": "Breaches (rec 12.3): acknowledgement and escalation",
    "2017": "HMIC/HMCPSI 2017: Police Information Notices and search powers",
    "dip": "Dip sampling: case files against the stalking protocol checklist",
}


@dataclass(frozen=True)
class MetricDefinition:
    """What a figure means, written for the people who act on it."""

    code: str
    recommendation: str  # a key of RECOMMENDATIONS
    title: str
    numerator: str
    denominator: str
    period: str
    filters: str
    higher_is_better: bool | None  # None: shown for context, no direction
    unit: Unit
    # The figure needs attention below (higher is better) or above (lower is
    # better) this value, in the metric's unit; None: no target.
    target: float | None = None
    lists: str = LISTS_CASES  # what the drill-down lists (LISTS_*)
    breakdown: bool = True  # False: force-wide only (not tied to an area or team)
    has_denominator: bool = True  # False: a plain count

    @property
    def drillable(self) -> bool:
        return self.lists != LISTS_NOTHING

    @property
    def recommendation_title(self) -> str:
        return RECOMMENDATIONS.get(self.recommendation, self.recommendation)

    def describe(self) -> str:
        """The definition as plain text (the screen's panel, the reports)."""
        direction = {True: "higher is better", False: "lower is better", None: "for context"}
        lines = [
            f"{self.code}: {self.title}",
            f"Numerator: {self.numerator}",
            f"Denominator: {self.denominator}",
            f"Period: {self.period}",
            f"Filters: {self.filters}",
            f"Unit: {UNIT_TITLES[self.unit]}; {direction[self.higher_is_better]}",
        ]
        if self.target is not None:
            lines.append(f"Needs attention when {'below' if self.higher_is_better else 'above'} "
                         f"{format_value(self.unit, self.target)}")
        return "\n".join(lines)


UNIT_TITLES: dict[str, str] = {
    "share": "share (per cent)",
    "rate_per_100": "rate per 100",
    "count": "count",
    "hours": "hours (median)",
    "days": "days (median)",
}


def format_value(unit: str, value: float | None) -> str:
    """A value as a person reads it: 83.3%, 12.5 per 100, 42, 6.5 h."""
    if value is None:
        return "—"
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "rate_per_100":
        return f"{value:.1f} per 100"
    if unit == "hours":
        return f"{value:.1f} h"
    if unit == "days":
        return f"{value:.1f} days"
    return f"{value:.0f}"

# --- metric codes --------------------------------------------------------
R7_STALKING_INCLUDED = "R7_STALKING_INCLUDED"
R7_CLASSIFICATION_SEARCHES = "R7_CLASSIFICATION_SEARCHES"
R12_SDASH = "R12_SDASH"
R12_BREACH_REASSESSED = "R12_BREACH_REASSESSED"
R12_HIGH_RISK_NO_PLAN = "R12_HIGH_RISK_NO_PLAN"
R13_SPO_DECISION = "R13_SPO_DECISION"
R13_SPO_APPLICATIONS = "R13_SPO_APPLICATIONS"
R13_SPO_GRANT_RATE = "R13_SPO_GRANT_RATE"
R14_NEEDS_ASSESSED = "R14_NEEDS_ASSESSED"
R14_REFERRALS = "R14_REFERRALS"
R14_REFERRED_IN_TIME = "R14_REFERRED_IN_TIME"
R14_CONSENT_REFUSED = "R14_CONSENT_REFUSED"
R17_ALLOCATION = "R17_ALLOCATION"
R17_TEAM_MOVES = "R17_TEAM_MOVES"
R20_ONLINE = "R20_ONLINE"
R23_FLAGS_RAISED = "R23_FLAGS_RAISED"
R23_FLAGS_ACCEPTED = "R23_FLAGS_ACCEPTED"
R23_FLAGS_REJECTED = "R23_FLAGS_REJECTED"
R23_RECLASSIFIED = "R23_RECLASSIFIED"
BREACH_ACK_MEDIAN = "BREACH_ACK_MEDIAN"
BREACH_ACK_IN_TIME = "BREACH_ACK_IN_TIME"
BREACH_ESCALATED_IN_TIME = "BREACH_ESCALATED_IN_TIME"
PINS_RECORDED = "PINS_RECORDED"
STALKING_SEARCHES = "STALKING_SEARCHES"
R10_TRAINED = "R10_TRAINED"
R16_REFERRAL_OUTCOME = "R16_REFERRAL_OUTCOME"
R16_PENDING_DAYS = "R16_PENDING_DAYS"
R18_SEARCHED = "R18_SEARCHED"
R18_ARRESTED = "R18_ARRESTED"
R18_DIGITAL = "R18_DIGITAL"
R25_MULTI_AGENCY = "R25_MULTI_AGENCY"
R25_PERPETRATOR_REFERRED = "R25_PERPETRATOR_REFERRED"
R25_PROGRAMMES = "R25_PROGRAMMES"
PINS_UNAUTHORISED = "PINS_UNAUTHORISED"
DIP_COMPLIANCE = "DIP_COMPLIANCE"
DIP_ITEM_PREFIX = "DIP_"


def dip_item_code(item: str) -> str:
    """The metric code of one checklist item's compliance: ``DIP_SDASH``."""
    return DIP_ITEM_PREFIX + item.upper()

_REPORTED = ("cases reported in the period (its first to its last day inclusive, Europe/London "
             "calendar days)")
_STALKING = ("stalking cases: principal or any included classification is a stalking class "
             "(classification.is_stalking, e.g. 8Q)")
_AREA_TEAM = ("area command and team of the case (its current allocation; "
              f"'{UNALLOCATED}' when none)")


def metric_definitions(policy: Policy) -> tuple[MetricDefinition, ...]:
    """Every assurance metric, in report order, with the policy's values written in."""
    vc = policy.victims_code
    attention = policy.assurance.attention_threshold
    low_target = round(1 - attention, 6)
    services = ", ".join(vc.specialist_services)
    powers = "; ".join(policy.assurance.stalking_search_powers)
    level2 = ", ".join(policy.breach.level2_order_kinds)
    return (
        MetricDefinition(
            R7_STALKING_INCLUDED, "7", "Stalking recorded as an included, not principal, classification",
            numerator="stalking cases whose principal classification is not a stalking class "
                      "(stalking is recorded only as an included classification)",
            denominator=_STALKING,
            period=_REPORTED, filters=_AREA_TEAM, higher_is_better=None, unit="share",
        ),
        MetricDefinition(
            R7_CLASSIFICATION_SEARCHES, "7", "Searches made by classification (principal or included)",
            numerator="case searches with a classification code, as recorded in the audit log "
                      "(action view, entity search); every such search matches principal and "
                      "included classifications",
            denominator="none (a count)",
            period="searches made in the period", filters="force-wide: a search is not tied "
            "to an area command", higher_is_better=None, unit="count",
            lists=LISTS_NOTHING, breakdown=False, has_denominator=False,
        ),
        MetricDefinition(
            R12_SDASH, "12", "Stalking and harassment cases with an S-DASH risk assessment",
            numerator=f"of those, cases with at least one {policy.risk.tool} risk assessment recorded",
            denominator="stalking and harassment cases: principal or any included classification "
                        "of the stalking or harassment family",
            period=_REPORTED, filters=_AREA_TEAM, higher_is_better=True, unit="share",
            target=attention,
        ),
        MetricDefinition(
            R12_BREACH_REASSESSED, "12", "Breaches followed by a risk re-assessment in time",
            numerator="of those, breaches followed by a risk assessment on the original case "
                      f"within {policy.risk.reassessment_due_hours} hours of the breach report",
            denominator="breaches reported in the period whose re-assessment was due by the "
                        "time of the report",
            period="breaches reported in the period", filters="area command and team of the "
            "breach crime", higher_is_better=True, unit="share", target=attention,
            lists=LISTS_BREACHES,
        ),
        MetricDefinition(
            R12_HIGH_RISK_NO_PLAN, "12", "High-risk cases without a current risk management plan",
            numerator="of those, cases whose latest risk assessment records no management plan",
            denominator="cases whose current risk level is high",
            period=_REPORTED, filters=_AREA_TEAM, higher_is_better=False, unit="share",
            target=low_target,
        ),
        MetricDefinition(
            R13_SPO_DECISION, "13", "Stalking cases with an SPO decision",
            numerator="of those, cases whose SPO status is anything but not_considered "
                      "(considered not appropriate, application in preparation, applied, "
                      "granted, refused…)",
            denominator=_STALKING, period=_REPORTED, filters=_AREA_TEAM,
            higher_is_better=True, unit="share", target=attention,
        ),
        MetricDefinition(
            R13_SPO_APPLICATIONS, "13", "SPO and interim SPO applications per 100 stalking crimes",
            numerator="Stalking Protection Order and interim SPO applications made in the period "
                      "(applied_at, or granted_at when no application date is recorded), any case",
            denominator=_STALKING + ", reported in the period",
            period="applications made in the period; stalking crimes reported in the period",
            filters="area command and team of the case the order is on",
            higher_is_better=True, unit="rate_per_100", lists=LISTS_ORDERS,
        ),
        MetricDefinition(
            R13_SPO_GRANT_RATE, "13", "SPO and interim SPO applications granted",
            numerator="of those, applications granted (status interim_granted, granted, varied, "
                      "renewed, discharged or expired, or a grant date recorded)",
            denominator="SPO and interim SPO applications made in the period that a court has "
                        "decided (granted, or refused)",
            period="applications made in the period",
            filters="area command and team of the case the order is on",
            higher_is_better=True, unit="share", target=attention, lists=LISTS_ORDERS,
        ),
        MetricDefinition(
            R14_NEEDS_ASSESSED, "14", "Stalking victims with a Victims' Code needs assessment",
            numerator="of those, cases with a needs assessment date recorded (victim care)",
            denominator=_STALKING + " (one victim per case)",
            period=_REPORTED, filters=_AREA_TEAM, higher_is_better=True, unit="share",
            target=attention,
        ),
        MetricDefinition(
            R14_REFERRALS, "14", "Stalking victims referred to specialist support, per 100",
            numerator=f"of those, victims referred at least once to a specialist service ({services}; "
                      "a referral the victim later declined still counts; signposting to "
                      f"{', '.join(vc.signposting_services) or 'a helpline'} does not)",
            denominator=_STALKING + " (one victim per case), less victims who refused consent to "
                        "referral and were not referred (counted apart, R14_CONSENT_REFUSED)",
            period=_REPORTED, filters=_AREA_TEAM, higher_is_better=True, unit="rate_per_100",
            target=round(100 * vc.referral_rate_threshold, 6),
        ),
        MetricDefinition(
            R14_REFERRED_IN_TIME, "14", "Stalking victims referred within the Victims' Code time",
            numerator="of those, victims referred to a specialist service by the end of the "
                      f"{_ordinal(vc.referral_working_days)} working day after the day of the "
                      "report "
                      "(weekends and bank holidays are not working days)",
            denominator=_STALKING + " whose referral deadline had passed by the time of the report, "
                        "less victims who refused consent and were not referred",
            period=_REPORTED, filters=_AREA_TEAM, higher_is_better=True, unit="share",
            target=attention,
        ),
        MetricDefinition(
            R14_CONSENT_REFUSED, "14", "Stalking victims who refused consent to referral (counted apart)",
            numerator="of those, victims asked for consent to referral who refused it and were "
                      "not referred: nothing is outstanding for them and they are not counted "
                      "against the force in R14_REFERRALS (rec 14.5)",
            denominator=_STALKING + " (one victim per case)",
            period=_REPORTED, filters=_AREA_TEAM, higher_is_better=None, unit="share",
        ),
        MetricDefinition(
            R17_ALLOCATION, "17", "Cases allocated as the allocation policy requires",
            numerator="of those, cases whose current team complies with the first matching "
                      "allocation rule (risk level, domestic abuse, classification families; "
                      "for a breach, the team holding the original case); unallocated cases "
                      "do not comply",
            denominator="all cases", period=_REPORTED, filters=_AREA_TEAM,
            higher_is_better=True, unit="share", target=attention,
        ),
        MetricDefinition(
            R17_TEAM_MOVES, "17", "Cases moved between teams more often than the policy allows",
            numerator="of those, cases whose allocation history changes team more than "
                      f"{policy.allocation.max_team_moves} times (officer changes within a team "
                      "do not count)",
            denominator="all cases", period=_REPORTED, filters=_AREA_TEAM,
            higher_is_better=False, unit="share", target=low_target,
        ),
        MetricDefinition(
            R20_ONLINE, "20", "Cases flagged as online",
            numerator="of those, cases with the online flag set",
            denominator="all cases", period=_REPORTED, filters=_AREA_TEAM,
            higher_is_better=None, unit="share",
        ),
        MetricDefinition(
            R23_FLAGS_RAISED, "23", "Screening flags raised",
            numerator="screening flags raised in the period (possible stalking recorded as "
                      "something else)",
            denominator="none (a count)", period="flags raised in the period",
            filters="area command and team of the flagged case", higher_is_better=None,
            unit="count", lists=LISTS_FLAGS, has_denominator=False,
        ),
        MetricDefinition(
            R23_FLAGS_ACCEPTED, "23", "Screening flags accepted",
            numerator="flags raised in the period that a supervisor has accepted",
            denominator="flags raised in the period", period="flags raised in the period",
            filters="area command and team of the flagged case", higher_is_better=None,
            unit="count", lists=LISTS_FLAGS,
        ),
        MetricDefinition(
            R23_FLAGS_REJECTED, "23", "Screening flags rejected",
            numerator="flags raised in the period that a supervisor has rejected",
            denominator="flags raised in the period", period="flags raised in the period",
            filters="area command and team of the flagged case", higher_is_better=None,
            unit="count", lists=LISTS_FLAGS,
        ),
        MetricDefinition(
            R23_RECLASSIFIED, "23", "Crimes reclassified to stalking after screening",
            numerator="crimes first reclassified to stalking in the period: a stalking "
                      "classification added with source 'screening', or an accepted flag that "
                      "made stalking the principal classification",
            denominator="none (a count)", period="date of the first reclassification",
            filters=_AREA_TEAM, higher_is_better=None, unit="count", has_denominator=False,
        ),
        MetricDefinition(
            BREACH_ACK_MEDIAN, "breach", "Median hours from breach report to acknowledgement",
            numerator="median of the hours from the breach report to the supervisor's "
                      "acknowledgement, over acknowledged breaches",
            denominator="breaches reported in the period (unacknowledged ones are not in the median)",
            period="breaches reported in the period",
            filters="area command and team of the breach crime", higher_is_better=False,
            unit="hours", target=float(policy.breach.acknowledge_within_hours),
            lists=LISTS_BREACHES,
        ),
        MetricDefinition(
            BREACH_ACK_IN_TIME, "breach", "Breaches acknowledged in time",
            numerator="of those, breaches acknowledged by a supervisor within "
                      f"{policy.breach.acknowledge_within_hours} hours of the report",
            denominator="breaches reported in the period whose acknowledgement was due by the "
                        "time of the report",
            period="breaches reported in the period",
            filters="area command and team of the breach crime", higher_is_better=True,
            unit="share", target=attention, lists=LISTS_BREACHES,
        ),
        MetricDefinition(
            BREACH_ESCALATED_IN_TIME, "breach", "Breaches needing escalation escalated in time",
            numerator="of those, breaches escalated by a supervisor within "
                      f"{policy.assurance.breach_escalation_hours} hours of the report",
            denominator="breaches reported in the period that need escalation (repeated: "
                        f"{policy.breach.repeat_count} or more breaches by the same suspect "
                        f"against the same victim within {policy.breach.repeat_window_days} days; "
                        f"a breach of {level2}; threats or violence; high risk on the original "
                        "case; or a manual level of 2 or more), whose escalation was due by the "
                        "time of the report",
            period="breaches reported in the period",
            filters="area command and team of the breach crime", higher_is_better=True,
            unit="share", target=attention, lists=LISTS_BREACHES,
        ),
        MetricDefinition(
            PINS_RECORDED, "2017", "Cases with a Police Information Notice recorded",
            numerator="cases with a PIN recorded (each is an exception for supervisors)",
            denominator="all cases", period=_REPORTED, filters=_AREA_TEAM,
            higher_is_better=False, unit="count", target=0.0,
        ),
        MetricDefinition(
            STALKING_SEARCHES, "2017", "Searches under stalking powers recorded",
            numerator=f"searches recorded under the stalking powers ({powers})",
            denominator="none (a count)", period="searches conducted in the period",
            filters="area command and team of the case", higher_is_better=None, unit="count",
            lists=LISTS_SEARCHES, has_denominator=False,
        ),
        MetricDefinition(
            PINS_UNAUTHORISED, "2017", "PINs without an authorising superintendent",
            numerator="of those, cases whose PIN records no authorising superintendent "
                      "(each is an exception: the force requires a superintendent's authority)",
            denominator="cases with a PIN recorded", period=_REPORTED, filters=_AREA_TEAM,
            higher_is_better=False, unit="count", target=0.0,
        ),
        MetricDefinition(
            R10_TRAINED, "10", "Officers on stalking cases with current stalking training",
            numerator="of those, officers with a training record of a stalking course ("
                      f"{'; '.join(policy.training.courses) or 'none set'}) completed within "
                      f"{policy.training.valid_months} months before the end of the month",
            denominator="officers named on stalking and harassment cases reported in the month "
                        "(each officer once a month: the period's figure is over officer-months)",
            period=_REPORTED, filters="force-wide: an officer is not tied to one area command",
            higher_is_better=True, unit="share", target=attention, lists=LISTS_NOTHING,
            breakdown=False,
        ),
        MetricDefinition(
            R16_REFERRAL_OUTCOME, "16", "Specialist referrals with an outcome back from the service",
            numerator="of those, referrals whose outcome is recorded (accepted, declined, "
                      "no contact: anything but pending)",
            denominator=f"referrals to a specialist service ({services}) made in the period",
            period="referrals made in the period", filters="area command and team of the case",
            higher_is_better=True, unit="share", target=attention, lists=LISTS_REFERRALS,
        ),
        MetricDefinition(
            R16_PENDING_DAYS, "16", "Median days a specialist referral has been pending",
            numerator="median of the days from the referral to now, over referrals still pending",
            denominator="referrals to a specialist service made in the period, still pending",
            period="referrals made in the period", filters="area command and team of the case",
            higher_is_better=False, unit="days",
            target=float(vc.referral_pending_days), lists=LISTS_REFERRALS,
        ),
        MetricDefinition(
            R18_SEARCHED, "18", "Stalking cases with a search recorded",
            numerator="of those, cases with at least one search recorded (any power)",
            denominator=_STALKING, period=_REPORTED, filters=_AREA_TEAM,
            higher_is_better=None, unit="share",
        ),
        MetricDefinition(
            R18_ARRESTED, "18", "Stalking cases with the suspect arrested",
            numerator="of those, cases with an arrest recorded (the case's arrest date, or an "
                      "arrest on a breach of an order on the case)",
            denominator=_STALKING + " with a suspect named", period=_REPORTED, filters=_AREA_TEAM,
            higher_is_better=None, unit="share",
        ),
        MetricDefinition(
            R18_DIGITAL, "18", "Stalking cases with digital lines of enquiry recorded",
            numerator="of those, cases with digital lines of enquiry recorded (devices, "
                      "accounts, communications data)",
            denominator=_STALKING, period=_REPORTED, filters=_AREA_TEAM,
            higher_is_better=True, unit="share", target=attention,
        ),
        MetricDefinition(
            R25_MULTI_AGENCY, "25", "High-risk stalking cases referred to a multi-agency forum",
            numerator="of those, cases with a multi-agency referral recorded (MARAC, MAPPA, MASIP)",
            denominator=_STALKING + " whose current risk level is high", period=_REPORTED,
            filters=_AREA_TEAM, higher_is_better=True, unit="share", target=attention,
        ),
        MetricDefinition(
            R25_PERPETRATOR_REFERRED, "25", "Stalking cases whose suspect was referred to a "
            "perpetrator programme",
            numerator="of those, cases with a referral of the suspect to a perpetrator programme",
            denominator=_STALKING + " with a suspect named", period=_REPORTED, filters=_AREA_TEAM,
            higher_is_better=None, unit="share",
        ),
        MetricDefinition(
            R25_PROGRAMMES, "25", "Perpetrator programmes available",
            numerator="perpetrator programmes available in the area command on the last day of "
                      "the month (the period's figure: on its last day)",
            denominator="none (a count)", period="programmes available in the period",
            filters="area command of the programme", higher_is_better=None, unit="count",
            lists=LISTS_NOTHING, has_denominator=False,
        ),
        *_dip_definitions(policy, attention),
    )


def _dip_definitions(policy: Policy, attention: float) -> tuple[MetricDefinition, ...]:
    """Compliance of reviewed files with the dip-sampling checklist: overall
    and one figure per item (the items of the policy's checklist)."""
    sampling = policy.dip_sampling
    common = dict(period="files reviewed in the period", filters="area command of the sample; "
                  "team of the case when drawn", higher_is_better=True, unit="share",
                  target=attention, lists=LISTS_FILES)
    found = [MetricDefinition(
        DIP_COMPLIANCE, "dip", "Dip-sampled files: checklist items met",
        numerator="of those, items the reviewer found met",
        denominator=f"checklist items answered on reviewed files (checklist version "
                    f"{sampling.checklist_version}, {len(sampling.checklist)} items)",
        **common)]  # type: ignore[arg-type]
    for item in sampling.checklist:
        found.append(MetricDefinition(
            dip_item_code(item.code), "dip", f"Dip sample: {item.text}",
            numerator="of those, files where the reviewer found this item met",
            denominator=f"reviewed files answering the item '{item.code}'", **common))  # type: ignore[arg-type]
    return tuple(found)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def definitions_by_code(policy: Policy) -> dict[str, MetricDefinition]:
    return {d.code: d for d in metric_definitions(policy)}
