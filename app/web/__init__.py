"""Serving the terminal app in a browser (textual-serve), offline."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"


def app_command(argv: list[str]) -> str:
    """The command textual-serve runs for each browser session."""
    return shlex.join([sys.executable, "-m", "tui", *argv])


def serve(argv: list[str], *, host: str, port: int, title: str) -> None:
    """Serve ``vigil ARGV`` at http://host:port/ with the bundled font.

    textual-serve has no authentication: the default host is 127.0.0.1;
    expose it only behind a proxy that authenticates users.
    """
    from textual_serve.server import Server

    server = Server(app_command(argv), host=host, port=port, title=title,
                    templates_path=TEMPLATES)
    server.serve()
