"""What every Vigil screen shares: the banner, the purpose panel, help, and
running service calls in thread workers so the UI never waits on the database.

Every database call from a screen (or a dialog, or the App) goes through
:meth:`ServiceCaller.call_service`: a thread worker that posts a typed
:class:`ServiceDone` or :class:`ServiceFailed` message back. A failure is
shown by the App's one handler (``VigilApp.on_service_failed``), by kind
(:mod:`app.failures`); a caller's ``on_failure`` sees it first, to tidy up or
to handle one case itself (asking for a reason when ``ReasonRequired`` is
raised) by returning True."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input
from textual.worker import Worker

from app.errors import PermissionDenied
from app.failures import Failure, describe_failure
from app.services.permissions import Permission, refusal
from app.widgets.banner import TrainingBanner
from app.widgets.columns import Col, FittedColumns
from app.widgets.purpose import PurposePanel
from screens.dialogs import ConfirmDialog

if TYPE_CHECKING:
    from app.app import VigilApp
    from app.services.context import ServiceContext

T = TypeVar("T")


def cursor_row_key(table: DataTable) -> str | None:
    """The key of the row under ``table``'s cursor, or None (empty table, or
    the cursor outside the rows just after a clear)."""
    if table.row_count == 0:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:  # the cursor is outside the rows after a clear
        return None


# what a caller does with a failure before the App shows it: True means it
# handled the failure itself (nothing more is shown)
FailureHook = Callable[[Exception], bool | None]


class ServiceDone(Message):
    """A service call's result, back on the UI thread of the caller."""

    def __init__(self, result: Any, on_result: Callable[[Any], None] | None) -> None:
        super().__init__()
        self.result = result
        self.on_result = on_result


class ServiceFailed(Message):
    """A service call's failure: the error, how it is shown (by kind), and who
    called (a conflict's reload goes back to them). Bubbles to the App."""

    def __init__(self, error: Exception, origin: ServiceCaller,
                 on_failure: FailureHook | None) -> None:
        super().__init__()
        self.error = error
        self.failure: Failure = describe_failure(error)
        self.origin = origin
        self.on_failure = on_failure
        self.settled = False  # the caller's on_failure has run

    def settle(self) -> bool:
        """Run the caller's ``on_failure`` once; True when it handled it."""
        if self.settled:
            return False
        self.settled = True
        return bool(self.on_failure(self.error)) if self.on_failure is not None else False


class ServiceCaller:
    """The one kind of worker for database calls (mixed into screens, dialogs
    and the App)."""

    def confirm_then_call(self, question: str, fn: Callable[..., T], *,
                          on_result: Callable[[T], None], group: str, **kwargs: Any) -> None:
        """Ask ``question`` (yes or no); on yes, :meth:`call_service` ``fn``
        with ``kwargs``."""

        def decided(yes: bool | None) -> None:
            if yes:
                self.call_service(fn, on_result=on_result, group=group, **kwargs)

        self.app.push_screen(ConfirmDialog(question), decided)

    def call_service(
        self,
        fn: Callable[..., T],
        *args: Any,
        on_result: Callable[[T], None] | None = None,
        on_failure: FailureHook | None = None,
        group: str = "service",
        exclusive: bool = True,
        **kwargs: Any,
    ) -> Worker[None]:
        """Run ``fn(context, *args, **kwargs)`` in a thread worker; its result
        comes back as :class:`ServiceDone` (to ``on_result``), any failure as
        :class:`ServiceFailed` (``on_failure`` first, then the App shows it)."""
        node: Any = self
        context = node.app.context

        def job() -> None:
            try:
                result = fn(context, *args, **kwargs)
            except Exception as exc:  # every failure becomes a message, never a crash
                node.post_message(ServiceFailed(exc, self, on_failure))
                return
            node.post_message(ServiceDone(result, on_result))

        return node.run_worker(job, thread=True, exclusive=exclusive, group=group,  # type: ignore[no-any-return]
                               exit_on_error=False)

    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        if message.on_result is not None:
            message.on_result(message.result)

    def on_service_failed(self, message: ServiceFailed) -> None:
        if message.settle():
            message.stop()  # handled by the caller (e.g. a reason asked for)

    def reload_after_conflict(self, crime_ref: str | None) -> None:
        """The reload a conflict offers: read the case again (screens with a
        ``load`` reload what they show)."""
        load = getattr(self, "load", None)
        if callable(load):
            load()


