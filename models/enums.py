"""Controlled vocabularies. Stored as plain strings so adding a value needs no
migration of an enum type; services validate against these."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SUPERVISOR = "supervisor"
    ANALYST = "analyst"
    TRAINER = "trainer"
    OFFICER = "officer"
    AUDITOR = "auditor"
    # administers users and the force policy; sees no case data
    ADMIN = "admin"
    # the nightly RMS import's own login
    IMPORTER = "importer"


class RiskLevel(StrEnum):
    STANDARD = "standard"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return RISK_RANK[self]


RISK_RANK: dict[RiskLevel, int] = {RiskLevel.STANDARD: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


class Relationship(StrEnum):
    EX_PARTNER = "ex_partner"
    PARTNER = "partner"
    FAMILY = "family"
    ACQUAINTANCE = "acquaintance"
    STRANGER = "stranger"
    UNKNOWN = "unknown"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Family(StrEnum):
    HARASSMENT = "harassment"
    STALKING = "stalking"
    MALICIOUS_COMMUNICATIONS = "malicious communications"
    DOMESTIC = "domestic"
    CRIMINAL_DAMAGE = "criminal damage"
    BREACH = "breach"


class OrderKind(StrEnum):
    SPO = "SPO"
    ISPO = "ISPO"
    RO = "RO"
    NMO = "NMO"
    DVPO = "DVPO"


class OrderStatus(StrEnum):
    APPLICATION_IN_PREPARATION = "application_in_preparation"
    APPLIED = "applied"
    INTERIM_GRANTED = "interim_granted"
    GRANTED = "granted"
    REFUSED = "refused"
    VARIED = "varied"
    RENEWED = "renewed"
    DISCHARGED = "discharged"
    EXPIRED = "expired"


# Statuses in which an order is in force and can be breached.
ORDERS_IN_FORCE: frozenset[str] = frozenset(
    {OrderStatus.INTERIM_GRANTED, OrderStatus.GRANTED, OrderStatus.VARIED, OrderStatus.RENEWED}
)


class SpoStatus(StrEnum):
    NOT_CONSIDERED = "not_considered"
    CONSIDERED_NOT_APPROPRIATE = "considered_not_appropriate"
    APPLICATION_IN_PREPARATION = "application_in_preparation"
    APPLIED = "applied"
    INTERIM_GRANTED = "interim_granted"
    GRANTED = "granted"
    REFUSED = "refused"
    VARIED = "varied"
    RENEWED = "renewed"
    DISCHARGED = "discharged"
    EXPIRED = "expired"


class SupportService(StrEnum):
    ISAC = "ISAC"
    ISHA = "ISHA"
    PALADIN = "PALADIN"
    HELPLINE = "HELPLINE"
    LOCAL = "LOCAL"


class ReferralOutcome(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    NO_CONTACT = "no_contact"


class ClassificationSource(StrEnum):
    RECORDING = "recording"
    SCREENING = "screening"
    IMPORT = "import"


class DmmDecision(StrEnum):
    NO_FURTHER_ACTION = "no_further_action"
    ACTIONS_SET = "actions_set"
    ESCALATE = "escalate"
    REALLOCATE = "reallocate"
    # a standing gap handed to the team's work queue, with an owner and a date
    WORK_QUEUE = "work_queue"


class FlagStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class SuggestedChange(StrEnum):
    PRINCIPAL_TO_STALKING = "principal_to_stalking"
    ADD_INCLUDED_STALKING = "add_included_stalking"
    NO_CHANGE = "no_change"


class RetentionDecisionKind(StrEnum):
    RETAIN = "retain"
    DISPOSE = "dispose"
    ERASED = "erased"


class AuditAction(StrEnum):
    VIEW = "view"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    EXPORT = "export"
    IMPORT = "import"
    LOGIN = "login"
    DENIED = "denied"
    # a row changed in the database, written by the audit triggers (PostgreSQL, live)
    ROW_INSERT = "row_insert"
    ROW_UPDATE = "row_update"
    ROW_DELETE = "row_delete"


class MultiAgencyKind(StrEnum):
    MARAC = "MARAC"
    MAPPA = "MAPPA"
    MASIP = "MASIP"


AREA_COMMANDS: tuple[str, ...] = ("Northern", "Southern", "Eastern", "Western", "Central", "Coastal")
TEAMS: tuple[str, ...] = ("Response", "Neighbourhood", "CID", "Safeguarding", "Orders")
