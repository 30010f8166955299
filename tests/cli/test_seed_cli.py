"""`vigil seed` and `vigil demo` through the entry point."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

import tui
from app.cli import demo
from app.cli.open_tui import landing_section
from app.db import Database
from app.services.context import ServiceContext
from models import AuditEvent, Case
from tests import factories
from tests.conftest import NOW

FIXED = ["--now", "2026-03-02T08:00:00Z"]


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM crime_case").fetchone()[0]


def _kind(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT value FROM app_meta WHERE key = 'database_kind'").fetchone()[0]


def test_seed_writes_cases_marks_synthetic_and_reports(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v.db"
    assert tui.main(["seed", "--cases", "300", "--seed", "2", "--db", _url(path), *FIXED]) == 0
    err = capsys.readouterr().err
    assert "seeded 300 synthetic cases" in err and "(synthetic)" in err and "with seed 2" in err
    assert "crime_case" in err and "300" in err and " s\n" in err
    assert _count(path) == 300
    assert _kind(path) == "synthetic"
    database = Database(_url(path))
    with database.read() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.entity == "seed")).scalar_one()
    database.dispose()
    assert event.at == NOW and event.action == "create" and event.username == "system"
    assert event.reason == "synthetic data generated: 300 cases, seed 2"


def test_refuses_a_database_with_cases_unless_reset(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v.db"
    assert tui.main(["seed", "--cases", "250", "--db", _url(path), *FIXED]) == 0
    capsys.readouterr()
    assert tui.main(["seed", "--cases", "100", "--db", _url(path), *FIXED]) == 2
    err = capsys.readouterr().err
    assert "already holds 250 cases" in err and "--reset" in err
    assert _count(path) == 250
    assert tui.main(["seed", "--cases", "120", "--reset", "--db", _url(path), *FIXED]) == 2
    assert "confirm with --yes v.db" in capsys.readouterr().err and _count(path) == 250
    assert tui.main(["seed", "--cases", "120", "--reset", "--yes", "v.db", "--db", _url(path),
                     *FIXED]) == 0
    assert _count(path) == 120
    # A reset database holds exactly what a fresh one would.
    fresh = tmp_path / "fresh.db"
    assert tui.main(["seed", "--cases", "120", "--db", _url(fresh), *FIXED]) == 0
    with sqlite3.connect(path) as a, sqlite3.connect(fresh) as b:
        query = "SELECT * FROM crime_case ORDER BY id"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


@pytest.mark.parametrize(("argv", "message"), [
    (["--cases", "0"], "--cases: expected a whole number of at least 1, got 0"),
    (["--cases", "-5"], "--cases: expected a whole number of at least 1, got -5"),
    (["--cases", "10", "--seed", "-1"], "--seed: expected a whole number of 0 or more, got -1"),
    (["--cases", "10", "--now", "yesterday"], "--now:"),
])
def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           argv: list[str], message: str) -> None:
    assert tui.main(["seed", *argv, "--db", _url(tmp_path / "v.db")]) == 2
    assert message in capsys.readouterr().err


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        tui.main(["seed", "--cases", "many", "--db", _url(tmp_path / "v.db")])
    assert exit_info.value.code == 2
    assert "--cases" in capsys.readouterr().err
    # without --cases (and without --report): nothing to do, said so
    assert tui.main(["seed", "--db", _url(tmp_path / "v.db")]) == 2
    assert "--cases" in capsys.readouterr().err


def test_report_prints_the_calibration_table(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.db"
    assert tui.main(["seed", "--report", "--db", _url(path)]) == 2
    assert "seed it first" in capsys.readouterr().err
    assert tui.main(["seed", "--cases", "300", "--db", _url(path), *FIXED]) == 0
    capsys.readouterr()
    assert tui.main(["seed", "--report", "--db", _url(path)]) == 0
    out = capsys.readouterr().out
    assert "SPO applications per 100 stalking crimes" in out
    assert "sources:" in out and "Home Office" in out
    assert "rates within their band" in out


def test_training_flag_and_kind_mismatch(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.db"
    assert tui.main(["seed", "--cases", "50", "--training", "--db", _url(path), *FIXED]) == 0
    assert _kind(path) == "training"
    empty = tmp_path / "empty-training.db"
    database = Database(_url(empty))
    database.upgrade()
    database.mark_kind("training")
    database.dispose()
    capsys.readouterr()
    assert tui.main(["seed", "--cases", "50", "--db", _url(empty), *FIXED]) == 2
    assert "TRAINING database" in capsys.readouterr().err
    assert _count(empty) == 0


def test_never_resets_live_data_it_did_not_generate(
        make_live_database, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    database: Database = make_live_database("sqlite")
    with database.write() as session:
        factories.add_case(session, "NC/26/999001", NOW)
    name = Path(database.engine.url.database).name
    assert tui.main(["seed", "--cases", "10", "--reset", "--yes", name, "--db", database.url,
                     *FIXED]) == 2
    assert "LIVE database: refusing to reset it" in capsys.readouterr().err
    with database.read() as session:
        assert session.execute(select(func.count()).select_from(Case)).scalar() == 1


# --- vigil demo -----------------------------------------------------------------------------


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[tuple[ServiceContext, str | None]]:
    """Stub the TUI: record the context and start section instead of running."""
    calls: list[tuple[ServiceContext, str | None]] = []

    def fake_run_app(context: ServiceContext, *, start: str | None = None,
                     area: str | None = None) -> int:
        calls.append((context, start))
        return 0

    monkeypatch.setattr("app.cli.open_tui.run_app", fake_run_app)
    monkeypatch.setattr(demo, "DEMO_CASES", 300)
    return calls


def test_demo_creates_seeds_and_reuses_the_training_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        opened: list[tuple[ServiceContext, str | None]], capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path))
    monkeypatch.setenv("VIGIL_DATABASE_URL", _url(tmp_path / "live.db"))  # never used by demo
    monkeypatch.delenv("VIGIL_NOW", raising=False)
    assert tui.main(["demo"]) == 0
    assert "creating the training database" in capsys.readouterr().err
    path = tmp_path / "training.db"
    assert _count(path) == 300 and _kind(path) == "training"
    assert not (tmp_path / "live.db").exists()
    with sqlite3.connect(path) as conn:  # screened once, so screening opens on candidates
        run_by, screened = conn.execute(
            "SELECT run_by, screened FROM screening_run WHERE finished_at IS NOT NULL").fetchone()
    assert run_by == "trainer" and screened > 0
    context, start = opened[-1]
    # no scenario: the demonstrated role's own landing (a supervisor's DMM)
    assert start is None and landing_section(context) == "dmm"
    assert context.training and context.actor.username == "trainer"
    assert context.actor.role == "supervisor" and context.actor.real_role == "trainer"
    first_now = context.now()
    local = first_now.astimezone(demo.LONDON)
    assert (local.hour, local.minute, local.weekday() < 5) == (8, 15, True)
    assert first_now <= datetime.now(UTC)
    assert tui.main(["demo", "--role", "analyst"]) == 0
    assert "creating" not in capsys.readouterr().err
    context, _start = opened[-1]
    assert context.actor.role == "analyst" and context.now() == first_now
    assert _count(path) == 300


def test_demo_now_option_seeds_at_that_time_and_reset_reseeds(
        tmp_path: Path, opened: list[tuple[ServiceContext, str | None]]) -> None:
    url = _url(tmp_path / "d.db")
    assert tui.main(["demo", "--db", url, *FIXED]) == 0
    assert opened[-1][0].now() == NOW
    with sqlite3.connect(tmp_path / "d.db") as conn:
        stored = conn.execute("SELECT value FROM app_meta WHERE key = 'demo_now'").fetchone()[0]
        latest = conn.execute("SELECT max(reported_at) FROM crime_case").fetchone()[0]
    assert stored == "2026-03-02T08:00:00+00:00" and latest < "2026-03-02 08:00:00"
    later = ["--now", "2026-03-04T08:15:00Z"]
    assert tui.main(["demo", "--db", url, "--reset", "--yes", "d.db", *later]) == 0
    assert opened[-1][0].now() == datetime(2026, 3, 4, 8, 15, tzinfo=UTC)
    assert _count(tmp_path / "d.db") == 300


def test_demo_refuses_a_live_database(tmp_path: Path, opened: list[tuple[ServiceContext, str | None]],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "synthetic.db"
    assert tui.main(["seed", "--cases", "20", "--db", _url(path), *FIXED]) == 0
    live = tmp_path / "live.db"
    assert tui.main(["db", "upgrade", "--db", _url(live)]) == 0
    capsys.readouterr()
    for target, label in ((path, "SYNTHETIC database"), (live, "LIVE database")):
        for argv in (["demo", "--db", _url(target)],
                     ["demo", "--reset", "--yes", target.name, "--db", _url(target)]):
            assert tui.main(argv) == 1
            assert label in capsys.readouterr().err
    assert _count(path) == 20 and _kind(path) == "synthetic" and _kind(live) == "live"
    assert opened == []


@pytest.mark.parametrize(("moment", "expected"), [
    # Monday 2 March 2026 10:00 GMT -> that morning.
    (datetime(2026, 3, 2, 10, 0, tzinfo=UTC), datetime(2026, 3, 2, 8, 15, tzinfo=UTC)),
    # Monday 07:00: before 08:15, so Friday's.
    (datetime(2026, 3, 2, 7, 0, tzinfo=UTC), datetime(2026, 2, 27, 8, 15, tzinfo=UTC)),
    # Sunday -> Friday.
    (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), datetime(2026, 2, 27, 8, 15, tzinfo=UTC)),
    # Summer (BST): 08:15 local is 07:15 UTC.
    (datetime(2026, 7, 1, 9, 0, tzinfo=UTC), datetime(2026, 7, 1, 7, 15, tzinfo=UTC)),
    # Exactly 08:15 counts.
    (datetime(2026, 3, 3, 8, 15, tzinfo=UTC), datetime(2026, 3, 3, 8, 15, tzinfo=UTC)),
])
def test_demo_moment(moment: datetime, expected: datetime) -> None:
    assert demo.demo_moment(moment) == expected
