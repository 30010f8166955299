"""A screening run with the prefilter and one that reads every summary in
full keep the same results, with the same rules, scores and explanations,
on a generated force (SQLite; the prefilter is pure and engine-blind)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from app.db import Database
from app.rules.screening import PhraseMatch, PhraseMatcher
from app.services.screening import run_screening
from models import ScreeningResult
from seed.generator import generate
from tests.conftest import NOW


def _results(database: Database) -> dict[int, tuple[Any, ...]]:
    with database.read() as s:
        rows = s.exec(select(ScreeningResult.case_id, ScreeningResult.score,
                             ScreeningResult.qualifies, ScreeningResult.rules,
                             ScreeningResult.evidence)).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_prefiltered_and_unfiltered_runs_keep_the_same_results(
        sqlite_database: Database, make_sqlite_context, monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    import app.services.screening as screening
    from app.policy import default_policy

    generate(sqlite_database, cases=3_000, seed=7, now=NOW)
    ctx = make_sqlite_context("analyst")
    run_screening(ctx, full=True)
    prefiltered = _results(sqlite_database)
    assert len(prefiltered) > 50  # the force holds hidden stalking to find

    core = set(default_policy().screening.behaviours) - set(
        default_policy().screening.supporting_categories)

    def every_summary(matcher: PhraseMatcher, summaries: Any, families: Any) -> list[int]:
        return list(range(len(summaries)))

    def read_in_full(matcher: PhraseMatcher, summary: str, *,
                     prefiltered: bool = False) -> list[PhraseMatch]:
        found = matcher.find(summary or "")
        return found if any(m.category in core for m in found) else []

    monkeypatch.setattr(screening, "summaries_may_qualify", every_summary)
    monkeypatch.setattr(screening, "summary_matches", read_in_full)
    run_screening(ctx, full=True)
    assert _results(sqlite_database) == prefiltered


def test_an_incremental_run_over_every_crime_keeps_the_full_run_results(
        sqlite_database: Database, make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    """An incremental run reads the breached orders and included codes of its
    own crimes only; over every crime it keeps what a full run keeps."""
    from datetime import timedelta

    from sqlalchemy import update

    from models import Case

    generate(sqlite_database, cases=3_000, seed=7, now=NOW)
    run_screening(make_sqlite_context("analyst"), full=True)
    full = _results(sqlite_database)
    assert any("breach_same_victim" in rules for _, _, rules, _ in full.values())
    later = NOW + timedelta(hours=1)
    with sqlite_database.write() as s:
        s.execute(update(Case).values(last_activity_at=later))
    summary = run_screening(make_sqlite_context("analyst", now=later + timedelta(minutes=10)))
    assert not summary.full and summary.screened > 2_000
    assert _results(sqlite_database) == full
