"""Case search: every criterion, the classification filter matching the
principal or any included classification (rec 7), paging and the total."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.db import Database
from app.errors import BadInput, PermissionDenied
from app.services.search import CaseSearch, search_cases
from models import AuditEvent, Case, ScreeningFlag
from tests.conftest import NOW
from tests.factories import add_case


def _seed(database: Database) -> None:
    """Twelve cases, one hour apart (A01 newest)."""
    with database.write() as session:
        def at(i: int):  # type: ignore[no-untyped-def]
            return NOW - timedelta(hours=i)

        add_case(session, "A01", at(1), code="8Q", victim="VA", suspect="SA", risk="high",
                 team="CID", domestic_abuse=True)
        add_case(session, "A02", at(2), code="8L", included=("8Q",), victim="VB", suspect="SB",
                 risk="medium", online=True)
        add_case(session, "A03", at(3), code="8R", included=("58A",), victim="VA", suspect="SC",
                 area="Southern", team=None)
        add_case(session, "A04", at(4), code="8L", victim="VD", suspect="SA", pin=True)
        add_case(session, "A05", at(5), code="8Q", victim="VE", suspect=None, area="Southern",
                 risk="standard", team="Neighbourhood")
        add_case(session, "A06", at(6), code="8R", included=("8Q", "8U"), victim="VF",
                 suspect="SF", risk="high", domestic_abuse=True, online=True)
        add_case(session, "A07", at(7), code="8L", victim="VG", suspect="SG", status="closed")
        add_case(session, "A08", at(8), code="8Q", victim="VH", suspect="SH", risk="medium")
        add_case(session, "A09", at(9), code="8U", included=("8Q",), victim="VI", suspect="SI")
        add_case(session, "A10", at(48), code="8L", victim="VJ", suspect="SJ")
        add_case(session, "A11", at(72), code="8Q", victim="VK", suspect="SK")
        b12 = add_case(session, "B12", at(96), code="8L", included=("8Q",), victim="VL",
                       suspect="SL")
        a04 = session.exec(select(Case).where(Case.crime_ref == "A04")).one()
        a04.reassessment_due_at = NOW - timedelta(hours=1)
        a08 = session.exec(select(Case).where(Case.crime_ref == "A08")).one()
        a08.risk_review_due = NOW - timedelta(days=1)
        session.add_all([a04, a08])
        session.add(ScreeningFlag(case_id=b12.id, rules=["course_of_conduct"], score=4.0,
                                  suggested_change="add_included_stalking", reason="r",
                                  raised_by="analyst", raised_at=NOW))
        a07 = session.exec(select(Case).where(Case.crime_ref == "A07")).one()
        session.add(ScreeningFlag(case_id=a07.id, rules=["behaviour"], score=3.0,
                                  suggested_change="principal_to_stalking", reason="r",
                                  raised_by="analyst", raised_at=NOW, status="rejected"))


def refs(ctx, **criteria) -> list[str]:  # type: ignore[no-untyped-def]
    return [row.crime_ref for row in search_cases(ctx, CaseSearch(**criteria)).rows]


@pytest.mark.parametrize(("criteria", "expected"), [
    ({}, ["A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A09", "A10", "A11", "B12"]),
    # principal OR included, newest first, each case once
    ({"code": "8q"}, ["A01", "A02", "A05", "A06", "A08", "A09", "A11", "B12"]),
    ({"code": "8U"}, ["A06", "A09"]),
    ({"code": "58A"}, ["A03"]),
    ({"code": "BSPO"}, []),
    ({"code": "8Q", "area": "Southern"}, ["A05"]),
    ({"code": "8Q", "risk": "high"}, ["A01", "A06"]),
    ({"crime_ref": "a06"}, ["A06"]),
    ({"person_ref": "VA"}, ["A01", "A03"]),
    ({"person_ref": "sa"}, ["A01", "A04"]),  # victim or suspect
    ({"text": "b1"}, ["B12"]),
    ({"text": "S"}, ["A01", "A02", "A03", "A04", "A06", "A07", "A08", "A09", "A10", "A11", "B12"]),
    ({"risk": "medium"}, ["A02", "A08"]),
    ({"risk": "unassessed"}, ["A03", "A04", "A07", "A09", "A10", "A11", "B12"]),
    ({"unassessed": False}, ["A01", "A02", "A05", "A06", "A08"]),
    ({"team": "CID"}, ["A01"]),
    ({"team": "unallocated"}, ["A03"]),
    ({"area": "Southern"}, ["A03", "A05"]),
    ({"status": "closed"}, ["A07"]),
    ({"online": True}, ["A02", "A06"]),
    ({"domestic_abuse": True}, ["A01", "A06"]),
    ({"pin_issued": True}, ["A04"]),
    ({"open_flag": True}, ["B12"]),
    ({"reassessment_due": True}, ["A04", "A08"]),
    ({"reported_from": NOW - timedelta(hours=72), "reported_to": NOW - timedelta(hours=8)},
     ["A09", "A10", "A11"]),
    ({"code": "8Q", "reported_to": NOW - timedelta(hours=9)}, ["A11", "B12"]),
])
def test_each_criterion(database: Database, make_context, criteria, expected) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    assert refs(make_context("analyst"), **criteria) == expected


def test_rows_carry_included_codes_and_people(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    [row] = search_cases(make_context("analyst"), CaseSearch(crime_ref="A06")).rows
    assert (row.principal_code, row.included_codes, row.victim_ref, row.suspect_ref) == (
        "8R", ("8Q", "8U"), "VF", "SF")
    assert row.as_json() | {"reported_at": None} == {
        "crime_ref": "A06", "principal_code": "8R", "included_codes": ["8Q", "8U"],
        "risk": "high", "team": "Response", "area": "Northern", "reported_at": None,
        "status": "open", "victim_ref": "VF", "suspect_ref": "SF", "online": True,
        "domestic_abuse": True, "pin_issued": False}


def test_code_search_pages_across_principal_and_included(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("analyst")
    pages = []
    for page in range(3):
        result = search_cases(ctx, CaseSearch(code="8Q", page=page, page_size=3),
                              with_total=page == 0)
        pages.append(([r.crime_ref for r in result.rows], result.has_more, result.total))
    assert pages == [
        (["A01", "A02", "A05"], True, 8),
        (["A06", "A08", "A09"], True, None),
        (["A11", "B12"], False, None),
    ]


@pytest.mark.parametrize("walk", [False, True])
@pytest.mark.parametrize("criteria", [
    {"code": "8Q"}, {"code": "8Q", "area": "Northern"}, {"code": "8U"},
    {"code": "8Q", "reported_to": NOW - timedelta(hours=5)}, {"code": "8Q", "page": 1, "page_size": 3},
])
def test_both_ways_of_finding_included_codes_agree(database: Database, make_context, criteria,  # type: ignore[no-untyped-def]
                                                   walk: bool) -> None:
    """Walking cases newest first (common codes) and sorting the inclusions
    (rare codes) give the same page."""
    from sqlalchemy import select as sa_select

    from app.services.search import _conditions, _page_ids

    _seed(database)
    search = CaseSearch(**criteria)
    conds = _conditions(search, NOW, database.dialect)
    size = search.page_size
    ids = _page_ids(search, conds, search.page * size, size, walk_included=walk)
    with database.read() as session:
        found = session.execute(
            sa_select(Case.crime_ref).join(ids, ids.c.id == Case.id)
            .order_by(ids.c.reported_at.desc(), ids.c.id.desc())).scalars().all()
    expected = refs(make_context("analyst"), **criteria)
    assert found[:size] == expected


def test_the_walk_is_chosen_for_a_common_code(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    from app.services.search import _walk_included

    _seed(database)
    with database.write() as session:
        add_case(session, "B13", NOW - timedelta(hours=100), code="8L", included=("8Q",))
        add_case(session, "B14", NOW - timedelta(hours=101), code="8R", included=("8Q",))
    with database.read() as session:
        # 6 inclusions of 8Q among 14 cases: 36 >= 14 * 2 for a one-row page
        assert _walk_included(session, CaseSearch(code="8Q"), "8Q", 2)
        assert not _walk_included(session, CaseSearch(code="8Q"), "8Q", 51)
        assert not _walk_included(session, CaseSearch(code="8Q", risk="high"), "8Q", 2)
    pages = [refs(make_context("analyst"), code="8Q", page=p, page_size=1) for p in range(11)]
    assert pages == [["A01"], ["A02"], ["A05"], ["A06"], ["A08"], ["A09"], ["A11"], ["B12"],
                     ["B13"], ["B14"], []]


def test_totals(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("analyst")
    assert search_cases(ctx, CaseSearch(page_size=5), with_total=True).total == 12
    page = search_cases(ctx, CaseSearch(code="8Q", area="Northern", page_size=5), with_total=True)
    assert (page.total, page.pages) == (7, 2)
    assert search_cases(ctx, CaseSearch(page_size=5)).total is None


def test_total_is_counted_up_to_a_cap(database: Database, make_context, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.services import search

    _seed(database)
    monkeypatch.setattr(search, "TOTAL_CAP", 5)
    page = search.search_cases(make_context("analyst"), CaseSearch(code="8Q"), with_total=True)
    assert (page.total, page.total_capped, page.total_text) == (6, True, "5+")
    page = search.search_cases(make_context("analyst"), CaseSearch(code="8U"), with_total=True)
    assert (page.total, page.total_capped, page.total_text) == (2, False, "2")


def test_search_is_audited(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    search_cases(make_context("supervisor.northern"), CaseSearch(code="8Q", risk="high"),
                 with_total=True)
    with database.read() as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.entity == "search")).all()
    assert (event.action, event.username) == ("view", "supervisor.northern")
    assert event.reason == "code=8Q, risk=high (page 1, 2 rows, 2 in all)"


def test_bad_risk_and_trainer_on_live(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    with pytest.raises(BadInput, match="risk 'severe': expected standard, medium, high or unassessed"):
        search_cases(make_context("analyst"), CaseSearch(risk="severe"))
    with pytest.raises(PermissionDenied):
        search_cases(make_context("trainer"), CaseSearch())


def test_prefix_text_is_literal(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    ctx = make_context("analyst")
    assert refs(ctx, text="A_1") == []
    assert refs(ctx, text="%") == []
    assert refs(ctx, text="A1") == ["A10", "A11"]


def test_benchmark_baselines_agree_with_the_services(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    from benchmarks.search import (
        baseline_case_open_sql,
        baseline_search_sql,
        time_case_open,
        time_search,
    )

    _seed(database)
    ctx = make_context("analyst")
    raw = database.engine.raw_connection()
    try:
        rows = baseline_search_sql(raw.driver_connection, "8Q", 5)
        record = baseline_case_open_sql(raw.driver_connection, "A06")
        assert baseline_case_open_sql(raw.driver_connection, "NOPE") == {}
    finally:
        raw.close()
    assert [(r[1], r[-1]) for r in rows] == [
        ("A01", ()), ("A02", ("8Q",)), ("A05", ()), ("A06", ("8Q", "8U")), ("A08", ())]
    assert [r[0] for r in record["included"]] == ["8Q", "8U"]
    assert record["case"][1] == "A06" and record["allocations"][0][0] == "Response"
    assert len(time_search(ctx, "8Q", 3)) == 3
    times = time_case_open(make_context("supervisor.southern"), "A06", 2)
    assert len(times) == 2 and all(t > 0 for t in times)


@pytest.mark.parametrize("walk", [False, True])
def test_the_code_search_uses_indexes_on_sqlite(sqlite_database: Database, walk: bool) -> None:
    """No branch of the classification search reads the whole case table in
    an order it must then sort (what made the OR EXISTS form slow at scale)."""
    from sqlalchemy import select as sa_select
    from sqlalchemy import text

    from app.services.search import _conditions, _page_ids

    search = CaseSearch(code="8Q")
    ids = _page_ids(search, _conditions(search, NOW, "sqlite"), 0, 50, walk_included=walk)
    stmt = sa_select(ids.c.id)
    compiled = stmt.compile(sqlite_database.engine, compile_kwargs={"literal_binds": True})
    with sqlite_database.read() as session:
        plan = [row[3] for row in session.execute(text("EXPLAIN QUERY PLAN " + str(compiled)))]
    assert any("ix_case_principal_reported" in step for step in plan), plan
    if walk:
        assert any("USING COVERING INDEX ix_case_reported" in step for step in plan), plan
    else:
        assert any("ix_included_code_case" in step for step in plan), plan
    assert not any(step.startswith("SCAN crime_case") and "INDEX" not in step for step in plan), plan
