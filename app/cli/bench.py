"""`vigil bench [--cases N] [--format table|json]`: scale benchmarks."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli.base import CliEnv, add_output_option
from app.errors import BadInput

HELP = "benchmark the key operations at scale (medians, each against a baseline)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", type=int, default=100_000,
                        help="size of the synthetic force (default 100,000; reused once seeded)")
    parser.add_argument("--repeats", type=int, default=7, help="runs per figure (default 7)")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument("--only", choices=["screening"],
                        help="measure only these rows (screening: full run warm and in a fresh "
                             "process, incremental runs)")
    add_output_option(parser)


def run(args: argparse.Namespace, env: CliEnv) -> int:
    if args.cases < 1000:
        raise BadInput(f"--cases {args.cases}: use at least 1,000 cases")
    if args.repeats < 1:
        raise BadInput(f"--repeats {args.repeats}: must be at least 1")
    from benchmarks.harness import render_table, run_bench, run_screening_bench

    def progress(text: str) -> None:
        print(f"vigil bench: {text}", file=sys.stderr)

    if args.only == "screening":
        result = run_screening_bench(args.cases, url=env.option("db"), repeats=args.repeats,
                                     progress=progress)
    else:
        result = run_bench(args.cases, url=env.option("db"), repeats=args.repeats,
                           progress=progress)
    text = json.dumps(result, indent=2) + "\n" if args.format == "json" else render_table(result)
    env.emit(text, args.output)
    return 0
