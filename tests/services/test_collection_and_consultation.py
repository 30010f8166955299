"""Collection and consultation are logged per case (DPA 2018 s62): an import
names every case it created or changed (no cap) and a dry run is a
consultation; lists name the cases shown; a detail view of another area's
case asks why on every path; `vigil audit --case` says who saw it and why.
Imports refuse the facts the services refuse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import tui
from app.db import Database
from app.services.audit_trail import case_audit_trail
from app.services.breaches import breach_board
from app.services.cases import ReasonRequired, open_case
from app.services.context import ServiceContext
from app.services.pair_timeline import pair_timeline
from app.services.rms_import import import_extract
from app.services.search import CaseSearch, search_cases
from models import AuditEvent, AuditSubject, Case
from tests.conftest import NOW
from tests.factories import add_breach, add_case, add_order, extract_row, write_extract

CRIMES, RISK, ORDERS, BREACHES = "crimes.csv", "risk.csv", "orders.csv", "breaches.csv"


def _named(database: Database, **where: str) -> list[list[str]]:
    """The cases named by each audit event matching ``where``, oldest event first."""
    with database.read() as session:
        events = session.execute(select(AuditEvent.id).filter_by(**where)
                                 .order_by(AuditEvent.id)).scalars().all()
        return [sorted(session.execute(select(AuditSubject.crime_ref)
                                       .where(AuditSubject.audit_event_id == e)).scalars())
                for e in events]


# --- collection ---------------------------------------------------------------------
def test_an_import_names_every_case_it_collects_beyond_any_cap(database: Database, make_context,
                                                               tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        add_case(session, "CR-00000", NOW - timedelta(days=3), victim="P-V0", suspect="P-S0")
    crimes = [extract_row(CRIMES, crime_ref=f"CR-{n:05d}", victim_ref=f"P-V{n}",
                          suspect_ref=f"P-S{n}") for n in range(1_200)]
    result = import_extract(make_context("analyst"), folder=write_extract(tmp_path / "x",
                                                                          {CRIMES: crimes}))
    assert result.ok and result.count(CRIMES).new == 1_199
    [named] = _named(database, action="import", entity="import")
    unnamed = len(set(c["crime_ref"] for c in crimes) - set(named))
    print(f"cases collected by import: {len(crimes)}, not named by its event {unnamed}")
    assert named == sorted(c["crime_ref"] for c in crimes)  # 1,199 created + 1 changed, no cap
    with database.read() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "import")
                                ).scalars().one()
    assert (event.after["cases_created"], event.after["cases_changed"]) == (1_199, 1)
    # and `vigil audit --case` finds the collection of any one of them
    trail = case_audit_trail(make_context("auditor"), crime_ref="CR-01150")
    assert [(e.action, e.entity) for e in trail] == [("view", "case"), ("import", "import")]


def test_a_dry_run_is_audited_as_a_consultation(database: Database, make_context,
                                                tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        add_case(session, "CR-0001", NOW - timedelta(days=3), victim="P-V1", suspect="P-S1")
    import_extract(make_context("analyst"), dry_run=True, folder=write_extract(
        tmp_path / "x", {CRIMES: [extract_row(CRIMES), extract_row(CRIMES, crime_ref="CR-0009")]}))
    with database.read() as session:
        event = session.execute(select(AuditEvent)).scalars().one()
        held = session.execute(select(Case.crime_ref)).scalars().all()
    assert (event.action, event.username, event.after["dry_run"]) == ("view", "analyst", True)
    assert _named(database, action="view") == [["CR-0001"]]  # the case held it compared
    assert held == ["CR-0001"]  # nothing written


@pytest.mark.parametrize(("files", "expected"), [
    ({ORDERS: [extract_row(ORDERS, served_at="01/02/2026 10:00")]},
     "orders.csv:2: served_at: 2026-02-01T10:00:00+00:00 is before the order was granted"),
    ({ORDERS: [extract_row(ORDERS)],
      BREACHES: [extract_row(BREACHES, occurred_at="01/03/2026 12:00",
                             reported_at="01/03/2026 12:30")]},
     "breaches.csv:2: occurred_at: 2026-03-01T12:00:00+00:00 is before order 'OR-0001' was "
     "granted"),
    ({RISK: [extract_row(RISK, assessed_at="01/03/1990 12:00")]},
     "risk.csv:2: assessed_at: 1990-03-01T12:00:00+00:00 is long before crime 'CR-0001' was "
     "reported"),
    ({CRIMES: [extract_row(CRIMES), extract_row(CRIMES, crime_ref="cr-0001")]},
     "crimes.csv:3: crime_ref: 'cr-0001' differs only in letter case from 'CR-0001' on line 2"),
])
def test_an_import_refuses_impossible_facts(database: Database, make_context, tmp_path: Path,
                                            files: dict, expected: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    files = {CRIMES: [extract_row(CRIMES), extract_row(CRIMES, crime_ref="CR-0002")], **files}
    result = import_extract(make_context("analyst"), folder=write_extract(tmp_path / "x", files))
    assert not result.ok and not result.written
    assert any(e.startswith(expected) for e in result.errors), result.errors
    with database.read() as session:
        assert session.execute(select(Case.id)).first() is None


def test_a_reference_differing_only_in_case_from_one_held_is_refused(database: Database,
                                                                     make_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        add_case(session, "CR-0001", NOW - timedelta(days=3))
    result = import_extract(make_context("analyst"), folder=write_extract(
        tmp_path / "x", {CRIMES: [extract_row(CRIMES, crime_ref="cr-0001")]}))
    assert result.errors == ("crimes.csv:2: crime_ref: 'cr-0001' differs only in letter case "
                             "from 'CR-0001' in Vigil: write the reference as Vigil holds it",)
    with database.read() as session:
        assert session.execute(select(Case.crime_ref)).scalars().all() == ["CR-0001"]


# --- consultation ------------------------------------------------------------------
def _two_areas(database: Database) -> None:
    with database.write() as session:
        north = add_case(session, "NC/26/000001", NOW - timedelta(days=5), victim="V1",
                         suspect="S1", summary="Northern case")
        add_case(session, "NC/26/000002", NOW - timedelta(days=4), victim="V1", suspect="S1")
        south = add_case(session, "SC/26/000001", NOW - timedelta(days=3), area="Southern",
                         victim="V2", suspect="S2")
        breach_crime = add_case(session, "SC/26/000002", NOW - timedelta(hours=5),
                                area="Southern", code="BRO", victim="V2", suspect="S2",
                                linked_case=south)
        order = add_order(session, south, "RO/26/0001", granted_at=NOW - timedelta(days=2))
        add_breach(session, order, breach_crime, "B/26/000001",
                   occurred_at=NOW - timedelta(hours=6), reported_at=NOW - timedelta(hours=5))
        assert north.id


def test_lists_name_the_cases_shown(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _two_areas(database)
    page = search_cases(make_context("analyst"), CaseSearch())
    board = breach_board(make_context("analyst"))
    assert _named(database, entity="search") == [sorted(r.crime_ref for r in page.rows)]
    assert _named(database, entity="breach_board") == [["SC/26/000001", "SC/26/000002"]]
    assert len(page.rows) == 4 and board.total == 1


ViewWithReason = Callable[[str | None], object]


def _case_views(northern: ServiceContext) -> dict[str, ViewWithReason]:
    """The detail views of Southern's case SC/26/000001 open to a Northern supervisor."""
    return {
        "case record": lambda reason: open_case(northern, crime_ref="SC/26/000001",
                                                reason=reason),
        "course-of-conduct timeline": lambda reason: pair_timeline(
            northern, crime_ref="SC/26/000001", reason=reason),
        "case audit trail": lambda reason: case_audit_trail(
            northern, crime_ref="SC/26/000001", reason=reason),
    }


