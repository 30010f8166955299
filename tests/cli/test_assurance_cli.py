"""`vigil assurance` and `vigil export assurance`: the report in every format,
on the hand-built force of tests/services/test_assurance_service.py."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlmodel import select

import tui
from app.db import Database
from app.policy import default_policy
from app.rules import metrics as m
from models import AuditEvent
from tests.services.test_assurance_service import EXPECTED, build_force

NOW_ARG = "2026-03-02T08:00:00Z"
PERIOD = ("--from", "2026-01-01", "--to", "28/02/2026")  # the last day is counted


@pytest.fixture
def force_db(sqlite_database: Database) -> str:
    build_force(sqlite_database)
    return sqlite_database.url


def _run(db: str, *args: str, user: str = "analyst") -> int:
    return tui.main(["assurance", "--db", db, "--user", user, "--now", NOW_ARG, *args])


def test_json_has_every_figure(force_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(force_db, *PERIOD, "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["period"] == {"from": "2026-01-01", "to_exclusive": "2026-03-01",
                              "last_day": "2026-02-28", "timezone": "Europe/London"}
    assert data["months"] == ["2026-01-01", "2026-02-01"]
    figures = {x["code"]: (x["overall"]["numerator"], x["overall"]["denominator"])
               for x in data["metrics"]}
    assert figures == {code: (n, d) for code, (n, d, _) in EXPECTED.items()}
    referrals = next(x for x in data["metrics"] if x["code"] == m.R14_REFERRALS)
    assert referrals["overall"]["value"] == pytest.approx(60.0)
    assert referrals["definition"]["target"] == pytest.approx(60.0)
    assert [(t["month"], t["numerator"], t["denominator"]) for t in referrals["trend"]] == [
        ("2026-01-01", 2, 3), ("2026-02-01", 1, 2)]
    assert {(c["scope"], c["area"], c["team"]) for c in data["call_outs"]
            if c["code"] == m.R14_REFERRALS} == {
        ("area", "Southern", None), ("team", "Northern", "Response"), ("team", "Southern", "CID")}


def test_default_period_is_the_last_twelve_full_months(force_db: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(force_db, "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["period"]["from"] == "2025-03-01"
    assert data["period"]["last_day"] == "2026-02-28"
    assert len(data["months"]) == 12
    stalking = next(x for x in data["metrics"] if x["code"] == m.R7_STALKING_INCLUDED)
    # C11 (31 Dec 2025, stalking added by screening) is inside the twelve months
    assert (stalking["overall"]["numerator"], stalking["overall"]["denominator"]) == (2, 6)


def test_only_to_gives_the_twelve_months_ending_that_day(force_db: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(force_db, "--to", "2026-01-31", "--format", "json") == 0
    period = json.loads(capsys.readouterr().out)["period"]
    assert (period["from"], period["last_day"]) == ("2025-02-01", "2026-01-31")


def test_csv_rows_for_force_areas_teams_and_months(force_db: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(force_db, *PERIOD, "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    referral = [r for r in rows if r["code"] == m.R14_REFERRALS]
    by_scope = {(r["scope"], r["area"], r["team"], r["month"]): (r["numerator"], r["denominator"],
                                                                  r["value"]) for r in referral}
    assert by_scope[("force", "", "", "")] == ("3", "5", "60")
    assert by_scope[("area", "Southern", "", "")] == ("1", "2", "50")
    assert by_scope[("team", "Northern", "Response", "")] == ("0", "1", "0")
    assert by_scope[("month", "", "", "2026-01")][:2] == ("2", "3")
    flags = [r for r in rows if r["code"] == m.R23_FLAGS_RAISED and r["scope"] == "force"]
    assert flags[0]["denominator"] == "" and flags[0]["numerator"] == "5"


def test_markdown_and_table_name_every_metric(force_db: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(force_db, *PERIOD, "--format", "md") == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("# Stalking assurance: force-wide, 1 January 2026 to 28 February 2026")
    for heading in m.RECOMMENDATIONS.values():
        assert f"## {heading}" in markdown
    assert "| R14_REFERRALS | Stalking victims referred to specialist support, per 100 | " \
           "60.0 per 100 | 3 / 5 | on target |" in markdown
    assert "- rec 14.5: Southern referred 50.0 per 100 stalking victims (1 / 2), below 60" \
        in markdown
    assert _run(force_db, *PERIOD) == 0
    table = capsys.readouterr().out
    for definition in m.metric_definitions(default_policy()):
        assert definition.code in table


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [value or "" for _, value in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_stands_alone_and_shows_every_metric(force_db: str, tmp_path: Path) -> None:
    target = tmp_path / "assurance.html"
    assert _run(force_db, *PERIOD, "--format", "html", "--purpose", "quality check", "-o", str(target)) == 0
    page = target.read_text(encoding="utf-8")
    # nothing fetched from anywhere: no URL, no script, no stylesheet link, no web font
    assert not re.search(r"https?:|//|@import|url\(", page)
    parser = _Collector()
    parser.feed(page)
    assert "script" not in parser.tags and "link" not in parser.tags
    assert "iframe" not in parser.tags and "img" not in parser.tags
    text = " ".join(parser.text)
    definitions = m.metric_definitions(default_policy())
    for definition in definitions:
        assert definition.code in text
        assert definition.title in text
    assert parser.tags.count("svg") == len(definitions)  # one trend chart a metric
    assert "rec 14.5: Southern referred 50.0 per 100 stalking victims" in text
    assert "1 January 2026 to 28 February 2026" in text


def test_one_area_and_all(force_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(force_db, *PERIOD, "--area", "southern", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["area"] == "Southern"
    referrals = next(x for x in data["metrics"] if x["code"] == m.R14_REFERRALS)
    assert (referrals["overall"]["numerator"], referrals["overall"]["denominator"]) == (1, 2)
    assert _run(force_db, *PERIOD, "--area", "all", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["area"] is None


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "2026-02-01", "--to", "2026-01-01"), "before --from"),
    (("--from", "31/02/2026"), "not a real date"),
    (("--area", "Atlantis"), "Atlantis"),
])
def test_bad_input_exits_2(force_db: str, capsys: pytest.CaptureFixture[str],
                           args: tuple[str, ...], message: str) -> None:
    assert _run(force_db, *args) == 2
    assert message in capsys.readouterr().err


def test_officers_are_refused(force_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(force_db, *PERIOD, user="officer.northern") == 1
    assert "may not view assurance" in capsys.readouterr().err


def test_export_assurance_is_audited(force_db: str, tmp_path: Path) -> None:
    target = tmp_path / "assurance.md"
    code = tui.main(["export", "assurance", "--purpose", "quality check", "--db", force_db, "--user", "auditor", "--now",
                     NOW_ARG, "--from", "2026-01-01", "--to", "2026-02-28", "--format", "md",
                     "--purpose", "quality check", "-o", str(target)])
    assert code == 0
    assert "| R13_SPO_DECISION | Stalking cases with an SPO decision | 60.0% | 3 / 5 |" \
        in target.read_text(encoding="utf-8")
    database = Database(force_db)
    with database.read() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.username == "auditor")
                              .order_by(AuditEvent.id)).all()
    database.dispose()
    assert [(e.action, e.entity, e.entity_id) for e in events] == [
        ("view", "assurance", None), ("export", "export", "assurance")]
    assert "assurance disclosed as md" in (events[1].reason or "")


def test_html_escapes_text_from_the_records(sqlite_database: Database, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tests.factories import add_case

    with sqlite_database.write() as s:
        add_case(s, "X1", datetime(2026, 1, 5, 10, tzinfo=UTC), code="8Q",
                 team="<script>alert(1)</script>")
    target = tmp_path / "escaped.html"
    assert _run(sqlite_database.url, *PERIOD, "--format", "html", "--purpose", "quality check", "-o", str(target)) == 0
    page = target.read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
