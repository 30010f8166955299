"""Open the terminal app (Textual is imported only here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.cli.base import CliEnv
from app.services.context import ServiceContext
from app.services.dmm.first_page import start_first_page
from models.enums import Role

if TYPE_CHECKING:
    from app.app import VigilApp

# Where each role lands: a supervisor on their own area's DMM, an analyst on
# screening; everyone else on the case list.
LANDING = {Role.SUPERVISOR: "dmm", Role.ANALYST: "screening"}


def landing_section(context: ServiceContext) -> str:
    return LANDING.get(Role(context.actor.role), "cases") \
        if context.actor.role in set(Role) else "cases"


def build_app(context: ServiceContext, *, start: str | None = None,
              area: str | None = None, first_page_in_child: bool = False) -> VigilApp:
    """The app, opening on ``start`` (default: the role's landing section),
    on ``area``'s screen when given (a training scenario's first moment).
    Opening on the user's own DMM starts computing its first page first, so
    that runs while the interface is imported and started: in a child
    process with ``first_page_in_child`` where that is safe (``vigil``
    itself), else in a thread."""
    section = start or landing_section(context)
    own = area is None or area == context.actor.area_command
    first_page = start_first_page(context, in_child=first_page_in_child) \
        if section == "dmm" and own else None
    from app.app import VigilApp

    return VigilApp(context, start=section, first_page=first_page, area=area)


def run_app(context: ServiceContext, *, start: str | None = None,
            area: str | None = None) -> int:
    build_app(context, start=start, area=area, first_page_in_child=True).run()
    return 0


def open_tui(env: CliEnv) -> int:
    return run_app(env.context(training=False))