def _each_asks_why(database: Database, views: dict[str, ViewWithReason]) -> tuple[int, int]:
    """Each view tried without a reason, then with one; the reason must be on
    the case's latest view event. Returns (views tried, shown without a reason)."""
    tried = got_through = 0
    for what, view in views.items():
        tried += 1
        try:
            view(None)
            got_through += 1
        except ReasonRequired:
            pass
        view("linked suspect in Northern")
        with database.read() as session:
            reason = session.execute(select(AuditEvent.reason).where(
                AuditEvent.entity_id == "SC/26/000001", AuditEvent.action == "view")
                .order_by(AuditEvent.id.desc()).limit(1)).scalar()
        assert reason.startswith(f"{what} viewed outside own area (Northern): "
                                 "linked suspect in Northern"), reason
    return tried, got_through


def test_every_detail_view_of_another_areas_case_asks_why(database: Database,
                                                          make_context) -> None:  # type: ignore[no-untyped-def]
    _two_areas(database)
    northern = make_context("supervisor.northern")
    tried, got_through = _each_asks_why(database, _case_views(northern))
    assert (tried, got_through) == (3, 0)
    # inside the own area no reason is asked
    pair_timeline(northern, crime_ref="NC/26/000001")
    assert _named(database, entity="case", entity_id="NC/26/000001")[-1] == ["NC/26/000002"]


