"""RMS import at scale: a synthetic extract folder of any size, and the time
and peak memory of importing it.

    python -m benchmarks.rms_import --crimes 1000000 --folder /tmp/extract \\
        --db sqlite:////tmp/bench.db

``write_synthetic_extract`` writes all five files (crimes.csv with the given
number of rows; risk, orders, breaches and victim care in realistic
proportions), streaming, with dates in both ISO and UK day-first form. All
references and people are synthetic.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.clock import Clock
from app.dates import LONDON
from app.db import SYNTHETIC, Database
from app.rms.formats import BREACHES, COLUMNS, CRIMES, ORDERS, RISK, VICTIM_CARE
from app.services.context import system_context
from app.services.rms_import import import_extract
from seed.reference import install_reference, organisation
from seed.users import install_users

# The benchmark's "now": every generated date is before it.
BENCH_NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SPAN_DAYS = 3 * 365

_PRINCIPALS = (("8L", 40), ("8Q", 15), ("8R", 22), ("8U", 6), ("58A", 4), ("58C", 3),
               ("58D", 3), ("BRO", 4), ("BNMO", 2), ("BSPO", 1))
_INCLUDED = ("8Q", "8R", "8L", "58A", "58C", "8U")
_RELATIONSHIPS = ("ex_partner", "ex_partner", "partner", "family", "acquaintance", "stranger",
                  "unknown")
_SUMMARIES = (
    "Repeated messages after being told to stop",
    "Suspect waited outside the victim's home on several evenings",
    "Unwanted gifts left at the workplace",
    "Fake profile used to contact the victim's friends",
    "Damage to the victim's car overnight",
    "Calls to the victim's phone, dozens a day",
    "Turned up at the victim's gym and followed her to the car park",
    "",
)
_ORDER_KINDS = ("RO", "RO", "NMO", "SPO", "ISPO", "DVPO")
_ORDER_STATUSES = ("granted", "granted", "granted", "interim_granted", "applied", "expired")
_SERVICES = ("ISAC", "ISHA", "PALADIN", "HELPLINE", "LOCAL")
_OUTCOMES = ("pending", "accepted", "accepted", "declined", "no_contact")


def _when(moment: datetime, rng: random.Random) -> str:
    """Half ISO 8601 (UTC), half UK day-first local time, as an RMS writes."""
    if rng.random() < 0.5:
        return moment.isoformat()
    local = moment.astimezone(LONDON)
    return local.strftime("%d/%m/%Y %H:%M")


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    codes = [code for code, _ in weighted]
    weights = [weight for _, weight in weighted]
    return rng.choices(codes, weights)[0]


def write_synthetic_extract(folder: Path | str, crimes: int, seed: int) -> dict[str, int]:
    """Write a synthetic extract of ``crimes`` crimes into ``folder``; returns
    the rows written per file."""
    rng = random.Random(seed)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    org = organisation()
    victims = max(1, int(crimes * 0.6))
    suspects = max(1, int(crimes * 0.5))
    counts = dict.fromkeys((CRIMES, RISK, ORDERS, BREACHES, VICTIM_CARE), 0)
    orders: list[tuple[str, datetime]] = []
    handles = {name: (out / name).open("w", encoding="utf-8", newline="") for name in counts}
    try:
        writers = {name: csv.writer(handle, lineterminator="\n") for name, handle in handles.items()}
        for name, writer in writers.items():
            writer.writerow(COLUMNS[name])
        for n in range(1, crimes + 1):
            crime_ref = f"SYN-CR-{n:08d}"
            reported = BENCH_NOW - timedelta(minutes=rng.randrange(60, SPAN_DAYS * 24 * 60))
            reported = reported.replace(second=0)
            principal = _pick(rng, _PRINCIPALS)
            included = ""
            if rng.random() < 0.2:
                codes = {c for c in rng.sample(_INCLUDED, rng.randint(1, 2)) if c != principal}
                included = ";".join(sorted(codes))
            team = rng.choice(org.teams) if rng.random() < 0.9 else ""
            writers[CRIMES].writerow([
                crime_ref, _when(reported, rng), rng.choice(org.area_commands), principal,
                included, f"SYN-V{rng.randrange(victims):07d}",
                f"SYN-S{rng.randrange(suspects):07d}" if rng.random() < 0.9 else "",
                rng.choice(_RELATIONSHIPS), "Y" if rng.random() < 0.45 else "N",
                "Y" if rng.random() < 0.3 else "N", team,
                f"PC {rng.randrange(1, 4000)}" if team and rng.random() < 0.7 else "",
                "closed" if rng.random() < 0.6 else "open", "Y" if rng.random() < 0.01 else "N",
                rng.choice(_SUMMARIES),
            ])
            counts[CRIMES] += 1
            if rng.random() < 0.3:
                for k in range(rng.choice((1, 1, 2))):
                    assessed = reported + timedelta(hours=rng.randrange(1, 48) + 24 * 10 * k)
                    if assessed >= BENCH_NOW:
                        break
                    answers = "".join("Y" if rng.random() < 0.3 else "N" for _ in range(11))
                    writers[RISK].writerow([
                        crime_ref, _when(assessed, rng), "S-DASH", answers,
                        rng.choice(("standard", "medium", "medium", "high")), "",
                        f"officer.{rng.choice(org.area_commands).lower()}",
                    ])
                    counts[RISK] += 1
            if rng.random() < 0.02:
                order_ref = f"SYN-OR-{len(orders) + 1:07d}"
                granted = reported + timedelta(days=rng.randrange(1, 60))
                status = rng.choice(_ORDER_STATUSES)
                if granted >= BENCH_NOW:
                    granted = reported + (BENCH_NOW - reported) / 2
                expires = granted + timedelta(days=rng.choice((28, 365, 730)))
                writers[ORDERS].writerow([
                    order_ref, crime_ref, rng.choice(_ORDER_KINDS), status,
                    _when(reported + timedelta(hours=1), rng),
                    _when(granted, rng) if status != "applied" else "",
                    _when(granted, rng) if status != "applied" else "",
                    _when(expires, rng) if status != "applied" else "",
                ])
                counts[ORDERS] += 1
                orders.append((order_ref, granted))
            if orders and rng.random() < 0.01:
                order_ref, granted = orders[rng.randrange(len(orders))]
                if granted < reported:
                    writers[BREACHES].writerow([
                        f"SYN-BR-{counts[BREACHES] + 1:07d}", order_ref, crime_ref,
                        _when(reported - timedelta(hours=3), rng), _when(reported, rng),
                    ])
                    counts[BREACHES] += 1
            if rng.random() < 0.4:
                needs = reported + timedelta(hours=rng.randrange(1, 72))
                if needs >= BENCH_NOW:
                    continue
                base = [crime_ref, _when(needs, rng), "Y" if rng.random() < 0.8 else "N",
                        _when(needs, rng) if rng.random() < 0.7 else "",
                        "Y" if rng.random() < 0.8 else "N"]
                services = rng.sample(_SERVICES, rng.choice((0, 1, 1, 2)))
                if not services:
                    writers[VICTIM_CARE].writerow([*base, "", "", ""])
                    counts[VICTIM_CARE] += 1
                for service in services:
                    writers[VICTIM_CARE].writerow([
                        *base, service, _when(needs, rng), rng.choice(_OUTCOMES)])
                    counts[VICTIM_CARE] += 1
    finally:
        for handle in handles.values():
            handle.close()
    return counts


def _prepare(database: Database) -> None:
    database.upgrade(create_as=SYNTHETIC)
    with database.write() as session:
        install_reference(session)
        install_users(session)
    if database.database_kind() is None:
        database.mark_kind(SYNTHETIC)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_import(database_url: str, folder: Path | str) -> dict[str, Any]:
    """Import ``folder`` into the database at ``database_url`` (migrated and
    given the reference data and users first) and measure it."""
    database = Database(database_url)
    try:
        _prepare(database)
        ctx = system_context(database, clock=Clock.fixed(BENCH_NOW), username="analyst")
        started = time.perf_counter()
        result = import_extract(ctx, folder=folder)
        seconds = time.perf_counter() - started
    finally:
        database.dispose()
    crimes = result.count(CRIMES)
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "ok": result.ok,
        "error_count": result.error_count,
        "errors": list(result.errors[:10]),
        "rows": {c.file: c.read for c in result.counts} or dict(result.rows_checked),
        "new": {c.file: c.new for c in result.counts},
        "updated": {c.file: c.updated for c in result.counts},
        "crimes_per_second": round(crimes.read / seconds) if seconds and crimes.read else 0,
        "delta": result.delta.totals(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crimes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", required=True, help="folder for the extract")
    parser.add_argument("--db", required=True, help="database URL to import into")
    parser.add_argument("--skip-write", action="store_true", help="reuse an existing extract")
    args = parser.parse_args(argv)
    if not args.skip_write:
        started = time.perf_counter()
        written = write_synthetic_extract(args.folder, args.crimes, args.seed)
        print(f"wrote {written} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(json.dumps(time_import(args.db, args.folder), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
