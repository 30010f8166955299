"""The DMM's reasons in words: each reason's stable code (:class:`Reason`),
its fixed bit in stored agendas (``REASON_BITS``), which are meeting items and
which standing gaps, its title, chip and name as people read it, and the
display order of reasons of equal weight."""

from __future__ import annotations

import re
from enum import StrEnum

# ---------------------------------------------------------------------------
# Reasons
# ---------------------------------------------------------------------------
#
# Two kinds of reason put a case in front of supervisors.
#
# * **Meeting items** (``AGENDA_REASONS``) are events that need this morning's
#   decision: a new crime, a breach, new or raised high risk, a level set below
#   the checklist's suggestion, a repeat victim-suspect pair, a PIN, allocation
#   contrary to policy on a new case, a DMM action due, an item carried over.
#   An event at time T stays on every meeting's agenda from its first until a
#   meeting records a decision on the case at T or later (``needs_decision``).
#   Breaches stay until acknowledged; actions until completed.
# * **Standing gaps** (``STANDING_REASONS``) are compliance gaps of older cases
#   (no assessment, review overdue, no plan, SPO not considered, victim not
#   referred). They live on the team's work queue; a gap reaches the meeting
#   when it crosses its first threshold and again only when it crosses its
#   second, stricter one, each time until a meeting decides on the case.
#
# Thresholds and events before the database's first import (``frame.epoch``)
# do not reach the meeting, except events inside the meeting's own window, so
# a first import does not flood it.


class Reason(StrEnum):
    NEW_CRIME = "NEW_CRIME"
    BREACH = "BREACH"
    HIGH_RISK = "HIGH_RISK"
    NO_RISK_ASSESSMENT = "NO_RISK_ASSESSMENT"
    RISK_REVIEW_DUE = "RISK_REVIEW_DUE"
    SPO_NOT_CONSIDERED = "SPO_NOT_CONSIDERED"
    VICTIM_NOT_REFERRED = "VICTIM_NOT_REFERRED"
    ALLOCATION_CONTRARY_TO_POLICY = "ALLOCATION_CONTRARY_TO_POLICY"
    REPEAT_PAIR = "REPEAT_PAIR"
    PIN_RECORDED = "PIN_RECORDED"
    ACTION_OVERDUE = "ACTION_OVERDUE"
    CARRIED_OVER = "CARRIED_OVER"
    RISK_BELOW_SUGGESTION = "RISK_BELOW_SUGGESTION"
    NO_RISK_PLAN = "NO_RISK_PLAN"
    SPO_NOTIFICATION_OVERDUE = "SPO_NOTIFICATION_OVERDUE"


# The bit each reason is stored as on a DMM item (``dmm_item.mask``). Fixed by
# code, never by the order of the enum: a stored agenda keeps its meaning.
REASON_BITS: dict[str, int] = {
    Reason.NEW_CRIME: 1 << 0,
    Reason.BREACH: 1 << 1,
    Reason.HIGH_RISK: 1 << 2,
    Reason.NO_RISK_ASSESSMENT: 1 << 3,
    Reason.RISK_REVIEW_DUE: 1 << 4,
    Reason.SPO_NOT_CONSIDERED: 1 << 5,
    Reason.VICTIM_NOT_REFERRED: 1 << 6,
    Reason.ALLOCATION_CONTRARY_TO_POLICY: 1 << 7,
    Reason.REPEAT_PAIR: 1 << 8,
    Reason.PIN_RECORDED: 1 << 9,
    Reason.ACTION_OVERDUE: 1 << 10,
    Reason.CARRIED_OVER: 1 << 11,
    Reason.RISK_BELOW_SUGGESTION: 1 << 12,
    Reason.NO_RISK_PLAN: 1 << 13,
    Reason.SPO_NOTIFICATION_OVERDUE: 1 << 14,
}

AGENDA_REASONS: frozenset[str] = frozenset({
    Reason.NEW_CRIME, Reason.BREACH, Reason.HIGH_RISK, Reason.RISK_BELOW_SUGGESTION,
    Reason.ALLOCATION_CONTRARY_TO_POLICY, Reason.REPEAT_PAIR, Reason.PIN_RECORDED,
    Reason.ACTION_OVERDUE, Reason.CARRIED_OVER, Reason.SPO_NOTIFICATION_OVERDUE,
})
STANDING_REASONS: frozenset[str] = frozenset({
    Reason.NO_RISK_ASSESSMENT, Reason.RISK_REVIEW_DUE, Reason.NO_RISK_PLAN,
    Reason.SPO_NOT_CONSIDERED, Reason.VICTIM_NOT_REFERRED,
})

