"""Export cases in the RMS extract format, as a disclosure (see
:mod:`app.services.disclosure`: permission, purpose, event first).

``export_cases`` writes crimes.csv columns to a file or standard output, or,
given a folder, the extract in format 2: every file with every column
(crimes, risk, spo_decisions, orders, breaches, victim_care, searches,
multi_agency, officer_training, perpetrator_programmes, perpetrator_referrals) and a ``manifest.json`` (app.rms.manifest): that folder
re-imports unchanged, and is written aside and renamed into place as a set.
Rows come in a fixed order
(by crime_ref, then by the record's own key; orders and breaches by their
reference) and dates are ISO 8601 UTC with the offset, so the same database
always gives the same bytes. Rows are streamed a page at a time from one
read transaction (a consistent snapshot), so a million cases export in
bounded memory.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.orm import Session

from app.errors import BadInput
from app.output import Column, render
from app.rms.formats import (
    COLUMNS,
    CRIMES,
    FILE_ORDER,
    all_columns,
    format_codes,
    format_day,
    format_when,
    format_yn,
)
from app.rms.manifest import (
    CURRENT_FORMAT,
    KIND_WORDS,
    MANIFEST,
    Manifest,
    marker_line,
    sha256_of,
)
from app.sanitise import FORMULA_PROTECTION, CsvWriter, neutralise_formula
from app.services import disclosure
from app.services.context import ServiceContext
from app.services.permissions import Permission
from app.services.rms_export_reads import READERS, CaseFilter, case_pages, crime_rows

CASE_FORMATS = ("csv", "json", "md", "html")


@dataclass(frozen=True)
class ExportResult:
    kind: str
    format: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(self.rows)


def is_folder_target(target: str | Path | None) -> bool:
    """``-o`` names a folder when it exists as one or ends with a separator."""
    if target is None:
        return False
    text = str(target)
    return text.endswith(("/", os.sep)) or Path(text).is_dir()


# --- writing ---------------------------------------------------------------
def csv_value(value: Any) -> str:
    """A value as the extract format writes it; text a spreadsheet would run
    as a formula is guarded (reversibly: the manifest says so and the import
    takes the guard off)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return format_yn(value)
    if isinstance(value, datetime):
        return format_when(value)
    if isinstance(value, date):
        return format_day(value)
    if isinstance(value, list | tuple):
        return format_codes(value)
    return neutralise_formula(str(value))


def write_csv(handle: TextIO, file_name: str, rows: Iterable[dict[str, Any]],
              format_version: int = CURRENT_FORMAT) -> int:
    columns = all_columns(file_name, format_version)
    writer = CsvWriter(handle)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([csv_value(row.get(name)) for name in columns])
        count += 1
    return count


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_when(value)
    return value


def write_json(handle: TextIO, rows: Iterable[dict[str, Any]], *, mark: str = "") -> int:
    """The rows as a JSON list; with ``mark`` (a database that is not live)
    an object ``{"data": mark, "rows": [...]}``, the shape every marked
    JSON output has."""
    if mark:
        handle.write(f'{{"data": {json.dumps(mark, ensure_ascii=False)}, "rows": ')
        count = write_json(handle, rows)
        handle.write("}\n")
        return count
    count = 0
    handle.write("[")
    for row in rows:
        handle.write(",\n  " if count else "\n  ")
        handle.write(json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False))
        count += 1
    handle.write("\n]\n" if count else "]\n")
    return count


CRIME_TITLES = {
    "crime_ref": "Crime", "reported_at": "Reported", "area_command": "Area",
    "principal_code": "Principal", "included_codes": "Included", "victim_ref": "Victim",
    "suspect_ref": "Suspect", "relationship": "Relationship", "domestic_abuse": "DA",
    "online": "Online", "allocation_team": "Team", "officer": "Officer", "status": "Status",
    "pin_issued": "PIN", "summary": "Summary",
}


