"""`vigil`: the command-line entry point. No subcommand opens the TUI.

Subcommands run headless and import Textual only when they open a screen, so
they start fast. Global options (--db, --user, --now, --policy) are accepted
before or after the subcommand. Exit codes: 0 success, 1 failure, 2 bad
usage or bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from app import __version__
from app.cli import (
    approvals,
    assurance,
    audit,
    bench,
    breaches,
    db,
    demo,
    dmm,
    export,
    keys,
    orders,
    plan,
    policy,
    restrict,
    retention,
    rms_import,
    sample,
    screen,
    search,
    seed,
    serve,
    users,
    victims_code,
    worklist,
)
from app.cli.base import CliEnv, add_global_options
from app.errors import VigilError
from app.output import output_scope

# subcommand -> module holding HELP, add_arguments(parser) and run(args, env)
COMMANDS: dict[str, ModuleType] = {
    "demo": demo,
    "db": db,
    "seed": seed,
    "users": users,
    "policy": policy,
    "audit": audit,
    "restrict": restrict,
    "import": rms_import,
    "export": export,
    "dmm": dmm,
    "worklist": worklist,
    "breaches": breaches,
    "orders": orders,
    "screen": screen,
    "search": search,
    "assurance": assurance,
    "approvals": approvals,
    "victims-code": victims_code,
    "retention": retention,
    "sample": sample,
    "plan": plan,
    "serve": serve,
    "keys": keys,
    "bench": bench,
}


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Vigil: oversight of stalking and harassment cases. "
        "With no subcommand, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"vigil {__version__}")
    add_global_options(parser, suppress=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        add_global_options(sub, suppress=True)
    return parser, COMMANDS


def main(argv: Sequence[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    env = CliEnv.from_args(args)
    with output_scope(limit=getattr(args, "output_limit", None)):
        return _run(args, env, modules)


def _run(args: argparse.Namespace, env: CliEnv, modules: dict[str, ModuleType]) -> int:
    try:
        if args.command is None:
            from app.cli.open_tui import open_tui

            return open_tui(env)
        return int(modules[args.command].run(args, env) or 0)
    except VigilError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # the reader (head, a pager) closed standard output
        from app.cli.disclose import quiet_broken_stdout

        quiet_broken_stdout()
        return 0
    except KeyboardInterrupt:
        print("vigil: interrupted", file=sys.stderr)
        return 1
    finally:
        env.close()


if __name__ == "__main__":
    sys.exit(main())
