"""The daily management meeting (DMM) of an area command: its agenda, its
decisions and the work queue of standing gaps.

Read the package one file at a time:

- :mod:`.common`: areas, meeting days, the code book, reason masks.
- :mod:`.reason_sql`: every reason of :mod:`app.rules.dmm` as an SQL predicate
  (step 1 of an agenda: one statement gives each case's reasons as bits).
- :mod:`.facts`: the facts of the cases shown and the rules' words for them
  (step 2); standing gaps are also settled there, by the rules themselves.
- :mod:`.items`: meetings and their stored items.
- :mod:`.agenda`: ``build_queue`` and ``prepare_queue``: computed, stored,
  ranked, paged and explained.
- :mod:`.decisions`: decisions, actions (set, completed, reassigned) and
  discussed marks.
- :mod:`.worklist`: the team's work queue of standing gaps, and the orders desk.
- :mod:`.detail`: the side panel of one case.

A meeting is *live* from the day it is the current meeting (``ctx.now()``)
onwards. An earlier meeting that was held is the record: its stored items are
shown as they were left. An earlier meeting that was never opened is computed
for reading only and not stored.

Audit: every view of a queue is an event on entity ``dmm_queue`` with id
``AREA/YYYY-MM-DD`` naming the cases shown (:mod:`.viewing`); the side panel
of a case is a consultation of it (a reason outside the user's area); decisions, actions and discussed marks are events on the
case (entity ``case``, id the crime reference), each in the transaction that
makes the change.
"""

from app.rules.dmm_reasons import REASON_BITS
from app.services.dmm.agenda import PreparedQueue, prepare_queue
from app.services.dmm.common import (
    check_area,
    check_meeting_day,
    current_meeting_date,
    mask_of,
    queue_id,
)
from app.services.dmm.decisions import (
    AddendumView,
    add_action,
    complete_action,
    mark_discussed,
    minutes_addenda,
    minutes_closed_at,
    reassign_action,
    record_decision,
)
from app.services.dmm.detail import CaseDmmHistory, case_history, item_detail
from app.services.dmm.viewing import build_queue
from app.services.dmm.views import (
    DECISION_LABELS,
    BreachEntry,
    DecisionEntry,
    DmmActionView,
    DmmItemDetail,
    DmmItemState,
    DmmQueue,
    DmmQueueItem,
    OrderEntry,
    RiskHistoryEntry,
)
from app.services.dmm.worklist import WorkItem, WorkQueue, work_queue

__all__ = [
    "AddendumView", "minutes_addenda", "minutes_closed_at",
    "DECISION_LABELS", "REASON_BITS", "BreachEntry", "DecisionEntry", "DmmActionView",
    "CaseDmmHistory", "DmmItemDetail", "DmmItemState", "DmmQueue", "DmmQueueItem", "OrderEntry",
    "PreparedQueue", "RiskHistoryEntry", "WorkItem", "WorkQueue", "add_action", "build_queue",
    "check_area", "check_meeting_day", "complete_action", "current_meeting_date",
    "case_history", "item_detail", "mark_discussed", "mask_of", "prepare_queue", "queue_id",
    "reassign_action", "record_decision", "work_queue",
]
