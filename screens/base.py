"""What every Vigil screen shares: the banner, the purpose panel, help, and
running service calls in thread workers so the UI never waits on the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable
from textual.worker import Worker

from app.errors import VigilError
from app.widgets.banner import TrainingBanner
from app.widgets.columns import Col, FittedColumns
from app.widgets.purpose import PurposePanel

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


class VigilScreen(Screen[None]):
    """Base screen. Subclasses set ``PURPOSE`` (one or two sentences)."""

    PURPOSE: ClassVar[str] = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "toggle_purpose", "About", show=False, id="screen.purpose",
                tooltip="Show or hide what this screen is for"),
    ]

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

    def call_service(
        self,
        fn: Callable[..., T],
        *args: Any,
        on_result: Callable[[T], None] | None = None,
        on_error: Callable[[VigilError], None] | None = None,
        group: str = "service",
        exclusive: bool = True,
        **kwargs: Any,
    ) -> Worker[None]:
        """Run ``fn(context, *args, **kwargs)`` in a thread; deliver the result
        (or the error, as a message) back on the UI thread."""

        def job() -> None:
            try:
                result = fn(self.context, *args, **kwargs)
            except VigilError as exc:
                handler = on_error or self.show_error
                self.app.call_from_thread(handler, exc)
                return
            except Exception as exc:
                self.app.call_from_thread(
                    self.notify, f"Unexpected error: {exc}", severity="error", timeout=10
                )
                self.app.call_from_thread(self.app.log.error, repr(exc))
                return
            if on_result is not None:
                self.app.call_from_thread(on_result, result)

        return self.run_worker(job, thread=True, exclusive=exclusive, group=group,
                               exit_on_error=False)

    def show_error(self, error: VigilError) -> None:
        self.notify(str(error), severity="error", timeout=8)
