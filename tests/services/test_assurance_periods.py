"""Assurance for any period (one calendar month, one week, one day) on both
engines, from a small hand-made RMS extract (format 2) imported into an
empty database; every figure below is counted by hand.

The extract (all Northern unless said; now = 02/03/2026 08:00):

| crime | reported | class | DA | risk | plan | SPO decision | victim care |
|---|---|---|---|---|---|---|---|
| A1 | Tue 03/02 10:00 | 8Q | Y | high | yes | considered, not appropriate | needs 03/02, consent Y, ISAC 04/02 |
| A2 | Thu 05/02 10:00 | 8Q | N | | | | needs 05/02, consent refused |
| A3 | Tue 10/02 10:00 | 8Q | Y | high | none | | needs 10/02, consent Y, HELPLINE 11/02 (signposting) |
| A4 | Tue 10/02 14:00 | 8L | N | | | | PIN issued |
| A5 | Tue 20/01 10:00 | 8Q | N | | | | (outside February) |
| A6 | Wed 25/02 09:00 | 8Q | N | | | | Southern; needs 25/02, PALADIN 25/02 12:00 |
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.rules import metrics as m
from app.services.assurance import AssuranceReport, assurance_report
from app.services.rms_import import import_extract
from tests.conftest import ContextFactory
from tests.factories import write_extract
from tui import main

FEB = (date(2026, 2, 1), date(2026, 3, 1))
WEEK = (date(2026, 2, 9), date(2026, 2, 16))  # Monday 9 to Sunday 15 February
DAY_5 = (date(2026, 2, 5), date(2026, 2, 6))
DAY_10 = (date(2026, 2, 10), date(2026, 2, 11))


def _crime(ref: str, reported: str, **values: str) -> dict[str, str]:
    row = {"crime_ref": ref, "reported_at": reported, "area_command": "Northern",
           "principal_code": "8Q", "included_codes": "", "victim_ref": f"V-{ref}",
           "suspect_ref": f"S-{ref}", "relationship": "ex_partner", "domestic_abuse": "N",
           "online": "N", "allocation_team": "CID", "officer": "DC Orme", "status": "open",
           "pin_issued": "N", "summary": "course of conduct"}
    return {**row, **values}


def _care(ref: str, needs: str, consent: str, service: str = "", referred: str = "",
          **values: str) -> dict[str, str]:
    return {"crime_ref": ref, "needs_assessed_at": needs, "enhanced_rights": "Y",
            "rights_explained_at": needs, "consent": consent, "service": service,
            "referred_at": referred, "outcome": "accepted" if service else "", **values}


def hand_made_extract(folder: Path) -> Path:
    return write_extract(folder, {
        "crimes.csv": [
            _crime("A1", "03/02/2026 10:00", domestic_abuse="Y", online="Y"),
            _crime("A2", "05/02/2026 10:00"),
            _crime("A3", "10/02/2026 10:00", domestic_abuse="Y", allocation_team="Safeguarding"),
            _crime("A4", "10/02/2026 14:00", principal_code="8L", allocation_team="Response",
                   relationship="acquaintance", pin_issued="Y"),
            _crime("A5", "20/01/2026 10:00"),
            _crime("A6", "25/02/2026 09:00", area_command="Southern"),
        ],
        "risk.csv": [
            {"crime_ref": "A1", "assessed_at": "03/02/2026 12:00", "tool": "S-DASH",
             "answers": "YYYYYYNNNNN", "level": "high", "rationale": "", "assessor": "DS Keld",
             "management_plan": "Plan A: safety plan, markers", "plan_set_at": "03/02/2026 13:00",
             "plan_review_due": "10/02/2026 13:00"},
            {"crime_ref": "A3", "assessed_at": "10/02/2026 12:00", "tool": "S-DASH",
             "answers": "YYYYYYNNNNN", "level": "high", "rationale": "", "assessor": "DS Keld"},
        ],
        "spo_decisions.csv": [
            {"crime_ref": "A1", "status": "considered_not_appropriate",
             "rationale": "suspect in custody on remand", "decided_by": "DI Marr",
             "decided_at": "10/02/2026 09:00"},
        ],
        "victim_care.csv": [
            _care("A1", "03/02/2026 11:00", "Y", "ISAC", "04/02/2026 09:00",
                  consent_at="03/02/2026 11:00"),
            _care("A2", "05/02/2026 11:00", "refused", consent_at="05/02/2026 11:00"),
            _care("A3", "10/02/2026 11:00", "Y", "HELPLINE", "11/02/2026 09:00"),
            _care("A6", "25/02/2026 10:00", "Y", "PALADIN", "25/02/2026 12:00"),
        ],
    }, format_version=2)


@pytest.fixture
def imported(make_context: ContextFactory, tmp_path: Path) -> ContextFactory:
    result = import_extract(make_context("analyst"), folder=hand_made_extract(tmp_path / "x"))
    assert result.ok, result.errors
    return make_context


def _figure(report: AssuranceReport, code: str) -> tuple[int, int | None]:
    overall = report.result(code).overall
    return overall.numerator, overall.denominator


# (numerator, denominator) counted by hand, per period
HAND_COUNTS: dict[tuple[date, date], dict[str, tuple[int, int | None]]] = {
    FEB: {
        # stalking victims in February: A1 A2 A3 A6; A2 refused consent: counted apart
        m.R14_CONSENT_REFUSED: (1, 4),
        # referred: A1 (ISAC), A6 (PALADIN); A3 was only signposted to the Helpline
        m.R14_REFERRALS: (2, 3),
        m.R14_REFERRED_IN_TIME: (2, 3),  # every deadline has passed by 02/03
        m.R14_NEEDS_ASSESSED: (4, 4),
        m.R13_SPO_DECISION: (1, 4),  # A1's decision from spo_decisions.csv
        m.R12_HIGH_RISK_NO_PLAN: (1, 2),  # A3 (A1's plan came with the extract)
        m.R12_SDASH: (2, 5),  # A1 A3 of A1-A4 A6
        m.R20_ONLINE: (1, 5),
        m.PINS_RECORDED: (1, 5),
    },
    WEEK: {
        m.R14_CONSENT_REFUSED: (0, 1),
        m.R14_REFERRALS: (0, 1),  # A3: signposting is not a referral
        m.R12_HIGH_RISK_NO_PLAN: (1, 1),
        m.R20_ONLINE: (0, 2),
        m.PINS_RECORDED: (1, 2),
    },
    DAY_5: {
        m.R14_CONSENT_REFUSED: (1, 1),
        m.R14_REFERRALS: (0, 0),  # the only victim refused: nobody counted against the force
        m.R14_NEEDS_ASSESSED: (1, 1),
    },
    DAY_10: {
        m.R14_REFERRALS: (0, 1),
        m.R12_SDASH: (1, 2),
        m.PINS_RECORDED: (1, 2),
    },
}


@pytest.mark.parametrize("period", list(HAND_COUNTS), ids=["month", "week", "day-5", "day-10"])
def test_assurance_for_a_month_a_week_and_a_day(imported: ContextFactory,
                                                period: tuple[date, date]) -> None:
    report = assurance_report(imported("analyst"), date_from=period[0], date_to=period[1])
    got = {code: _figure(report, code) for code in HAND_COUNTS[period]}
    assert got == HAND_COUNTS[period]
    assert len(report.months) == 1


def test_one_area_for_one_month(imported: ContextFactory) -> None:
    report = assurance_report(imported("analyst"), date_from=FEB[0], date_to=FEB[1],
                              area="Southern")
    assert _figure(report, m.R14_REFERRALS) == (1, 1)  # A6
    assert _figure(report, m.R14_CONSENT_REFUSED) == (0, 1)


def test_a_period_across_months_keeps_the_monthly_trend(imported: ContextFactory) -> None:
    report = assurance_report(imported("analyst"), date_from=date(2026, 1, 1),
                              date_to=FEB[1])
    trend = report.result(m.R14_REFERRALS).trend
    # January: A5 (not referred, no refusal); February: A1 A6 of A1 A3 A6
    assert [(p.figure.numerator, p.figure.denominator) for p in trend] == [(0, 1), (2, 3)]


@pytest.mark.parametrize("dates", [("2026-02-01", "2026-02-28"), ("2026-02-09", "2026-02-15"),
                                   ("2026-02-10", "2026-02-10")], ids=["month", "week", "day"])
def test_the_command_line_for_a_month_a_week_and_a_day(imported: ContextFactory, database,  # type: ignore[no-untyped-def]
                                                       dates: tuple[str, str],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    imported("analyst")
    code = main(["--db", database.url, "--user", "analyst", "--now", "2026-03-02T08:00:00Z",
                 "assurance", "--from", dates[0], "--to", dates[1], "--format", "json"])
    assert code == 0
    assert '"R14_CONSENT_REFUSED"' in capsys.readouterr().out
