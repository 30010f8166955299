"""The morning load harness on a real PostgreSQL server, small: two people
(a supervisor and an analyst) and the import for about three seconds on a
small generated force, each connecting with their own login. It must run
without errors and measure every kind of operation, so the harness that
produces benchmarks/README.md's load figures cannot rot."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from benchmarks.load import OCCASIONAL, OPERATIONS, drop_force, render_table, run_load
from tests.conftest import PG_ENV

pytestmark = pytest.mark.postgres


def test_two_sessions_for_three_seconds_measure_every_operation_without_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} is not set: PostgreSQL tests must run in CI")
        pytest.skip(f"PostgreSQL: set {PG_ENV} to run")
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path))
    name = f"vigil_load_t{uuid.uuid4().hex[:8]}"
    try:
        result = run_load(admin_url, cases=1000, sessions=2, seconds=3, closed=True, steps=None,
                          progress=lambda _text: None, database_name=name)
    finally:
        drop_force(admin_url, 1000, database_name=name)
    (window,) = result["windows"]
    assert window["errors"] == 0, window["error_messages"]
    assert window["roles"] == {"supervisor": 1, "analyst": 1, "importer": 1}
    # the one supervisor is of the busiest area: a meeting to work through on any day
    assert max(window["agenda_sizes"].values()) > 0, window["agenda_sizes"]
    counts = {row["operation"]: row["count"] for row in window["operations"]}
    assert set(counts) == set(OPERATIONS)
    assert all(counts[op] >= 1 for op in OPERATIONS if op not in OCCASIONAL), counts
    measured = [row for row in window["operations"] if row["count"]]
    assert all(row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] for row in measured)
    assert "errors 0" in render_table(result)


def test_people_arrive_within_their_first_think_span_and_never_past_the_window(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    from benchmarks import load

    pauses: list[float] = []
    monkeypatch.setattr(load.time, "sleep", pauses.append)
    now = load.time.monotonic()
    rng = random.Random(3)
    for _ in range(200):
        load._arrive(rng, load.Person("s", "supervisor", "Northern"), now + 60)
    assert all(0 <= p <= load.SUPERVISOR_THINK[1] for p in pauses)
    assert max(pauses) > load.SUPERVISOR_THINK[1] / 2  # spread over the span, not bunched
    pauses.clear()
    load._arrive(rng, load.Person("a", "analyst"), now + 0.5)  # the window nearly over
    assert pauses and pauses[0] <= 0.5
    pauses.clear()
    load._arrive(rng, load.Person("i", "importer"), now + 60)  # a batch job already running
    assert pauses == []
