"""`vigil`: the command-line entry point. No subcommand opens the TUI.

Subcommands run headless and import Textual only when they open a screen, so
they start fast. Global options (--db, --user, --now, --policy) are accepted
before or after the subcommand. Exit codes: 0 success, 1 failure, 2 bad
usage or bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from app import __version__
from app.cli.base import CliEnv, add_global_options
from app.errors import VigilError
from app.output import output_scope

# subcommand -> module of app.cli holding HELP, add_arguments(parser) and
# run(args, env); imported when the parser is built, so opening the app
# imports none of them
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "db": "db",
    "seed": "seed",
    "users": "users",
    "policy": "policy",
    "audit": "audit",
    "restrict": "restrict",
    "import": "rms_import",
    "export": "export",
    "dmm": "dmm",
    "worklist": "worklist",
    "breaches": "breaches",
    "orders": "orders",
    "screen": "screen",
    "search": "search",
    "assurance": "assurance",
    "approvals": "approvals",
    "victims-code": "victims_code",
    "retention": "retention",
    "sample": "sample",
    "plan": "plan",
    "serve": "serve",
    "keys": "keys",
    "bench": "bench",
}


def command_module(name: str) -> ModuleType:
    return importlib.import_module(f"app.cli.{COMMANDS[name]}")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Vigil: oversight of stalking and harassment cases. "
        "With no subcommand, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"vigil {__version__}")
    add_global_options(parser, suppress=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {name: command_module(name) for name in COMMANDS}
    for name, module in modules.items():
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        add_global_options(sub, suppress=True)
    return parser, modules


def opening_the_app(argv: Sequence[str]) -> argparse.Namespace | None:
    """The options of a command line that only opens the app (global options,
    no subcommand, no help or version asked for), read without importing
    every subcommand; None for any other command line, which the whole
    parser reads (and reports on)."""
    if any(arg in ("-h", "--help", "--version") for arg in argv):
        return None
    parser = argparse.ArgumentParser(prog="vigil", add_help=False, exit_on_error=False)
    add_global_options(parser, suppress=False)
    try:
        args, rest = parser.parse_known_args(list(argv))
    except argparse.ArgumentError:
        return None
    if rest:
        return None
    args.command = None
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(argv) if argv is not None else sys.argv[1:]
    args = opening_the_app(argv)
    modules: dict[str, ModuleType] = {}
    if args is None:
        parser, modules = build_parser()
        args = parser.parse_args(argv)
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
