"""Table columns of the screens, sized by :mod:`app.column_widths` from
their content and the table's width before rows are added, and again when
the table is resized (so a table never paints at one width and then jumps
to another, which also keeps snapshots stable)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from app.column_widths import Col, content_widths, fit_widths

if TYPE_CHECKING:
    from textual.widgets import DataTable

__all__ = ["SCROLLBAR", "Col", "FittedColumns", "RowBuffer", "content_widths", "fit_widths"]

#: cells a vertical scrollbar takes beside the rows
SCROLLBAR = 2


class FittedColumns:
    """The columns of one ``DataTable``, refitted when rows arrive and when
    the table is resized.

    ``fit(rows)`` is called with the cells about to be added, before they
    are added; ``refit()`` on resize. The table's own width is used once it
    is laid out, otherwise the screen's width less ``reserve`` cells (the
    side panels beside the table).
    """

    def __init__(self, table: DataTable[Any], columns: Sequence[Col], *,
                 reserve: int = 0) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.reserve = reserve
        self.contents: dict[str, int] = {}
        self.widths: dict[str, int] = {}
        widths = fit_widths(self.columns, self.available(), padding=table.cell_padding)
        for col in self.columns:
            table.add_column(col.label, key=col.key, width=widths[col.key])
        self.widths = widths
        table.fitted_columns = self  # type: ignore[attr-defined]  # refitted on its resize

    def available(self) -> int:
        table = self.table
        width = table.size.width
        if width <= 0:
            width = max(0, table.app.size.width - self.reserve)
        return max(0, width - SCROLLBAR)

    def fit(self, rows: Iterable[Sequence[Any]]) -> None:
        """Size the columns for ``rows`` (call before adding them)."""
        self.contents = content_widths(self.columns, rows)
        self.refit()

    def refit(self) -> None:
        widths = fit_widths(self.columns, self.available(), contents=self.contents,
                            padding=self.table.cell_padding)
        if widths == self.widths:
            return
        self.widths = widths
        table = self.table
        for col in self.columns:
            column = table.columns.get(col.key)  # type: ignore[call-overload]
            if column is not None:
                column.width = widths[col.key]
                column.auto_width = False
        table._require_update_dimensions = True
        table._clear_caches()
        table.refresh()

    def fill(self, rows: RowBuffer) -> None:
        """Clear the table, size the columns for ``rows``, then add them."""
        table = self.table
        table.clear()
        self.fit(cells for cells, _key in rows.rows)
        for cells, key in rows.rows:
            table.add_row(*cells, key=key)


class RowBuffer:
    """Rows gathered with ``add_row`` (as on a DataTable) so that the
    columns are sized before any of them is added (``FittedColumns.fill``)."""

    def __init__(self) -> None:
        self.rows: list[tuple[tuple[Any, ...], str | None]] = []

    def add_row(self, *cells: Any, key: str | None = None) -> None:
        self.rows.append((cells, key))

    def __len__(self) -> int:
        return len(self.rows)
