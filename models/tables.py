"""SQLModel tables for the whole stalking-oversight domain.

Every timestamp is timezone-aware UTC (:class:`models.types.UTCDateTime`).
Controlled vocabularies are strings checked by the services against
:mod:`models.enums`. Every foreign key that a query filters or joins on has an
index of its own: neither engine makes one by itself.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class AppMeta(SQLModel, table=True):
    """Key/value facts about this database (e.g. `database_kind` = training or live)."""

    __tablename__ = "app_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=400)


class User(SQLModel, table=True):
    """A person who may use this database. ``username`` is normalised
    (:func:`app.services.users.normalise_username`); on a live PostgreSQL
    database it is also the person's own database login."""

    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=120)
    role: str = Field(max_length=16)
    area_command: str | None = Field(default=None, max_length=32)
    active: bool = True


class Person(SQLModel, table=True):
    """A pseudonymous nominal: victim or suspect."""

    __tablename__ = "person"
    id: int | None = Field(default=None, primary_key=True)
    person_ref: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=120)
    date_of_birth: date | None = None


class Classification(SQLModel, table=True):
    """Home Office crime classification (reference data)."""

    __tablename__ = "classification"
    code: str = Field(primary_key=True, max_length=8)
    title: str = Field(max_length=200)
    family: str = Field(max_length=32)
    is_stalking: bool = False
    screen_for_stalking: bool = False
    is_breach: bool = False
    order_kinds: str | None = Field(default=None, max_length=64)


