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

import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from app.dates import add_working_days, local_midnight
from app.policy import AllocationPolicy, Policy

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


# --- figures -------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """One figure: the value in the metric's unit, with what it was computed from.

    ``denominator`` is None for a count without one. For ``hours`` the
    numerator is how many values the median was taken over."""

    numerator: int
    denominator: int | None
    value: float | None

    @property
    def empty(self) -> bool:
        return self.value is None


def figure(unit: str, numerator: int, denominator: int | None) -> Figure:
    """The figure for counts: share = n/d, rate per 100 = 100·n/d, count = n.
    A share or rate with no denominator has no value."""
    if unit == "count":
        return Figure(numerator, denominator, float(numerator))
    if not denominator:
        return Figure(numerator, denominator, None)
    if unit == "share":
        return Figure(numerator, denominator, numerator / denominator)
    if unit == "rate_per_100":
        return Figure(numerator, denominator, 100.0 * numerator / denominator)
    raise ValueError(f"unit {unit!r} is not counted (use median_figure)")


def median(values: Iterable[float]) -> float | None:
    found = list(values)
    return statistics.median(found) if found else None


def median_figure(values: Sequence[float | None]) -> Figure:
    """The median of the known values; ``None`` values count in the denominator only."""
    known = [v for v in values if v is not None]
    return Figure(len(known), len(values), median(known))


def status_of(definition: MetricDefinition, result: Figure) -> str:
    if result.value is None:
        return STATUS_NO_DATA
    if definition.target is None or definition.higher_is_better is None:
        return STATUS_INFO
    if definition.higher_is_better:
        return STATUS_ATTENTION if result.value < definition.target else STATUS_OK
    return STATUS_ATTENTION if result.value > definition.target else STATUS_OK


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


def format_figure(definition: MetricDefinition, result: Figure) -> str:
    return format_value(definition.unit, result.value)


def format_basis(definition: MetricDefinition, result: Figure) -> str:
    """What the figure was computed from: '12 / 40', '12 of 40 acknowledged'."""
    if definition.unit == "hours":
        return f"{result.numerator} of {result.denominator or 0} acknowledged"
    if definition.unit == "days":
        return f"median of {result.numerator}"
    if result.denominator is None:
        return str(result.numerator)
    return f"{result.numerator} / {result.denominator}"


# --- the period ----------------------------------------------------------
def check_period(date_from: date, date_to: date) -> None:
    """``[date_from, date_to)`` must hold at least one day."""
    if date_to <= date_from:
        raise ValueError(
            f"the period {date_from.isoformat()} to {date_to.isoformat()} is empty: the 'to' "
            "date is the first day not counted, so it must be after the 'from' date"
        )


def period_months(date_from: date, date_to: date) -> tuple[date, ...]:
    """The first day of each calendar month that overlaps ``[date_from, date_to)``."""
    check_period(date_from, date_to)
    months: list[date] = []
    current = date(date_from.year, date_from.month, 1)
    while current < date_to:
        months.append(current)
        current = _next_month(current)
    return tuple(months)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_edges(date_from: date, date_to: date) -> tuple[datetime, ...]:
    """UTC instants bounding each month of the period: month ``i`` of
    :func:`period_months` is ``[edges[i], edges[i+1])``; ``edges[0]`` is the
    start of the period and ``edges[-1]`` its (exclusive) end."""
    months = period_months(date_from, date_to)
    days = [date_from, *months[1:], date_to]
    return tuple(local_midnight(d) for d in days)


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of the period as UTC instants (Europe/London midnights)."""
    check_period(date_from, date_to)
    return local_midnight(date_from), local_midnight(date_to)


def month_index(moment: datetime, edges: Sequence[datetime]) -> int | None:
    """Which month of the period ``moment`` falls in (None: outside the period)."""
    if moment < edges[0] or moment >= edges[-1]:
        return None
    for index in range(len(edges) - 1):
        if moment < edges[index + 1]:
            return index
    return None  # pragma: no cover - unreachable


