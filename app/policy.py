"""The force's policy: every configurable value of the domain, from TOML.

The shipped defaults live in ``seed/policy.toml``. A force's file holds only
the keys it changes; it is merged over the defaults and every key is checked
by name and type, so a typo is an error naming the key rather than a silent
default.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from datetime import date, time
from functools import cache
from pathlib import Path
from typing import Any

from app.errors import PolicyError

DEFAULT_POLICY_PATH = Path(__file__).resolve().parent.parent / "seed" / "policy.toml"


@dataclass(frozen=True)
class CalendarPolicy:
    timezone: str
    bank_holidays: tuple[date, ...]

    @property
    def holidays(self) -> frozenset[date]:
        return frozenset(self.bank_holidays)


@dataclass(frozen=True)
class DmmPolicy:
    meeting_time: time
    meeting_weekdays: tuple[int, ...]
    new_crime_families: tuple[str, ...]
    case_families: tuple[str, ...]
    risk_assessment_days: int
    spo_consideration_days: int
    repeat_pair_min_crimes: int
    repeat_pair_window_days: int
    closed_grace_days: int
    high_risk_plan_days: int
    risk_assessment_second_days: int
    spo_second_days: int
    victim_care_second_days: int
    risk_plan_second_days: int
    risk_review_second_days: dict[str, int]
    orders_desk_team: str
    enabled_reasons: tuple[str, ...]
    default_action_hours: int
    weights: dict[str, int]
    risk_weights: dict[str, int]


@dataclass(frozen=True)
class RiskPolicy:
    tool: str
    tool_version: str
    incidents_to_assess: int
    medium_from_yes: int
    high_from_yes: int
    at_least_medium_if_yes: tuple[int, ...]
    review_days: dict[str, int]
    reassessment_due_hours: int


@dataclass(frozen=True)
class SpoPolicy:
    consideration_days: int
    notification_days: int
    expiry_warning_days: int
    minimum_full_order_years: int


@dataclass(frozen=True)
class BreachPolicy:
    acknowledge_within_hours: int
    repeat_count: int
    repeat_window_days: int
    level2_reassessment_hours: int
    level2_order_kinds: tuple[str, ...]
    board_windows_days: tuple[int, ...]
    board_acknowledged_days: int


@dataclass(frozen=True)
class CaseCriteria:
    """The cases a policy rule covers: classification families and risk levels
    (empty matches any; "unassessed" for none) and domestic abuse ("yes", "no"
    or "any"). Judged by :func:`app.rules.case_criteria.covers`."""

    name: str
    description: str
    families: tuple[str, ...]
    risk: tuple[str, ...]
    domestic_abuse: str


@dataclass(frozen=True)
class ReferralRoute(CaseCriteria):
    """Which specialist services a kind of case should be referred to."""

    services: tuple[str, ...]


@dataclass(frozen=True)
class VictimsCodePolicy:
    referral_working_days: int
    needs_assessment_working_days: int
    update_working_days_enhanced: int
    update_working_days_standard: int
    referral_rate_threshold: float
    specialist_services: tuple[str, ...]
    signposting_services: tuple[str, ...] = ()
    referral_pending_days: int = 14
    vps_offer_days: int = 28
    routes: tuple[ReferralRoute, ...] = ()


@dataclass(frozen=True)
class AllocationRule(CaseCriteria):
    """Which teams may hold a kind of case."""

    teams: tuple[str, ...]


@dataclass(frozen=True)
class AllocationPolicy:
    max_team_moves: int
    rules: tuple[AllocationRule, ...]


@dataclass(frozen=True)
class OnlineMarkers:
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class ScreeningPolicy:
    families: tuple[str, ...]
    window_days: int
    course_of_conduct_min_crimes: int
    min_score: float
    candidate_min_behaviour: float
    lookback_days: int
    weights: dict[str, float]
    category_weights: dict[str, float]
    behaviours: dict[str, tuple[str, ...]]
    online_markers: OnlineMarkers
    phrase_span: int
    count_min: int
    exclusions: tuple[str, ...]
    negations: tuple[str, ...]
    hedges: tuple[str, ...]
    post_negations: tuple[str, ...]
    negation_terminators: tuple[str, ...]
    negation_breakers: tuple[str, ...]
    negation_scope: int
    clause_starters: tuple[str, ...]
    former_partner_categories: tuple[str, ...]
    family_categories: dict[str, str]
    risk_visit_questions: tuple[int, ...]
    isolated_incident: tuple[str, ...]
    candidate_requires: tuple[str, ...]
    supporting_categories: tuple[str, ...]


@dataclass(frozen=True)
class AssurancePolicy:
    attention_threshold: float
    breach_escalation_hours: int
    stalking_search_powers: tuple[str, ...]


@dataclass(frozen=True)
class RetentionPolicy:
    """MoPI review: a closed case comes up for review this many years after it
    closed; stalking (principal classification) or high-risk cases later."""

    review_years: int = 6
    serious_review_years: int = 10
    retain_years: int = 5  # a reviewer's "retain" sets the next review this far on


@dataclass(frozen=True)
class ChecklistItem:
    """One question of the dip-sampling checklist (national stalking protocol, APP)."""

    code: str
    text: str


@dataclass(frozen=True)
class DipSamplingPolicy:
    """Dip sampling of case files: the checklist (versioned: a sample keeps
    the version it was drawn under) and how many files to draw per stratum
    (risk level and classification family)."""

    checklist_version: str = "1"
    checklist: tuple[ChecklistItem, ...] = ()
    per_stratum: int = 2


@dataclass(frozen=True)
class TrainingPolicy:
    """Rec 10: the courses that count as stalking training, and how long a
    completion stays current."""

    courses: tuple[str, ...] = ()
    valid_months: int = 36


@dataclass(frozen=True)
class OrganisationUnit:
    """An area command or a team: the code records and imports use, and the
    name people read."""

    code: str
    name: str = ""


@dataclass(frozen=True)
class OrganisationPolicy:
    """The force's own area commands and teams (``[[organisation.area_commands]]``,
    ``[[organisation.teams]]``), loaded with the policy by ``vigil policy set``
    (versioned, audited). Empty: the synthetic force's (``seed/organisation.toml``)."""

    area_commands: tuple[OrganisationUnit, ...] = ()
    teams: tuple[OrganisationUnit, ...] = ()