class Case(SQLModel, table=True):
    """One crime report. Named `crime_case` in SQL: `case` is a reserved word."""

    __tablename__ = "crime_case"
    __table_args__ = (
        Index("ix_case_area_reported", "area_command", "reported_at"),
        # newest-first lists and searches with no selective criterion
        Index("ix_case_reported", "reported_at"),
        Index("ix_case_area_status", "area_command", "status", "reported_at"),
        Index("ix_case_pair", "victim_id", "suspect_id", "reported_at"),
        Index("ix_case_principal_reported", "principal_code", "reported_at"),
        Index("ix_case_risk", "risk_level", "area_command"),
        Index("ix_case_team", "allocation_team", "area_command"),
        Index("ix_case_activity", "last_activity_at"),
        # assurance: every case reported in a period is read from this index alone
        # (no table row per case), grouped by area, team and the allocation facts
        Index("ix_case_assurance", "reported_at", "area_command", "allocation_team",
              "principal_code", "risk_level", "domestic_abuse", "online", "pin_issued",
              "spo_status", "linked_case_id"),
        # the DMM queue: an area's cases closed within the grace days
        Index("ix_case_area_closed", "area_command", "closed_at"),
        # the DMM queue: an area's open cases with every column its reasons read,
        # so ranking them reads this index alone (no table row per case)
        Index("ix_case_dmm", "area_command", "status", "reported_at", "crime_ref",
              "principal_code", "pin_issued", "risk_level", "risk_assessed_at",
              "risk_review_due", "reassessment_due_at", "spo_status", "victim_id",
              "suspect_id", "allocation_team", "domestic_abuse", "linked_case_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    crime_ref: str = Field(max_length=32, unique=True)
    reported_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    occurred_from: datetime | None = _ts()
    occurred_to: datetime | None = _ts()
    area_command: str = Field(max_length=32)
    principal_code: str = Field(foreign_key="classification.code", max_length=8)
    victim_id: int = Field(foreign_key="person.id")
    suspect_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    relationship: str = Field(default="unknown", max_length=16)
    domestic_abuse: bool = False
    online: bool = False
    summary: str = Field(default="", sa_type=Text)
    status: str = Field(default="open", max_length=8)
    outcome: str | None = Field(default=None, max_length=64)
    closed_at: datetime | None = _ts()
    allocation_team: str | None = Field(default=None, max_length=32)
    officer: str | None = Field(default=None, max_length=64)
    risk_level: str | None = Field(default=None, max_length=8)
    risk_assessed_at: datetime | None = _ts()
    risk_review_due: datetime | None = _ts()
    reassessment_due_at: datetime | None = _ts()
    spo_status: str = Field(default="not_considered", max_length=32)
    pin_issued: bool = False
    linked_case_id: int | None = Field(default=None, foreign_key="crime_case.id", index=True)
    version: int = 1
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_activity_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # a police officer or member of staff is the suspect or the victim: only the
    # named users (case_access) and auditors see the content; others see that
    # it exists and whom to ask (restricted_contact)
    restricted: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    restricted_contact: str | None = Field(default=None, max_length=120)
    # the superintendent who authorised a PIN (any PIN without one is an exception)
    pin_authorised_by: str | None = Field(default=None, max_length=64)
    # rec 18: the suspect's arrest, and the digital lines of enquiry recorded
    # (devices, accounts, communications data: free text, "" or NULL for none)
    arrested_at: datetime | None = _ts()
    digital_enquiries: str | None = Field(default=None, sa_type=Text)


class CaseAccess(SQLModel, table=True):
    """Who may see a restricted case (besides auditors)."""

    __tablename__ = "case_access"
    __table_args__ = (UniqueConstraint("case_id", "username", name="uq_case_access_user"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="crime_case.id", index=True)
    username: str = Field(max_length=64)
    granted_by: str = Field(max_length=64)
    granted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reason: str | None = Field(default=None, sa_type=Text)


# a crime reference differing only in letter case is the same crime
Index("uq_case_crime_ref_ci", func.lower(Case.__table__.c.crime_ref), unique=True)  # type: ignore[attr-defined]


class IncludedClassification(SQLModel, table=True):
    """Another crime on the same report: not counted, but must be searchable (rec 7)."""

    __tablename__ = "included_classification"
    __table_args__ = (
        UniqueConstraint("case_id", "code", name="uq_included_case_code"),
        Index("ix_included_code_case", "code", "case_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="crime_case.id")
    code: str = Field(foreign_key="classification.code", max_length=8)
    source: str = Field(default="recording", max_length=16)
    added_by: str | None = Field(default=None, max_length=64)
    added_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reason: str | None = Field(default=None, sa_type=Text)


class RiskAssessment(SQLModel, table=True):
    __tablename__ = "risk_assessment"
    __table_args__ = (
        Index("ix_risk_case_assessed", "case_id", "assessed_at"),
        # the DMM queue: assessments made since the previous meeting (new high risk)
        Index("ix_risk_assessed", "assessed_at"),
        # the DMM's standing gaps: plans whose review has fallen due
        Index("ix_risk_plan_review", "plan_review_due"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="crime_case.id")
    tool: str = Field(default="S-DASH", max_length=16)
    tool_version: str = Field(default="2009", max_length=16)
    answers: str = Field(max_length=64)
    yes_count: int = 0
    suggested_level: str = Field(max_length=8)
    level: str = Field(max_length=8)
    rationale: str | None = Field(default=None, sa_type=Text)
    management_plan: str | None = Field(default=None, sa_type=Text)
    # the risk management plan: when it was set and when it is to be reviewed
    plan_set_at: datetime | None = _ts()
    plan_review_due: datetime | None = _ts()
    assessor: str = Field(max_length=64)
    assessed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    review_due: datetime | None = _ts()
    approval_required: bool = False
    approved_by: str | None = Field(default=None, max_length=64)
    approved_at: datetime | None = _ts()


class ProtectiveOrder(SQLModel, table=True):
    __tablename__ = "protective_order"
    __table_args__ = (
        Index("ix_order_status_expires", "status", "expires_at"),
        # SPO notifications outstanding: SPO/ISPO in force, not notified, served
        Index("ix_order_notification", "kind", "notified_at", "status", "served_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    order_ref: str = Field(max_length=32, unique=True)
    case_id: int = Field(foreign_key="crime_case.id", index=True)
    kind: str = Field(max_length=8)
    status: str = Field(max_length=32)
    applied_at: datetime | None = _ts()
    granted_at: datetime | None = _ts()
    served_at: datetime | None = _ts()
    expires_at: datetime | None = _ts()
    notified_at: datetime | None = _ts()
    # SPA 2019 s9 notification due date as the RMS records it (None: served + policy days)
    notification_due_at: datetime | None = _ts()
    conditions: str | None = Field(default=None, sa_type=Text)
    subject_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    protected_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    updated_at: datetime | None = _ts()


class SpoDecision(SQLModel, table=True):
    """History of the Stalking Protection Order decision on a case; the case
    carries the current status in `spo_status`."""

    __tablename__ = "spo_decision"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="crime_case.id", index=True)
    status: str = Field(max_length=32)
    rationale: str | None = Field(default=None, sa_type=Text)
    decided_by: str = Field(max_length=64)
    decided_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Breach(SQLModel, table=True):
    __tablename__ = "breach"
    __table_args__ = (
        Index("ix_breach_reported", "reported_at"),
        Index("ix_breach_original_reported", "original_case_id", "reported_at"),
        # the breach board: every unacknowledged breach, and those acknowledged lately
        Index("ix_breach_acknowledged", "acknowledged_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    breach_ref: str = Field(max_length=32, unique=True)
    order_id: int = Field(foreign_key="protective_order.id", index=True)
    breach_case_id: int = Field(foreign_key="crime_case.id", index=True)
    original_case_id: int = Field(foreign_key="crime_case.id")
    occurred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reported_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    threats_or_violence: bool = False
    acknowledged_by: str | None = Field(default=None, max_length=64)
    acknowledged_at: datetime | None = _ts()
    acknowledgement_note: str | None = Field(default=None, sa_type=Text)
    manual_level: int | None = None
    escalated_by: str | None = Field(default=None, max_length=64)
    escalated_at: datetime | None = _ts()
    arrest_at: datetime | None = _ts()
    reassessment_requested_at: datetime | None = _ts()
    outcome: str | None = Field(default=None, max_length=64)


class VictimCare(SQLModel, table=True):
    __tablename__ = "victim_care"
    # the DMM queue: "needs assessed?" read off the index, not the table
    __table_args__ = (Index("ix_victim_care_case_needs", "case_id", "needs_assessed_at"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="crime_case.id", unique=True)
    needs_assessed_at: datetime | None = _ts()
    enhanced_rights: bool = True
    rights_explained_at: datetime | None = _ts()
    # consent to referral: True given, False asked and refused, None not yet asked
    consent: bool | None = None
    consent_at: datetime | None = _ts()
    last_update_at: datetime | None = _ts()
    vps_offered_at: datetime | None = _ts()


class Referral(SQLModel, table=True):
    __tablename__ = "referral"
    __table_args__ = (Index("ix_referral_case_at", "case_id", "referred_at"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="crime_case.id")
    service: str = Field(max_length=16)
    referred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    outcome: str = Field(default="pending", max_length=16)
    referred_by: str | None = Field(default=None, max_length=64)


class MultiAgencyReferral(SQLModel, table=True):
    __tablename__ = "multi_agency_referral"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="crime_case.id", index=True)
    kind: str = Field(max_length=8)
    referred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    referred_by: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=64)


class Allocation(SQLModel, table=True):
    """History of team and officer changes on a case."""

    __tablename__ = "allocation"
    __table_args__ = (Index("ix_allocation_case_at", "case_id", "allocated_at"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="crime_case.id")
    team: str = Field(max_length=32)
    officer: str | None = Field(default=None, max_length=64)
    allocated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    allocated_by: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, sa_type=Text)


class DmmMeeting(SQLModel, table=True):
    __tablename__ = "dmm_meeting"
    __table_args__ = (UniqueConstraint("area_command", "meeting_date", name="uq_dmm_area_date"),)
    id: int | None = Field(default=None, primary_key=True)
    area_command: str = Field(max_length=32)
    meeting_date: date
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    covers_from: datetime = Field(sa_type=UTCDateTime, nullable=False)
    chaired_by: str | None = Field(default=None, max_length=64)
    closed_at: datetime | None = _ts()
    # when the items were last brought up to date, and under which policy; a
    # live queue then re-reads only the cases changed since (app.services.dmm)
    computed_at: datetime | None = _ts()
    full_computed_at: datetime | None = _ts()
    computed_key: str | None = Field(default=None, max_length=64)


class DmmItem(SQLModel, table=True):
    __tablename__ = "dmm_item"
    __table_args__ = (UniqueConstraint("meeting_id", "case_id", name="uq_dmm_item_meeting_case"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="dmm_meeting.id", index=True)
    case_id: int = Field(foreign_key="crime_case.id", index=True)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    priority: int = 0
    decision: str | None = Field(default=None, max_length=32)
    rationale: str | None = Field(default=None, sa_type=Text)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = _ts()
    discussed_at: datetime | None = _ts()
    discussed_by: str | None = Field(default=None, max_length=64)
    # the reasons as bits (app.services.dmm.REASON_BITS; 0: on the agenda for no
    # reason now, kept for what was recorded) and the case's rank keys, so the
    # queue is ranked from its items alone
    mask: int | None = None
    crime_ref: str | None = Field(default=None, max_length=32)
    reported_at: datetime | None = _ts()


class DmmAction(SQLModel, table=True):
    __tablename__ = "dmm_action"
    __table_args__ = (Index("ix_dmm_action_open_due", "done_at", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="dmm_item.id", index=True)
    case_id: int = Field(foreign_key="crime_case.id", index=True)
    text: str = Field(sa_type=Text)
    owner: str = Field(max_length=64)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    done_at: datetime | None = _ts()
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class DmmAddendum(SQLModel, table=True):
    """A change to a meeting's minutes after they closed (when the next
    meeting started): the decision or discussed mark the meeting recorded
    stays as it was, and the change is added beside it, with who and when."""

    __tablename__ = "dmm_addendum"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="dmm_meeting.id", index=True)
    case_id: int = Field(foreign_key="crime_case.id", index=True)
    change: str = Field(max_length=16)  # decision, discussed
    decision: str | None = Field(default=None, max_length=32)
    text: str = Field(sa_type=Text)
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ScreeningResult(SQLModel, table=True):
    """The latest screening of one crime that qualifies for the queue (crimes
    that do not qualify have no row): the incremental run re-screens crimes
    changed since the last run."""

    __tablename__ = "screening_result"
    __table_args__ = (Index("ix_screening_score", "score"),
                      Index("ix_screening_queue", "qualifies", "score"))
    case_id: int = Field(foreign_key="crime_case.id", primary_key=True)
    score: float = 0.0
    # one of the policy's candidate_requires rules fired (a candidate when the
    # score also reaches min_score)
    qualifies: bool = False
    rules: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    screened_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ScreeningRun(SQLModel, table=True):
    __tablename__ = "screening_run"
    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = _ts()
    run_by: str = Field(max_length=64)
    full: bool = False
    screened: int = 0
    candidates: int = 0
    # the earliest report time the run screened (None: every crime)
    scope_start: datetime | None = _ts()


class ScreeningFlag(SQLModel, table=True):
    __tablename__ = "screening_flag"
    # at most one open flag per crime, whoever raises it and however many at once
    __table_args__ = (
        Index("uq_screening_flag_open", "case_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="crime_case.id", index=True)
    rules: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    score: float = 0.0
    suggested_change: str = Field(max_length=32)
    reason: str = Field(sa_type=Text)
    raised_by: str = Field(max_length=64)
    raised_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: str = Field(default="open", max_length=16, index=True)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = _ts()
    rationale: str | None = Field(default=None, sa_type=Text)


class SearchRecord(SQLModel, table=True):
    """A search under the stalking powers of entry (PHA 1997 s2B) or other powers."""

    __tablename__ = "search_record"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="crime_case.id", index=True)
    power: str = Field(max_length=64)
    conducted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    officer: str = Field(max_length=64)
    authorised_by: str | None = Field(default=None, max_length=64)
    premises: str | None = Field(default=None, max_length=200)
    items_seized: str | None = Field(default=None, sa_type=Text)
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class AuditEvent(SQLModel, table=True):
    """Append-only log (DPA 2018 s62). The database rejects UPDATE and DELETE."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_entity", "entity", "entity_id", "at"),
        Index("ix_audit_at", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    username: str = Field(max_length=64)
    role: str = Field(max_length=16)
    action: str = Field(max_length=16)
    entity: str = Field(max_length=32)
    entity_id: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, sa_type=Text)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # the force policy in effect (ServiceContext.policy_version)
    policy_version: str | None = Field(default=None, max_length=32)


class AuditChain(SQLModel, table=True):
    """The hash chain over the audit log: one link per audit event, written by
    a database trigger. ``hash`` is SHA-256 of the previous link's hash and the
    event's canonical text, so an edited, deleted or inserted event breaks the
    chain (`vigil audit verify`)."""

    __tablename__ = "audit_chain"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    audit_id: int = Field(unique=True)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class PolicyVersion(SQLModel, table=True):
    """The force policy stored in the database, one row per version; the
    newest is in effect on a live database (`vigil policy set|history`)."""

    __tablename__ = "policy_version"
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    policy_text: str = Field(sa_type=Text)
    sha256: str = Field(max_length=64)
    set_by: str = Field(max_length=64)
    set_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    note: str | None = Field(default=None, sa_type=Text)


class ImportBatch(SQLModel, table=True):
    """One RMS extract applied to the database, with the delta it made."""

    __tablename__ = "import_batch"
    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = _ts()
    username: str = Field(max_length=64)
    source: str = Field(max_length=400)
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    delta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class TrainingKey(SQLModel, table=True):
    """The answer key of synthetic data: what a generated case hides (e.g.
    stalking recorded as harassment). Written only into generated databases;
    trainers use it to mark exercises and the screening benchmark to measure
    recall and precision."""

    __tablename__ = "training_key"
    case_id: int = Field(foreign_key="crime_case.id", primary_key=True)
    hidden_stalking: bool = False
    note: str | None = Field(default=None, max_length=200)


class AuditSubject(SQLModel, table=True):
    """A case named by an audit event: the cases a list showed, an export
    disclosed or an import collected (one row per case, so "who saw this
    case and why" is an index lookup). Append-only, like the events."""

    __tablename__ = "audit_subject"
    __table_args__ = (Index("ix_audit_subject_ref", "crime_ref", "audit_event_id"),)
    id: int | None = Field(default=None, primary_key=True)
    audit_event_id: int = Field(
        sa_column=Column(Integer, ForeignKey("audit_event.id"), nullable=False))
    crime_ref: str = Field(max_length=32)


class RefSequence(SQLModel, table=True):
    """Reference counters on SQLite (one writer at a time); PostgreSQL uses
    real sequences (``breach_ref_seq``, ``order_ref_seq``)."""

    __tablename__ = "ref_sequence"
    name: str = Field(primary_key=True, max_length=32)
    value: int = 0


class RetentionDecision(SQLModel, table=True):
    """A reviewer's decision on a case under MoPI: retain until the next
    review, or dispose (erasure by an administrator). Kept by crime reference
    so the decision outlives an erased case."""

    __tablename__ = "retention_decision"
    __table_args__ = (Index("ix_retention_ref_at", "crime_ref", "decided_at"),)
    id: int | None = Field(default=None, primary_key=True)
    crime_ref: str = Field(max_length=32)
    decision: str = Field(max_length=16)
    reason: str = Field(sa_type=Text)
    decided_by: str = Field(max_length=64)
    decided_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    next_review_at: datetime | None = _ts()


class TrainingRecord(SQLModel, table=True):
    """A course an officer completed (rec 10), from the force's learning
    records (RMS extract ``training.csv``). ``officer`` is the name the case
    records carry in ``crime_case.officer``."""

    __tablename__ = "training_record"
    __table_args__ = (
        UniqueConstraint("officer", "course", "completed_on", name="uq_training_record"),
        Index("ix_training_officer", "officer", "completed_on"),
    )
    id: int | None = Field(default=None, primary_key=True)
    officer: str = Field(max_length=64)
    course: str = Field(max_length=120)
    completed_on: date
    source: str = Field(default="import", max_length=32)


class PerpetratorProgramme(SQLModel, table=True):
    """A perpetrator intervention available in an area command (a multi-agency
    stalking intervention programme, a behaviour-change course): rec 25 and
    the 2017 report's offender programmes."""

    __tablename__ = "perpetrator_programme"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=120)
    area_command: str = Field(max_length=32, index=True)
    available_from: date
    available_to: date | None = None


class PerpetratorReferral(SQLModel, table=True):
    """A suspect referred to a perpetrator programme, on a case."""

    __tablename__ = "perpetrator_referral"
    __table_args__ = (Index("ix_perpetrator_referral_at", "referred_at"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="crime_case.id", index=True)
    programme_id: int = Field(foreign_key="perpetrator_programme.id", index=True)
    referred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    referred_by: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=64)


class DipSample(SQLModel, table=True):
    """A dip sample of case files drawn for review against the checklist:
    one area command and period, reproducible from its seed."""

    __tablename__ = "dip_sample"
    id: int | None = Field(default=None, primary_key=True)
    area_command: str = Field(max_length=32, index=True)
    period_from: date
    period_to: date  # first day not counted
    seed: int
    per_stratum: int
    reviewer: str = Field(max_length=64)
    checklist_version: str = Field(max_length=32)
    drawn_by: str = Field(max_length=64)
    drawn_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class DipSampleFile(SQLModel, table=True):
    """One case file of a sample. Kept by crime reference (as retention
    decisions are) so the finding outlives an erased case."""

    __tablename__ = "dip_sample_file"
    __table_args__ = (UniqueConstraint("sample_id", "crime_ref", name="uq_dip_sample_file"),)
    id: int | None = Field(default=None, primary_key=True)
    sample_id: int = Field(foreign_key="dip_sample.id", index=True)
    crime_ref: str = Field(max_length=32, index=True)
    stratum: str = Field(max_length=64)
    team: str | None = Field(default=None, max_length=32)
    reviewed_by: str | None = Field(default=None, max_length=64)
    reviewed_at: datetime | None = _ts(index=True)


class DipFinding(SQLModel, table=True):
    """The reviewer's finding on one checklist item of one file."""

    __tablename__ = "dip_finding"
    __table_args__ = (UniqueConstraint("file_id", "item", name="uq_dip_finding"),)
    id: int | None = Field(default=None, primary_key=True)
    file_id: int = Field(foreign_key="dip_sample_file.id", index=True)
    item: str = Field(max_length=32)
    passed: bool
    note: str | None = Field(default=None, sa_type=Text)


class Recommendation(SQLModel, table=True):
    """One recommendation of the force's action plan: its text as published
    (loaded from the force's file), the evidence required, the owner and the
    current status (its history is in the updates)."""

    __tablename__ = "recommendation"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=16, unique=True)
    report: str = Field(max_length=16)  # "2024" super-complaint, "2017" HMIC/HMCPSI
    theme: str = Field(max_length=200)
    published_text: str = Field(default="", sa_type=Text)
    source: str | None = Field(default=None, max_length=400)
    evidence_requirement: str = Field(default="", sa_type=Text)
    owner: str = Field(default="", max_length=120)
    status: str = Field(default="awaiting_review", max_length=32)
    metrics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    text_sha256: str = Field(default="", max_length=64)
    position: int = 0


class RecommendationUpdate(SQLModel, table=True):
    """A dated update of a recommendation: the response written, the status
    it moved to, and the figures attached (as they stood when written)."""

    __tablename__ = "recommendation_update"
    __table_args__ = (Index("ix_recommendation_update_at", "recommendation_id", "written_at"),)
    id: int | None = Field(default=None, primary_key=True)
    recommendation_id: int = Field(foreign_key="recommendation.id")
    written_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    written_by: str = Field(max_length=64)
    status: str = Field(max_length=32)
    response: str = Field(default="", sa_type=Text)
    # {"period": [from, to], "figures": [{code, title, figure, basis, status, definition}]}
    figures: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


def erased_tables() -> list[str]:
    """The tables whose rows hang off a case by ``case_id``, in the order an
    erasure deletes them (DMM actions before their items); the breach table
    is not among them: a case with breaches is refused."""
    found = [t.name for t in reversed(SQLModel.metadata.sorted_tables)
             if t.name not in (Breach.__tablename__, Case.__tablename__)
             and any(fk.parent.name == "case_id" and fk.column.table.name == Case.__tablename__
                     for fk in t.foreign_keys)]
    return sorted(found, key=lambda name: name != DmmAction.__tablename__)
