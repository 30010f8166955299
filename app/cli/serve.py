"""`vigil serve`: the terminal app in a browser, through textual-serve."""

from __future__ import annotations

import argparse

from app.cli.base import CliEnv
from app.errors import BadInput

HELP = "serve the app in a web browser (127.0.0.1 by default; no authentication of its own)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; textual-serve has no "
                        "authentication: expose it only behind an authenticating proxy)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")


def global_argv(env: CliEnv) -> list[str]:
    """The global options of this invocation, to pass to each browser session."""
    argv: list[str] = []
    for name in ("db", "user", "now", "policy"):
        value = env.option(name)
        if value:
            argv += [f"--{name}", value]
    return argv


def run(args: argparse.Namespace, env: CliEnv) -> int:
    if not 0 < args.port < 65536:
        raise BadInput(f"--port {args.port}: not a port number")
    # Open the database once here so a wrong URL, user or policy fails now, not in the browser.
    env.context(training=False)
    from app.web import serve

    serve(global_argv(env), host=args.host, port=args.port, title="Vigil")
    return 0