def single_file_marker(ctx: ServiceContext, fmt: str) -> str:
    """The first line of a single-file CSV export from a database that is not
    live (training, synthetic, evaluation): the kind of rows it holds, read by
    the import as a folder's manifest (a live database refuses training rows);
    for JSON, the words the rows are wrapped with (``write_json``). Empty for
    a live database (a CSV for people, as a force's RMS writes it) and for
    Markdown and HTML (marked as every table is, by ``render``)."""
    kind = _kind(ctx)
    if kind == "live":
        return ""
    if fmt == "json":  # marked as every JSON output is: from a training database
        return KIND_WORDS[kind] if kind == "training" else ""
    return marker_line(kind, FORMULA_PROTECTION) if fmt == "csv" else ""


def _kind(ctx: ServiceContext) -> str:
    return ctx.database.database_kind() or ("training" if ctx.training else "live")


def _write_crimes(handle: TextIO, session: Session, fmt: str, flt: CaseFilter,
                  refs: list[str] | None = None, marker: str = "") -> int:
    # one file without a manifest is a format 1 extract: its columns only
    if fmt == "csv":
        handle.write(marker)
    rows: Iterable[dict[str, Any]] = (
        {name: row[name] for name in COLUMNS[CRIMES]} for row in crime_rows(session, flt))
    if refs is not None:
        rows = _noting(rows, refs)
    if fmt == "csv":
        return write_csv(handle, CRIMES, rows, format_version=1)
    if fmt == "json":
        return write_json(handle, rows, mark=marker)
    listed = list(rows)
    columns = [Column(name, CRIME_TITLES[name]) for name in COLUMNS[CRIMES]]
    handle.write(render(listed, columns, fmt, title=f"Cases ({flt.describe()})"))
    return len(listed)


def _noting(rows: Iterable[dict[str, Any]], refs: list[str]) -> Iterator[dict[str, Any]]:
    for row in rows:
        refs.append(row["crime_ref"])
        yield row


def _crime_refs(session: Session, flt: CaseFilter) -> list[str]:
    """The references the filter selects, in export order (from the same snapshot)."""
    refs: list[str] = []
    for page in case_pages(session, flt):
        refs += [row.crime_ref for row in page]
    return refs


