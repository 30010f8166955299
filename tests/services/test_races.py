"""Two users released together (a barrier, no sleeps), 50 rounds each, on
SQLite and PostgreSQL: no duplicate references, no raw database error, no
silent overwrite. Every refusal is a :class:`ConflictError` or a
:class:`BadInput` naming what happened, never SQL text."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.db import Database
from app.errors import BadInput, ConflictError
from app.services.breach_actions import acknowledge_breach
from app.services.breach_recording import record_breach
from app.services.case_edits import reallocate
from app.services.orders import create_order
from models import Breach, Case, ProtectiveOrder
from tests.conftest import NOW
from tests.factories import add_case, add_order, case_version

ROUNDS = 50


def _together(first: Callable[[], Any], second: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run both at once, released by a barrier; each outcome as ("ok", value),
    ("refused", error) for a message meant for the user, or ("raw", error)."""
    barrier = threading.Barrier(2)
    outcomes: list[tuple[str, Any]] = [("raw", None), ("raw", None)]

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            outcomes[index] = ("ok", call())
        except (ConflictError, BadInput) as exc:
            outcomes[index] = ("refused", exc)
        except Exception as exc:
            outcomes[index] = ("raw", exc)

    threads = [threading.Thread(target=run, args=(i, call))
               for i, call in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _original(database: Database, crime_ref: str, order_ref: str, *, victim: str,
              suspect: str) -> None:
    with database.write() as session:
        case = add_case(session, crime_ref, NOW - timedelta(days=30), code="8Q", victim=victim,
                        suspect=suspect, team="CID")
        add_order(session, case, order_ref, kind="RO", status="granted",
                  granted_at=NOW - timedelta(days=20), served_at=NOW - timedelta(days=20))


def test_breaches_recorded_together_get_distinct_references(database: Database,
                                                            make_context) -> None:  # type: ignore[no-untyped-def]
    _original(database, "NO/26/000100", "RO/26/0001", victim="V1", suspect="S1")
    officer, supervisor = make_context("officer.northern"), make_context("supervisor.northern")

    def breach(ctx: Any, n: int) -> Callable[[], Any]:
        return lambda: record_breach(ctx, order_ref="RO/26/0001",
                                     occurred_at=NOW - timedelta(hours=3),
                                     reported_at=NOW - timedelta(hours=2),
                                     summary=f"Contact in breach, round {n}")

    raw = refused = 0
    for n in range(ROUNDS):
        for kind, value in _together(breach(officer, n), breach(supervisor, n)):
            raw += kind == "raw"
            refused += kind == "refused"
            assert kind != "raw", value
    with database.read() as session:
        refs = list(session.execute(select(Breach.breach_ref)).scalars())
        crimes = session.execute(select(func.count()).select_from(Case)
                                 .where(Case.linked_case_id.is_not(None))).scalar()
    duplicates = len(refs) - len(set(refs))
    assert (raw, refused, duplicates, len(refs), crimes) == (0, 0, 0, 2 * ROUNDS, 2 * ROUNDS)


def test_orders_created_together_get_distinct_references(database: Database,
                                                         make_context) -> None:  # type: ignore[no-untyped-def]
    _original(database, "NO/26/000100", "RO/26/0001", victim="V1", suspect="S1")
    _original(database, "NO/26/000200", "RO/26/0002", victim="V2", suspect="S2")
    officer, supervisor = make_context("officer.northern"), make_context("supervisor.northern")

    def order(ctx: Any, crime_ref: str) -> Callable[[], Any]:
        version = case_version(ctx, crime_ref)
        return lambda: create_order(ctx, crime_ref=crime_ref, kind="NMO", status="granted",
                                    granted_at=NOW - timedelta(days=1), expected_version=version)

    raw = 0
    for _n in range(ROUNDS):
        for kind, value in _together(order(officer, "NO/26/000100"),
                                     order(supervisor, "NO/26/000200")):
            raw += kind != "ok"
            assert kind == "ok", value
    with database.read() as session:
        refs = list(session.execute(select(ProtectiveOrder.order_ref)
                                    .where(ProtectiveOrder.kind == "NMO")).scalars())
    assert (raw, len(refs) - len(set(refs)), len(refs)) == (0, 0, 2 * ROUNDS)


def test_an_acknowledgement_is_never_silently_overwritten(database: Database,
                                                          make_context) -> None:  # type: ignore[no-untyped-def]
    _original(database, "NO/26/000100", "RO/26/0001", victim="V1", suspect="S1")
    officer = make_context("officer.northern")
    first, second = make_context("supervisor.northern"), make_context("inspector.northern")
    raw = overwritten = 0
    for n in range(ROUNDS):
        breach_ref = record_breach(officer, order_ref="RO/26/0001",
                                   occurred_at=NOW - timedelta(hours=3),
                                   reported_at=NOW - timedelta(hours=2),
                                   summary=f"Contact in breach, round {n}").breach_ref
        version = case_version(first, breach_ref=breach_ref)  # both read the same board

        def ack(ctx: Any, note: str, ref: str = breach_ref, seen: int = version) -> Callable[[], Any]:
            return lambda: acknowledge_breach(ctx, breach_ref=ref, note=note, expected_version=seen)

        outcomes = _together(ack(first, "first"), ack(second, "second"))
        raw += sum(kind == "raw" for kind, _ in outcomes)
        landed = [note for (kind, _), note in zip(outcomes, ("first", "second"), strict=True)
                  if kind == "ok"]
        with database.read() as session:
            held = session.execute(select(Breach.acknowledgement_note)
                                   .where(Breach.breach_ref == breach_ref)).scalar()
        overwritten += len(landed) != 1 or held != landed[0]
    assert (raw, overwritten) == (0, 0)


def test_two_edits_of_one_case_one_lands_the_other_is_told(database: Database,
                                                           make_context) -> None:  # type: ignore[no-untyped-def]
    _original(database, "NO/26/000100", "RO/26/0001", victim="V1", suspect="S1")
    first, second = make_context("supervisor.northern"), make_context("inspector.northern")
    raw = lost = 0
    for n in range(ROUNDS):
        version = case_version(first, "NO/26/000100")
        teams = ("Safeguarding", "Orders") if n % 2 else ("Orders", "Safeguarding")
        outcomes = _together(
            lambda v=version, t=teams[0]: reallocate(first, crime_ref="NO/26/000100", team=t,
                                                     officer=None, reason="race", expected_version=v),
            lambda v=version, t=teams[1]: reallocate(second, crime_ref="NO/26/000100", team=t,
                                                     officer=None, reason="race", expected_version=v))
        raw += sum(kind == "raw" for kind, _ in outcomes)
        landed = [t for (kind, _), t in zip(outcomes, teams, strict=True) if kind == "ok"]
        with database.read() as session:
            held = session.execute(select(Case.allocation_team)
                                   .where(Case.crime_ref == "NO/26/000100")).scalar()
        lost += len(landed) != 1 or held != landed[0]
    assert (raw, lost) == (0, 0)


def test_the_first_two_decisions_of_a_new_meeting_both_land(database: Database,
                                                            make_context) -> None:  # type: ignore[no-untyped-def]
    """Two supervisors record the first decisions of a meeting nobody has
    opened yet, on two cases, at once: one meeting, both decisions, never a
    raw error on the meeting's unique (area, date)."""
    from app.rules.dmm import upcoming_meeting_date
    from app.services import dmm
    from models import DmmItem, DmmMeeting

    with database.write() as session:
        for ref in ("NO/26/000201", "NO/26/000202"):
            add_case(session, ref, NOW - timedelta(days=1), code="8Q", victim=ref,
                     suspect=f"S-{ref}")
    first, second = make_context("supervisor.northern"), make_context("inspector.northern")
    raw = lost = duplicates = 0
    day = upcoming_meeting_date(NOW, first.policy)
    for _n in range(ROUNDS):
        day = upcoming_meeting_date(
            datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=NOW.tzinfo),
            first.policy)

        def decide(ctx: Any, ref: str, on: Any = day) -> Callable[[], Any]:
            version = case_version(ctx, ref)
            return lambda: dmm.record_decision(ctx, area="Northern", meeting_date=on,
                                               crime_ref=ref, decision="no_further_action",
                                               rationale="race", expected_version=version)

        outcomes = _together(decide(first, "NO/26/000201"), decide(second, "NO/26/000202"))
        raw += sum(kind == "raw" for kind, _ in outcomes)
        with database.read() as session:
            meetings = session.execute(select(DmmMeeting.id).where(
                DmmMeeting.area_command == "Northern", DmmMeeting.meeting_date == day)
            ).scalars().all()
            decided = session.execute(select(func.count()).select_from(DmmItem).where(
                DmmItem.meeting_id.in_(meetings), DmmItem.decision.is_not(None))).scalar_one()
        duplicates += len(meetings) - 1
        lost += 2 - decided
    print(f"first decisions of a new meeting: {2 * ROUNDS} tried, {raw} raw errors, "
          f"{duplicates} duplicate meetings, {lost} lost")
    assert (raw, duplicates, lost) == (0, 0, 0)
