"""Table columns sized from their content and the width the table has.

Every table screen declares its columns once (``Col``): a reference or a
time that must be read whole is ``keep`` (never cut), free text is ``flex``
(it takes what is left) and the rest shrink towards ``min`` when the
terminal is narrow. The widths are computed from the rows about to be shown
and the table's width *before* the rows are added, and again when the table
is resized, so a table never paints at one width and then jumps to another
(which also keeps snapshots stable). Cut cells end in an ellipsis.

This module is pure (no Textual): ``app.widgets.columns.FittedColumns``
applies it to a ``DataTable``, and the command line's tables
(``app.output``) use the same widths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text


@dataclass(frozen=True)
class Col:
    """One column: its key, its header, and how it may be sized.

    ``width`` is the widest value expected before any row is known (a crime
    reference's full length, the longest team name); the rows shown widen it
    when they hold longer values. ``keep`` columns are never cut; ``flex``
    columns (free text) share what is left in proportion to their weight;
    the others shrink no narrower than ``min`` when the table is narrow.
    """

    key: str
    label: str
    width: int
    keep: bool = False
    flex: int = 0
    min: int = 0
    max: int = 0  # widest a non-flex column grows from its content (0: no cap)

    @property
    def narrowest(self) -> int:
        if self.keep:
            return self.natural_floor
        floor = self.min or min(self.width, max(4, min(cell_len(self.label), 8)))
        return max(1, floor)

    @property
    def natural_floor(self) -> int:
        return max(self.width, cell_len(self.label))


def _cell_width(value: Any) -> int:
    if isinstance(value, Text):
        return value.cell_len
    return max((cell_len(line) for line in str(value).splitlines()), default=0)


def content_widths(columns: Sequence[Col], rows: Iterable[Sequence[Any]]) -> dict[str, int]:
    """The widest cell of each column among ``rows`` (cells in column order)."""
    widest = {c.key: 0 for c in columns}
    keys = [c.key for c in columns]
    for row in rows:
        for key, value in zip(keys, row, strict=False):
            width = _cell_width(value)
            if width > widest[key]:
                widest[key] = width
    return widest


def fit_widths(columns: Sequence[Col], available: int, *,
               contents: Mapping[str, int] | None = None, padding: int = 1) -> dict[str, int]:
    """Each column's width (without its padding) for a table ``available``
    cells wide. ``contents`` holds the widest value shown per column.

    Keep columns get their whole content; other fixed columns their content
    (capped at ``max``); flex columns share the rest. When that is more than
    the table holds, the shrinkable columns give way in proportion to their
    slack, never below their floor; keep columns never give way (the table
    scrolls sideways rather than cut a reference).
    """
    contents = contents or {}
    natural: dict[str, int] = {}
    for col in columns:
        seen = contents.get(col.key, 0)
        known = col.key in contents
        if col.flex:
            natural[col.key] = max(col.narrowest, cell_len(col.label))
            continue
        want = max(cell_len(col.label), seen if known else col.width)
        if col.max and not col.keep:
            want = min(want, max(col.max, cell_len(col.label)))
        natural[col.key] = want
    budget = available - 2 * padding * len(columns)
    widths = dict(natural)
    fixed = sum(w for c in columns for w in [natural[c.key]] if not c.flex)
    flex_cols = [c for c in columns if c.flex]
    flex_floor = sum(natural[c.key] for c in flex_cols)
    spare = budget - fixed - flex_floor
    if spare >= 0:
        weight = sum(c.flex for c in flex_cols)
        given = 0
        for i, col in enumerate(flex_cols):
            share = spare - given if i == len(flex_cols) - 1 else spare * col.flex // weight
            widths[col.key] += share
            given += share
        return widths
    # too narrow: the shrinkable columns give way towards their floor
    over = -spare
    shrinkable = [c for c in columns if not c.keep and not c.flex]
    slack = {c.key: max(0, natural[c.key] - c.narrowest) for c in shrinkable}
    total_slack = sum(slack.values())
    if total_slack == 0:
        return widths
    take = min(over, total_slack)
    taken = 0
    for col in shrinkable:
        cut = take * slack[col.key] // total_slack
        widths[col.key] -= cut
        taken += cut
    for col in sorted(shrinkable, key=lambda c: -slack[c.key]):  # the rounding remainder
        if taken >= take:
            break
        if widths[col.key] > col.narrowest:
            widths[col.key] -= 1
            taken += 1
    return widths
