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

from app import __version__
from app.cli.base import CliEnv, add_global_options
from app.errors import VigilError
from app.output import output_scope

# subcommand -> module holding HELP, add_arguments(parser) and run(args, env)
COMMANDS: dict[str, str] = {
    "demo": "app.cli.demo",
    "db": "app.cli.db",
    "seed": "app.cli.seed",
    "users": "app.cli.users",
    "policy": "app.cli.policy",
    "audit": "app.cli.audit",
    "restrict": "app.cli.restrict",
    "import": "app.cli.rms_import",
    "export": "app.cli.export",
    "dmm": "app.cli.dmm",
    "worklist": "app.cli.worklist",
    "breaches": "app.cli.breaches",
    "orders": "app.cli.orders",
    "screen": "app.cli.screen",
    "search": "app.cli.search",
    "assurance": "app.cli.assurance",
    "approvals": "app.cli.approvals",
    "victims-code": "app.cli.victims_code",
    "retention": "app.cli.retention",
    "sample": "app.cli.sample",
    "plan": "app.cli.plan",
    "serve": "app.cli.serve",
    "keys": "app.cli.keys",
    "bench": "app.cli.bench",
}

def _available_commands() -> dict[str, object]:
    modules: dict[str, object] = {}
    for name, module_name in COMMANDS.items():
        if importlib.util.find_spec(module_name) is None:
            continue
        modules[name] = importlib.import_module(module_name)
    return modules


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Vigil: oversight of stalking and harassment cases. "
        "With no subcommand, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"vigil {__version__}")
    add_global_options(parser, suppress=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = _available_commands()
    for name, module in modules.items():
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)  # type: ignore[attr-defined]
        module.add_arguments(sub)  # type: ignore[attr-defined]
        add_global_options(sub, suppress=True)
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    env = CliEnv.from_args(args)
    with output_scope(limit=getattr(args, "output_limit", None)):
        return _run(args, env, modules)


def _run(args: argparse.Namespace, env: CliEnv, modules: dict[str, object]) -> int:
    try:
        if args.command is None:
            from app.cli.open_tui import open_tui

            return open_tui(env)
        return int(modules[args.command].run(args, env) or 0)  # type: ignore[attr-defined]
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