@dataclass(frozen=True)
class Policy:
    calendar: CalendarPolicy
    dmm: DmmPolicy
    risk: RiskPolicy
    spo: SpoPolicy
    breach: BreachPolicy
    victims_code: VictimsCodePolicy
    allocation: AllocationPolicy
    screening: ScreeningPolicy
    assurance: AssurancePolicy
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    dip_sampling: DipSamplingPolicy = field(default_factory=DipSamplingPolicy)
    training: TrainingPolicy = field(default_factory=TrainingPolicy)
    organisation: OrganisationPolicy = field(default_factory=OrganisationPolicy)
    source: str = field(default="defaults", compare=False)


_CHOICES: dict[str, frozenset[str]] = {
    "allocation.rules.domestic_abuse": frozenset({"yes", "no", "any"}),
    "victims_code.routes.domestic_abuse": frozenset({"yes", "no", "any"}),
}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _convert(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise PolicyError(f"policy key '{key}': expected a table, got {_describe(value)}")
        return _build(hint, value, key)
    if hint is bool:
        if not isinstance(value, bool):
            raise PolicyError(f"policy key '{key}': expected true or false, got {_describe(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise PolicyError(f"policy key '{key}': expected a whole number, got {_describe(value)}")
        if value < 0:
            raise PolicyError(f"policy key '{key}': must not be negative, got {value}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PolicyError(f"policy key '{key}': expected a number, got {_describe(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise PolicyError(f"policy key '{key}': expected text, got {_describe(value)}")
        choices = _CHOICES.get(_generic_key(key))
        if choices and value not in choices:
            raise PolicyError(f"policy key '{key}': expected one of {sorted(choices)}, got {value!r}")
        return value
    if hint is date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise PolicyError(f"policy key '{key}': expected a date YYYY-MM-DD, got {_describe(value)}") from None
    if hint is time:
        try:
            return time.fromisoformat(str(value))
        except ValueError:
            raise PolicyError(f"policy key '{key}': expected a time HH:MM, got {_describe(value)}") from None
    if origin is tuple:
        if not isinstance(value, list):
            raise PolicyError(f"policy key '{key}': expected a list, got {_describe(value)}")
        return tuple(_convert(item, args[0], f"{key}[{i}]") for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise PolicyError(f"policy key '{key}': expected a table, got {_describe(value)}")
        return {str(k): _convert(v, args[1], f"{key}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        raise PolicyError(f"policy key '{key}': unsupported type")
    raise PolicyError(f"policy key '{key}': unsupported type {hint!r}")


def _generic_key(key: str) -> str:
    return re.sub(r"\[\d+\]", "", key)


def _build(cls: Any, values: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name != "source"}
    for key in values:
        if key not in fields:
            where = f"{prefix}.{key}" if prefix else key
            raise PolicyError(f"policy key '{where}' is not known")
    kwargs: dict[str, Any] = {}
    for name, fld in fields.items():
        where = f"{prefix}.{name}" if prefix else name
        if name not in values:
            if fld.default is not dataclasses.MISSING or \
                    fld.default_factory is not dataclasses.MISSING:
                continue
            raise PolicyError(f"policy key '{where}' is missing")
        kwargs[name] = _convert(values[name], hints[name], where)
    return cls(**kwargs)


def _check_organisation(organisation: OrganisationPolicy) -> None:
    for part in ("area_commands", "teams"):
        seen: set[str] = set()
        for i, unit in enumerate(getattr(organisation, part)):
            where = f"policy key 'organisation.{part}[{i}].code'"
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9 &'-]{0,39}", unit.code):
                raise PolicyError(f"{where}: {unit.code!r} must be 1 to 40 letters, digits, "
                                  "spaces, &, ' or -, starting with a letter")
            if unit.code.lower() in seen:
                raise PolicyError(f"{where}: {unit.code!r} is given twice")
            seen.add(unit.code.lower())
    if organisation.teams and not organisation.area_commands:
        raise PolicyError("policy key 'organisation.area_commands' is missing (teams are given)")
    if organisation.area_commands and not organisation.teams:
        raise PolicyError("policy key 'organisation.teams' is missing (area commands are given)")


def _check(policy: Policy) -> None:
    _check_organisation(policy.organisation)
    codes = [item.code for item in policy.dip_sampling.checklist]
    for i, code in enumerate(codes):
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", code):
            raise PolicyError(f"policy key 'dip_sampling.checklist[{i}].code': {code!r} must be "
                              "lower-case letters, digits and _ (at most 32)")
        if code in codes[:i]:
            raise PolicyError(f"policy key 'dip_sampling.checklist[{i}].code': {code!r} is "
                              "given twice")
    if policy.dip_sampling.per_stratum < 1:
        raise PolicyError("policy key 'dip_sampling.per_stratum': must be at least 1")
    risk = policy.risk
    if risk.high_from_yes <= risk.medium_from_yes:
        raise PolicyError("policy key 'risk.high_from_yes': must be greater than risk.medium_from_yes")
    for level in ("standard", "medium", "high"):
        if level not in risk.review_days:
            raise PolicyError(f"policy key 'risk.review_days.{level}' is missing")
    unknown = set(policy.dmm.enabled_reasons) - set(policy.dmm.weights)
    if unknown:
        raise PolicyError(f"policy key 'dmm.weights.{sorted(unknown)[0]}' is missing (reason is enabled)")
    code = policy.victims_code
    if not 0 <= code.referral_rate_threshold <= 1:
        raise PolicyError("policy key 'victims_code.referral_rate_threshold': must be between 0 and 1")
    both = set(code.specialist_services) & set(code.signposting_services)
    if both:
        raise PolicyError(f"policy key 'victims_code.signposting_services': {sorted(both)[0]!r} "
                          "is also a specialist service (signposting is not a referral)")
    for i, route in enumerate(code.routes):
        for service in route.services:
            if service in code.signposting_services:
                raise PolicyError(f"policy key 'victims_code.routes[{i}].services': {service!r} "
                                  "is signposting, not a referral")
    for rule in ("course_of_conduct", "former_partner_repeated_contact", "behaviour",
                 "behaviour_cap", "risk_answers", "risk_answers_visits", "breach_same_victim",
                 "online_contact", "isolated_incident"):
        if rule not in policy.screening.weights:
            raise PolicyError(f"policy key 'screening.weights.{rule}' is missing")
    _check_screening(policy.screening)
    for day in policy.dmm.meeting_weekdays:
        if day > 6:
            raise PolicyError(f"policy key 'dmm.meeting_weekdays': {day} is not a weekday number 0-6")


def _check_screening(screening: ScreeningPolicy) -> None:
    for key in ("former_partner_categories", "supporting_categories"):
        for category in getattr(screening, key):
            if category not in screening.behaviours:
                raise PolicyError(f"policy key 'screening.{key}': "
                                  f"{category!r} is not a screening.behaviours category")
    for family, category in screening.family_categories.items():
        if category not in screening.supporting_categories:
            raise PolicyError(f"policy key 'screening.family_categories.{family}': "
                              f"{category!r} is not a supporting category")
    for category in screening.category_weights:
        if category not in screening.behaviours:
            raise PolicyError(f"policy key 'screening.category_weights.{category}': "
                              "not a screening.behaviours category")
    if all(c in screening.supporting_categories for c in screening.behaviours):
        raise PolicyError("policy key 'screening.supporting_categories': at least one "
                          "behaviour category must not be supporting")
    if screening.phrase_span < 1:
        raise PolicyError("policy key 'screening.phrase_span': must be at least 1")
    if screening.count_min < 2:
        raise PolicyError("policy key 'screening.count_min': must be at least 2")
    lists = [(f"behaviours.{c}", p) for c, p in screening.behaviours.items()]
    lists += [("online_markers.phrases", screening.online_markers.phrases),
              ("exclusions", screening.exclusions), ("isolated_incident", screening.isolated_incident)]
    for key, phrases in lists:
        for index, phrase in enumerate(phrases):
            problem = _phrase_problem(phrase)
            if problem:
                raise PolicyError(f"policy key 'screening.{key}[{index}]': phrase {phrase!r}: "
                                  f"{problem}")


_PHRASE_WORD = re.compile(r"(?:#count|#ordinal|#night|#times|[^\W\d_]/[^\W\d_]"
                          r"|[^\W_]+(?:['’][^\W_]+)*)")


def _phrase_problem(phrase: str) -> str | None:
    """What is wrong with a screening phrase, if anything (its grammar is in
    seed/policy.toml: words, ``a|b`` alternatives, ``#count``, ``#ordinal``,
    ``#night``, ``#times``, a leading ``=`` for an ordered phrase)."""
    words = phrase.strip().removeprefix("=").split()
    if not words:
        return "empty"
    for word in words:
        for option in word.split("|"):
            if not _PHRASE_WORD.fullmatch(option):
                return f"{option!r} is not a word, #count, #ordinal, #night or #times"
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise PolicyError(f"policy file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {path}: {exc}") from None


@cache
def _defaults() -> dict[str, Any]:
    return _read_toml(DEFAULT_POLICY_PATH)


def policy_from_mapping(overrides: dict[str, Any] | None = None, *, source: str = "defaults") -> Policy:
    merged = _merge(_defaults(), overrides or {})
    policy = _build(Policy, merged, "")
    policy = dataclasses.replace(policy, source=source)
    _check(policy)
    return policy


def load_policy(path: str | Path | None = None) -> Policy:
    """The default policy, or the defaults with a force's file merged over them."""
    if path is None:
        return default_policy()
    file = Path(path)
    return policy_from_mapping(_read_toml(file), source=str(file))


@cache
def default_policy() -> Policy:
    return policy_from_mapping()