def _snapshot(session: Session) -> None:
    """Read every file from one snapshot (SQLite holds it for the read
    transaction; PostgreSQL needs REPEATABLE READ)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def export_cases(ctx: ServiceContext, *, target: str | Path | None, fmt: str = "csv",
                 flt: CaseFilter | None = None, stdout: TextIO | None = None,
                 purpose: str | None = None) -> ExportResult:
    """Export cases as ``fmt``: to ``target`` (a file; a folder gets the format 2
    extract: every file as CSV and manifest.json), or to ``stdout`` when
    ``target`` is None. A disclosure (:mod:`app.services.disclosure`): the
    export permission and a ``purpose`` are required, and the event naming
    every case is committed before any data is released."""
    flt = flt or CaseFilter()
    if fmt not in CASE_FORMATS:
        raise BadInput(f"export cases: format {fmt!r}: choose {', '.join(CASE_FORMATS)}")
    purpose = disclosure.authorised_purpose(ctx, "cases", purpose)
    rows: dict[str, int] = {}
    refs: list[str] = []
    if is_folder_target(target):
        if fmt != "csv":
            raise BadInput(f"export cases -o {target}: a folder export is the CSV extract; "
                           f"give a file name for --format {fmt}")
        folder = disclosure.AsideFolder("cases", str(target), (*FILE_ORDER, MANIFEST))
        with disclosure.released_on_success(folder):
            digests: dict[str, str] = {}
            with ctx.read() as session:
                _snapshot(session)
                for file_name in FILE_ORDER:
                    with folder.open(file_name) as handle:
                        readers = READERS[file_name](session, flt)
                        if file_name == CRIMES:
                            readers = _noting(readers, refs)
                        rows[file_name] = write_csv(handle, file_name, readers)
                    digests[file_name] = sha256_of(folder.aside / file_name)
            with folder.open(MANIFEST) as handle:
                handle.write(json.dumps(extract_manifest(ctx, rows, digests).as_json(), indent=2)
                             + "\n")
            shown = str(folder.path)
            _record(ctx, fmt, shown, flt, purpose, rows, refs)
        folder.release()
    elif target is not None:
        aside = disclosure.AsideFile("cases", target)
        with disclosure.released_on_success(aside):
            with ctx.read() as session:
                _snapshot(session)
                rows[CRIMES] = _write_crimes(aside.handle, session, fmt, flt, refs,
                                             marker=single_file_marker(ctx, fmt))
            aside.handle.flush()
            shown = str(aside.path)
            _record(ctx, fmt, shown, flt, purpose, rows, refs)
        aside.release()
    else:
        if stdout is None:
            raise BadInput("export cases: no output given")
        shown = disclosure.STANDARD_OUTPUT
        with ctx.read() as session:
            _snapshot(session)
            refs = _crime_refs(session, flt)
            rows[CRIMES] = len(refs)
            event = _record(ctx, fmt, shown, flt, purpose, rows, refs)
            chunks = _chunks(session, fmt, flt, marker=single_file_marker(ctx, fmt))
            complete = disclosure.write_stream(ctx, event, stdout, chunks,
                                               rows_of=lambda chunk: chunk.count("\n"))
        if not complete:
            raise disclosure.OutputClosed(
                f"export cases: {shown} was closed by its reader before the end; the "
                "disclosure of the selected cases is logged")
    return ExportResult(kind="cases", format=fmt, target=shown, rows=rows)


def _chunks(session: Session, fmt: str, flt: CaseFilter, marker: str = "") -> Iterator[str]:
    """The crimes export a page at a time, as text."""
    if fmt in ("csv", "json"):
        buffer = io.StringIO()
        if fmt == "csv":
            buffer.write(marker)
            writer = CsvWriter(buffer)
            writer.writerow(COLUMNS[CRIMES])
            for count, row in enumerate(crime_rows(session, flt), start=1):
                writer.writerow([csv_value(row.get(name)) for name in COLUMNS[CRIMES]])
                if count % 500 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        else:
            write_json(buffer, crime_rows(session, flt), mark=marker)
        yield buffer.getvalue()
        return
    buffer = io.StringIO()
    _write_crimes(buffer, session, fmt, flt)
    yield buffer.getvalue()


def _record(ctx: ServiceContext, fmt: str, target: str, flt: CaseFilter, purpose: str,
            rows: dict[str, int], refs: list[str]) -> disclosure.Disclosure:
    event = disclosure.Disclosure(
        kind="cases", format=fmt, target=target, filter=flt.describe(), purpose=purpose,
        rows=sum(rows.values()), crime_refs=tuple(refs), files=dict(rows))
    disclosure.record(ctx, event)
    return event


def extract_manifest(ctx: ServiceContext, rows: dict[str, int],
                     digests: dict[str, str]) -> Manifest:
    """The manifest of a folder export: format 2, the database's kind (live,
    training, evaluation, synthetic), the formula guard the CSV cells carry,
    and each file's rows and SHA-256 (a folder of mixed old and new files is
    refused on import)."""
    kind = _kind(ctx)
    return Manifest(format_version=CURRENT_FORMAT, source_kind=kind,
                    formula_protection=FORMULA_PROTECTION, present=True,
                    files={name: {"rows": rows[name], "sha256": digests[name]}
                           for name in digests})


def require_export(ctx: ServiceContext, kind: str) -> None:
    """Refuse (and audit the refusal) unless the user may export."""
    ctx.require(Permission.EXPORT, entity="export", entity_id=kind)

