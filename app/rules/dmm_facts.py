"""The facts the DMM rules read for one case (:class:`CaseFacts` and the
assessments, breaches, notifications, pair crimes and actions it carries),
and what the rules answer: a :class:`ReasonHit` (a code and a line in
words) or an open :class:`StandingGap`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class ReasonHit:
    """Why a case is on the agenda: a stable code and one line in words."""

    code: str
    explanation: str


@dataclass(frozen=True)
class StandingGap:
    """A compliance gap open on a case: when it crossed its first threshold,
    when it crosses (or crossed) its second, and what it is in words."""

    code: str
    crossed_at: datetime
    second_at: datetime
    explanation: str


@dataclass(frozen=True)
class AssessmentFact:
    assessed_at: datetime
    level: str
    suggested_level: str | None = None
    review_due: datetime | None = None
    has_plan: bool = False
    approved: bool = False
    approval_required: bool = False  # four-eyes: below the suggestion or lowered from high
    plan_review_due: datetime | None = None  # the risk management plan's own review date


@dataclass(frozen=True)
class BreachFact:
    """A breach whose breach crime is this case."""

    breach_ref: str
    reported_at: datetime
    acknowledged_at: datetime | None = None
    order_kind: str | None = None
    order_ref: str | None = None
    original_crime_ref: str | None = None
    original_status: str | None = None
    arrested_at: datetime | None = None  # the suspect arrested for the breach


@dataclass(frozen=True)
class NotificationFact:
    """A Stalking Protection Order (or interim order) of the case, in force and
    served, with its notification clock (SPA 2019 s9: the subject notifies
    name and address within the policy's days of service)."""

    order_ref: str
    kind: str
    served_at: datetime
    due_at: datetime
    notified_at: datetime | None = None


@dataclass(frozen=True)
class PairCrimeFact:
    """Another crime of the same victim and suspect (never the case itself)."""

    crime_ref: str
    reported_at: datetime
    family: str


@dataclass(frozen=True)
class ActionFact:
    text: str
    owner: str
    due_at: datetime


@dataclass(frozen=True)
class CaseFacts:
    """What the rules look at for one case, as it stands now. Events are
    timed; deadlines are measured at the meeting's start, so the agenda of a
    meeting does not depend on the minute at which it is looked at."""

    crime_ref: str
    reported_at: datetime
    principal_code: str
    principal_family: str
    families: frozenset[str]  # principal and included classifications
    status: str = "open"
    risk_level: str | None = None
    risk_assessed_at: datetime | None = None
    risk_review_due: datetime | None = None
    reassessment_due_at: datetime | None = None
    spo_status: str = "not_considered"
    pin_issued: bool = False
    team: str | None = None
    original_team: str | None = None
    domestic_abuse: bool = False
    has_suspect: bool = True
    assessments: tuple[AssessmentFact, ...] = ()  # oldest first
    breaches: tuple[BreachFact, ...] = ()  # breaches whose breach crime this case is
    pair_crimes: tuple[PairCrimeFact, ...] = ()
    needs_assessed_at: datetime | None = None
    first_referral_at: datetime | None = None  # referrals proper (signposting is none)
    consent_refused: bool = False  # asked and declined a referral: nothing outstanding
    open_actions: tuple[ActionFact, ...] = ()  # DMM actions not done at the clock
    notifications: tuple[NotificationFact, ...] = ()  # SPO/ISPO served, in force
    carried_from: date | None = None  # an earlier meeting listed it and decided nothing
    last_decided_at: datetime | None = None  # latest decision on the case, earlier meetings
    pair_decided_at: datetime | None = None  # latest decision on any crime of the pair
