"""`vigil seed --cases N [--seed S] [--reset --yes NAME] [--training] [--report]`:
fill a new database with a synthetic force; `vigil seed --report` alone
measures the force already seeded.

``--report`` prints the calibration table on standard output: each rate of
the force (SPO applications, PINs, breaches per order kind, acknowledgement
times, closures, referrals, risk mix ...) against its reference figure and
band, with the source (``seed/calibration.toml``). Only aggregate figures are
printed, never a case.

The data is deterministic for a given seed, case count and "now". Without
``--now`` (or ``VIGIL_NOW``) "now" is the real clock, so two runs differ in
their dates; pass ``--now 2026-03-02T08:00:00Z`` to make a run reproducible
byte for byte. The database is created SYNTHETIC (benchmarks, trying Vigil
out: named users and a fixed clock allowed, never live) or, with
``--training``, TRAINING. A live or unmarked database is never seeded, and
``--reset`` empties only a database created synthetic, training or evaluation
that never received an RMS extract, after confirmation.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from app.cli.base import CliEnv, add_confirm_option, confirm_reset, working
from app.clock import Clock
from app.db import SYNTHETIC, TRAINING, Database
from app.errors import BadInput
from app.policy import Policy, load_policy
from app.services.context import system_context
from models.enums import AuditAction
from seed.calibration import force_now, measure, report_lines
from seed.generator import existing_cases, generate, reset_database

HELP = "generate a synthetic force of N crimes (people, risk, orders, breaches, DMM history)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", type=int, metavar="N",
                        help="number of crimes to generate (at least 1)")
    parser.add_argument("--seed", type=int, default=1, metavar="S",
                        help="random seed (default 1); with --now the data is reproducible")
    parser.add_argument("--reset", action="store_true",
                        help="empty a synthetic or training database first (Vigil's own tables "
                        "only; asks for the database's name, or give --yes NAME)")
    add_confirm_option(parser)
    parser.add_argument("--training", action="store_true",
                        help="create the database as training (default: synthetic)")
    parser.add_argument("--report", action="store_true",
                        help="print the calibration table (each rate in the seed against its "
                        "reference figure, band and source); alone, for the force already seeded")


def _check_seedable(database: Database, kind: str) -> None:
    """Seed only a new database, or one created as this kind."""
    if not database.is_migrated():
        database.require_empty_or_vigil()
        return
    current = database.database_kind()
    if current != kind:
        raise BadInput(f"{database.safe_url} is {'a ' + current.upper() if current else 'an unmarked'} "
                       f"database: `vigil seed` writes synthetic data only into a new database "
                       f"or one created {kind}")


def run(args: argparse.Namespace, env: CliEnv) -> int:
    if args.cases is None:
        if not args.report:
            raise BadInput("--cases: give the number of crimes to generate "
                           "(or --report to measure the force already seeded)")
        return _report_only(args, env)
    if args.cases < 1:
        raise BadInput(f"--cases: expected a whole number of at least 1, got {args.cases}")
    if args.seed < 0:
        raise BadInput(f"--seed: expected a whole number of 0 or more, got {args.seed}")
    settings = env.settings(training=args.training)
    policy = load_policy(settings.policy_path)
    database = env.database(settings)
    database.check_reachable()
    kind = TRAINING if args.training else SYNTHETIC
    if args.reset:
        database.require_empty_or_vigil()
        if database.is_migrated():
            database.require_resettable()
    _check_seedable(database, kind)
    if args.reset and database.is_migrated():
        confirm_reset(database, args.yes, "vigil seed --reset")
        reset_database(database)
    else:
        database.upgrade(create_as=kind)
        held = existing_cases(database)
        if held:
            raise BadInput(f"{database.safe_url} already holds {held:,} cases: "
                           f"add --reset --yes {database.name} to replace them with generated data")
    now = settings.now or datetime.now(UTC)
    with working(f"generating {args.cases:,} synthetic cases", total=args.cases) as progress:
        report = generate(database, cases=args.cases, seed=args.seed, now=now,
                          training=args.training, progress=lambda done: progress(done),
                          policy=policy)
    context = system_context(database, clock=Clock.fixed(now), policy=policy,
                             training=args.training)
    with context.write() as session:
        context.audit(session, AuditAction.CREATE, "seed", None,
                      reason=f"synthetic data generated: {report.cases} cases, seed {args.seed}",
                      after={"cases": report.cases, "seed": args.seed, "now": now,
                             "training": args.training})
    print(f"seeded {report.cases:,} synthetic cases into {database.safe_url} ({kind}) "
          f"with seed {args.seed} at now={now.astimezone(UTC).isoformat()} "
          f"in {report.elapsed_seconds:.1f} s", file=sys.stderr)
    for line in report.lines():
        print(line, file=sys.stderr)
    if args.report:
        _print_calibration(database, now, policy)
    return 0


def _report_only(args: argparse.Namespace, env: CliEnv) -> int:
    if args.reset:
        raise BadInput("--reset: give --cases N to seed again")
    settings = env.settings(training=args.training)
    policy = load_policy(settings.policy_path)
    database = env.database(settings)
    database.check_reachable()
    if not database.is_migrated():
        raise BadInput(f"{database.safe_url} holds no Vigil database: seed it first "
                       "(vigil seed --cases N --report)")
    kind = database.database_kind()
    if kind not in (SYNTHETIC, TRAINING):
        raise BadInput(f"{database.safe_url} is {'a ' + kind.upper() if kind else 'an unmarked'} "
                       "database: the calibration report reads a synthetic or training force")
    _print_calibration(database, force_now(database), policy)
    return 0


def _print_calibration(database: Database, now: datetime, policy: Policy) -> None:
    rows = measure(database, now=now, policy=policy)
    print(f"calibration of the synthetic force in {database.safe_url} "
          f"as at {now.astimezone(UTC).isoformat()}:")
    for line in report_lines(rows):
        print(line)
    outside = [row.band.label for row in rows if not row.within]
    print(f"\n{len(rows) - len(outside)} of {len(rows)} rates within their band"
          + (f"; outside: {'; '.join(outside)}" if outside else ""))


