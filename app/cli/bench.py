"""`vigil bench [--cases N] [--format table|json]`: scale benchmarks.

`vigil bench --load --db ADMIN_URL [--sessions 30] [--seconds 60] [--closed-loop | --together]`:
the morning load test on a PostgreSQL server (see benchmarks/load.py)."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli.base import CliEnv, add_output_option
from app.errors import BadInput

HELP = "benchmark the key operations at scale (medians, each against a baseline)"


def _steps(text: str) -> list[int]:
    try:
        steps = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give session counts like 2,8,30") from None
    if not steps or any(n < 1 for n in steps):
        raise argparse.ArgumentTypeError(f"{text!r}: each session count must be at least 1")
    return steps


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", type=int, default=100_000,
                        help="size of the synthetic force (default 100,000; reused once seeded)")
    parser.add_argument("--repeats", type=int, default=7, help="runs per figure (default 7)")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument("--only", choices=["screening", "assurance"],
                        help="measure only these rows (screening: full run warm and in a fresh "
                             "process, incremental runs; assurance: the 12-month report "
                             "against its hand-written baseline)")
    load = parser.add_argument_group("morning load (PostgreSQL; --db is the server's "
                                     "administrator URL)")
    load.add_argument("--load", action="store_true",
                      help="N concurrent people on PostgreSQL for a fixed time")
    load.add_argument("--sessions", type=int, default=30, help="people at once (default 30)")
    load.add_argument("--seconds", type=float, default=60, help="length of the window (default 60)")
    load.add_argument("--closed-loop", action="store_true",
                      help="no think time, at each count of --steps (the saturation point)")
    load.add_argument("--together", action="store_true",
                      help="think time, but every person's first action at the same instant "
                           "(the worst opening; by default people arrive over their first "
                           "think span)")
    load.add_argument("--steps", type=_steps, metavar="N,N,...",
                      help="closed loop: session counts to run (default: --sessions only)")
    add_output_option(parser)


def run(args: argparse.Namespace, env: CliEnv) -> int:
    if args.cases < 1000:
        raise BadInput(f"--cases {args.cases}: use at least 1,000 cases")
    if args.repeats < 1:
        raise BadInput(f"--repeats {args.repeats}: must be at least 1")

    def progress(text: str) -> None:
        print(f"vigil bench: {text}", file=sys.stderr)

    if args.load:
        return _run_load(args, env, progress)
    from benchmarks.harness import (
        render_table,
        run_assurance_bench,
        run_bench,
        run_screening_bench,
    )

    if args.only == "assurance":
        result = run_assurance_bench(args.cases, url=env.option("db"), repeats=args.repeats,
                                     progress=progress)
    elif args.only == "screening":
        result = run_screening_bench(args.cases, url=env.option("db"), repeats=args.repeats,
                                     progress=progress)
    else:
        result = run_bench(args.cases, url=env.option("db"), repeats=args.repeats,
                           progress=progress)
    text = json.dumps(result, indent=2) + "\n" if args.format == "json" else render_table(result)
    env.emit(text, args.output)
    return 0


def _run_load(args: argparse.Namespace, env: CliEnv, progress) -> int:  # type: ignore[no-untyped-def]
    from benchmarks.load import render_table, run_load

    if args.together and args.closed_loop:
        raise BadInput("--together: the closed loop always starts everyone at once; "
                       "give one of --together and --closed-loop")
    url = env.option("db")
    if not url or not str(url).startswith("postgresql"):
        raise BadInput("--load: give the PostgreSQL server's administrator URL with --db "
                       "(e.g. postgresql+psycopg://postgres@127.0.0.1/postgres)")
    if args.sessions < 1:
        raise BadInput(f"--sessions {args.sessions}: must be at least 1")
    if args.seconds <= 0:
        raise BadInput(f"--seconds {args.seconds:g}: must be more than 0")
    result = run_load(str(url), cases=args.cases, sessions=args.sessions, seconds=args.seconds,
                      closed=args.closed_loop, steps=args.steps, together=args.together,
                      progress=progress)
    text = json.dumps(result, indent=2) + "\n" if args.format == "json" else render_table(result)
    env.emit(text, args.output)
    return 1 if any(window["errors"] for window in result["windows"]) else 0