def shift_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months (day clipped to the month's length)."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    last = (_next_month(date(year, month, 1)) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def default_period(today: date, months: int = 12) -> tuple[date, date]:
    """The last ``months`` full calendar months before ``today``'s month."""
    end = date(today.year, today.month, 1)
    return shift_months(end, -months), end


@dataclass(frozen=True)
class DeadlineStep:
    """Cases reported from ``starts_at`` (until the next step) have this
    referral deadline; ``deadline`` is None while it has not yet passed."""

    starts_at: datetime
    deadline: datetime | None


def referral_deadline_steps(date_from: date, date_to: date, *, working_days: int,
                            holidays: frozenset[date], now: datetime) -> tuple[DeadlineStep, ...]:
    """The Victims' Code referral deadline of a report made on each day of the
    period (end of the ``working_days``-th working day after the day of the
    report), merged where consecutive days share a deadline (a Friday, Saturday
    and Sunday report share Tuesday's). Deadlines after ``now`` are None: those
    cases are not yet due."""
    check_period(date_from, date_to)
    steps: list[DeadlineStep] = []
    day = date_from
    while day < date_to:
        start = local_midnight(day)
        deadline: datetime | None = add_working_days(start, working_days, holidays)
        if deadline is not None and deadline > now:
            deadline = None
        if not steps or steps[-1].deadline != deadline:
            steps.append(DeadlineStep(start, deadline))
        day += timedelta(days=1)
    return tuple(steps)


# --- counted metrics -----------------------------------------------------
@dataclass(frozen=True)
class Tally:
    """A numerator and denominator for one metric in one cell of the period."""

    area: str
    team: str
    month: int  # index into period_months
    numerator: int
    denominator: int | None = None


@dataclass(frozen=True)
class Sample:
    """One value for a median metric (None: counted in the denominator only)."""

    area: str
    team: str
    month: int
    value: float | None


@dataclass(frozen=True)
class TrendPoint:
    month: date
    figure: Figure


@dataclass(frozen=True)
class AreaFigure:
    area: str
    figure: Figure
    status: str


@dataclass(frozen=True)
class TeamFigure:
    area: str
    team: str
    figure: Figure
    status: str


@dataclass(frozen=True)
class MetricResult:
    definition: MetricDefinition
    overall: Figure
    status: str
    by_area: tuple[AreaFigure, ...] = ()
    by_team: tuple[TeamFigure, ...] = ()
    trend: tuple[TrendPoint, ...] = ()

    @property
    def code(self) -> str:
        return self.definition.code

    def for_area(self, area: str) -> AreaFigure | None:
        return next((a for a in self.by_area if a.area == area), None)

    def for_team(self, area: str, team: str) -> TeamFigure | None:
        return next((t for t in self.by_team if t.area == area and t.team == team), None)


def _sum_tallies(tallies: Iterable[Tally]) -> tuple[int, int | None]:
    numerator = 0
    denominator: int | None = None
    for tally in tallies:
        numerator += tally.numerator
        if tally.denominator is not None:
            denominator = (denominator or 0) + tally.denominator
    return numerator, denominator


def _grouped(items: Iterable, key: Callable) -> dict:  # type: ignore[type-arg]
    groups: dict = {}  # type: ignore[type-arg]
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def collapse(tallies: Iterable[Tally]) -> list[Tally]:
    """One tally per cell (area, team, month), summing the cell's tallies."""
    cells: dict[tuple[str, str, int], list[int | None]] = {}
    for tally in tallies:
        sums = cells.setdefault((tally.area, tally.team, tally.month), [0, None])
        sums[0] = (sums[0] or 0) + tally.numerator
        if tally.denominator is not None:
            sums[1] = (sums[1] or 0) + tally.denominator
    return [Tally(area, team, month, int(n or 0), d)
            for (area, team, month), (n, d) in cells.items()]


def summarise_tallies(definition: MetricDefinition, tallies: Iterable[Tally],
                      months: Sequence[date]) -> MetricResult:
    """Overall figure, by area, by team (within its area) and per month."""
    rows = collapse(tallies)

    def make(group: Iterable[Tally]) -> Figure:
        numerator, denominator = _sum_tallies(group)
        if not definition.has_denominator:
            denominator = None
        elif denominator is None:
            denominator = 0
        return figure(definition.unit, numerator, denominator)

    return _summarise(definition, rows, months, make)


def summarise_samples(definition: MetricDefinition, samples: Iterable[Sample],
                      months: Sequence[date]) -> MetricResult:
    """The median of the samples, overall, by area, by team and per month."""
    rows = list(samples)
    return _summarise(definition, rows, months, lambda group: median_figure([s.value for s in group]))


def _summarise(definition: MetricDefinition, rows: list, months: Sequence[date],  # type: ignore[type-arg]
               make: Callable) -> MetricResult:  # type: ignore[type-arg]
    overall = make(rows)
    by_area: list[AreaFigure] = []
    by_team: list[TeamFigure] = []
    if definition.breakdown:
        areas = _grouped(rows, lambda r: r.area)
        for area in sorted(areas):
            f = make(areas[area])
            if not _blank(f):
                by_area.append(AreaFigure(area, f, status_of(definition, f)))
        teams = _grouped(rows, lambda r: (r.area, r.team))
        for area, team in sorted(teams):
            f = make(teams[(area, team)])
            if not _blank(f):
                by_team.append(TeamFigure(area, team, f, status_of(definition, f)))
    per_month = _grouped(rows, lambda r: r.month)
    trend = tuple(TrendPoint(month, make(per_month.get(i, []))) for i, month in enumerate(months))
    return MetricResult(definition, overall, status_of(definition, overall), tuple(by_area),
                        tuple(by_team), trend)


def _blank(result: Figure) -> bool:
    """Nothing counted at all: left out of a breakdown (a team with no stalking
    cases has no referral rate to show)."""
    return result.numerator == 0 and not result.denominator


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


# --- call-outs -----------------------------------------------------------
@dataclass(frozen=True)
class CallOut:
    """Something the report draws attention to."""

    code: str
    scope: str  # "force", "area" or "team"
    area: str | None
    team: str | None
    figure: Figure
    target: float
    message: str


def referral_call_outs(result: MetricResult, threshold: float) -> tuple[CallOut, ...]:
    """Rec 14.5: areas and teams whose stalking-victim referral rate (per 100)
    is below the policy threshold (a share, e.g. 0.6 = 60 per 100)."""
    target = 100 * threshold
    found: list[CallOut] = []
    for area in result.by_area:
        value = area.figure.value
        if value is not None and value < target:
            found.append(CallOut(
                result.code, "area", area.area, None, area.figure, target,
                f"rec 14.5: {area.area} referred {value:.1f} per 100 stalking victims "
                f"({format_basis(result.definition, area.figure)}), below {target:.0f}",
            ))
    for team in result.by_team:
        value = team.figure.value
        if value is not None and value < target:
            found.append(CallOut(
                result.code, "team", team.area, team.team, team.figure, target,
                f"rec 14.5: {team.area} · {team.team} referred {value:.1f} per 100 stalking "
                f"victims ({format_basis(result.definition, team.figure)}), below {target:.0f}",
            ))
    return tuple(found)


def attention_call_outs(results: Iterable[MetricResult], scope_area: str | None) -> tuple[CallOut, ...]:
    """Every metric whose overall figure needs attention against its target."""
    found: list[CallOut] = []
    for result in results:
        if result.status != STATUS_ATTENTION or result.definition.target is None:
            continue
        definition = result.definition
        where = scope_area or "force-wide"
        side = "below" if definition.higher_is_better else "above"
        found.append(CallOut(
            definition.code, "area" if scope_area else "force", scope_area, None, result.overall,
            definition.target,
            f"{definition.code} {definition.title}: {format_figure(definition, result.overall)} "
            f"{where} ({format_basis(definition, result.overall)}), {side} "
            f"{format_value(definition.unit, definition.target)}",
        ))
    return tuple(found)


def breakdown_rows(result: MetricResult) -> list[tuple[str, str, Figure, str]]:
    """(area, team or '', figure, status) rows: each area, then its teams."""
    rows: list[tuple[str, str, Figure, str]] = []
    for area in result.by_area:
        rows.append((area.area, "", area.figure, area.status))
        for team in result.by_team:
            if team.area == area.area:
                rows.append((team.area, team.team, team.figure, team.status))
    return rows



# --- training (rec 10) ---------------------------------------------------
def is_trained(completions: Sequence[date], by: date, valid_months: int) -> bool:
    """A completion on or before ``by`` and no older than ``valid_months``."""
    earliest = shift_months(by, -valid_months)
    return any(earliest < done <= by for done in completions)


def training_tallies(officer_months: Iterable[tuple[int, str]],
                     completions: dict[str, Sequence[date]], months: Sequence[date],
                     period_end: date, valid_months: int) -> list[Tally]:
    """One tally per month: officers named on the month's cases (each once)
    against those trained by the month's last day (or the period's, for a
    part-month at its end)."""
    seen: dict[int, set[str]] = {}
    for month, officer in officer_months:
        seen.setdefault(month, set()).add(officer)
    tallies: list[Tally] = []
    for index, officers in sorted(seen.items()):
        last = min(shift_months(months[index], 1), period_end) - timedelta(days=1)
        trained = sum(1 for o in officers if is_trained(completions.get(o, ()), last, valid_months))
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
