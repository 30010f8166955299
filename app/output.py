"""One place that turns service results into table, JSON, CSV, Markdown or HTML.

The CLI and the exports use it, so a figure on screen and in a file come from
the same rows.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from rich.console import Console
from rich.table import Table

from app.dates import format_local
from app.sanitise import CsvWriter, clean_text, escape_markup, neutralise_formula

FORMATS = ("table", "json", "csv", "md", "html")


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
        lines.append("| " + " | ".join(_md_escape(cell_text(row.get(c.key))) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def rich_table(rows: Iterable[dict[str, Any]], columns: Sequence[Column],
               title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column.title, max_width=column.width, overflow="fold")
    for row in rows:
        table.add_row(*(cell_text(row.get(c.key)) for c in columns))
    return table


def render_table(rows: Iterable[dict[str, Any]], columns: Sequence[Column],
                 title: str | None = None, width: int = 160) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(rich_table(rows, columns, title))
    return console.export_text()


def render_html(rows: Iterable[dict[str, Any]], columns: Sequence[Column],
                title: str | None = None) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(rich_table(rows, columns, title))
    return console.export_html(inline_styles=True)


def render(rows: list[dict[str, Any]], columns: Sequence[Column], fmt: str, *,
           title: str | None = None, payload: Any = None) -> str:
    """Rows in ``fmt``. JSON gives ``payload`` when supplied (richer than the columns)."""
    if fmt == "json":
        return render_json(payload if payload is not None else rows)
    if fmt == "csv":
        return render_csv(rows, columns)
    if fmt == "md":
        return render_markdown(rows, columns, title)
    if fmt == "html":
        return render_html(rows, columns, title)
    return render_table(rows, columns, title)