# What each code means, in words (minutes, help, items whose explanation was not kept).
REASON_TITLES: dict[str, str] = {
    Reason.NEW_CRIME: "new stalking, harassment, malicious communications or breach crime",
    Reason.BREACH: "breach of an order reported since the last meeting, or not acknowledged",
    Reason.HIGH_RISK: "new or raised high risk, or high risk without a plan in its first days",
    Reason.RISK_BELOW_SUGGESTION: "risk level below the checklist's suggestion, or lowered "
                                  "from high, not yet approved",
    Reason.NO_RISK_ASSESSMENT: "stalking or harassment case with no risk assessment",
    Reason.RISK_REVIEW_DUE: "risk review or re-assessment overdue",
    Reason.NO_RISK_PLAN: "high risk without a risk management plan",
    Reason.SPO_NOT_CONSIDERED: "stalking case with no Stalking Protection Order decision",
    Reason.VICTIM_NOT_REFERRED: "victim not needs-assessed or referred in Victims' Code time",
    Reason.ALLOCATION_CONTRARY_TO_POLICY: "allocated contrary to the allocation policy",
    Reason.REPEAT_PAIR: "repeat crimes for the same victim and suspect",
    Reason.PIN_RECORDED: "Police Information Notice recorded",
    Reason.ACTION_OVERDUE: "DMM action due or overdue",
    Reason.CARRIED_OVER: "on an earlier agenda, no decision yet",
    Reason.SPO_NOTIFICATION_OVERDUE: "Stalking Protection Order served, the subject has not "
                                     "notified name and address in time (SPA 2019 s9)",
}

# Short labels for the chips on the queue.
REASON_SHORT: dict[str, str] = {
    Reason.NEW_CRIME: "NEW",
    Reason.BREACH: "BREACH",
    Reason.HIGH_RISK: "HIGH",
    Reason.RISK_BELOW_SUGGESTION: "BELOW",
    Reason.NO_RISK_ASSESSMENT: "NO RA",
    Reason.RISK_REVIEW_DUE: "REVIEW",
    Reason.NO_RISK_PLAN: "NO PLAN",
    Reason.SPO_NOT_CONSIDERED: "SPO",
    Reason.VICTIM_NOT_REFERRED: "VCOP",
    Reason.ALLOCATION_CONTRARY_TO_POLICY: "ALLOC",
    Reason.REPEAT_PAIR: "REPEAT",
    Reason.PIN_RECORDED: "PIN",
    Reason.ACTION_OVERDUE: "ACTION",
    Reason.CARRIED_OVER: "CARRIED",
    Reason.SPO_NOTIFICATION_OVERDUE: "NOTIFY",
}

# Names people read, where a reason heads a line (the side panel, minutes).
REASON_NAMES: dict[str, str] = {
    Reason.NEW_CRIME: "New crime",
    Reason.BREACH: "Breach",
    Reason.HIGH_RISK: "High risk",
    Reason.RISK_BELOW_SUGGESTION: "Risk below the checklist",
    Reason.NO_RISK_ASSESSMENT: "No risk assessment",
    Reason.RISK_REVIEW_DUE: "Risk review due",
    Reason.NO_RISK_PLAN: "No risk plan",
    Reason.SPO_NOT_CONSIDERED: "SPO not considered",
    Reason.VICTIM_NOT_REFERRED: "Victim not referred",
    Reason.ALLOCATION_CONTRARY_TO_POLICY: "Allocation against policy",
    Reason.REPEAT_PAIR: "Repeat victim and suspect",
    Reason.PIN_RECORDED: "PIN recorded",
    Reason.ACTION_OVERDUE: "Action overdue",
    Reason.CARRIED_OVER: "Carried over",
    Reason.SPO_NOTIFICATION_OVERDUE: "SPO notification overdue",
}

_REASON_CODE = re.compile(r"\b[A-Z][A-Z_]+[A-Z]\b")


def in_words(text: str) -> str:
    """``text`` with each reason code named as people read it:
    ``BREACH +40, HIGH_RISK +35, high risk +30 = 105`` →
    ``Breach +40, High risk +35, high risk +30 = 105`` (stored text keeps codes)."""
    return _REASON_CODE.sub(lambda m: REASON_NAMES.get(m.group(0), m.group(0)), text)


# Display order of reasons of equal weight.
REASON_ORDER: tuple[str, ...] = (
    Reason.NEW_CRIME, Reason.BREACH, Reason.SPO_NOTIFICATION_OVERDUE, Reason.HIGH_RISK,
    Reason.RISK_BELOW_SUGGESTION, Reason.NO_RISK_ASSESSMENT, Reason.RISK_REVIEW_DUE, Reason.NO_RISK_PLAN,
    Reason.SPO_NOT_CONSIDERED, Reason.VICTIM_NOT_REFERRED,
    Reason.ALLOCATION_CONTRARY_TO_POLICY, Reason.REPEAT_PAIR, Reason.PIN_RECORDED,
    Reason.ACTION_OVERDUE, Reason.CARRIED_OVER,
)
