"""What the case screen shows, as plain dataclasses: the case record with its
classifications, assessments, orders, breaches, SPO decisions, victim care,
referrals, allocations, searches and related cases; the allocation policy's
verdict; and what an edit of a case returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.rules.allocation import (
    AllocationFacts,
)


@dataclass(frozen=True)
class ClassificationView:
    code: str
    title: str
    family: str
    is_stalking: bool
    source: str | None = None  # included only: recording / screening / import
    added_by: str | None = None
    added_at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AssessmentView:
    id: int
    tool: str
    tool_version: str
    answers: str
    yes_count: int
    suggested_level: str
    level: str
    rationale: str | None
    management_plan: str | None
    assessor: str
    assessed_at: datetime
    review_due: datetime | None
    approval_required: bool
    approved_by: str | None
    approved_at: datetime | None

    @property
    def awaiting_approval(self) -> bool:
        return self.approval_required and self.approved_at is None


@dataclass(frozen=True)
class OrderView:
    order_ref: str
    kind: str
    status: str
    applied_at: datetime | None
    granted_at: datetime | None
    served_at: datetime | None
    expires_at: datetime | None
    conditions: str | None


@dataclass(frozen=True)
class BreachView:
    breach_ref: str
    order_ref: str
    order_kind: str
    breach_crime_ref: str
    original_crime_ref: str
    occurred_at: datetime
    reported_at: datetime
    threats_or_violence: bool
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class SpoDecisionView:
    status: str
    rationale: str | None
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True)
class VictimCareView:
    needs_assessed_at: datetime | None
    enhanced_rights: bool
    rights_explained_at: datetime | None
    consent: bool | None
    last_update_at: datetime | None


@dataclass(frozen=True)
class ReferralView:
    id: int
    service: str
    service_name: str
    referred_at: datetime
    outcome: str
    referred_by: str | None


@dataclass(frozen=True)
class MultiAgencyView:
    """A referral of the case to a multi-agency arrangement."""

    id: int
    kind: str  # MARAC, MAPPA or MASIP (models.enums.MultiAgencyKind)
    referred_at: datetime
    referred_by: str | None
    outcome: str | None


@dataclass(frozen=True)
class AllocationView:
    """One step of the case's allocation history: who holds it, since when, and why."""

    team: str
    officer: str | None
    allocated_at: datetime
    allocated_by: str | None
    reason: str | None


@dataclass(frozen=True)
class PolicyCheck:
    """The allocation policy's verdict on the case as it is held now."""

    compliant: bool
    rule: str | None
    expected_teams: tuple[str, ...]
    explanation: str


@dataclass(frozen=True)
class RelatedCase:
    crime_ref: str
    reported_at: datetime
    principal_code: str
    included_codes: tuple[str, ...]
    status: str
    risk_level: str | None
    area_command: str


@dataclass(frozen=True)
class SearchRecordView:
    id: int
    power: str
    conducted_at: datetime
    officer: str
    authorised_by: str | None
    premises: str | None
    items_seized: str | None
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class CaseRecord:
    """One case as the case screen shows it, with the version to edit against."""

    crime_ref: str
    version: int
    as_of: datetime
    # summary
    reported_at: datetime
    occurred_from: datetime | None
    occurred_to: datetime | None
    area_command: str
    status: str
    outcome: str | None
    closed_at: datetime | None
    victim_ref: str
    victim_name: str
    suspect_ref: str | None
    suspect_name: str | None
    relationship: str
    domestic_abuse: bool
    online: bool
    pin_issued: bool
    summary: str
    linked_crime_ref: str | None
    last_activity_at: datetime
    # classifications
    principal: ClassificationView
    included: tuple[ClassificationView, ...]
    # risk (the case mirrors the latest approved assessment)
    risk_level: str | None
    risk_assessed_at: datetime | None
    risk_review_due: datetime | None
    reassessment_due_at: datetime | None
    assessments: tuple[AssessmentView, ...]  # newest first
    # orders and breaches
    orders: tuple[OrderView, ...]
    breaches: tuple[BreachView, ...]
    spo_status: str
    spo_decisions: tuple[SpoDecisionView, ...]  # newest first
    # victim care
    victim_care: VictimCareView | None
    referrals: tuple[ReferralView, ...]
    multi_agency: tuple[MultiAgencyView, ...]
    # allocation
    allocation_team: str | None
    officer: str | None
    allocations: tuple[AllocationView, ...]  # oldest first
    policy_check: PolicyCheck
    team_moves: int
    too_many_moves: bool
    allocation_facts: AllocationFacts
    # course of conduct and searches
    course_of_conduct: tuple[RelatedCase, ...]
    searches: tuple[SearchRecordView, ...]
    # the user's position
    out_of_area: bool
    view_reason: str | None
    can_edit: bool
    can_approve: bool
    can_view_audit: bool

    @property
    def latest_assessment(self) -> AssessmentView | None:
        return self.assessments[0] if self.assessments else None

    @property
    def pending_assessment(self) -> AssessmentView | None:
        """The newest assessment, when it is a downgrade awaiting approval."""
        latest = self.latest_assessment
        return latest if latest and latest.awaiting_approval else None

    @property
    def codes(self) -> tuple[str, ...]:
        return (self.principal.code, *(c.code for c in self.included))

    @property
    def is_stalking(self) -> bool:
        return self.principal.is_stalking or any(c.is_stalking for c in self.included)

    @property
    def review_overdue(self) -> bool:
        return self.risk_review_due is not None and self.risk_review_due <= self.as_of


@dataclass(frozen=True)
class EditResult:
    """An edit made: the case's new version (to keep editing) and what changed."""

    crime_ref: str
    version: int
    message: str


@dataclass(frozen=True)
class ReallocationResult:
    crime_ref: str
    version: int
    team: str
    officer: str | None
    policy_check: PolicyCheck
    team_moves: int
    too_many_moves: bool
    message: str


@dataclass(frozen=True)
class RecordedItem:
    """An edit that created a row (a search record, a referral): its id too."""

    crime_ref: str
    version: int
    item_id: int
    message: str


def policy_check(verdict) -> PolicyCheck:  # type: ignore[no-untyped-def]
    return PolicyCheck(compliant=verdict.compliant,
                       rule=verdict.rule.name if verdict.rule else None,
                       expected_teams=tuple(verdict.expected_teams),
                       explanation=verdict.explanation)
