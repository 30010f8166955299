"""Assurance figures against a small hand-built force, on SQLite and PostgreSQL.

The period is January and February 2026 (``[2026-01-01, 2026-03-01)``); the
clock is Monday 2 March 2026 08:00. Every expected figure below is worked out
by hand from the cases in :func:`build_force`.

Cases reported in the period (all times UTC = London in winter):

| ref | area | team | class | risk | notes |
|---|---|---|---|---|---|
| C1  | Northern | CID | 8Q | high, DA | S-DASH with plan; SPO considered; needs assessed; ISAC 6 Jan (in time); online; s2B search |
| C2  | Northern | Response | 8L + 8Q | medium | S-DASH, no plan; no SPO decision; no needs assessment; no referral |
| C3  | Northern | Safeguarding | 8Q | none | no S-DASH; SPO applied; needs assessed; ISHA 21 Jan (late: due 20 Jan); 3 team moves |
| C4  | Northern | Response | 8L | standard | S-DASH; online; PIN; 2 team moves (allowed) |
| C5  | Southern | unallocated | 8Q | high | S-DASH, blank plan; SPO granted; needs assessed; PALADIN same day |
| C6  | Southern | Response | 8R | none | online; 2 team moves in 4 allocations |
| C7  | Southern | CID | 8Q | high, DA | latest S-DASH has no plan; referral not yet due on 2 March |
| C8  | Northern | Orders | BRO | - | breach of RO on C1: ack 6 h, re-assessed 22 h |
| C9  | Northern | Response | BRO | - | breach of RO on C1: ack 48 h, escalated 10 h |
| C10 | Southern | Orders | BSPO | - | breach of SPO on C5, nothing done |
| C13 | Northern | Orders | BRO | - | breach of RO on C4: ack 1 h, needs no escalation |

Outside the period: C11 (31 Dec 2025, 8L, stalking added by screening on
3 Jan) and C12 (1 March 2026, 8Q).

The figures of recs 10, 16, 18 and 25 and the PIN authority:

- officers: C1 and C3 PC Amber (trained May 2024: current), C2 PC Birch
  (trained 10 Feb 2026: not yet in January), C4 PC Birch, C5 PC Cedar (trained
  January 2022: lapsed after 36 months; an unrelated course does not count);
- referral outcomes: C1's ISAC accepted, C5's PALADIN declined, C3's ISHA
  still pending since 21 January 10:00;
- C1 arrested and digital enquiries recorded (phone download); C7 digital
  (social media accounts); C3 blank digital enquiries; B10 (on C5) an arrest;
- MARAC referrals on C1 (high) and C2 (medium: not in the high-risk figure);
- programmes: PN1 Northern from June 2025, PN2 Northern to 31 January 2026,
  PS1 Southern from 15 February 2026; C5's suspect referred to PS1;
- C4's PIN has no authorising superintendent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from app.errors import BadInput, PermissionDenied
from app.policy import default_policy
from app.rules import metrics as m
from app.services.assurance import AssuranceReport, assurance_report, metric_cases
from models import (
    Allocation,
    AuditEvent,
    IncludedClassification,
    MultiAgencyReferral,
    PerpetratorProgramme,
    PerpetratorReferral,
    ScreeningFlag,
    SearchRecord,
    TrainingRecord,
)
from tests.factories import (
    add_breach,
    add_case,
    add_order,
    add_referral,
    add_risk,
    add_spo_decision,
    add_victim_care,
)

FROM = date(2026, 1, 1)
TO = date(2026, 3, 1)
S2B = "PHA 1997 s2B warrant (stalking)"


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    y, mo, d = (int(x) for x in day.split("-"))
    return datetime(y, mo, d, hour, minute, tzinfo=UTC)


def _flag(session, case, raised: datetime, status: str, change: str,  # type: ignore[no-untyped-def]
          decided: datetime | None = None) -> None:
    session.add(ScreeningFlag(case_id=case.id, rules=["course_of_conduct"], score=4.0,
                              suggested_change=change, reason="synthetic", raised_by="analyst",
                              raised_at=raised, status=status, decided_at=decided,
                              decided_by="supervisor.northern" if decided else None))


def _moves(session, case, teams: list[str]) -> None:  # type: ignore[no-untyped-def]
    for hours, team in enumerate(teams, start=1):
        session.add(Allocation(case_id=case.id, team=team, officer=f"officer {hours}",
                               allocated_at=case.reported_at + timedelta(hours=hours),
                               allocated_by="factory"))


def _search_audit(session, when: datetime, reason: str) -> None:  # type: ignore[no-untyped-def]
    session.add(AuditEvent(at=when, username="analyst", role="analyst", action="view",
                           entity="search", entity_id=None, reason=reason))


def build_force(database) -> None:  # type: ignore[no-untyped-def]
    with database.write() as s:
        c1 = add_case(s, "C1", at("2026-01-05"), code="8Q", team="CID", domestic_abuse=True,
                      online=True, victim="V1", suspect="S1")
        add_risk(s, c1, at("2026-01-05", 12), answers="YYYYYYNNNNN", level="high", plan="Plan A")
        add_spo_decision(s, c1, "considered_not_appropriate", at("2026-01-06"), rationale="r")
        add_victim_care(s, c1, needs_assessed_at=at("2026-01-05", 15))
        add_referral(s, c1, "ISAC", at("2026-01-06"), outcome="accepted")
        c1.officer = "PC Amber"
        c1.arrested_at = at("2026-01-07")
        c1.digital_enquiries = "phone download"
        c2 = add_case(s, "C2", at("2026-01-09", 15), code="8L", included=("8Q",), team="Response",
                      victim="V2", suspect="S2")
        add_risk(s, c2, at("2026-01-09", 16), answers="YYYNNNNNNNN", level="medium")
        c2.officer = "PC Birch"
        c3 = add_case(s, "C3", at("2026-01-16", 12), code="8Q", team="Safeguarding",
                      victim="V3", suspect="S3", spo_status="applied")
        _moves(s, c3, ["Response", "CID", "Safeguarding"])  # Safeguarding, R, CID, S: 3 moves
        add_victim_care(s, c3, needs_assessed_at=at("2026-01-17"))
        add_referral(s, c3, "ISHA", at("2026-01-21"))
        c3.officer = "PC Amber"
        c3.digital_enquiries = "  "
        c4 = add_case(s, "C4", at("2026-02-02", 9), code="8L", team="Response", online=True,
                      pin=True, victim="V4", suspect="S4")
        add_risk(s, c4, at("2026-02-02", 11), level="standard")
        c4.officer = "PC Birch"
        _moves(s, c4, ["CID", "Response"])  # 2 moves: allowed
        c5 = add_case(s, "C5", at("2026-02-10"), code="8Q", team=None, area="Southern",
                      victim="V5", suspect="S5")
        add_risk(s, c5, at("2026-02-10", 11), answers="YYYYYYYNNNN", level="high", plan="   ")
        add_spo_decision(s, c5, "granted", at("2026-02-20"))
        add_victim_care(s, c5, needs_assessed_at=at("2026-02-10", 12))
        add_referral(s, c5, "PALADIN", at("2026-02-10", 13), outcome="declined")
        c5.officer = "PC Cedar"
        c6 = add_case(s, "C6", at("2026-02-27"), code="8R", team="Response", online=True,
                      area="Southern", victim="V6", suspect="S6")
        _moves(s, c6, ["Response", "CID", "Response"])  # R, R, CID, R: 2 moves
        c7 = add_case(s, "C7", at("2026-02-26"), code="8Q", team="CID", domestic_abuse=True,
                      area="Southern", victim="V7", suspect="S7")
        add_risk(s, c7, at("2026-02-26", 11), answers="YYYYYYNNNNN", level="high", plan="Plan")
        add_risk(s, c7, at("2026-02-27", 11), answers="YYYYYYNNNNN", level="high", plan=None)
        c7.digital_enquiries = "social media accounts"
        for officer, course, day in (
                ("PC Amber", "Stalking: first response", date(2024, 5, 1)),
                ("PC Birch", "Stalking and harassment (College of Policing)", date(2026, 2, 10)),
                ("PC Cedar", "Stalking and harassment (College of Policing)", date(2022, 1, 15)),
                ("PC Cedar", "Unrelated course", date(2026, 1, 1))):
            s.add(TrainingRecord(officer=officer, course=course, completed_on=day))
        for case, kind in ((c1, "MARAC"), (c2, "MARAC")):
            s.add(MultiAgencyReferral(case_id=case.id, kind=kind, referred_at=at("2026-02-01")))
        s.add(PerpetratorProgramme(code="PN1", name="Northern stalking intervention",
                                   area_command="Northern", available_from=date(2025, 6, 1)))
        s.add(PerpetratorProgramme(code="PN2", name="Northern pilot", area_command="Northern",
                                   available_from=date(2025, 1, 1), available_to=date(2026, 1, 31)))
        ps1 = PerpetratorProgramme(code="PS1", name="Southern stalking intervention",
                                   area_command="Southern", available_from=date(2026, 2, 15))
        s.add(ps1)
        s.flush()
        s.add(PerpetratorReferral(case_id=c5.id, programme_id=ps1.id, referred_at=at("2026-02-16")))
        # outside the period
        c11 = add_case(s, "C11", at("2025-12-31", 23, 30), code="8L", team="Response",
                       victim="V11", suspect="S11")
        s.add(IncludedClassification(case_id=c11.id, code="8Q", source="screening",
                                     added_by="supervisor.northern", added_at=at("2026-01-03")))
        add_case(s, "C12", at("2026-03-01", 0, 30), code="8Q", team="CID", victim="V12",
                 suspect="S12")
        # orders
        ro1 = add_order(s, c1, "RO-1", kind="RO", granted_at=at("2026-01-06"))
        add_order(s, c3, "SPO-3", kind="SPO", status="applied", applied_at=at("2026-01-20"))
        spo5 = add_order(s, c5, "SPO-5", kind="SPO", status="granted", applied_at=at("2026-02-11"),
                         granted_at=at("2026-02-20"))
        add_order(s, c5, "ISPO-5", kind="ISPO", status="refused", applied_at=at("2026-02-11"))
        add_order(s, c11, "SPO-11", kind="SPO", status="granted", applied_at=at("2026-02-15"),
                  granted_at=at("2026-02-25"))
        ro4 = add_order(s, c4, "RO-4", kind="RO", granted_at=at("2026-02-03"))
        # breaches: each is its own crime, linked to the original case
        c8 = add_case(s, "C8", at("2026-01-20"), code="BRO", team="Orders", victim="V1",
                      suspect="S1", linked_case=c1)
        add_breach(s, ro1, c8, "B8", occurred_at=at("2026-01-20", 8),
                   reported_at=at("2026-01-20"), acknowledged_at=at("2026-01-20", 16),
                   acknowledged_by="supervisor.northern")
        add_risk(s, c1, at("2026-01-21", 8), answers="YYYYYYNNNNN", level="high", plan="Plan B")
        c9 = add_case(s, "C9", at("2026-01-25"), code="BRO", team="Response", victim="V1",
                      suspect="S1", linked_case=c1)
        b9 = add_breach(s, ro1, c9, "B9", occurred_at=at("2026-01-25", 7),
                        reported_at=at("2026-01-25"), acknowledged_at=at("2026-01-27"),
                   acknowledged_by="supervisor.northern")
        b9.escalated_at = at("2026-01-25", 20)
        b9.escalated_by = "inspector.northern"
        c10 = add_case(s, "C10", at("2026-02-28", 20), code="BSPO", team="Orders", area="Southern",
                       victim="V5", suspect="S5", linked_case=c5)
        b10 = add_breach(s, spo5, c10, "B10", occurred_at=at("2026-02-28", 18),
                         reported_at=at("2026-02-28", 20))
        b10.arrest_at = at("2026-03-01", 2)
        c13 = add_case(s, "C13", at("2026-02-05"), code="BRO", team="Orders", victim="V4",
                       suspect="S4", linked_case=c4)
        add_breach(s, ro4, c13, "B13", occurred_at=at("2026-02-05", 9),
                   reported_at=at("2026-02-05"), acknowledged_at=at("2026-02-05", 11),
                   acknowledged_by="supervisor.northern")
        # screening flags
        _flag(s, c2, at("2026-01-12"), "accepted", "add_included_stalking", at("2026-01-13"))
        _flag(s, c11, at("2026-01-02"), "accepted", "add_included_stalking", at("2026-01-03"))
        _flag(s, c3, at("2026-01-16", 13), "accepted", "principal_to_stalking", at("2026-01-17"))
        _flag(s, c4, at("2026-02-03"), "rejected", "add_included_stalking", at("2026-02-04"))
        _flag(s, c6, at("2026-02-27", 12), "open", "add_included_stalking")
        _flag(s, c11, at("2025-12-31", 23, 45), "open", "add_included_stalking")
        # searches under powers of entry
        for case, power, when in ((c1, S2B, at("2026-01-08")),
                                  (c5, "PACE s18 (after arrest)", at("2026-02-12")),
                                  (c7, S2B, at("2026-03-01", 9))):
            s.add(SearchRecord(case_id=case.id, power=power, conducted_at=when, officer="PC",
                               recorded_by="officer.northern", recorded_at=when))
        # searches made in Vigil, from the audit log
        _search_audit(s, at("2026-01-10"), "code=8Q (page 1, 3 rows)")
        _search_audit(s, at("2026-01-11"), "code=8L, area=Northern (page 1, 2 rows)")
        _search_audit(s, at("2026-02-11"), "text=C1 (page 1, 1 rows)")
        _search_audit(s, at("2025-12-30"), "code=8Q (page 1, 1 rows)")
        s.flush()


@pytest.fixture
def report(database, make_context) -> AssuranceReport:  # type: ignore[no-untyped-def]
    build_force(database)
    return assurance_report(make_context("analyst"), date_from=FROM, date_to=TO)


def _overall(report: AssuranceReport, code: str) -> tuple[int, int | None, float | None]:
    f = report.result(code).overall
    return f.numerator, f.denominator, f.value


# Worked out by hand from the table in the module docstring.
EXPECTED: dict[str, tuple[int, int | None, float | None]] = {
    m.R7_STALKING_INCLUDED: (1, 5, 1 / 5),  # C2 of C1 C2 C3 C5 C7
    m.R7_CLASSIFICATION_SEARCHES: (2, None, 2.0),  # two audited searches with a code in the period
    m.R12_SDASH: (5, 6, 5 / 6),  # C1 C2 C4 C5 C7 of C1-C5 C7 (C6 is 8R)
    m.R12_BREACH_REASSESSED: (1, 4, 1 / 4),  # B8 (22 h) of B8 B9 B10 B13
    m.R12_HIGH_RISK_NO_PLAN: (2, 3, 2 / 3),  # C5 (blank), C7 (latest none) of C1 C5 C7
    m.R13_SPO_DECISION: (3, 5, 3 / 5),  # C1 C3 C5
    m.R13_SPO_APPLICATIONS: (4, 5, 80.0),  # SPO-3, SPO-5, ISPO-5, SPO-11 per 5 stalking crimes
    m.R13_SPO_GRANT_RATE: (2, 3, 2 / 3),  # SPO-5, SPO-11 granted; ISPO-5 refused; SPO-3 pending
    m.R14_NEEDS_ASSESSED: (3, 5, 3 / 5),  # C1 C3 C5
    m.R14_REFERRALS: (3, 5, 60.0),  # C1 C3 C5
    m.R14_REFERRED_IN_TIME: (2, 4, 2 / 4),  # C1 C5 of C1 C2 C3 C5 (C7 not yet due)
    m.R14_CONSENT_REFUSED: (0, 5, 0.0),  # nobody refused (tests/services/test_assurance_periods.py)
    m.R17_ALLOCATION: (8, 11, 8 / 11),  # all but C2 (Response), C5 (none), C9 (Response)
    m.R17_TEAM_MOVES: (1, 11, 1 / 11),  # C3
    m.R20_ONLINE: (3, 11, 3 / 11),  # C1 C4 C6
    m.R23_FLAGS_RAISED: (5, None, 5.0),
    m.R23_FLAGS_ACCEPTED: (3, 5, 3.0),
    m.R23_FLAGS_REJECTED: (1, 5, 1.0),
    m.R23_RECLASSIFIED: (2, None, 2.0),  # C11 (screening 8Q), C3 (principal flag)
    m.BREACH_ACK_MEDIAN: (3, 4, 6.0),  # median of 6 h, 48 h, 1 h; B10 unacknowledged
    m.BREACH_ACK_IN_TIME: (2, 4, 2 / 4),  # B8, B13
    m.BREACH_ESCALATED_IN_TIME: (1, 3, 1 / 3),  # B9 of B8 B9 B10 (B13 needs none)
    m.PINS_RECORDED: (1, 11, 1.0),  # C4
    m.STALKING_SEARCHES: (1, None, 1.0),  # C1's s2B search
    m.PINS_UNAUTHORISED: (1, 1, 1.0),  # C4's PIN, no superintendent named
    m.R10_TRAINED: (2, 4, 2 / 4),  # Jan: Amber of Amber, Birch; Feb: Birch of Birch, Cedar
    m.R16_REFERRAL_OUTCOME: (2, 3, 2 / 3),  # C1 accepted, C5 declined; C3 pending
    m.R16_PENDING_DAYS: (1, 1, 39 + 22 / 24),  # C3: 21 Jan 10:00 to 2 Mar 08:00
    m.R18_SEARCHED: (3, 5, 3 / 5),  # C1 C5 C7 of C1 C2 C3 C5 C7 (C7's on 1 March)
    m.R18_ARRESTED: (2, 5, 2 / 5),  # C1 (arrested), C5 (arrest on breach B10)
    m.R18_DIGITAL: (2, 5, 2 / 5),  # C1 C7 (C3's is blank)
    m.R25_MULTI_AGENCY: (1, 3, 1 / 3),  # C1 of C1 C5 C7 (C2's MARAC: medium risk)
    m.R25_PERPETRATOR_REFERRED: (1, 5, 1 / 5),  # C5 to PS1
    m.R25_PROGRAMMES: (2, None, 2.0),  # on 28 February: PN1, PS1 (PN2 ended 31 January)
    # no file dip-sampled in this force
    m.DIP_COMPLIANCE: (0, 0, None),
    **{m.dip_item_code(item.code): (0, 0, None)
       for item in default_policy().dip_sampling.checklist},
}

NUMERATOR_REFS: dict[str, list[str]] = {
    m.R7_STALKING_INCLUDED: ["C2"],
    m.R12_SDASH: ["C1", "C2", "C4", "C5", "C7"],
    m.R12_BREACH_REASSESSED: ["C8"],
    m.R12_HIGH_RISK_NO_PLAN: ["C5", "C7"],
    m.R13_SPO_DECISION: ["C1", "C3", "C5"],
    m.R13_SPO_APPLICATIONS: ["C3", "C5", "C5", "C11"],
    m.R13_SPO_GRANT_RATE: ["C5", "C11"],
    m.R14_NEEDS_ASSESSED: ["C1", "C3", "C5"],
    m.R14_REFERRALS: ["C1", "C3", "C5"],
    m.R14_REFERRED_IN_TIME: ["C1", "C5"],
    m.R14_CONSENT_REFUSED: [],
    m.R17_ALLOCATION: ["C1", "C3", "C8", "C4", "C13", "C7", "C6", "C10"],
    m.R17_TEAM_MOVES: ["C3"],
    m.R20_ONLINE: ["C1", "C4", "C6"],
    m.R23_FLAGS_RAISED: ["C11", "C2", "C3", "C4", "C6"],
    m.R23_FLAGS_ACCEPTED: ["C11", "C2", "C3"],
    m.R23_FLAGS_REJECTED: ["C4"],
    m.R23_RECLASSIFIED: ["C11", "C3"],
    m.BREACH_ACK_MEDIAN: ["C8", "C9", "C13"],
    m.BREACH_ACK_IN_TIME: ["C8", "C13"],
    m.BREACH_ESCALATED_IN_TIME: ["C9"],
    m.PINS_RECORDED: ["C4"],
    m.STALKING_SEARCHES: ["C1"],
    m.PINS_UNAUTHORISED: ["C4"],
    m.R18_SEARCHED: ["C1", "C5", "C7"],
    m.R18_ARRESTED: ["C1", "C5"],
    m.R18_DIGITAL: ["C1", "C7"],
    m.R25_MULTI_AGENCY: ["C1"],
    m.R25_PERPETRATOR_REFERRED: ["C5"],
    m.R16_REFERRAL_OUTCOME: ["C1", "C5"],  # by referral date: C1 6 Jan, C5 10 Feb
    m.R16_PENDING_DAYS: ["C3"],
}


def test_every_metric_has_a_hand_computed_expectation(report: AssuranceReport) -> None:
    assert {r.code for r in report.results} == set(EXPECTED)
    assert [d.code for d in report.definitions] == [r.code for r in report.results]


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_force_wide_figures(report: AssuranceReport, code: str) -> None:
    numerator, denominator, value = _overall(report, code)
    want_n, want_d, want_v = EXPECTED[code]
    assert (numerator, denominator) == (want_n, want_d)
    assert value == pytest.approx(want_v)


def test_breakdown_by_area_and_team(report: AssuranceReport) -> None:
    referrals = report.result(m.R14_REFERRALS)
    by_area = {a.area: (a.figure.numerator, a.figure.denominator) for a in referrals.by_area}
    assert by_area == {"Northern": (2, 3), "Southern": (1, 2)}
    by_team = {(t.area, t.team): (t.figure.numerator, t.figure.denominator)
               for t in referrals.by_team}
    assert by_team == {
        ("Northern", "CID"): (1, 1), ("Northern", "Response"): (0, 1),
        ("Northern", "Safeguarding"): (1, 1), ("Southern", "CID"): (0, 1),
        ("Southern", m.UNALLOCATED): (1, 1),
    }
    # SPO applications: orders by their case's area; stalking crimes by theirs
    spo = report.result(m.R13_SPO_APPLICATIONS)
    assert {a.area: a.figure.value for a in spo.by_area} == pytest.approx(
        {"Northern": 100 * 2 / 3, "Southern": 100 * 2 / 2})
    allocation = report.result(m.R17_ALLOCATION)
    assert {a.area: (a.figure.numerator, a.figure.denominator) for a in allocation.by_area} == {
        "Northern": (5, 7), "Southern": (3, 4)}
    # force-wide only: no breakdown
    assert report.result(m.R7_CLASSIFICATION_SEARCHES).by_area == ()


def test_monthly_trend(report: AssuranceReport) -> None:
    assert report.months == (date(2026, 1, 1), date(2026, 2, 1))
    referrals = report.result(m.R14_REFERRALS).trend
    assert [(p.figure.numerator, p.figure.denominator) for p in referrals] == [(2, 3), (1, 2)]
    allocation = report.result(m.R17_ALLOCATION).trend
    assert [(p.figure.numerator, p.figure.denominator) for p in allocation] == [(3, 5), (5, 6)]
    median = report.result(m.BREACH_ACK_MEDIAN).trend
    assert [p.figure.value for p in median] == [27.0, 1.0]  # Jan: 6 h and 48 h; Feb: 1 h
    flags = report.result(m.R23_FLAGS_RAISED).trend
    assert [p.figure.numerator for p in flags] == [3, 2]


def test_call_outs(report: AssuranceReport) -> None:
    referral = {(c.scope, c.area, c.team) for c in report.call_outs if c.code == m.R14_REFERRALS}
    # rec 14.5: below 60 per 100 (Northern 66.7 and the force's 60.0 are not below)
    assert referral == {("area", "Southern", None), ("team", "Northern", "Response"),
                        ("team", "Southern", "CID")}
    attention = {c.code for c in report.call_outs if c.scope == "force"}
    assert attention == {
        m.R12_BREACH_REASSESSED, m.R12_HIGH_RISK_NO_PLAN, m.R13_SPO_DECISION,
        m.R13_SPO_GRANT_RATE, m.R14_NEEDS_ASSESSED, m.R14_REFERRED_IN_TIME, m.R17_ALLOCATION,
        m.BREACH_ACK_IN_TIME, m.BREACH_ESCALATED_IN_TIME, m.PINS_RECORDED,
        # 1 PIN without authority; 50% trained; 2 of 3 outcomes back; 39.9 days
        # pending (over 14); 40% digital enquiries; 1 of 3 high risk to MARAC
        m.PINS_UNAUTHORISED, m.R10_TRAINED, m.R16_REFERRAL_OUTCOME, m.R16_PENDING_DAYS,
        m.R18_DIGITAL, m.R25_MULTI_AGENCY,
    }


def test_new_figures_by_month_and_area(report: AssuranceReport) -> None:
    trained = report.result(m.R10_TRAINED)
    assert [(p.figure.numerator, p.figure.denominator) for p in trained.trend] == [(1, 2), (1, 2)]
    assert trained.by_area == ()  # force-wide: officers are not tied to an area
    programmes = report.result(m.R25_PROGRAMMES)
    assert [p.figure.value for p in programmes.trend] == [2.0, 2.0]  # PN1 PN2; PN1 PS1
    assert [(a.area, a.figure.value) for a in programmes.by_area] == [("Northern", 1.0),
                                                                       ("Southern", 1.0)]
    outcome = report.result(m.R16_REFERRAL_OUTCOME)
    assert [(a.area, a.figure.numerator, a.figure.denominator) for a in outcome.by_area] == [
        ("Northern", 1, 2), ("Southern", 1, 1)]
    arrested = report.result(m.R18_ARRESTED)
    assert [(p.figure.numerator, p.figure.denominator) for p in arrested.trend] == [(1, 3), (1, 2)]


def test_one_area(database, make_context) -> None:  # type: ignore[no-untyped-def]
    build_force(database)
    report = assurance_report(make_context("supervisor.southern"), date_from=FROM, date_to=TO,
                              area="southern")
    assert report.area == "Southern"
    assert _overall(report, m.R14_REFERRALS)[:2] == (1, 2)
    assert _overall(report, m.R17_ALLOCATION)[:2] == (3, 4)  # C5 C6 C7 C10: C5 unallocated
    assert _overall(report, m.BREACH_ACK_IN_TIME)[:2] == (0, 1)  # B10
    assert _overall(report, m.R13_SPO_APPLICATIONS)[:2] == (2, 2)
    assert [a.area for a in report.result(m.R20_ONLINE).by_area] == ["Southern"]
    # a search is not tied to an area: the force-wide count stays
    assert _overall(report, m.R7_CLASSIFICATION_SEARCHES)[0] == 2


@pytest.mark.parametrize("code", sorted(NUMERATOR_REFS))
def test_drill_down_lists_the_numerator(report: AssuranceReport, make_context, code: str) -> None:  # type: ignore[no-untyped-def]
    cases = metric_cases(make_context("analyst"), metric_code=code, date_from=FROM, date_to=TO)
    assert cases.total == report.result(code).overall.numerator
    assert [r.crime_ref for r in cases.rows] == NUMERATOR_REFS[code]


@pytest.mark.parametrize("code", sorted(NUMERATOR_REFS))
def test_drill_down_counts_match_every_cell(report: AssuranceReport, make_context,  # type: ignore[no-untyped-def]
                                            code: str) -> None:
    ctx = make_context("analyst")
    result = report.result(code)
    parts = ("numerator", "denominator") if result.definition.has_denominator else ("numerator",)
    for part in parts:
        whole = metric_cases(ctx, metric_code=code, date_from=FROM, date_to=TO, part=part)
        assert whole.total == getattr(result.overall, part)
        for team in result.by_team:
            cases = metric_cases(ctx, metric_code=code, date_from=FROM, date_to=TO, part=part,
                                 area=team.area, team=team.team)
            assert cases.total == getattr(team.figure, part), (part, team.area, team.team)
        for point in result.trend:
            cases = metric_cases(ctx, metric_code=code, date_from=FROM, date_to=TO, part=part,
                                 month=point.month)
            assert cases.total == getattr(point.figure, part), (part, point.month)


def test_drill_down_pages(report: AssuranceReport, make_context) -> None:  # type: ignore[no-untyped-def]
    ctx = make_context("analyst")
    first = metric_cases(ctx, metric_code=m.R17_ALLOCATION, date_from=FROM, date_to=TO,
                         page_size=3)
    second = metric_cases(ctx, metric_code=m.R17_ALLOCATION, date_from=FROM, date_to=TO,
                          page_size=3, page=2)
    assert first.total == second.total == 8
    assert [r.crime_ref for r in first.rows] == ["C1", "C3", "C8"]
    assert first.has_more and not second.has_more
    assert [r.crime_ref for r in second.rows] == ["C6", "C10"]
    breach = metric_cases(ctx, metric_code=m.BREACH_ACK_IN_TIME, date_from=FROM, date_to=TO,
                          part="denominator")
    assert [r.detail for r in breach.rows] == ["breach B8", "breach B9", "breach B13", "breach B10"]


def test_drill_down_refuses_what_has_no_cases(report: AssuranceReport, make_context) -> None:  # type: ignore[no-untyped-def]
    ctx = make_context("analyst")
    with pytest.raises(BadInput, match="no cases"):
        metric_cases(ctx, metric_code=m.R7_CLASSIFICATION_SEARCHES, date_from=FROM, date_to=TO)
    with pytest.raises(BadInput, match="no denominator"):
        metric_cases(ctx, metric_code=m.R23_FLAGS_RAISED, date_from=FROM, date_to=TO,
                     part="denominator")
    with pytest.raises(BadInput, match="not known"):
        metric_cases(ctx, metric_code="R99", date_from=FROM, date_to=TO)


def test_report_and_drill_down_are_audited(database, report: AssuranceReport,  # type: ignore[no-untyped-def]
                                           make_context) -> None:
    metric_cases(make_context("auditor"), metric_code=m.R14_REFERRALS, date_from=FROM,
                 date_to=TO, area="Northern")
    with database.read() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.entity == "assurance")
                              .order_by(AuditEvent.id)).all()
    assert [(e.action, e.entity_id, e.username) for e in events] == [
        ("view", None, "analyst"), ("view", m.R14_REFERRALS, "auditor")]
    assert "2026-01-01 to 2026-02-28, force-wide" in events[0].reason
    assert "Northern" in events[1].reason and "2 of 2" in events[1].reason


def test_officers_may_not_see_assurance(database, make_context) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        assurance_report(make_context("officer.northern"), date_from=FROM, date_to=TO)
    with database.read() as session:
        denied = session.exec(select(AuditEvent).where(AuditEvent.action == "denied")).all()
    assert [e.entity for e in denied] == ["assurance"]


def test_bad_period_and_area(make_context) -> None:  # type: ignore[no-untyped-def]
    ctx = make_context("analyst")
    with pytest.raises(BadInput, match="first day not counted"):
        assurance_report(ctx, date_from=TO, date_to=TO)
    with pytest.raises(BadInput, match="Atlantis"):
        assurance_report(ctx, date_from=FROM, date_to=TO, area="Atlantis")


def test_empty_period_has_no_data(make_context) -> None:  # type: ignore[no-untyped-def]
    report = assurance_report(make_context("analyst"), date_from=FROM, date_to=TO)
    share = report.result(m.R14_REFERRALS)
    assert share.overall.value is None and share.status == m.STATUS_NO_DATA
    assert report.result(m.PINS_RECORDED).overall.value == 0
    assert report.call_outs == ()


ALLOCATION_POLICY = """
[allocation]
max_team_moves = 2
[[allocation.rules]]
name = "no_da_harassment"
description = "Harassment without domestic abuse stays with Response"
families = ["harassment"]
risk = ["standard", "unassessed"]
domestic_abuse = "no"
teams = ["Response"]
[[allocation.rules]]
name = "breach_original_only"
description = "Breaches stay with the team holding the original case"
families = ["breach"]
risk = []
domestic_abuse = "any"
teams = ["@original"]
[[allocation.rules]]
name = "high"
description = "High risk: CID"
families = []
risk = ["high"]
domestic_abuse = "yes"
teams = ["CID"]
"""


@pytest.mark.parametrize("policy_text", [None, ALLOCATION_POLICY], ids=["default", "custom"])
def test_allocation_figure_agrees_with_the_allocation_checker(database, make_context, tmp_path,  # type: ignore[no-untyped-def]
                                                              policy_text: str | None) -> None:
    """Every combination of what the allocation policy looks at: the cases
    behind R17_ALLOCATION are exactly those app.rules.allocation passes."""
    from itertools import product

    from app.policy import load_policy
    from app.rules.allocation import AllocationFacts, check_allocation

    policy_path = None
    if policy_text:
        policy_path = tmp_path / "force.toml"
        policy_path.write_text(policy_text, encoding="utf-8")
    policy = load_policy(policy_path)
    kinds = {"8Q": ({"stalking"}, ()), "8L": ({"harassment"}, ()),
             "8L+8Q": ({"harassment", "stalking"}, ("8Q",)), "BRO": ({"breach"}, ())}
    expected: set[str] = set()
    with database.write() as s:
        originals = {team: add_case(s, f"O-{team}", at("2025-06-01"), team=team, victim="VO",
                                    suspect="SO") for team in ("CID", "Response", None)}
        combos = product(kinds, (None, "standard", "medium", "high"), (False, True),
                         (None, "CID", "Response", "Orders"), (None, "CID", "Response", "none"))
        for n, (kind, risk, da, team, original) in enumerate(combos):
            families, included = kinds[kind]
            linked = originals[None if original == "none" else original] if original else None
            ref = f"A{n:03d}"
            add_case(s, ref, at("2026-01-05") + timedelta(minutes=n), code=kind.split("+")[0],
                     included=included, team=team, risk=risk, domestic_abuse=da,
                     linked_case=linked, victim=f"V{n}", suspect=f"S{n}")
            original_team = linked.allocation_team if linked else None
            verdict = check_allocation(AllocationFacts(
                families=frozenset(families), risk_level=risk, domestic_abuse=da, team=team,
                original_team=original_team), policy.allocation)
            if verdict.compliant:
                expected.add(ref)
    ctx = make_context("analyst", policy_path=policy_path)
    report = assurance_report(ctx, date_from=FROM, date_to=TO)
    allocation = report.result(m.R17_ALLOCATION).overall
    assert 0 < len(expected) < 512
    assert (allocation.numerator, allocation.denominator) == (len(expected), 512)
    cases = metric_cases(ctx, metric_code=m.R17_ALLOCATION, date_from=FROM, date_to=TO,
                         page_size=500)
    more = metric_cases(ctx, metric_code=m.R17_ALLOCATION, date_from=FROM, date_to=TO,
                        page_size=500, page=1)
    assert {r.crime_ref for r in cases.rows + more.rows} == expected
