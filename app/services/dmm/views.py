"""What the DMM services hand out: plain dataclasses, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app.rules.dmm_facts import ReasonHit
from models.enums import CaseStatus, DmmDecision

DECISION_LABELS: dict[str, str] = {
    DmmDecision.NO_FURTHER_ACTION: "no further action",
    DmmDecision.ACTIONS_SET: "actions set",
    DmmDecision.ESCALATE: "escalate",
    DmmDecision.REALLOCATE: "reallocate",
    DmmDecision.WORK_QUEUE: "to the work queue",
}

# SQLite allows 32,766 bound parameters; stay well below for IN lists.
CHUNK = 5000


# ---------------------------------------------------------------------------
# What the service hands out
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DmmActionView:
    id: int
    crime_ref: str
    text: str
    owner: str
    due_at: datetime
    done_at: datetime | None
    created_by: str
    created_at: datetime
    meeting_date: date | None = None
    # the case's version after the change that returned this action (a list: None)
    case_version: int | None = None

    def overdue_at(self, moment: datetime) -> bool:
        return self.done_at is None and self.due_at < moment


@dataclass(frozen=True)
class DmmQueueItem:
    crime_ref: str
    case_version: int
    priority: int
    reasons: list[ReasonHit]
    priority_explanation: str
    risk: str | None
    team: str | None
    reported_at: datetime
    victim_ref: str
    suspect_ref: str | None
    decision: str | None
    rationale: str | None
    discussed_at: datetime | None
    actions: list[DmmActionView]
    principal_code: str = ""
    status: str = CaseStatus.OPEN
    officer: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    discussed_by: str | None = None

    @property
    def codes(self) -> list[str]:
        return [hit.code for hit in self.reasons]

    @property
    def discussed(self) -> bool:
        return self.discussed_at is not None


@dataclass(frozen=True)
class DmmQueue:
    area: str
    meeting_date: date
    starts_at: datetime
    covers_from: datetime
    previous_meeting_date: date
    live: bool  # recomputed on every build (today's meeting or a later one)
    recorded: bool  # stored as a meeting (False: an earlier date never held, shown only)
    can_decide: bool  # the acting user may record decisions on it
    built_at: datetime
    items: list[DmmQueueItem] = field(default_factory=list)  # ranked; a page when asked
    total: int = 0  # items on the agenda
    discussed: int = 0  # of them, discussed
    matched: int = 0  # items matching the filters asked for (``items`` is a page of them)
    offset: int = 0
    reason_counts: dict[str, int] = field(default_factory=dict)  # items per reason code
    chaired_by: str | None = None
    attendees: list[str] = field(default_factory=list)  # display names of who recorded
    # Built from the stored agenda plus the cases changed since, with the
    # periodic full recompute left to a follow-up build (``defer_full``).
    full_refresh_due: bool = False
    # Only the first page is final: the agenda's other items (and so the
    # counts) come with the full build that follows (``full_refresh_due``).
    first_page_only: bool = False

    @property
    def covers_to(self) -> datetime:
        return self.starts_at

    @property
    def progress(self) -> str:
        if self.first_page_only:
            return f"{self.discussed} discussed · counting the agenda…"
        return f"{self.discussed} of {self.total} discussed"

    def item(self, crime_ref: str) -> DmmQueueItem | None:
        return next((i for i in self.items if i.crime_ref == crime_ref), None)


@dataclass(frozen=True)
class DmmItemState:
    """An item after a decision, an action or a discussed mark."""

    crime_ref: str
    case_version: int
    meeting_date: date
    decision: str | None
    rationale: str | None
    decided_by: str | None
    decided_at: datetime | None
    discussed_at: datetime | None
    discussed_by: str | None
    actions: list[DmmActionView]


@dataclass(frozen=True)
class RiskHistoryEntry:
    assessed_at: datetime
    level: str
    suggested_level: str
    yes_count: int
    assessor: str
    review_due: datetime | None
    management_plan: str | None
    approval_required: bool


@dataclass(frozen=True)
class OrderEntry:
    order_ref: str
    kind: str
    status: str
    granted_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True)
class BreachEntry:
    breach_ref: str
    crime_ref: str | None  # the breach crime
    reported_at: datetime
    acknowledged_at: datetime | None
    order_kind: str = ""
    order_ref: str = ""
    original_ref: str = ""  # the case the order protects
    original_status: str = ""


@dataclass(frozen=True)
class CourseEntry:
    """One crime of the victim-suspect pair's course of conduct."""

    crime_ref: str
    reported_at: datetime
    principal_code: str
    status: str


@dataclass(frozen=True)
class DecisionEntry:
    meeting_date: date
    area: str
    decision: str | None
    rationale: str | None
    decided_by: str | None
    discussed_at: datetime | None


@dataclass(frozen=True)
class DmmItemDetail:
    """What the side panel shows about one case."""

    crime_ref: str
    case_version: int
    area: str
    principal_code: str
    principal_title: str
    included_codes: tuple[str, ...]
    status: str
    reported_at: datetime
    team: str | None
    officer: str | None
    risk: str | None
    risk_review_due: datetime | None
    spo_status: str
    victim_ref: str
    suspect_ref: str | None
    relationship: str
    domestic_abuse: bool
    online: bool
    summary: str
    risk_history: list[RiskHistoryEntry]
    orders: list[OrderEntry]
    breaches: list[BreachEntry]
    actions: list[DmmActionView]
    decisions: list[DecisionEntry]
    course_of_conduct: list[CourseEntry] = field(default_factory=list)  # newest first


