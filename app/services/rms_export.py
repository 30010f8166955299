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
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.errors import BadInput
from app.output import Column, render
from app.rms.formats import (
    BREACHES,
    COLUMNS,
    CRIMES,
    FILE_ORDER,
    MULTI_AGENCY,
    OFFICER_TRAINING,
    ORDERS,
    PERPETRATOR_REFERRALS,
    PROGRAMMES,
    RISK,
    SEARCHES,
    SPO_DECISIONS,
    VICTIM_CARE,
    all_columns,
    format_codes,
    format_consent,
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
from app.rms.tables import (
    T_BREACH,
    T_CARE,
    T_CASE,
    T_INCLUDED,
    T_MULTI_AGENCY,
    T_ORDER,
    T_PERPETRATOR_REFERRAL,
    T_PERSON,
    T_PROGRAMME,
    T_REFERRAL,
    T_RISK,
    T_SEARCH,
    T_SPO_DECISION,
    T_TRAINING,
)
from app.sanitise import FORMULA_PROTECTION, CsvWriter, neutralise_formula
from app.services import disclosure
from app.services.context import ServiceContext
from app.services.permissions import Permission

PAGE = 5_000
CASE_FORMATS = ("csv", "json", "md", "html")


@dataclass(frozen=True)
class CaseFilter:
    """Which cases to export: an area command, and reported from/to (UTC)."""

    area: str | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None

    def describe(self) -> str:
        parts = []
        if self.area:
            parts.append(f"area {self.area}")
        if self.reported_from:
            parts.append(f"reported from {format_when(self.reported_from)}")
        if self.reported_to:
            parts.append(f"reported before {format_when(self.reported_to)}")
        return ", ".join(parts) or "all cases"

    def where(self, stmt: Select[Any]) -> Select[Any]:
        if self.area:
            stmt = stmt.where(T_CASE.c.area_command == self.area)
        if self.reported_from:
            stmt = stmt.where(T_CASE.c.reported_at >= self.reported_from)
        if self.reported_to:
            stmt = stmt.where(T_CASE.c.reported_at < self.reported_to)
        return stmt


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


# --- reading, a page at a time --------------------------------------------
def _case_pages(session: Session, flt: CaseFilter) -> Iterator[list[Any]]:
    """Pages of cases in crime_ref order (keyset paging: no OFFSET scans)."""
    victim = T_PERSON.alias("victim")
    suspect = T_PERSON.alias("suspect")
    base = (
        select(
            T_CASE.c.id, T_CASE.c.crime_ref, T_CASE.c.reported_at, T_CASE.c.area_command,
            T_CASE.c.principal_code, victim.c.person_ref.label("victim_ref"),
            suspect.c.person_ref.label("suspect_ref"), T_CASE.c.relationship,
            T_CASE.c.domestic_abuse, T_CASE.c.online, T_CASE.c.allocation_team, T_CASE.c.officer,
            T_CASE.c.status, T_CASE.c.pin_issued, T_CASE.c.summary, T_CASE.c.closed_at,
            T_CASE.c.outcome, T_CASE.c.reassessment_due_at, T_CASE.c.pin_authorised_by,
            T_CASE.c.arrested_at, T_CASE.c.digital_enquiries,
        )
        .select_from(
            T_CASE.join(victim, victim.c.id == T_CASE.c.victim_id)
            .outerjoin(suspect, suspect.c.id == T_CASE.c.suspect_id)
        )
        .order_by(T_CASE.c.crime_ref)
        .limit(PAGE)
    )
    base = flt.where(base)
    last: str | None = None
    while True:
        stmt = base if last is None else base.where(T_CASE.c.crime_ref > last)
        page = session.execute(stmt).all()
        if not page:
            return
        yield page
        last = page[-1].crime_ref
        if len(page) < PAGE:
            return


def _crime_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    for page in _case_pages(session, flt):
        included: dict[int, list[str]] = defaultdict(list)
        for case_id, code in session.execute(
            select(T_INCLUDED.c.case_id, T_INCLUDED.c.code)
            .where(T_INCLUDED.c.case_id.in_([row.id for row in page]))
        ):
            included[case_id].append(code)
        for row in page:
            yield {
                "crime_ref": row.crime_ref,
                "reported_at": row.reported_at,
                "area_command": row.area_command,
                "principal_code": row.principal_code,
                "included_codes": sorted(included.get(row.id, [])),
                "victim_ref": row.victim_ref,
                "suspect_ref": row.suspect_ref,
                "relationship": row.relationship,
                "domestic_abuse": row.domestic_abuse,
                "online": row.online,
                "allocation_team": row.allocation_team,
                "officer": row.officer,
                "status": row.status,
                "pin_issued": row.pin_issued,
                "summary": row.summary,
                "closed_at": row.closed_at,
                "outcome": row.outcome,
                "reassessment_due_at": row.reassessment_due_at,
                "pin_authorised_by": row.pin_authorised_by,
                "arrested_at": row.arrested_at,
                "digital_enquiries": row.digital_enquiries,
            }


def _risk_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    for page in _case_pages(session, flt):
        refs = {row.id: row.crime_ref for row in page}
        rows = session.execute(
            select(T_RISK.c.case_id, T_RISK.c.assessed_at, T_RISK.c.tool, T_RISK.c.answers,
                   T_RISK.c.level, T_RISK.c.rationale, T_RISK.c.assessor,
                   T_RISK.c.management_plan, T_RISK.c.plan_set_at, T_RISK.c.plan_review_due,
                   T_RISK.c.approved_by, T_RISK.c.approved_at)
            .where(T_RISK.c.case_id.in_(list(refs)))
        ).all()
        rows.sort(key=lambda r: (refs[r.case_id], r.assessed_at, r.tool))
        for row in rows:
            yield {"crime_ref": refs[row.case_id], **{
                name: getattr(row, name) for name in all_columns(RISK) if name != "crime_ref"}}


def _by_case(session: Session, flt: CaseFilter, table: Any, columns: tuple[str, ...],
             key: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """Rows of ``table`` for each page of cases, by crime_ref then ``key``."""
    for page in _case_pages(session, flt):
        refs = {row.id: row.crime_ref for row in page}
        rows = session.execute(
            select(table.c.case_id, table.c.id, *[table.c[name] for name in columns])
            .where(table.c.case_id.in_(list(refs)))
        ).all()
        rows.sort(key=lambda r: (refs[r.case_id], *[getattr(r, k) for k in key], r.id))
        for row in rows:
            yield {"crime_ref": refs[row.case_id], **{name: getattr(row, name) for name in columns}}


def _spo_decision_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    yield from _by_case(session, flt, T_SPO_DECISION,
                        ("status", "rationale", "decided_by", "decided_at"),
                        ("decided_at", "status"))


def _search_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    for row in _by_case(session, flt, T_SEARCH,
                        ("power", "conducted_at", "officer", "authorised_by", "premises",
                         "items_seized"), ("power", "conducted_at")):
        row["result"] = row.pop("items_seized")
        yield row


def _multi_agency_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    yield from _by_case(session, flt, T_MULTI_AGENCY,
                        ("kind", "referred_at", "referred_by", "outcome"),
                        ("kind", "referred_at"))


def _training_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    """The force's learning records (not case data: every row, whatever the filter)."""
    stmt = (select(T_TRAINING.c.officer, T_TRAINING.c.course, T_TRAINING.c.completed_on)
            .order_by(T_TRAINING.c.officer, T_TRAINING.c.course, T_TRAINING.c.completed_on))
    for row in session.execute(stmt):
        yield {"officer": row.officer, "course": row.course, "completed_on": row.completed_on}


def _programme_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    """Every perpetrator programme (a referral of any exported case may name one)."""
    stmt = (select(T_PROGRAMME.c.code, T_PROGRAMME.c.name, T_PROGRAMME.c.area_command,
                   T_PROGRAMME.c.available_from, T_PROGRAMME.c.available_to)
            .order_by(T_PROGRAMME.c.code))
    for row in session.execute(stmt):
        yield dict(row._mapping)


def _perpetrator_referral_rows(session: Session,
                               flt: CaseFilter) -> Iterator[dict[str, Any]]:
    codes = dict(session.execute(select(T_PROGRAMME.c.id, T_PROGRAMME.c.code)).all())
    for row in _by_case(session, flt, T_PERPETRATOR_REFERRAL,
                        ("programme_id", "referred_at", "referred_by", "outcome"),
                        ("referred_at", "programme_id")):
        row["programme_code"] = codes[row.pop("programme_id")]
        yield row


def _care_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    for page in _case_pages(session, flt):
        refs = {row.id: row.crime_ref for row in page}
        ids = list(refs)
        care = {row.case_id: row for row in session.execute(
            select(T_CARE.c.case_id, T_CARE.c.needs_assessed_at, T_CARE.c.enhanced_rights,
                   T_CARE.c.rights_explained_at, T_CARE.c.consent, T_CARE.c.consent_at,
                   T_CARE.c.last_update_at, T_CARE.c.vps_offered_at)
            .where(T_CARE.c.case_id.in_(ids)))}
        referrals: dict[int, dict[str, Any]] = defaultdict(dict)
        for row in session.execute(
            select(T_REFERRAL.c.case_id, T_REFERRAL.c.service, T_REFERRAL.c.referred_at,
                   T_REFERRAL.c.outcome)
            .where(T_REFERRAL.c.case_id.in_(ids))
            .order_by(T_REFERRAL.c.referred_at, T_REFERRAL.c.id)
        ):
            referrals[row.case_id][row.service] = row  # the latest per service
        for case_id in sorted(set(care) | set(referrals), key=lambda i: refs[i]):
            held = care.get(case_id)
            base = {
                "crime_ref": refs[case_id],
                "needs_assessed_at": held.needs_assessed_at if held else None,
                "enhanced_rights": held.enhanced_rights if held else None,
                "rights_explained_at": held.rights_explained_at if held else None,
                "consent": format_consent(held.consent) if held else None,
                "consent_at": held.consent_at if held else None,
                "last_update_at": held.last_update_at if held else None,
                "vps_offered_at": held.vps_offered_at if held else None,
                "service": None, "referred_at": None, "outcome": None,
            }
            services = referrals.get(case_id, {})
            if not services:
                yield base
            for service in sorted(services):
                row = services[service]
                yield {**base, "service": service, "referred_at": row.referred_at,
                       "outcome": row.outcome}


def _keyset(session: Session, stmt: Select[Any], key: Any) -> Iterator[Any]:
    last: str | None = None
    while True:
        page_stmt = stmt.order_by(key).limit(PAGE)
        if last is not None:
            page_stmt = page_stmt.where(key > last)
        page = session.execute(page_stmt).all()
        yield from page
        if len(page) < PAGE:
            return
        last = getattr(page[-1], key.key)


def _order_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    stmt = flt.where(
        select(T_ORDER.c.order_ref, T_CASE.c.crime_ref, T_ORDER.c.kind, T_ORDER.c.status,
               T_ORDER.c.applied_at, T_ORDER.c.granted_at, T_ORDER.c.served_at,
               T_ORDER.c.expires_at, T_ORDER.c.notification_due_at, T_ORDER.c.notified_at)
        .select_from(T_ORDER.join(T_CASE, T_CASE.c.id == T_ORDER.c.case_id))
    )
    for row in _keyset(session, stmt, T_ORDER.c.order_ref):
        yield dict(row._mapping)


def _breach_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    stmt = flt.where(
        select(T_BREACH.c.breach_ref, T_ORDER.c.order_ref, T_CASE.c.crime_ref,
               T_BREACH.c.occurred_at, T_BREACH.c.reported_at, T_BREACH.c.threats_or_violence,
               T_BREACH.c.acknowledged_by, T_BREACH.c.acknowledged_at,
               T_BREACH.c.acknowledgement_note, T_BREACH.c.manual_level.label("escalation_level"),
               T_BREACH.c.escalated_by, T_BREACH.c.escalated_at, T_BREACH.c.arrest_at,
               T_BREACH.c.reassessment_requested_at, T_BREACH.c.outcome)
        .select_from(
            T_BREACH.join(T_ORDER, T_ORDER.c.id == T_BREACH.c.order_id)
            .join(T_CASE, T_CASE.c.id == T_BREACH.c.breach_case_id)
        )
    )
    for row in _keyset(session, stmt, T_BREACH.c.breach_ref):
        yield dict(row._mapping)


READERS = {
    CRIMES: _crime_rows,
    RISK: _risk_rows,
    ORDERS: _order_rows,
    BREACHES: _breach_rows,
    VICTIM_CARE: _care_rows,
    SPO_DECISIONS: _spo_decision_rows,
    SEARCHES: _search_rows,
    MULTI_AGENCY: _multi_agency_rows,
    OFFICER_TRAINING: _training_rows,
    PROGRAMMES: _programme_rows,
    PERPETRATOR_REFERRALS: _perpetrator_referral_rows,
}


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
        {name: row[name] for name in COLUMNS[CRIMES]} for row in _crime_rows(session, flt))
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
    for page in _case_pages(session, flt):
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
            for count, row in enumerate(_crime_rows(session, flt), start=1):
                writer.writerow([csv_value(row.get(name)) for name in COLUMNS[CRIMES]])
                if count % 500 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        else:
            write_json(buffer, _crime_rows(session, flt), mark=marker)
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

