"""`vigil orders add|status|served|notified` and `vigil breaches add`: orders
and breaches recorded by hand when the RMS extract is late, through the
services (permission, lock, version, audit), on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

import tui
from app.db import Database
from models import AuditEvent, Breach, Case, ProtectiveOrder
from tests import factories as f
from tests.conftest import NOW

NOW_ARG = "2026-03-02T08:00:00Z"


@pytest.fixture
def orders_db(database: Database) -> str:
    with database.write() as session:
        f.add_case(session, "NO/26/000100", NOW - timedelta(days=10), code="8Q", victim="V1",
                   suspect="S1")
    return database.url


def _vigil(db: str, *args: str, user: str = "supervisor.northern") -> int:
    return tui.main([*args, "--db", db, "--user", user, "--now", NOW_ARG])


def _order(database: Database, order_ref: str) -> ProtectiveOrder:
    with database.read() as session:
        return session.exec(
            select(ProtectiveOrder).where(ProtectiveOrder.order_ref == order_ref)).one()


def _case_events(database: Database, crime_ref: str) -> list[str]:
    with database.read() as session:
        return [event.reason or "" for event in session.exec(
            select(AuditEvent).where(AuditEvent.entity == "case",
                                     AuditEvent.entity_id == crime_ref)
            .order_by(AuditEvent.id))]


def test_an_spo_recorded_granted_served_notified_then_breached(
        orders_db: str, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert _vigil(orders_db, "orders", "add", "NO/26/000100", "--kind", "SPO",
                  "--status", "applied", "--order-ref", "SPO/26/000901",
                  "--applied", "2026-02-27T10:00", "--conditions",
                  "Not to contact the victim") == 0
    assert "SPO/26/000901 (SPO) on NO/26/000100: applied" in capsys.readouterr().out
    assert _vigil(orders_db, "orders", "status", "SPO/26/000901", "granted",
                  "--at", "2026-03-01T11:00", "--expires", "2028-03-01",
                  "--note", "granted at the magistrates' court") == 0
    assert _vigil(orders_db, "orders", "served", "SPO/26/000901",
                  "--at", "01/03/2026 15:00") == 0
    served = capsys.readouterr().out
    assert "served 01/03/2026 15:00" in served and "subject to notify by 04/03/2026 15:00" in served
    assert _vigil(orders_db, "orders", "notified", "SPO/26/000901") == 0  # now, by default
    order = _order(database, "SPO/26/000901")
    assert order.status == "granted" and order.notified_at is not None
    assert order.notified_at.isoformat().startswith("2026-03-02T08:00")
    with database.read() as session:
        case = session.exec(select(Case).where(Case.crime_ref == "NO/26/000100")).one()
    assert case.spo_status == "granted" and case.version == 5  # four changes, each versioned
    reasons = _case_events(database, "NO/26/000100")
    assert any("SPO SPO/26/000901 (applied)" in r for r in reasons)
    assert any("applied → granted: granted at the magistrates' court" in r for r in reasons)
    assert any("SPO/26/000901 served" in r for r in reasons)
    assert any("notification recorded" in r for r in reasons)
    capsys.readouterr()

    assert _vigil(orders_db, "breaches", "add", "SPO/26/000901", "--occurred",
                  "2026-03-01T20:00", "--summary", "Waited outside the victim's workplace",
                  "--threats-or-violence", user="officer.northern") == 0
    line = capsys.readouterr().out
    assert "breach of SPO/26/000901 (SPO) recorded as crime" in line
    assert "linked to NO/26/000100" in line and "level 2" in line
    with database.read() as session:
        breach = session.exec(select(Breach)).one()
    assert breach.threats_or_violence and breach.reported_at.isoformat().startswith("2026-03-02T08")
    assert _vigil(orders_db, "breaches", "--format", "json") == 0
    assert breach.breach_ref in capsys.readouterr().out  # on the board at once


def test_bad_arguments_are_named_and_nothing_is_saved(
        orders_db: str, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert _vigil(orders_db, "orders", "add", "NO/26/000100", "--kind", "RO",
                  "--status", "granted", "--granted", "31/02/2026") == 2
    assert "--granted: '31/02/2026' is not a real date" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        _vigil(orders_db, "orders", "add", "NO/26/000100", "--kind", "XO", "--status", "granted")
    assert exited.value.code == 2
    assert "--kind: invalid choice: 'XO'" in capsys.readouterr().err
    assert _vigil(orders_db, "orders", "add", "NO/26/000100", "--kind", "RO", "--status",
                  "granted", "--granted", "2026-03-05T10:00") == 2
    assert "granted_at 2026-03-05T10:00:00+00:00 is in the future" in capsys.readouterr().err
    assert _vigil(orders_db, "orders", "served", "RO/26/404", "--at", "2026-03-01") == 1
    assert "order RO/26/404 is not in Vigil" in capsys.readouterr().err
    assert _vigil(orders_db, "breaches", "add", "RO/26/404", "--occurred", "2026-03-01T10:00",
                  "--summary", "seen at the door") == 1
    assert "order RO/26/404 is not in Vigil" in capsys.readouterr().err
    with database.read() as session:
        assert session.exec(select(ProtectiveOrder)).all() == []
        assert session.exec(select(Breach)).all() == []


def test_transitions_and_permissions_come_from_the_service(
        orders_db: str, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert _vigil(orders_db, "orders", "add", "NO/26/000100", "--kind", "RO",
                  "--status", "granted", "--order-ref", "RO/26/000902",
                  "--granted", "2026-02-20T10:00") == 0
    capsys.readouterr()
    assert _vigil(orders_db, "orders", "status", "RO/26/000902", "applied") == 2
    assert "RO/26/000902" not in capsys.readouterr().out
    assert _vigil(orders_db, "orders", "notified", "RO/26/000902") == 2
    assert "only SPOs and interim SPOs" in capsys.readouterr().err
    assert _vigil(orders_db, "orders", "status", "RO/26/000902", "discharged",
                  user="officer.southern") == 1
    assert "may not manage orders in Northern" in capsys.readouterr().err
    assert _vigil(orders_db, "breaches", "add", "RO/26/000902", "--occurred", "2026-03-01T10:00",
                  "--summary", "seen at the door", user="analyst") == 1
    assert "analyst may not record breach" in capsys.readouterr().err
    assert _order(database, "RO/26/000902").status == "granted"
    assert _vigil(orders_db, "breaches", "add", "RO/26/000902", "--occurred", "2026-03-01T10:00",
                  "--reported", "2026-02-28T10:00", "--summary", "seen at the door") == 2
    assert "after it was reported" in capsys.readouterr().err


def test_a_live_database_takes_no_identity_or_clock(
        make_live_database, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    live = make_live_database("sqlite")
    code = tui.main(["orders", "served", "RO/26/1", "--db", live.url, "--now", NOW_ARG])
    assert code != 0
    assert "--now" in capsys.readouterr().err
