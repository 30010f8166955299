"""One place that turns service results into table, JSON, CSV, Markdown or HTML.

The CLI and the exports use it, so a figure on screen and in a file come from
the same rows.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import json
import re
import shutil
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from app.column_widths import Col, content_widths, fit_widths
from app.dates import format_local
from app.sanitise import CsvWriter, clean_text, escape_markup, neutralise_formula

FORMATS = ("table", "json", "csv", "md", "html")

#: the mark on every output from a training database
TRAINING_MARK = "TRAINING — synthetic data"


@dataclass(frozen=True)
class OutputOptions:
    """How this run's outputs are shaped: set once by the CLI (``--limit``,
    the database's kind) and read by :func:`render`."""

    limit: int | None = None
    training: bool = False
    width: int | None = None  # None: the console's width (COLUMNS, the terminal, else 160)


_OPTIONS: contextvars.ContextVar[OutputOptions] = contextvars.ContextVar("vigil_output")
_DEFAULT = OutputOptions()


def output_options() -> OutputOptions:
    return _OPTIONS.get(_DEFAULT)


@contextlib.contextmanager
def output_scope(**options: Any) -> Iterator[None]:
    """Outputs shaped by ``options`` inside the block (one CLI run); the
    defaults again after it."""
    token = _OPTIONS.set(OutputOptions(**options))
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def set_output_options(**changes: Any) -> None:
    from dataclasses import replace

    _OPTIONS.set(replace(output_options(), **changes))


def marked_line(text: str) -> str:
    """A one-line confirmation of a change; from a training database it says so."""
    return f"{TRAINING_MARK} · {text}" if output_options().training else text


def console_width() -> int:
    """The width human tables are drawn at: the terminal's (``COLUMNS`` when
    set) when standard output is one; 160 when writing to a pipe or file."""
    given = output_options().width
    if given:
        return given
    if not sys.stdout.isatty():
        return 160
    return max(40, shutil.get_terminal_size((160, 24)).columns)


_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
_CODE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")


def words(value: str) -> str:
    """A stored code as people read it: ``ex_partner`` → ``ex partner``,
    ``interim_granted`` → ``interim granted``, ``HIGH_RISK`` → its DMM title
    (``high risk with no plan``…) or ``high risk``. Other text is unchanged."""
    if _SNAKE.match(value):
        return value.replace("_", " ")
    if _CODE.match(value):
        from app.rules.dmm_reasons import REASON_TITLES

        title = REASON_TITLES.get(value)
        return title if title else value.replace("_", " ").lower()
    return value


def human_text(value: Any) -> str:
    """``cell_text`` with codes in words (tables and Markdown; CSV and JSON keep codes)."""
    if isinstance(value, list | tuple):
        return ", ".join(human_text(v) for v in value)
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return words(cell_text(value))
    return cell_text(value)


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int | None = None