def test_vigil_audit_case_says_who_saw_it_and_why(sqlite_database: Database, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _two_areas(sqlite_database)
    base = ["--db", sqlite_database.url, "--now", NOW.isoformat()]
    assert tui.main(["search", "--user", "analyst", *base]) == 0
    assert tui.main(["export", "cases", "--user", "analyst", "--purpose", "CPS file request",
                     "-o", str(tmp_path / "c.csv"), *base]) == 0
    capsys.readouterr()
    assert tui.main(["audit", "--case", "SC/26/000001", "--user", "supervisor.northern",
                     *base]) == 2  # outside Northern: a reason is required
    assert "give a reason" in capsys.readouterr().err
    assert tui.main(["audit", "--case", "SC/26/000001", "--user", "auditor", "--format", "json",
                     *base]) == 0
    import json

    events = json.loads(capsys.readouterr().out)["events"]
    assert [(e["username"], e["action"], e["through"]) for e in events] == [
        ("auditor", "view", "case"),
        ("analyst", "export", "export cases"),
        ("analyst", "view", "search"),
    ]
    assert "for: CPS file request" in events[1]["why"]


# --- every read path ----------------------------------------------------------------
def _latest_named(database: Database, entity: str) -> list[str]:
    with database.read() as session:
        event = session.execute(select(AuditEvent.id).where(
            AuditEvent.entity == entity, AuditEvent.action == "view")
            .order_by(AuditEvent.id.desc()).limit(1)).scalar()
        assert event is not None, f"no view event on {entity}"
        return sorted(session.execute(select(AuditSubject.crime_ref).where(
            AuditSubject.audit_event_id == event)).scalars())


def test_every_list_names_the_cases_it_shows(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    """Each list that shows cases' details or summaries, as its screen and its
    CLI command call it, writes one view event naming every case shown."""
    from datetime import date

    from app.rules import metrics
    from app.services import (
        dmm,
        order_lists,
        retention,
        risk,
        screening,
        screening_queue,
        victim_care,
    )
    from app.services.assurance import metric_cases
    from seed.generator import generate

    generate(database, cases=400, seed=11, now=NOW)
    with database.write() as session:  # the calibrated force's subjects mostly notify in time
        stalking = session.execute(select(Case).where(Case.principal_code == "8Q")
                                   .order_by(Case.id)).scalars().first()
        add_order(session, stalking, "SPO/26/LATE1", kind="SPO",
                  granted_at=NOW - timedelta(days=6), served_at=NOW - timedelta(days=5),
                  expires_at=NOW + timedelta(days=700))
    supervisor, analyst = make_context("supervisor.northern"), make_context("analyst")
    screening.run_screening(analyst, full=True)
    feb = (date(2026, 2, 1), date(2026, 3, 1))
    lists = {  # path: (entity of the event, the service as the screen or CLI calls it)
        "home list and search": ("search", lambda: [
            r.crime_ref for r in search_cases(analyst, CaseSearch()).rows]),
        "DMM queue": ("dmm_queue", lambda: [i.crime_ref for i in dmm.build_queue(
            supervisor, area="Northern", meeting_date=dmm.current_meeting_date(supervisor)
        ).items]),
        "work queue": ("work_queue", lambda: [
            i.crime_ref for i in dmm.work_queue(supervisor, area="Northern").items]),
        "breach board": ("breach_board", lambda: [
            ref for i in breach_board(analyst).items
            for ref in (i.crime_ref, i.original_crime_ref)]),
        "orders watch": ("orders", lambda: [
            o.crime_ref for w in [order_lists.orders_watch(analyst)]
            for o in (*w.expiring, *w.notifications)]),
        "orders expiring": ("orders", lambda: [
            o.crime_ref for o in order_lists.orders_expiring(analyst, within_days=365)]),
        "SPO notifications due": ("orders", lambda: [
            o.crime_ref for o in order_lists.notifications_due(analyst)]),
        "screening queue": ("screening_run", lambda: [
            i.crime_ref for i in screening_queue.screening_queue(analyst, min_score=0).items]),
        "approvals waiting": ("approvals", lambda: [
            a.crime_ref for a in risk.approvals_waiting(analyst, force_wide=True)]),
        "Victims' Code list": ("victims_code", lambda: [
            r.crime_ref for r in victim_care.victims_code_list(analyst).rows]),
        "assurance drill-down": ("assurance", lambda: [
            r.crime_ref for r in metric_cases(analyst, metric_code=metrics.R14_REFERRALS,
                                              date_from=feb[0], date_to=feb[1]).rows]),
        "retention review list": ("retention", lambda: [
            r.crime_ref for r in retention.review_list(make_context("auditor"))]),
    }
    tried = unnamed = 0
    shown_somewhere = 0
    for path, (entity, view) in lists.items():
        tried += 1
        shown = sorted(set(view()))
        shown_somewhere += bool(shown)
        if not shown:
            print(f"{path}: empty on this force")
        if _latest_named(database, entity) != shown:
            unnamed += 1
            print(f"{path}: the event does not name the {len(shown)} cases shown")
    print(f"lists tried {tried}, not naming their cases {unnamed}")
    assert (tried, unnamed) == (12, 0)
    assert shown_somewhere >= 10  # the generated force fills (nearly) every list


def test_every_detail_view_asks_why_on_every_path(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    """The DMM side panel, the case's DMM tab and the screening detail join
    the case record, the timeline and the audit trail: another area's case
    needs a reason, recorded on the case."""
    from app.services import dmm, screening_queue

    _two_areas(database)
    northern = make_context("supervisor.northern")
    southern_supervisor = make_context("supervisor.southern")
    dmm.build_queue(southern_supervisor, area="Southern",
                    meeting_date=dmm.current_meeting_date(southern_supervisor))
    views = {
        **_case_views(northern),
        "DMM item": lambda reason: dmm.item_detail(northern, crime_ref="SC/26/000001",
                                                   reason=reason),
        "DMM and work queue history": lambda reason: dmm.case_history(
            northern, crime_ref="SC/26/000001", reason=reason),
        "screening detail": lambda reason: screening_queue.consult_candidate(
            make_context("supervisor.northern"), crime_ref="SC/26/000001", reason=reason),
    }
    tried, got_through = _each_asks_why(database, views)
    print(f"detail views tried {tried}, shown without a reason {got_through}")
    assert (tried, got_through) == (6, 0)
    # inside the own area no reason is asked, and the view is on the case
    dmm.item_detail(northern, crime_ref="NC/26/000001")
    screening_queue.consult_candidate(northern, crime_ref="NC/26/000001")
    with database.read() as session:
        reasons = session.execute(select(AuditEvent.reason).where(
            AuditEvent.entity_id == "NC/26/000001", AuditEvent.action == "view")
            .order_by(AuditEvent.id)).scalars().all()
    assert reasons[-2:] == ["DMM item viewed", "screening detail viewed"]
