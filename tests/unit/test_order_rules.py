"""Order lifecycle, the SPO decision, notification due dates and the expiry window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.policy import default_policy, policy_from_mapping
from app.rules.orders import (
    OrderRuleError,
    allowed_next,
    check_initial_status,
    check_spo_decision,
    check_transition,
    expiry_window,
    notification_due,
    notification_state,
    spo_decision_for_order,
)

SPO = default_policy().spo  # 3 notification days, 28 expiry warning days, 14 consideration days
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


# --- lifecycle -----------------------------------------------------------

@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("application_in_preparation", "applied"),
        ("applied", "interim_granted"),
        ("applied", "granted"),
        ("applied", "refused"),
        ("interim_granted", "granted"),
        ("interim_granted", "refused"),
        ("granted", "varied"),
        ("granted", "renewed"),
        ("granted", "discharged"),
        ("granted", "expired"),
        ("varied", "renewed"),
        ("renewed", "expired"),
    ],
)
def test_allowed_spo_transitions(current: str, new: str) -> None:
    check_transition("SPO", current, new)


@pytest.mark.parametrize(
    ("kind", "current", "new"),
    [
        ("SPO", "application_in_preparation", "granted"),
        ("SPO", "granted", "applied"),
        ("SPO", "refused", "granted"),
        ("SPO", "expired", "renewed"),
        ("RO", "applied", "interim_granted"),  # only SPOs pass through interim_granted
        ("NMO", "discharged", "varied"),
    ],
)
def test_refused_transitions(kind: str, current: str, new: str) -> None:
    with pytest.raises(OrderRuleError):
        check_transition(kind, current, new)


def test_refused_transition_names_both_states() -> None:
    with pytest.raises(OrderRuleError) as excinfo:
        check_transition("SPO", "expired", "renewed")
    assert str(excinfo.value) == "an SPO cannot go from expired to renewed (expired is final)"
    with pytest.raises(OrderRuleError) as excinfo:
        check_transition("SPO", "applied", "varied")
    assert str(excinfo.value) == (
        "an SPO cannot go from applied to varied "
        "(from applied it may become interim granted, granted, refused)"
    )


def test_unknown_status_is_refused() -> None:
    with pytest.raises(OrderRuleError, match="'lapsed' is not one of"):
        check_transition("RO", "granted", "lapsed")


def test_allowed_next_in_lifecycle_order() -> None:
    assert [s.value for s in allowed_next("SPO", "applied")] == ["interim_granted", "granted", "refused"]
    assert [s.value for s in allowed_next("DVPO", "applied")] == ["granted", "refused"]
    assert allowed_next("RO", "expired") == ()


@pytest.mark.parametrize(
    ("kind", "status", "ok"),
    [
        ("SPO", "application_in_preparation", True),
        ("SPO", "granted", True),
        ("ISPO", "interim_granted", True),
        ("DVPO", "applied", True),
        ("RO", "granted", True),
        ("RO", "applied", False),
        ("NMO", "application_in_preparation", False),
        ("SPO", "expired", False),
    ],
)
def test_initial_statuses(kind: str, status: str, ok: bool) -> None:
    if ok:
        check_initial_status(kind, status)
    else:
        with pytest.raises(OrderRuleError, match=f"a new {kind} order cannot be recorded"):
            check_initial_status(kind, status)


def test_unknown_kind() -> None:
    with pytest.raises(OrderRuleError, match="order kind 'ASBO' is not one of SPO, ISPO, RO, NMO, DVPO"):
        check_initial_status("ASBO", "granted")


# --- SPO decision on a case ----------------------------------------------

def test_not_appropriate_needs_a_rationale() -> None:
    with pytest.raises(OrderRuleError, match="needs a written rationale"):
        check_spo_decision("not_considered", "considered_not_appropriate", "  ")
    check_spo_decision("not_considered", "considered_not_appropriate", "no course of conduct")


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("not_considered", "application_in_preparation"),
        ("not_considered", "applied"),
        ("considered_not_appropriate", "application_in_preparation"),  # after a breach
        ("application_in_preparation", "applied"),
        ("applied", "granted"),
        ("applied", "refused"),
        ("applied", "interim_granted"),
        ("refused", "application_in_preparation"),
    ],
)
def test_spo_decision_moves(current: str, new: str) -> None:
    check_spo_decision(current, new, None)


@pytest.mark.parametrize(
    ("current", "new"),
    [("not_considered", "granted"), ("applied", "application_in_preparation"),
     ("granted", "not_considered"), ("not_considered", "not_considered")],
)
def test_spo_decision_refused_moves(current: str, new: str) -> None:
    with pytest.raises(OrderRuleError, match=f"cannot go from {current.replace('_', ' ')}"):
        check_spo_decision(current, new, "because")


# --- notification ---------------------------------------------------------

def test_notification_due_three_days_from_service() -> None:
    served = datetime(2026, 2, 26, 15, 45, tzinfo=UTC)
    assert notification_due(served, SPO) == datetime(2026, 3, 1, 15, 45, tzinfo=UTC)


def test_notification_days_from_policy() -> None:
    policy = policy_from_mapping({"spo": {"notification_days": 5}}).spo
    served = datetime(2026, 2, 26, 15, 45, tzinfo=UTC)
    assert notification_due(served, policy) == datetime(2026, 3, 3, 15, 45, tzinfo=UTC)


def test_notification_state() -> None:
    served = datetime(2026, 2, 26, 15, 45, tzinfo=UTC)
    overdue = notification_state("SPO", served, None, NOW, SPO)
    assert (overdue.required, overdue.due_at, overdue.overdue, overdue.outstanding) == (
        True, datetime(2026, 3, 1, 15, 45, tzinfo=UTC), True, True)
    done = notification_state("ISPO", served, served + timedelta(days=1), NOW, SPO)
    assert (done.overdue, done.outstanding) == (False, False)
    pending = notification_state("SPO", NOW - timedelta(days=1), None, NOW, SPO)
    assert (pending.overdue, pending.outstanding) == (False, True)
    not_served = notification_state("SPO", None, None, NOW, SPO)
    assert (not_served.required, not_served.due_at) == (False, None)
    restraining = notification_state("RO", served, None, NOW, SPO)
    assert restraining.required is False


# --- expiry ----------------------------------------------------------------

def test_expiry_window_default_28_days() -> None:
    assert expiry_window(NOW, SPO) == (NOW, datetime(2026, 3, 30, 8, 0, tzinfo=UTC))
    assert expiry_window(NOW, SPO, 7)[1] == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    with pytest.raises(OrderRuleError):
        expiry_window(NOW, SPO, -1)


@pytest.mark.parametrize(("kind", "status", "decision"), [
    ("SPO", "applied", "applied"),
    ("SPO", "granted", "granted"),
    ("SPO", "discharged", "discharged"),
    ("ISPO", "granted", "interim_granted"),
    ("ISPO", "interim_granted", "interim_granted"),
    ("ISPO", "application_in_preparation", "application_in_preparation"),
    ("ISPO", "expired", None),  # the full order's decision follows
    ("RO", "granted", None),
    ("NMO", "applied", None),
    ("SPO", "not_a_status", None),
])
def test_spo_decision_an_order_implies(kind: str, status: str, decision: str | None) -> None:
    assert spo_decision_for_order(kind, status) == decision