def to_jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def cell_text(value: Any) -> str:
    """A value as a person reads it: local times, lists joined, no control characters."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return format_local(value)
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return clean_text(str(value))


def render_json(payload: Any) -> str:
    return json.dumps(to_jsonable(payload), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def render_csv(rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> str:
    """CSV for people: a cell a spreadsheet would run as a formula is guarded."""
    buffer = io.StringIO()
    writer = CsvWriter(buffer)
    writer.writerow([c.key for c in columns])
    for row in rows:
        writer.writerow([neutralise_formula(_csv_value(row.get(c.key))) for c in columns])
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(_csv_value(v) for v in value)
    return str(value)


def _md_escape(text: str) -> str:
    return escape_markup(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: Iterable[dict[str, Any]], columns: Sequence[Column],
                    title: str | None = None) -> str:
    lines: list[str] = []
    if title:
        lines += [f"# {title}", ""]
    lines.append("| " + " | ".join(c.title for c in columns) + " |")
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        lines.append("| " + " | ".join(_md_escape(human_text(row.get(c.key))) for c in columns)
                     + " |")
    return "\n".join(lines) + "\n"


def rich_table(rows: Iterable[dict[str, Any]], columns: Sequence[Column],
               title: str | None = None, width: int | None = None) -> Table:
    """A Rich table sized to ``width`` as the screens size theirs
    (:mod:`app.column_widths`): references are never cut (their widest value
    is their minimum), free text wraps in what is left, the rest end in an
    ellipsis when the terminal is narrow. When even the narrowest columns do
    not fit, the last columns are left out (never a reference) and the
    caption names them, rather than some being squeezed to nothing."""
    rows = list(rows)
    cells = [[human_text(row.get(c.key)) for c in columns] for row in rows]
    specs = [_spec(c) for c in columns]
    contents = content_widths(specs, cells)
    shown = _fitting(specs, contents, width)
    left_out = [c.title for i, c in enumerate(columns) if i not in shown]
    caption = (f"not shown at this width: {', '.join(left_out)} (a wider terminal, or "
               "--format csv or json, has every column)") if left_out else None
    table = Table(title=title, show_lines=False, header_style="bold", caption=caption)
    kept = [specs[i] for i in shown]
    widths = (fit_widths(kept, width - len(kept) - 1, contents=contents)
              if width is not None else {})
    for index, spec in zip(shown, kept, strict=True):
        given = widths.get(spec.key)
        if spec.flex:
            table.add_column(columns[index].title, overflow="fold", width=given,
                             min_width=None if given else min(20, spec.width))
        else:
            table.add_column(columns[index].title, no_wrap=True, overflow="ellipsis",
                             width=given if given is not None else None)
    for row_cells in cells:
        table.add_row(*(row_cells[i] for i in shown))
    return table


def _spec(column: Column) -> Col:
    """How a column may be sized: a reference is kept whole, free text
    (a width of 30 or more) takes what is left, the rest may shrink."""
    if _is_reference(column):
        return Col(column.key, column.title, column.width or 1, keep=True)
    if column.width is not None and column.width >= 30:
        return Col(column.key, column.title, column.width, flex=1, min=min(20, column.width))
    return Col(column.key, column.title, column.width or cell_len(column.title),
               max=column.width or 0)


def _fitting(specs: Sequence[Col], contents: dict[str, int], width: int | None) -> list[int]:
    """The indexes of the columns shown: all of them when their narrowest
    widths fit ``width`` (three cells of rule and padding each), else without
    the last ones that are not references."""
    kept = list(range(len(specs)))
    if width is None:
        return kept

    def narrowest(spec: Col) -> int:  # the floor fit_widths gives each column
        if spec.keep:
            return max(contents.get(spec.key, 0), cell_len(spec.label), 1)
        if spec.flex:
            return max(spec.narrowest, cell_len(spec.label))
        return min(spec.narrowest, max(contents.get(spec.key, 0), cell_len(spec.label)))

    while len(kept) > 1 and sum(narrowest(specs[i]) + 3 for i in kept) + 1 > width:
        droppable = [i for i in kept if not specs[i].keep]
        if not droppable:
            break
        kept.remove(droppable[-1])
    return kept


def _is_reference(column: Column) -> bool:
    key = column.key.lower()
    return key.endswith("ref") or key.endswith("_id") or key in {"crime", "id", "breach"}


def render_table(rows: Iterable[dict[str, Any]], columns: Sequence[Column],
                 title: str | None = None, width: int | None = None) -> str:
    console = Console(width=width or console_width(), record=True, file=io.StringIO(),
                      color_system=None)
    console.print(rich_table(rows, columns, title, width=console.width))
    return console.export_text()


def render_html(rows: Iterable[dict[str, Any]], columns: Sequence[Column],
                title: str | None = None) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(rich_table(rows, columns, title))
    return console.export_html(inline_styles=True)


def render(rows: list[dict[str, Any]], columns: Sequence[Column], fmt: str, *,
           title: str | None = None, payload: Any = None) -> str:
    """Rows in ``fmt``. JSON gives ``payload`` when supplied (richer than the columns).

    ``--limit`` (the run's :class:`OutputOptions`) keeps the first rows and says
    how many more there were; from a training database every format carries
    :data:`TRAINING_MARK` (a first line, a CSV column, a JSON key)."""
    options = output_options()
    total = len(rows)
    if options.limit is not None and total > options.limit:
        rows = rows[:options.limit]
        if isinstance(payload, list):
            payload = payload[:options.limit]
    cut = f"… first {len(rows):,} of {total:,} rows (--limit {options.limit})" \
        if len(rows) < total else ""
    mark = options.training
    if fmt == "json":
        body: Any = payload if payload is not None else rows
        if mark:
            body = {"data": TRAINING_MARK, **body} if isinstance(body, dict) else \
                {"data": TRAINING_MARK, "rows": body}
        return render_json(body)
    if fmt == "csv":
        if mark:
            columns = [Column("data", "data"), *columns]
            rows = [{"data": TRAINING_MARK, **row} for row in rows]
        return render_csv(rows, columns)
    if fmt == "md":
        text = render_markdown(rows, columns, title)
        if cut:
            text += f"\n{cut}\n"
        return (f"> **{TRAINING_MARK}**\n\n" + text) if mark else text
    if fmt == "html":
        heading = f"{TRAINING_MARK} · {title}" if mark and title else (
            TRAINING_MARK if mark else title)
        return render_html(rows, columns, heading)
    text = render_table(rows, columns, title)
    if cut:
        text += cut + "\n"
    return (TRAINING_MARK + "\n" + text) if mark else text
