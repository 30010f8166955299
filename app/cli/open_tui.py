"""Open the terminal app (Textual is imported only here)."""

from __future__ import annotations

from app.cli.base import CliEnv
from app.services.context import ServiceContext


def run_app(context: ServiceContext, *, start: str = "cases") -> int:
    from app.app import VigilApp

    VigilApp(context, start=start).run()
    return 0


def open_tui(env: CliEnv) -> int:
    return run_app(env.context(training=False))
