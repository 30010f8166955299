"""The Textual application: the composition root.

It is built from a :class:`ServiceContext` (database, clock, policy, user), so
tests hand it a temporary database and a fixed "now". Each top-level section
is a mode with its own screen stack; screens are imported lazily so the CLI
and a cold start stay fast.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from app.errors import BadInput
from app.failures import Failure, FailureKind, describe_failure
from app.keymap import load_keymap
from app.services.context import ServiceContext
from app.services.dmm.first_page import FirstPage
from screens.base import ServiceCaller, ServiceFailed

log = logging.getLogger("vigil")

SECTIONS: dict[str, str] = {
    # mode: title
    "cases": "Cases",
    "dmm": "DMM queue",
    "breaches": "Breaches",
    "search": "Search",
    "screening": "Screening",
    "assurance": "Assurance",
    "approvals": "Approvals waiting",
    "worklist": "Work queue",
    "sampling": "Dip sampling",
    "plan": "Action plan",
}


def section_screen(mode: str) -> Screen[Any]:
    """The screen of a section, imported when the section is first opened (a
    cold start imports only the first)."""
    match mode:
        case "cases":
            from screens.home import CaseListScreen as section
        case "dmm":
            from screens.dmm import DmmScreen as section
        case "breaches":
            from screens.breaches import BreachBoardScreen as section
        case "search":
            from screens.search import SearchScreen as section
        case "screening":
            from screens.screening import ScreeningScreen as section
        case "assurance":
            from screens.assurance import AssuranceScreen as section
        case "approvals":
            from screens.approvals import ApprovalsScreen as section
        case "worklist":
            from screens.worklist import WorklistScreen as section
        case "sampling":
            from screens.sampling import SamplingScreen as section
        case "plan":
            from screens.action_plan import ActionPlanScreen as section
        case _:
            raise KeyError(mode)
    return section()


class VigilApp(ServiceCaller, App[None]):
    """Vigil: stalking and harassment case oversight."""

    TITLE = "Vigil"
    CSS_PATH = "vigil.tcss"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_section('cases')", "Cases", id="app.cases"),
        Binding("2", "switch_section('dmm')", "DMM", id="app.dmm"),
        Binding("3", "switch_section('breaches')", "Breaches", id="app.breaches"),
        Binding("4", "switch_section('search')", "Search", show=False, id="app.search"),
        Binding("5", "switch_section('screening')", "Screening", show=False, id="app.screening"),
        Binding("6", "switch_section('assurance')", "Assurance", show=False, id="app.assurance"),
        Binding("7", "switch_section('approvals')", "Approvals", show=False, id="app.approvals"),
        Binding("8", "switch_section('worklist')", "Work queue", show=False, id="app.worklist"),
        Binding("9", "switch_section('sampling')", "Dip sampling", show=False, id="app.sampling"),
        Binding("0", "switch_section('plan')", "Action plan", show=False, id="app.plan"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "back_or_quit", "Back/quit", show=False, id="app.back_or_quit",
                tooltip="Close the case or dialog in front; on a section, quit Vigil"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, context: ServiceContext, *, start: str = "cases",
                 crime_ref: str | None = None, first_page: FirstPage | None = None,
                 area: str | None = None) -> None:
        self.context = context
        # the area command the first screen opens on (a scenario's), else the user's own
        self.start_area = area
        # the DMM's first page, computed since before the app was built (or None)
        self.first_page = first_page
        self.start_section = start
        self.start_crime_ref = crime_ref
        self.MODES = {mode: partial(section_screen, mode) for mode in SECTIONS}
        super().__init__()
        self.sub_title = context.describe()
        self.keymap_problem: str | None = None
        try:
            self.set_keymap(load_keymap().keys)
        except BadInput as exc:  # the shipped keys stay; the problem is shown on start
            self.keymap_problem = str(exc)

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        start = self.start_section if self.start_section in self.MODES else "cases"
        self.switch_mode(start)
        if self.start_crime_ref:
            self.open_case(self.start_crime_ref)
        if self.keymap_problem:
            self.notify(f"Keys not remapped: {self.keymap_problem}", severity="error",
                        timeout=12, markup=False)

    # --- navigation -----------------------------------------------------
    def action_switch_section(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def open_case(self, crime_ref: str) -> None:
        """Open the case record (asks for a reason first when outside the user's area)."""
        from screens.case import open_case_record

        open_case_record(self, crime_ref)

    # --- failures: one handler, the same presentation everywhere ---------------
    def on_service_failed(self, message: ServiceFailed) -> None:
        """Every failed service call ends here (screens' messages bubble up):
        the caller's ``on_failure`` first, then the one presentation."""
        message.stop()
        if message.settle():
            return
        self.show_failure(message.failure, message.error, origin=message.origin)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that crashed outside ``call_service`` is shown the same way."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            self.show_failure(describe_failure(error), error)

    def show_failure(self, failure: Failure, error: BaseException | None = None, *,
                     origin: ServiceCaller | None = None) -> None:
        """Show ``failure`` by its kind (app.failures): a conflict as a dialog
        offering a reload (to ``origin``), the rest as a notification; an
        unexpected error's details go to the log only."""
        if failure.kind is FailureKind.UNEXPECTED:
            log.error("unexpected error in a service call", exc_info=error)
            self.log.error(repr(error))
        if failure.kind is FailureKind.CONFLICT:
            from screens.dialogs import ConflictDialog

            def reload(yes: bool | None) -> None:
                if yes and origin is not None:
                    origin.reload_after_conflict(failure.crime_ref)

            self.push_screen(ConflictDialog(failure.title, failure.message), reload)
            return
        self.notify(failure.message, title=failure.title, severity=failure.severity,  # type: ignore[arg-type]
                    timeout=10, markup=False)

    # --- downloads in the browser: a failure is shown as one -------------------
    def on_delivery_failed(self, event: events.DeliveryFailed) -> None:
        self.notify(f"Download of {event.name or 'the file'} failed: {event.exception}",
                    severity="error", timeout=12, markup=False)

    def on_delivery_complete(self, event: events.DeliveryComplete) -> None:
        where = f" to {event.path}" if event.path else ""
        self.notify(f"Downloaded {event.name or 'the file'}{where}", markup=False)

    def action_back_or_quit(self) -> None:
        """``q``: back from a case record (or close the dialog); on a section, quit."""
        from textual.screen import ModalScreen

        if isinstance(self.screen, ModalScreen):
            self.screen.dismiss(None)
        elif len(self.screen_stack) > 1:
            self.pop_screen()
        else:
            self.exit()

    def action_help(self) -> None:
        from screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    @property
    def live_refresh_paused(self) -> bool:
        """True while a dialog is open (a modal anywhere on the current
        stack): the DMM's and the breach board's live refresh waits, so rows
        never move under a decision being typed."""
        from textual.screen import ModalScreen

        return any(isinstance(screen, ModalScreen) for screen in self.screen_stack)

    # --- command palette: every action on the current screen -------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, title in SECTIONS.items():
            yield SystemCommand(f"Go to {title}", f"Open the {title} section",
                                lambda m=mode: self.action_switch_section(m))
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.action in seen or active.node is self:
                continue
            seen.add(binding.action)
            yield SystemCommand(
                f"{binding.description} ({key})",
                binding.tooltip or f"Run '{binding.description}' on this screen",
                lambda node=active.node, action=binding.action: self.run_action(action, node),
            )
