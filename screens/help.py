"""`?`: the keys of the screen behind, grouped by task and generated from its
bindings. Actions the user's role cannot take are left out (as they are from
the footer and the palette)."""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

# tasks in the order help shows them
FIND = "Find and move"
OPEN = "Open and go back"
RECORD = "Record"
SAVE = "Save and share"
GO = "Go to a section"
APP = "Vigil"
TASKS = (FIND, OPEN, RECORD, SAVE, GO, APP)

_FIND_WORDS = ("filter", "page", "previous", "next", "refresh", "reason", "period", "area",
               "team", "search", "criteria", "results", "clear", "first", "last", "pause",
               "toggle_part", "feedback", "definition", "purpose")
_OPEN_WORDS = ("open", "back", "drill", "cancel", "close", "work_queue", "reload")
_SAVE_WORDS = ("save", "export", "minutes")


def task_of(screen: Screen[Any], binding: Binding, *, app_level: bool) -> str:
    """Which task a binding serves (help's grouping)."""
    action = binding.action.split("(")[0].removeprefix("app.").removeprefix("screen.")
    if action == "switch_section":
        return GO
    if any(word in action for word in _SAVE_WORDS):
        return SAVE
    if action in getattr(screen, "ROLE_ACTIONS", {}):
        return RECORD
    if app_level:
        return APP
    if any(word in action for word in _OPEN_WORDS):
        return OPEN
    if any(word in action for word in _FIND_WORDS):
        return FIND
    return RECORD


class BindingRow(NamedTuple):
    key: str
    description: str
    task: str


def binding_rows(screen: Screen[Any]) -> list[BindingRow]:
    """(key, description, task) for every described binding of ``screen``
    (including ones a focused widget shadows) and of the app, that the
    user's role may use, ordered by task."""
    rows: list[BindingRow] = []
    seen: set[tuple[str, str]] = set()
    refused = getattr(screen, "refused", lambda _action: None)

    def add(binding: Binding, app_level: bool) -> None:
        if not binding.description:
            return
        if not app_level and refused(binding.action.split("(")[0]):
            return
        display = screen.app.get_key_display(binding)
        if (display, binding.description) in seen:
            return
        seen.add((display, binding.description))
        rows.append(BindingRow(display, binding.description,
                               task_of(screen, binding, app_level=app_level)))

    for namespace, bindings in screen._binding_chain:  # with the user's remapped keys
        if namespace is screen:
            for key_bindings in bindings.key_to_bindings.values():
                for binding in key_bindings:
                    add(binding, False)
    for active in screen.active_bindings.values():
        add(active.binding, active.node is screen.app)
    rows.sort(key=lambda row: (TASKS.index(row.task), row.key))
    return rows


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 80%; border: thick $accent; background: $surface;
        padding: 1 2;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, behind: Screen[Any]) -> None:
        super().__init__()
        self.behind = behind

    def compose(self) -> ComposeResult:
        purpose = getattr(self.behind, "PURPOSE", "")
        table = Table(title=f"Keys: {self.behind.title or type(self.behind).__name__}",
                      expand=True, show_header=False)
        table.add_column("Key", width=14, no_wrap=True)
        table.add_column("Does")
        task = None
        for key, description, row_task in binding_rows(self.behind):
            if row_task != task:
                task = row_task
                table.add_row(Text(task, style="bold underline"), Text(""))
            table.add_row(Text(key), Text(description))
        with VerticalScroll():
            if purpose:
                yield Static(purpose, markup=False, classes="help-purpose")
            yield Static(table)
            yield Static("Every action is also in the command palette (ctrl+p). Keys can be "
                         "remapped in keys.toml (vigil keys lists them). esc closes this help.",
                         markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
