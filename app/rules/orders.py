"""Protective orders: the lifecycle of an order, the SPO decision on a case,
the SPO notification requirement and the expiry window (DOMAIN.md §4).

Pure functions: no database, no Textual. Periods come from the policy
(``[spo]``); the states and the transitions between them are the law's and
the courts' process, so they live here.

Order lifecycle (every kind)::

    application_in_preparation -> applied -> interim_granted -> granted
                                          \\-> granted          \\-> refused
                                          \\-> refused
    then, for an order in force: varied, renewed, discharged, expired

Courts make restraining orders and non-molestation orders on their own
motion or on a party's application, so those start at ``granted``; a DVPO
follows a DVPN and the police apply for it. An interim SPO (kind ``ISPO``)
is made with or after the main application and lasts until that is decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.policy import SpoPolicy
from models.enums import ORDERS_IN_FORCE, OrderKind, OrderStatus, SpoStatus

_O = OrderStatus

ORDER_KIND_TITLES: dict[str, str] = {
    OrderKind.SPO: "a Stalking Protection Order",
    OrderKind.ISPO: "an interim Stalking Protection Order",
    OrderKind.RO: "a restraining order",
    OrderKind.NMO: "a non-molestation order",
    OrderKind.DVPO: "a domestic violence protection order",
}

# Terminal states (refused, discharged, expired) allow no change.
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    _O.APPLICATION_IN_PREPARATION: frozenset({_O.APPLIED}),
    _O.APPLIED: frozenset({_O.INTERIM_GRANTED, _O.GRANTED, _O.REFUSED}),
    _O.INTERIM_GRANTED: frozenset(
        {_O.GRANTED, _O.REFUSED, _O.VARIED, _O.RENEWED, _O.DISCHARGED, _O.EXPIRED}
    ),
    _O.GRANTED: frozenset({_O.VARIED, _O.RENEWED, _O.DISCHARGED, _O.EXPIRED}),
    _O.VARIED: frozenset({_O.VARIED, _O.RENEWED, _O.DISCHARGED, _O.EXPIRED}),
    _O.RENEWED: frozenset({_O.VARIED, _O.RENEWED, _O.DISCHARGED, _O.EXPIRED}),
    _O.REFUSED: frozenset(),
    _O.DISCHARGED: frozenset(),
    _O.EXPIRED: frozenset(),
}

# The statuses an order of each kind may be recorded with when first entered.
# Police-applied orders (SPO, interim SPO, DVPO) may be entered at any point
# of their process (e.g. an SPO already granted before Vigil held it); court
# orders made on conviction or by the family court are entered once made.
INITIAL_STATUSES: dict[str, frozenset[str]] = {
    OrderKind.SPO: frozenset(
        {_O.APPLICATION_IN_PREPARATION, _O.APPLIED, _O.INTERIM_GRANTED, _O.GRANTED}
    ),
    OrderKind.ISPO: frozenset({_O.APPLIED, _O.INTERIM_GRANTED, _O.GRANTED}),
    OrderKind.DVPO: frozenset({_O.APPLIED, _O.GRANTED}),
    OrderKind.RO: frozenset({_O.GRANTED}),
    OrderKind.NMO: frozenset({_O.GRANTED}),
}

# interim_granted describes the main SPO application with an interim order
# made; no other kind passes through it.
_INTERIM_KINDS = frozenset({OrderKind.SPO, OrderKind.ISPO})

# SPA 2019 s9: the subject of an SPO or interim SPO notifies the police of
# their name(s) and home address within the notification period of service.
NOTIFICATION_KINDS: frozenset[str] = frozenset({OrderKind.SPO, OrderKind.ISPO})
SPO_KINDS: frozenset[str] = frozenset({OrderKind.SPO, OrderKind.ISPO})


class OrderRuleError(ValueError):
    """A status or transition the order lifecycle does not allow."""


def _a(kind: str) -> str:
    """The article for an order kind read as letters: "an SPO", "a DVPO"."""
    return f"an {kind}" if kind[:1] in "AEFHILMNORSX" else f"a {kind}"


def _label(status: str) -> str:
    return status.replace("_", " ")


def order_kind(value: str) -> OrderKind:
    try:
        return OrderKind(value.strip().upper())
    except ValueError:
        kinds = ", ".join(k.value for k in OrderKind)
        raise OrderRuleError(f"order kind {value!r} is not one of {kinds}") from None


def order_status(value: str) -> OrderStatus:
    try:
        return OrderStatus(value.strip().lower())
    except ValueError:
        statuses = ", ".join(s.value for s in OrderStatus)
        raise OrderRuleError(f"order status {value!r} is not one of {statuses}") from None


def allowed_next(kind: str, status: str) -> tuple[OrderStatus, ...]:
    """The statuses an order of ``kind`` in ``status`` may move to, in lifecycle order."""
    nexts = ORDER_TRANSITIONS.get(status, frozenset())
    if kind not in _INTERIM_KINDS:
        nexts = nexts - {_O.INTERIM_GRANTED}
    return tuple(s for s in OrderStatus if s in nexts)


def check_initial_status(kind: str, status: str) -> None:
    """Raise :class:`OrderRuleError` unless a new ``kind`` order may start at ``status``."""
    allowed = INITIAL_STATUSES[order_kind(kind)]
    if order_status(status) not in allowed:
        names = ", ".join(_label(s) for s in OrderStatus if s in allowed)
        raise OrderRuleError(
            f"a new {kind} order cannot be recorded as {_label(status)}: "
            f"start it as {names}"
        )


def check_transition(kind: str, current: str, new: str) -> None:
    """Raise :class:`OrderRuleError`, naming both states, unless ``current -> new``
    is allowed for an order of ``kind``."""
    order_status(new)
    if new in allowed_next(kind, current):
        return
    nexts = allowed_next(kind, current)
    hint = (
        f"from {_label(current)} it may become {', '.join(_label(s) for s in nexts)}"
        if nexts
        else f"{_label(current)} is final"
    )
    raise OrderRuleError(
        f"{_a(kind)} cannot go from {_label(current)} to {_label(new)} ({hint})"
    )


def in_force(status: str) -> bool:
    return status in ORDERS_IN_FORCE


# --- the SPO decision on a stalking case -----------------------------------

_S = SpoStatus

SPO_DECISION_TRANSITIONS: dict[str, frozenset[str]] = {
    _S.NOT_CONSIDERED: frozenset(
        {_S.CONSIDERED_NOT_APPROPRIATE, _S.APPLICATION_IN_PREPARATION, _S.APPLIED}
    ),
    # a breach or new offence may change the answer
    _S.CONSIDERED_NOT_APPROPRIATE: frozenset(
        {_S.CONSIDERED_NOT_APPROPRIATE, _S.APPLICATION_IN_PREPARATION, _S.APPLIED}
    ),
    _S.APPLICATION_IN_PREPARATION: frozenset({_S.APPLIED, _S.CONSIDERED_NOT_APPROPRIATE}),
    _S.APPLIED: frozenset({_S.INTERIM_GRANTED, _S.GRANTED, _S.REFUSED}),
    _S.INTERIM_GRANTED: frozenset(
        {_S.GRANTED, _S.REFUSED, _S.VARIED, _S.RENEWED, _S.DISCHARGED, _S.EXPIRED}
    ),
    _S.GRANTED: frozenset({_S.VARIED, _S.RENEWED, _S.DISCHARGED, _S.EXPIRED}),
    _S.VARIED: frozenset({_S.VARIED, _S.RENEWED, _S.DISCHARGED, _S.EXPIRED}),
    _S.RENEWED: frozenset({_S.VARIED, _S.RENEWED, _S.DISCHARGED, _S.EXPIRED}),
    # after a refusal or the end of an order a fresh application may be made
    _S.REFUSED: frozenset(
        {_S.CONSIDERED_NOT_APPROPRIATE, _S.APPLICATION_IN_PREPARATION, _S.APPLIED}
    ),
    _S.DISCHARGED: frozenset(
        {_S.CONSIDERED_NOT_APPROPRIATE, _S.APPLICATION_IN_PREPARATION, _S.APPLIED}
    ),
    _S.EXPIRED: frozenset(
        {_S.CONSIDERED_NOT_APPROPRIATE, _S.APPLICATION_IN_PREPARATION, _S.APPLIED}
    ),
}

RATIONALE_REQUIRED: frozenset[str] = frozenset({_S.CONSIDERED_NOT_APPROPRIATE})


def spo_status(value: str) -> SpoStatus:
    try:
        return SpoStatus(value.strip().lower())
    except ValueError:
        statuses = ", ".join(s.value for s in SpoStatus)
        raise OrderRuleError(f"SPO decision {value!r} is not one of {statuses}") from None


def check_spo_decision(current: str, new: str, rationale: str | None) -> None:
    """Raise :class:`OrderRuleError` unless the case's SPO decision may move
    from ``current`` to ``new`` (with a rationale where one is required)."""
    spo_status(new)
    if new in RATIONALE_REQUIRED and not (rationale or "").strip():
        raise OrderRuleError(f"SPO decision {_label(new)} needs a written rationale")
    allowed = SPO_DECISION_TRANSITIONS.get(current, frozenset())
    if new not in allowed:
        nexts = [s for s in SpoStatus if s in allowed]
        hint = (
            f"from {_label(current)} it may become {', '.join(_label(s) for s in nexts)}"
            if nexts
            else f"{_label(current)} is final"
        )
        raise OrderRuleError(f"SPO decision cannot go from {_label(current)} to {_label(new)} ({hint})")


def spo_decision_for_order(kind: str, status: str) -> SpoStatus | None:
    """The case's SPO decision that an SPO's or interim SPO's status implies
    (None for other orders, and for an interim order's end, which leaves the
    decision with the full order)."""
    if kind == OrderKind.SPO:
        try:
            return SpoStatus(status)
        except ValueError:
            return None
    if kind == OrderKind.ISPO:
        if status in (OrderStatus.INTERIM_GRANTED, OrderStatus.GRANTED):
            return SpoStatus.INTERIM_GRANTED
        if status in (OrderStatus.APPLICATION_IN_PREPARATION, OrderStatus.APPLIED):
            return SpoStatus(status)
    return None


# --- notification and expiry -----------------------------------------------


@dataclass(frozen=True)
class NotificationState:
    """The SPA 2019 s9 notification for one order."""

    required: bool
    due_at: datetime | None
    notified_at: datetime | None
    overdue: bool

    @property
    def outstanding(self) -> bool:
        return self.required and self.notified_at is None


def notification_due(served_at: datetime, policy: SpoPolicy) -> datetime:
    """Notification due: ``notification_days`` days from service."""
    return served_at + timedelta(days=policy.notification_days)


def notification_state(kind: str, served_at: datetime | None, notified_at: datetime | None,
                       now: datetime, policy: SpoPolicy) -> NotificationState:
    """Whether the subject must notify, by when, and whether it is overdue.
    The clock starts only when the order has been served."""
    if kind not in NOTIFICATION_KINDS or served_at is None:
        return NotificationState(False, None, notified_at, False)
    due = notification_due(served_at, policy)
    overdue = notified_at is None and now > due
    return NotificationState(True, due, notified_at, overdue)


def expiry_window(now: datetime, policy: SpoPolicy,
                  within_days: int | None = None) -> tuple[datetime, datetime]:
    """``(now, now + within_days)``; the policy's ``expiry_warning_days`` by default."""
    days = policy.expiry_warning_days if within_days is None else within_days
    if days < 0:
        raise OrderRuleError(f"expiry window of {days} days: give a number of days, 0 or more")
    return now, now + timedelta(days=days)
