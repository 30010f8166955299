"""Dip sampling on a small hand-made force, on SQLite and PostgreSQL.

Northern, January 2026 (``[2026-01-01, 2026-02-01)``):

| refs | class | risk | stratum |
|---|---|---|---|
| H1-H4 | 8Q | high | high risk · stalking (H4: the reviewer is its officer in charge) |
| S1-S3 | 8Q | standard | standard risk · stalking (S3: the reviewer decided its SPO) |
| M1-M2 | 8L | medium | medium risk · harassment (M2: the reviewer assessed its risk) |
| U1 | 8L + 8Q included | none | unassessed risk · stalking |
| X1 | 8R | none | not sampled (malicious communications) |

Outside the sample: SO1 (Southern), L1 (8Q, February).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from app.errors import BadInput, PermissionDenied
from app.rules import metrics as m
from app.services.assurance import assurance_report, metric_cases
from app.services.dip_sampling import (
    draw_sample,
    list_samples,
    record_review,
    sample_detail,
    sample_report,
)
from models import AuditEvent, AuditSubject, User
from tests.factories import add_case, add_risk, add_spo_decision

FROM, TO = date(2026, 1, 1), date(2026, 2, 1)
ITEMS = ("classification", "sdash", "spo", "victims_code", "search_powers",
         "protocol_checklist", "supervision")


def at(day: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, 10, tzinfo=UTC)


def build(database) -> None:  # type: ignore[no-untyped-def]
    with database.write() as s:
        s.add(User(username="auditor2", display_name="Second Auditor", role="auditor"))
        for i in range(1, 5):
            c = add_case(s, f"H{i}", at(i), code="8Q", victim=f"VH{i}", suspect=f"SH{i}",
                         officer="Information Assurance Auditor" if i == 4 else f"PC H{i}")
            add_risk(s, c, at(i), level="high", answers="YYYYYYYNNNN")
        for i in range(1, 4):
            c = add_case(s, f"S{i}", at(10 + i), code="8Q", victim=f"VS{i}", suspect=f"SS{i}")
            add_risk(s, c, at(10 + i), level="standard")
            if i == 3:
                add_spo_decision(s, c, "considered_not_appropriate", at(14), rationale="r",
                                 decided_by="auditor")
        for i in range(1, 3):
            c = add_case(s, f"M{i}", at(20 + i), code="8L", victim=f"VM{i}", suspect=f"SM{i}")
            add_risk(s, c, at(20 + i), level="medium", answers="YYYYNNNNNNN",
                     assessor="auditor" if i == 2 else "officer.northern")
        add_case(s, "U1", at(25), code="8L", included=("8Q",), victim="VU", suspect="SU")
        add_case(s, "X1", at(26), code="8R", victim="VX", suspect="SX")
        add_case(s, "SO1", at(5), code="8Q", area="Southern", victim="VSO", suspect="SSO")
        add_case(s, "L1", at(2, 2), code="8Q", victim="VL", suspect="SL")


def _draw(make_context, seed: int = 7, reviewer: str = "auditor"):  # type: ignore[no-untyped-def]
    return draw_sample(make_context("analyst"), area="Northern", date_from=FROM, date_to=TO,
                       reviewer=reviewer, seed=seed, per_stratum=2)


def test_draw_is_stratified_and_leaves_out_the_reviewers_own_cases(database, make_context) -> None:  # type: ignore[no-untyped-def]
    build(database)
    drawn = _draw(make_context)
    assert drawn.strata == {"high risk · stalking": 3, "medium risk · harassment": 1,
                            "standard risk · stalking": 2, "unassessed risk · stalking": 1}
    assert drawn.excluded_own == ("H4", "M2", "S3")
    by_stratum: dict[str, list[str]] = {}
    for file in drawn.files:
        by_stratum.setdefault(file.stratum, []).append(file.crime_ref)
    assert len(by_stratum["high risk · stalking"]) == 2
    assert set(by_stratum["high risk · stalking"]) <= {"H1", "H2", "H3"}
    assert by_stratum["standard risk · stalking"] == ["S1", "S2"]
    assert by_stratum["medium risk · harassment"] == ["M1"]
    assert by_stratum["unassessed risk · stalking"] == ["U1"]
    refs = {f.crime_ref for f in drawn.files}
    assert not refs & {"H4", "M2", "S3", "X1", "SO1", "L1"}
    assert drawn.summary.checklist_version == "2026-1"
    assert drawn.summary.files == 6 and drawn.summary.reviewed == 0


def test_the_same_seed_draws_the_same_files(database, make_context) -> None:  # type: ignore[no-untyped-def]
    build(database)
    first = [f.crime_ref for f in _draw(make_context, seed=11).files]
    again = [f.crime_ref for f in _draw(make_context, seed=11).files]
    assert first == again
    seeds = {tuple(f.crime_ref for f in _draw(make_context, seed=s).files) for s in range(8)}
    assert len(seeds) > 1  # other seeds choose other high-risk files


def test_reviewers_are_auditors_and_analysts_or_auditors_draw(database, make_context) -> None:  # type: ignore[no-untyped-def]
    build(database)
    with pytest.raises(BadInput, match="auditors"):
        _draw(make_context, reviewer="analyst2")
    with pytest.raises(PermissionDenied):
        draw_sample(make_context("supervisor.northern"), area="Northern", date_from=FROM,
                    date_to=TO, reviewer="auditor", seed=1)


def _answers(failed: tuple[str, ...] = ()) -> dict[str, bool]:
    return {item: item not in failed for item in ITEMS}


def test_review_checklist_and_its_figures(database, make_context) -> None:  # type: ignore[no-untyped-def]
    build(database)
    drawn = _draw(make_context)
    sample_id = drawn.summary.sample_id
    auditor = make_context("auditor", now=datetime(2026, 2, 10, 9, tzinfo=UTC))
    with pytest.raises(BadInput, match="sdash: failed: a note"):
        record_review(auditor, sample_id=sample_id, crime_ref="S1",
                      answers=_answers(("sdash",)))
    with pytest.raises(BadInput, match="supervision: not answered"):
        record_review(auditor, sample_id=sample_id, crime_ref="S1",
                      answers={k: True for k in ITEMS if k != "supervision"})
    with pytest.raises(BadInput, match="for auditor to review"):
        record_review(make_context("auditor2"), sample_id=sample_id, crime_ref="S1",
                      answers=_answers())
    with pytest.raises(PermissionDenied):
        record_review(make_context("analyst"), sample_id=sample_id, crime_ref="S1",
                      answers=_answers())
    record_review(auditor, sample_id=sample_id, crime_ref="S1", answers=_answers())
    reviewed = record_review(auditor, sample_id=sample_id, crime_ref="M1",
                             answers=_answers(("sdash", "spo")),
                             notes={"sdash": "no supervisor review of the S-DASH",
                                    "spo": "no SPO rationale"})
    assert [(f.item, f.passed) for f in reviewed.findings if not f.passed] == [
        ("sdash", False), ("spo", False)]
    # hand count: 7 + 5 of 14 items met; S-DASH 1 of 2 files; classification 2 of 2
    report = sample_report(make_context("analyst"), date_from=date(2026, 2, 1),
                           date_to=date(2026, 3, 1))
    figures = {r.code: (r.overall.numerator, r.overall.denominator) for r in report.results}
    assert figures[m.DIP_COMPLIANCE] == (12, 14)
    assert figures[m.dip_item_code("sdash")] == (1, 2)
    assert figures[m.dip_item_code("spo")] == (1, 2)
    assert figures[m.dip_item_code("classification")] == (2, 2)
    assert report.files_reviewed == 2
    assert [(f.crime_ref, f.item, f.note) for f in report.failed] == [
        ("M1", "sdash", "no supervisor review of the S-DASH"), ("M1", "spo", "no SPO rationale")]
    # the same figure in the assurance report, by area, for the review month
    assurance = assurance_report(make_context("analyst"), date_from=date(2026, 2, 1),
                                 date_to=date(2026, 3, 1))
    compliance = assurance.result(m.DIP_COMPLIANCE)
    assert (compliance.overall.numerator, compliance.overall.denominator) == (12, 14)
    assert [(a.area, a.figure.numerator) for a in compliance.by_area] == [("Northern", 12)]
    detail = sample_detail(make_context("analyst"), sample_id)
    assert detail.summary.reviewed == 2
    # drill-down: the answers behind the figures, one row per item answered
    analyst = make_context("analyst")
    failed = metric_cases(analyst, metric_code=m.dip_item_code("sdash"),
                          date_from=date(2026, 2, 1), date_to=date(2026, 3, 1), part="denominator")
    assert failed.total == 2 and sorted(r.crime_ref for r in failed.rows) == ["M1", "S1"]
    assert {r.crime_ref: r.detail for r in failed.rows}["M1"] == (
        f"sample {sample_id} · sdash not met: no supervisor review of the S-DASH")
    met = metric_cases(analyst, metric_code=m.DIP_COMPLIANCE, date_from=date(2026, 2, 1),
                       date_to=date(2026, 3, 1))
    assert met.total == 12
    for row in compliance.by_team:
        cell = metric_cases(analyst, metric_code=m.DIP_COMPLIANCE, date_from=date(2026, 2, 1),
                            date_to=date(2026, 3, 1), area=row.area, team=row.team)
        assert cell.total == row.figure.numerator
    # a second review replaces the first
    record_review(auditor, sample_id=sample_id, crime_ref="M1", answers=_answers())
    again = sample_report(make_context("analyst"), date_from=date(2026, 2, 1),
                          date_to=date(2026, 3, 1))
    assert {r.code: r.overall.numerator for r in again.results}[m.DIP_COMPLIANCE] == 14
    assert list_samples(make_context("analyst"))[0].reviewed == 2


def test_drawing_and_reviewing_are_audited_naming_the_cases(database, make_context) -> None:  # type: ignore[no-untyped-def]
    build(database)
    drawn = _draw(make_context)
    record_review(make_context("auditor"), sample_id=drawn.summary.sample_id, crime_ref="S2",
                  answers=_answers(("supervision",)), notes={"supervision": "none recorded"})
    with database.read() as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.entity == "dip_sample")
                           .order_by(AuditEvent.id)).scalars().all()
        assert [e.action for e in events] == ["create", "update"]
        assert events[1].after["supervision"] == {"passed": False, "note": "none recorded"}
        named = s.execute(select(AuditSubject.crime_ref)
                          .where(AuditSubject.audit_event_id == events[1].id)).scalars().all()
        assert named == ["S2"]
        drawn_named = set(s.execute(select(AuditSubject.crime_ref).where(
            AuditSubject.audit_event_id == events[0].id)).scalars())
        assert drawn_named == {f.crime_ref for f in drawn.files}