class VigilScreen(ServiceCaller, Screen[None]):
    """Base screen. Subclasses set ``PURPOSE`` (one or two sentences)."""

    PURPOSE: ClassVar[str] = ""
    #: actions a role may lack: action name -> the permission it needs. A
    #: refused action is absent from the footer, the palette and help, and
    #: its key says why in words before any dialog opens.
    ROLE_ACTIONS: ClassVar[dict[str, Permission]] = {}
    #: the id of the `/` filter line, applied as the user types (``apply_filter``)
    FILTER_INPUT: ClassVar[str | None] = None
    FILTER_DELAY: ClassVar[float] = 0.3
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "toggle_purpose", "About", show=False, id="screen.purpose",
                tooltip="Show or hide what this screen is for"),
    ]

    # --- `/` filter as you type ------------------------------------------------
    def apply_filter(self, value: str, *, typing: bool = False) -> None:
        """Show the rows matching the filter line (screens with one override)."""

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.FILTER_INPUT is None or event.input.id != self.FILTER_INPUT:
            return
        timer = getattr(self, "_filter_timer", None)
        if timer is not None:
            timer.stop()
        value = event.value
        self._filter_timer = self.set_timer(
            self.FILTER_DELAY, lambda: self.apply_filter(value, typing=True))

    def filter_submitted(self, value: str) -> None:
        """Enter on the filter line: apply at once and go to the rows."""
        timer = getattr(self, "_filter_timer", None)
        if timer is not None:
            timer.stop()
        self.apply_filter(value)
        for table in self.query(DataTable):
            if table.display:
                table.focus()
                break

    # --- role-aware actions ---------------------------------------------------
    def action_area(self, action: str) -> str | None:
        """The area command an area-bound action applies to (None: the
        role's permission alone decides)."""
        return None

    def action_subject(self, action: str) -> tuple[str, str | None]:
        """(entity, id) a refused attempt is audited against: the selected
        row's case where there is one."""
        return "screen", type(self).__name__

    def audit_refusal(self, action: str) -> None:
        """Record the refused attempt in the audit log, as a service refusal is."""
        permission = self.ROLE_ACTIONS[action]
        area = self.action_area(action)
        entity, entity_id = self.action_subject(action)

        def attempt(context: ServiceContext) -> None:
            context.require(permission, area=area, entity=entity, entity_id=entity_id)

        def already_said(error: Exception) -> bool:
            return isinstance(error, PermissionDenied)  # the key said why already

        self.call_service(attempt, on_failure=already_said, group="refusal", exclusive=False)

    def refused(self, action: str) -> str | None:
        """Why the user may not run ``action`` here, in words (None: allowed)."""
        permission = self.ROLE_ACTIONS.get(action)
        if permission is None:
            return None
        area = self.action_area(action)
        context = self.context
        if context.allowed(permission, area=area):
            return None
        actor = context.actor
        if actor.is_trainer and not context.training:
            return "Trainers act only on a training database (vigil demo)."
        return refusal(actor.role, permission, user_area=actor.area_command,
                       target_area=area) or f"You cannot {permission.value.replace('_', ' ')}."

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.ROLE_ACTIONS and self.refused(action):
            return False
        return True

    def on_key(self, event: events.Key) -> None:
        """A key whose action the role cannot take says so (the binding is
        hidden, so nothing else would happen)."""
        for namespace, bindings in self._binding_chain:
            if namespace is not self:
                continue
            for binding in bindings.key_to_bindings.get(event.key, ()):
                action = binding.action.split("(")[0]
                message = self.refused(action)
                if message:
                    event.stop()
                    event.prevent_default()
                    self.notify(message + ".", severity="warning", markup=False)
                    self.audit_refusal(action)
                    return

    def fitted_columns(self, table: DataTable, columns: tuple[Col, ...] | list[Col], *,
                       reserve: int = 0) -> FittedColumns:
        """Add ``columns`` to ``table``, sized from the rows shown and the
        table's width (refitted when the screen is resized)."""
        fitted = FittedColumns(table, columns, reserve=reserve)
        if not hasattr(self, "_fitted"):
            self._fitted: list[FittedColumns] = []
        self._fitted.append(fitted)
        self.call_after_refresh(fitted.refit)
        return fitted

    def on_resize(self, event: events.Resize) -> None:
        for fitted in getattr(self, "_fitted", ()):
            self.call_after_refresh(fitted.refit)

    @property
    def vigil(self) -> VigilApp:
        return self.app  # type: ignore[return-value]

    @property
    def context(self) -> ServiceContext:
        return self.vigil.context

    def compose_header(self):  # type: ignore[no-untyped-def]
        """Yield the banner and purpose panel; call first in ``compose``."""
        yield TrainingBanner(self.context)
        if self.PURPOSE:
            yield PurposePanel(self.PURPOSE, screen_name=type(self).__name__)

    def action_toggle_purpose(self) -> None:
        for panel in self.query(PurposePanel):
            panel.toggle()

    # --- the one save path ------------------------------------------------------
    def save_disclosure(self, *, kind: str, fmt: str, filename: str, mime_type: str,
                        build: Callable[[ServiceContext], tuple[str, list[str], int]],
                        filter: str, what: str) -> None:
        """``ctrl+s``: save what the screen shows. A save is a disclosure: the
        purpose is asked first; then (in a worker) the text is built, the
        export permission checked and the event committed before the data
        leaves. In the terminal the file lands in the save folder
        (``VIGIL_SAVE_DIR``, default the working directory) and its full path is
        shown; in the browser it downloads. Failures are shown as failures."""
        from app.services.disclosure import record_download, save_to_folder
        from app.settings import save_folder
        from screens.dialogs import ReasonDialog

        web = self.app.is_web

        def in_terminal(context: ServiceContext, purpose: str) -> Any:
            text, refs, rows = build(context)
            return save_to_folder(context, folder=save_folder(), filename=filename, kind=kind,
                                  fmt=fmt, text=text, purpose=purpose, filter=filter,
                                  crime_refs=refs, rows=rows)

        def in_browser(context: ServiceContext, purpose: str) -> Any:
            text, refs, rows = build(context)
            record_download(context, kind=kind, fmt=fmt, filename=filename, purpose=purpose,
                            filter=filter, crime_refs=refs, rows=rows)
            return text

        def saved(path: Any) -> None:
            self.notify(f"{what} saved to {path} (disclosure logged)", markup=False, timeout=10)

        def download(text: Any) -> None:
            self.app.deliver_text(io.StringIO(str(text)), save_filename=filename,
                                  mime_type=mime_type, name=filename)
            self.notify(f"{what}: downloading {filename} (disclosure logged)", markup=False)

        def answered(purpose: str | None) -> None:
            if not purpose:
                return
            self.call_service(in_browser if web else in_terminal, purpose,
                              on_result=download if web else saved,
                              group=f"save-{kind}")

        self.app.push_screen(ReasonDialog(
            f"Saving {filename} takes it out of Vigil: the purpose is recorded with who and "
            "when.", prompt="Purpose"), answered)

    def show_error(self, error: Exception) -> None:
        """A failure found on the screen itself (input checked before any
        call): shown as the App shows every failure."""
        self.vigil.show_failure(describe_failure(error), error)
