"""`vigil sample` and `vigil plan` from the command line: a draw, a review
with a failed item, the report; bad input exits 2 naming what is wrong."""

from __future__ import annotations

import json

from tests.services.test_dip_sampling import build
from tui import main

NOW = "2026-02-10T09:00:00Z"


def _run(db: str, user: str, *args: str) -> int:
    return main(["--db", db, "--user", user, "--now", NOW, *args])


def test_draw_review_report(sqlite_database, capsys) -> None:  # type: ignore[no-untyped-def]
    build(sqlite_database)
    db = sqlite_database.url
    assert _run(db, "analyst", "sample", "draw", "--area", "Northern", "--from", "2026-01-01",
                "--to", "2026-01-31", "--reviewer", "auditor", "--seed", "7",
                "--per-stratum", "2", "--format", "json") == 0
    drawn = json.loads(capsys.readouterr().out)
    assert drawn["excluded_own"] == ["H4", "M2", "S3"]
    assert _run(db, "auditor", "sample", "review", "1", "S1", "--pass", "all",
                "--fail", "supervision=no supervision recorded") == 0
    assert _run(db, "auditor", "sample", "review", "1", "S2", "--pass", "all",
                "--fail", "supervision") == 2
    assert "give ITEM=NOTE" in capsys.readouterr().err
    assert _run(db, "analyst", "sample", "report", "--from", "2026-02-01", "--to", "2026-02-28",
                "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    figures = {f["code"]: f["basis"] for f in report["figures"]}
    assert figures["DIP_COMPLIANCE"] == "6 / 7" and figures["DIP_SUPERVISION"] == "0 / 1"
    assert report["failed_items"][0]["note"] == "no supervision recorded"


def test_plan_bad_file_exits_2(sqlite_database, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "recs.toml"
    bad.write_text('[[recommendation]]\nnumber = "7"\nreport = "1999"\ntheme = "t"\n')
    assert _run(sqlite_database.url, "analyst", "plan", "load", str(bad), "--note", "n") == 2
    assert "recommendation[0]: report: expected one of 2024, 2017" in capsys.readouterr().err
