"""`vigil bench`: medians of the product's key operations at scale, each
paired with a baseline measured in the same run and reported as a ratio.

Baselines: the same reads written by hand in SQL through the DB-API (queue,
board, search, case open), a plain scan of every crime's id and summary
(screening; in a fresh process for the fresh-process row), one
hand-written computation of the same report's figures (assurance), raw DB-API inserts
(seeding), and an empty Textual app holding a plain table (TUI start, cursor
moves, memory).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from app.db import SYNTHETIC, Database
from app.rules.dmm import next_meeting_date
from app.services.assurance import SQLITE_MMAP
from app.services.context import ServiceContext, open_context
from app.services.dmm import prepare_queue
from app.settings import Settings, data_dir
from models import DmmItem, DmmMeeting

BENCH_NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BENCH_SEED = 7
AREA = "Northern"
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Figure:
    name: str
    median_ms: float
    runs: int
    baseline: str
    baseline_ms: float | None
    target_ms: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.baseline_ms:
            return None
        return self.median_ms / self.baseline_ms

    @property
    def meets_target(self) -> bool | None:
        return None if self.target_ms is None else self.median_ms <= self.target_ms

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["ratio"] = None if self.ratio is None else round(self.ratio, 2)
        row["meets_target"] = self.meets_target
        return row


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def _timed(fn: Callable[[], object], repeats: int) -> list[float]:
    samples: list[float] = []
    for _ in range(repeats):
        begin = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - begin)
    return samples


def bench_database_url(cases: int) -> str:
    folder = data_dir() / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / f'bench-{cases}.db'}"


def ensure_database(url: str, cases: int, progress: Callable[[str], None]) -> tuple[Database, float | None]:
    """Reuse the benchmark database, or seed it (returns the seeding seconds)."""
    from seed.generator import existing_cases, generate, reset_database

    database = Database(url)
    database.upgrade(create_as=SYNTHETIC)
    have = existing_cases(database)
    if have == cases:
        return database, None
    progress(f"seeding {cases:,} cases into {database.safe_url} (first run only)")
    reset_database(database)
    begin = time.perf_counter()
    generate(database, cases=cases, seed=BENCH_SEED, now=BENCH_NOW)
    return database, time.perf_counter() - begin


def forget_meeting(database: Database, area: str, meeting_date: date) -> None:
    """Remove a meeting nothing was recorded on, as if it had never been built."""
    with database.write() as session:
        ids = session.execute(select(DmmMeeting.id).where(
            DmmMeeting.area_command == area, DmmMeeting.meeting_date == meeting_date,
        )).scalars().all()
        if ids:
            session.execute(delete(DmmItem).where(DmmItem.meeting_id.in_(ids)))
            session.execute(delete(DmmMeeting).where(DmmMeeting.id.in_(ids)))


def _context(database: Database, username: str, now: datetime = BENCH_NOW) -> ServiceContext:
    settings = Settings(database_url=database.url, username=username, now=now)
    return open_context(settings, database=database, migrate=False)


def _seeding(sample: int, repeats: int) -> Figure:
    from seed.generator import generate

    def product() -> None:
        with tempfile.TemporaryDirectory() as folder:
            database = Database(f"sqlite:///{Path(folder) / 's.db'}")
            database.upgrade()
            generate(database, cases=sample, seed=BENCH_SEED, now=BENCH_NOW)
            database.dispose()

    def baseline() -> None:
        with tempfile.TemporaryDirectory() as folder:
            conn = sqlite3.connect(Path(folder) / "b.db")
            conn.execute("CREATE TABLE crime (id INTEGER PRIMARY KEY, crime_ref TEXT, "
                         "reported_at TEXT, area TEXT, code TEXT, victim INTEGER, "
                         "suspect INTEGER, summary TEXT)")
            conn.executemany("INSERT INTO crime VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             ((i, f"X/{i}", "2026-01-01 00:00:00", "Northern", "8L", i, i,
                               "synthetic summary text") for i in range(sample)))
            conn.commit()
            conn.close()

    return Figure(f"seeding ({sample:,} cases)", _median_ms(_timed(product, repeats)), repeats,
                  "DB-API executemany of one plain table", _median_ms(_timed(baseline, repeats)))


def _probe(url: str, baseline: bool, rows: int = 100,
           now: datetime = BENCH_NOW) -> dict[str, float]:
    argv = [sys.executable, "-m", "benchmarks.tui_probe", "--db", url,
            "--now", now.isoformat(), "--user", "supervisor.northern"]
    if baseline:
        argv += ["--baseline", "--rows", str(rows)]
    begin = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - begin
    if result.returncode != 0:
        raise RuntimeError(f"TUI probe failed: {result.stderr[-2000:]}")
    figures = json.loads(result.stdout)
    figures["wall_s"] = wall
    return figures


def _subprocess_seconds(argv: list[str]) -> float:
    """Wall seconds of a fresh Python process (start-up and imports included)."""
    begin = time.perf_counter()
    result = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True,
                            timeout=1200)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr[-2000:]}")
    return time.perf_counter() - begin


def screening_figures(database: Database, analyst: ServiceContext, raw: Any, repeats: int,
                      progress: Callable[[str], None]) -> list[Figure]:
    """The screening rows: a full run (warm, the policy compiled), a full run
    in a fresh process (imports, the lemma dictionary and every first-seen
    word included), and incremental runs, each beside its baseline."""
    from benchmarks.screening import incremental_run, restore_activity, time_full_run

    def scan() -> None:
        cursor = raw.cursor()
        cursor.execute("SELECT id, summary FROM crime_case")
        while cursor.fetchmany(20_000):
            pass
        cursor.close()

    figures: list[Figure] = []
    progress("screening full run")
    screened = [time_full_run(analyst) for _ in range(repeats)]
    base = _timed(scan, repeats)
    from app.services.screening import worker_processes
    workers = worker_processes()
    spread = (f"spread over {workers} worker processes, one per core" if workers
              else "in this one process")
    figures.append(Figure("screening full run", _median_ms(screened), repeats,
                          "DB-API scan of every crime's id and summary (nothing else), "
                          "in one process", _median_ms(base), 60_000,
                          note=f"the run {spread}"))
    if database.dialect == "sqlite":
        progress("screening full run, fresh process")
        cold = [_subprocess_seconds(["-m", "benchmarks.screening", "--db", database.url,
                                     "--now", BENCH_NOW.isoformat(), "--once", "run"])
                for _ in range(max(1, min(repeats, 3)))]
        scan_code = ("import sqlite3, sys\n"
                     "c = sqlite3.connect(sys.argv[1])\n"
                     "cur = c.execute('SELECT id, summary FROM crime_case')\n"
                     "while cur.fetchmany(20000):\n    pass\n")
        path = database.url.split("sqlite:///", 1)[1]
        cold_base = [_subprocess_seconds(["-c", scan_code, path])
                     for _ in range(max(1, min(repeats, 3)))]
        figures.append(Figure("screening full run, fresh process", _median_ms(cold), len(cold),
                              "the same DB-API scan in a fresh Python process",
                              _median_ms(cold_base),
                              note="imports, lemma dictionary and word caches included"))
    touched: dict[int, Any] = {}
    for changes in (1_000, 10_000):
        progress(f"screening incremental run after {changes:,} edits")
        runs = [incremental_run(analyst, changes, touched) for _ in range(repeats)]
        seconds = [elapsed for elapsed, _summary in runs]
        _elapsed, last_run = runs[-1]
        read = last_run.screened

        def read_changed(limit: int = read) -> None:
            cursor = raw.cursor()
            if database.dialect == "sqlite":
                cursor.execute("SELECT id, summary FROM crime_case LIMIT ?", (limit,))
            else:
                cursor.execute("SELECT id, summary FROM crime_case LIMIT %s", (limit,))
            cursor.fetchall()
            cursor.close()

        base = _timed(read_changed, repeats)
        figures.append(Figure(f"screening incremental ({changes:,} edited)", _median_ms(seconds),
                              repeats, f"DB-API read of {read:,} summaries (those re-screened)",
                              _median_ms(base),
                              note=f"{read:,} crimes re-screened (the edited and their pairs)"))
    restore_activity(analyst, touched)  # the database's later figures see no edits
    return figures


def _analyst_figures(cases: int, url: str | None,
                     measure: Callable[[Database, ServiceContext, Any], list[Figure]],
                     progress: Callable[[str], None]) -> dict[str, Any]:
    """The bench database, an analyst's context and a raw connection for the
    baseline; the figures ``measure`` takes with them, as `vigil bench` reports them."""
    url = url or bench_database_url(cases)
    database, seed_seconds = ensure_database(url, cases, progress)
    analyst = _context(database, "analyst")
    pooled = database.engine.raw_connection()
    try:
        figures = measure(database, analyst, pooled.driver_connection)
    finally:
        pooled.close()
    return {
        "cases": cases, "database": database.safe_url, "engine": database.dialect,
        "now": BENCH_NOW.isoformat(),
        "full_seed_seconds": None if seed_seconds is None else round(seed_seconds, 1),
        "figures": [f.as_dict() for f in figures],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_note": "medians in milliseconds; ratio = product / baseline",
    }


def run_screening_bench(cases: int, *, url: str | None = None, repeats: int = 3,
                        progress: Callable[[str], None] = lambda text: None) -> dict[str, Any]:
    """`vigil bench --only screening`: the screening rows alone."""
    return _analyst_figures(cases, url, lambda database, analyst, raw: screening_figures(
        database, analyst, raw, repeats, progress), progress)


ASSURANCE_BASELINE = (
    "hand-written SQL (DB-API): every figure of the same report for the same period "
    "(the cases in one pass, a grouped statement for each other source, the breaches' "
    "limits in SQL; no audit event, no words)")


def assurance_figure(analyst: ServiceContext, raw: Any, repeats: int,
                     progress: Callable[[str], None]) -> Figure:
    """The force-wide report for the 12 full months before the bench's clock,
    against the baseline that computes the same figures by hand (product and
    baseline alternate, so both meet the same load)."""
    from benchmarks.assurance import time_report
    from benchmarks.assurance_baseline import baseline_report_sql

    progress("assurance report")
    date_to = date(BENCH_NOW.year, BENCH_NOW.month, 1)
    date_from = date(date_to.year - 1, date_to.month, 1)
    if isinstance(raw, sqlite3.Connection):
        raw.execute(SQLITE_MMAP)  # as the report's own read connection does
    report: list[float] = []
    base: list[float] = []
    for _ in range(repeats):
        report.extend(time_report(analyst, date_from, date_to, 1))
        if isinstance(raw, sqlite3.Connection):  # the baseline is measured on SQLite
            base.extend(_timed(lambda: baseline_report_sql(
                raw, analyst.policy, date_from, date_to, analyst.now()), 1))
    return Figure("assurance report (12 months)", _median_ms(report), repeats,
                  ASSURANCE_BASELINE, _median_ms(base) if base else None, 10_000)


def run_assurance_bench(cases: int, *, url: str | None = None, repeats: int = 3,
                        progress: Callable[[str], None] = lambda text: None) -> dict[str, Any]:
    """`vigil bench --only assurance`: the assurance row alone."""
    return _analyst_figures(cases, url, lambda _database, analyst, raw: [assurance_figure(
        analyst, raw, repeats, progress)], progress)


def run_bench(cases: int, *, url: str | None = None, repeats: int = 7,
              progress: Callable[[str], None] = lambda text: None) -> dict[str, Any]:
    from app.services.dmm.common import agenda_epoch
    from benchmarks.breaches import baseline_board_sql, time_board
    from benchmarks.dmm import (
        baseline_queue_sql,
        own_reasons_sql,
        run_statement,
        time_full_queue,
        time_queue,
    )
    from benchmarks.search import (
        baseline_case_open_sql,
        baseline_search_sql,
        time_case_open,
        time_search,
    )

    url = url or bench_database_url(cases)
    database, seed_seconds = ensure_database(url, cases, progress)
    supervisor = _context(database, "supervisor.northern")
    analyst = _context(database, "analyst")
    pooled = database.engine.raw_connection()
    raw = pooled.driver_connection  # the DB-API driver's own connection
    figures: list[Figure] = []
    slow_repeats = 3 if cases >= 500_000 else repeats

    progress("seeding sample")
    figures.append(_seeding(min(cases, 20_000), 3))

    progress("DMM queue")
    meeting_date = BENCH_NOW.date()
    with database.read() as session:
        epoch = agenda_epoch(session)
    # one untimed run of each first: the first build in a process compiles its
    # statements (what a fresh process pays is the TUI rows' figure), and the
    # baselines' first runs read cold pages
    time_full_queue(supervisor, AREA, meeting_date, 1)
    baseline_queue_sql(raw, AREA, BENCH_NOW, epoch=epoch)
    full = time_full_queue(supervisor, AREA, meeting_date, slow_repeats)
    base = _timed(lambda: baseline_queue_sql(raw, AREA, BENCH_NOW, epoch=epoch), slow_repeats)
    figures.append(Figure(
        f"DMM agenda, full computation ({AREA})", _median_ms(full), slow_repeats,
        "hand-written SQL: the same reasons as bits for the same cases (DB-API; no "
        "standing-gap settling, storing or words); each after one untimed run",
        _median_ms(base), None))
    own = own_reasons_sql(supervisor, AREA, meeting_date)
    run_statement(raw, own)
    base = _timed(lambda: run_statement(raw, own), slow_repeats)
    figures.append(Figure(
        f"DMM agenda, full computation ({AREA}), against its own SQL", _median_ms(full),
        slow_repeats, "the service's own reason statement for the same meeting, compiled "
        "once, run through the DB-API (the SQL alone: no settling, storing or ranking); "
        "each after one untimed run", _median_ms(base), None))
    queue = time_queue(supervisor, AREA, meeting_date, repeats)
    figures.append(Figure(
        f"DMM queue, stored agenda brought up to date ({AREA})", _median_ms(queue), repeats,
        "none: re-reads the stored agenda and the cases changed since", None, 200))

    progress("breach board")
    board = time_board(supervisor, AREA, repeats)
    base = _timed(lambda: baseline_board_sql(raw, AREA, BENCH_NOW.isoformat()), repeats)
    figures.append(Figure(f"breach board ({AREA})", _median_ms(board), repeats,
                          "the board's reads (its rows, each pair's breaches in the 30/90-day "
                          "windows, their dates and SPOs) written by hand through the DB-API "
                          "(escalation rules not applied, no audit event)",
                          _median_ms(base), 200))

    from app.services.dmm import build_queue

    top = build_queue(supervisor, area=AREA, meeting_date=meeting_date, limit=1, audit=False)
    crime_ref = top.items[0].crime_ref
    progress("case open")
    opened = time_case_open(supervisor, crime_ref, repeats)
    base = _timed(lambda: baseline_case_open_sql(raw, crime_ref), repeats)
    figures.append(Figure("case open", _median_ms(opened), repeats,
                          "every tab's reads of the case record (the case and its people, "
                          "classifications, assessments, orders, breaches, victim care, "
                          "pair) written by hand through the DB-API (no audit event)",
                          _median_ms(base), 100))

    progress("search by included classification")
    found = time_search(analyst, "8Q", repeats)
    base = _timed(lambda: baseline_search_sql(raw, "8Q", 50), repeats)
    figures.append(Figure("search --code 8Q", _median_ms(found), repeats,
                          "the same first page (principal or included 8Q, newest first, with "
                          "its people and codes) as the best hand-written query through the "
                          "DB-API", _median_ms(base), 100))

    figures.extend(screening_figures(database, analyst, raw, slow_repeats, progress))

    figures.append(assurance_figure(analyst, raw, slow_repeats, progress))
    pooled.close()

    progress("TUI cold start, cursor moves, memory")
    product_runs = [_probe(url, False) for _ in range(3)]
    baseline_runs = [_probe(url, True) for _ in range(3)]

    def med(runs: list[dict[str, float]], key: str) -> float:
        return round(statistics.median(r[key] for r in runs) * 1000, 2)

    figures.append(Figure("TUI start to first DMM rows", med(product_runs, "first_rows_s"), 3,
                          "empty Textual app with a table", med(baseline_runs, "first_rows_s"),
                          1500))
    figures.append(Figure("100 cursor moves on the queue", med(product_runs, "moves_s"), 3,
                          "plain DataTable, 100 rows", med(baseline_runs, "moves_s")))

    # The next morning: Tuesday's agenda prepared overnight (its periodic full
    # recompute due, so the screen shows the stored agenda and recomputes
    # behind the rows), and not prepared (the day's first view computes it).
    tuesday = next_meeting_date(meeting_date, supervisor.policy)
    morning = datetime.combine(tuesday, BENCH_NOW.timetz())
    overnight = _context(database, "analyst", BENCH_NOW + timedelta(hours=15))
    prepared_runs = []
    cold_runs = []
    for _ in range(3):
        forget_meeting(database, AREA, tuesday)
        prepare_queue(overnight, area=AREA, meeting_date=tuesday)
        prepared_runs.append(_probe(url, False, now=morning))
    for _ in range(3):
        forget_meeting(database, AREA, tuesday)
        cold_runs.append(_probe(url, False, now=morning))
    figures.append(Figure("TUI first rows, agenda prepared overnight",
                          med(prepared_runs, "first_rows_s"), 3,
                          "empty Textual app with a table", med(baseline_runs, "first_rows_s"),
                          1500))
    figures.append(Figure("TUI first rows, agenda not prepared", med(cold_runs, "first_rows_s"),
                          3, "empty Textual app with a table",
                          med(baseline_runs, "first_rows_s")))
    peak = statistics.median(r["peak_mb"] for r in product_runs)
    base_peak = statistics.median(r["peak_mb"] for r in baseline_runs)
    return {
        "cases": cases,
        "database": database.safe_url,
        "engine": database.dialect,
        "now": BENCH_NOW.isoformat(),
        "full_seed_seconds": None if seed_seconds is None else round(seed_seconds, 1),
        "figures": [f.as_dict() for f in figures],
        "tui_peak_memory_mb": round(peak, 1),
        "baseline_peak_memory_mb": round(base_peak, 1),
        "memory_target_mb": 300,
        "memory_ratio": round(peak / base_peak, 2) if base_peak else None,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_note": "medians in milliseconds; ratio = product / baseline",
    }


def render_table(result: dict[str, Any]) -> str:
    lines = [f"vigil bench: {result['cases']:,} cases on {result['engine']} "
             f"({result['database']})"]
    if result["full_seed_seconds"] is not None:
        lines.append(f"full seeding: {result['full_seed_seconds']} s")
    width = max(34, *(len(row["name"]) for row in result["figures"]))
    header = f"{'operation':{width}} {'median ms':>10} {'baseline ms':>12} {'ratio':>7} {'target':>8}  ok"
    lines += [header, "-" * len(header)]
    for row in result["figures"]:
        base = "" if row["baseline_ms"] is None else f"{row['baseline_ms']:.1f}"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        target = "" if row["target_ms"] is None else f"{row['target_ms']:.0f}"
        ok = {True: "yes", False: "NO", None: ""}[row["meets_target"]]
        lines.append(f"{row['name']:{width}} {row['median_ms']:>10.1f} {base:>12} {ratio:>7} "
                     f"{target:>8}  {ok}")
    for row in result["figures"]:
        if row.get("note"):
            lines.append(f"  {row['name']}: {row['note']}; baseline: {row['baseline']}")
    if "tui_peak_memory_mb" in result:
        lines.append(f"TUI peak memory: {result['tui_peak_memory_mb']} MB (baseline "
                     f"{result['baseline_peak_memory_mb']} MB, ratio {result['memory_ratio']}, "
                     f"target {result['memory_target_mb']} MB)")
    return "\n".join(lines) + "\n"


