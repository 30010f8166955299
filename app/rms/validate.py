"""The validation pass: read a whole extract, write nothing, and report every
problem as ``file:line: field: what is wrong``.

Memory stays bounded: rows are streamed, and only what later rows must be
checked against is kept (the references seen so far, with their line). A
reference not in the extract is looked up in the database in batches.
"""

from __future__ import annotations

import marshal
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import BadInput
from app.rms.formats import (
    BREACHES,
    COLUMNS,
    CRIMES,
    FILE_ORDER,
    FORMAT1_FILES,
    FORMAT2_FILES,
    MULTI_AGENCY,
    OFFICER_TRAINING,
    ORDERS,
    PARSERS,
    PERPETRATOR_REFERRALS,
    PROGRAMMES,
    RECORDS,
    RISK,
    SEARCHES,
    SPO_DECISIONS,
    TIME_FIELDS,
    VICTIM_CARE,
    BreachRecord,
    CareRecord,
    CrimeRecord,
    Errors,
    MultiAgencyRecord,
    OrderRecord,
    PerpetratorReferralRecord,
    ProgrammeRecord,
    Record,
    RiskRecord,
    SearchRow,
    SpoDecisionRecord,
    TrainingRow,
    Vocabulary,
    read_rows,
    record_from_plain,
    record_to_plain,
)
from app.rms.manifest import (
    MANIFEST,
    TRAINING_SOURCES,
    Manifest,
    ManifestError,
    file_problems,
    read_manifest,
    read_marker,
)
from models import Case, PerpetratorProgramme, ProtectiveOrder

# Errors kept for the report (all are counted); the CLI prints fewer.
MAX_KEPT_ERRORS = 1000
# References looked up in the database per query.
LOOKUP_BATCH = 5000
_CARE_FIELDS = ("needs_assessed_at", "enhanced_rights", "rights_explained_at", "consent",
                "consent_at", "last_update_at", "vps_offered_at")
# A risk assessment is made on the crime reported: one dated this long before
# the report belongs to another crime (or a mistyped year).
ASSESSMENT_LEAD = timedelta(days=31)

LIVE_SOURCE = "live"
TRAINING_SOURCE = "training"


@dataclass(frozen=True)
class ExtractFiles:
    """The extract files found in a folder, in the order they are applied.
    ``source`` is where the extract comes from: a Vigil manifest says live or
    training; a folder without one (an RMS extract, or a Vigil export before
    manifests) is a live extract; the manifest also says how the export
    guarded formula prefixes, which the import takes off (app.rms.formats)."""

    folder: Path
    files: tuple[str, ...]
    ignored: tuple[str, ...] = ()
    manifest: Manifest = Manifest()
    # problems with manifest.json, or format 2 files in a format 1 folder
    problems: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """``training`` for rows of a training (or synthetic) database, else ``live``."""
        kind = self.manifest.source_kind
        return TRAINING_SOURCE if kind in TRAINING_SOURCES else LIVE_SOURCE

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def format_version(self) -> int:
        return self.manifest.format_version


def find_extract_files(folder: Path | str) -> ExtractFiles:
    """The extract files in ``folder`` and its manifest (format 1 without one);
    :class:`BadInput` when there are no extract files."""
    path = Path(folder).expanduser()
    if not path.exists():
        raise BadInput(f"import: {path} does not exist")
    if not path.is_dir():
        raise BadInput(f"import: {path} is not a folder (give the folder holding the CSV files)")
    present = {p.name for p in path.iterdir() if p.is_file()}
    files = tuple(name for name in FILE_ORDER if name in present)
    if not files:
        raise BadInput(f"import: {path} holds none of {', '.join(FORMAT1_FILES)} "
                       f"(format 2 also {', '.join(FORMAT2_FILES)})")
    ignored = tuple(sorted(name for name in present
                           if name.lower().endswith(".csv") and name not in COLUMNS))
    problems: list[str] = []
    try:
        manifest = read_manifest(path)
    except ManifestError as exc:
        manifest = Manifest()
        problems.extend(exc.problems)
    if not manifest.present and not problems:
        # single files exported from a database that is not live carry a marker line
        marked: dict[str, Manifest] = {}
        for name in files:
            try:
                found = read_marker(path / name)
            except ManifestError as exc:
                problems.extend(exc.problems)
                continue
            if found is not None:
                marked[name] = found
        if marked:
            kinds = {m.source_kind for m in marked.values()}
            unmarked = [name for name in files if name not in marked]
            if len(kinds) > 1 or unmarked:
                problems.append(f"{sorted(marked)[0]}:1: source_kind: the folder mixes files "
                                f"of different databases ({', '.join(sorted(marked))} marked "
                                f"{', '.join(sorted(str(k) for k in kinds))}"
                                + (f"; {', '.join(unmarked)} unmarked" if unmarked else "")
                                + ")")
            else:
                manifest = next(iter(marked.values()))
    if manifest.format_version < 2 and not problems:
        for name in files:
            if name in FORMAT2_FILES:
                problems.append(f"{name}:1: header: a format 2 file; give the folder a "
                                f"{MANIFEST} with format_version 2")
    # a folder mixing files of two exports is refused (the manifest lists each
    # file's SHA-256)
    problems.extend(file_problems(path, manifest, files))
    return ExtractFiles(folder=path.resolve(), files=files, ignored=ignored, manifest=manifest,
                        problems=tuple(problems))


SPOOL_CHUNK = 10_000


class Spool:
    """The parsed records of one file, marshalled in chunks to a temporary
    file, so that the apply pass writes exactly what was checked without
    reading and parsing the CSV a second time."""

    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.cls = RECORDS[file_name]
        self.times = TIME_FIELDS[file_name]
        self.handle = tempfile.TemporaryFile(prefix="vigil-import-")
        self.buffer: list[tuple[object, ...]] = []
        self.count = 0

    def add(self, record: Record) -> None:
        self.buffer.append(record_to_plain(record, self.times))
        self.count += 1
        if len(self.buffer) >= SPOOL_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self.buffer:
            data = marshal.dumps(self.buffer)
            self.handle.write(len(data).to_bytes(8, "little"))
            self.handle.write(data)
            self.buffer = []

    def records(self) -> Iterator[Record]:
        self._flush()
        self.handle.seek(0)
        while size := int.from_bytes(self.handle.read(8), "little"):
            chunk = marshal.loads(self.handle.read(size))
            for values in chunk:
                yield record_from_plain(self.cls, values, self.times)

    def close(self) -> None:
        self.buffer = []
        self.handle.close()


@dataclass(frozen=True)
class ValidationReport:
    extract: ExtractFiles
    rows: dict[str, int]
    errors: tuple[str, ...]
    error_count: int
    # the parsed records of each file; only when there were no problems
    spools: dict[str, Spool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def close(self) -> None:
        for spool in self.spools.values():
            spool.close()


@dataclass
class _Collector:
    kept: list[tuple[int, int, int, str]] = field(default_factory=list)
    count: int = 0

    def add(self, file_name: str, line: int, field_name: str, problem: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_KEPT_ERRORS:
            self.kept.append((FILE_ORDER.index(file_name), line, self.count,
                              f"{file_name}:{line}: {field_name}: {problem}"))

    def sorted(self) -> tuple[str, ...]:
        return tuple(text for *_key, text in sorted(self.kept))


class _ReferenceCheck:
    """References that must exist in the extract or in the database. Those not
    in the extract are looked up in batches."""

    def __init__(self, session: Session, column: object, errors: _Collector) -> None:
        self.session = session
        self.column = column
        self.errors = errors
        self.pending: list[tuple[str, str, int, str, str]] = []

    def need(self, ref: str, file_name: str, line: int, field_name: str, where: str) -> None:
        self.pending.append((ref, file_name, line, field_name, where))
        if len(self.pending) >= LOOKUP_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        refs = {item[0] for item in self.pending}
        found = set(self.session.execute(
            select(self.column).where(self.column.in_(refs))  # type: ignore[attr-defined]
        ).scalars())
        for ref, file_name, line, field_name, where in self.pending:
            if ref not in found:
                self.errors.add(file_name, line, field_name,
                                f"'{ref}' is not in {where} or in Vigil")
        self.pending.clear()


class _CaseFold:
    """Crime references that differ only in letter case: within crimes.csv
    and against Vigil (through the lower-case unique index)."""

    def __init__(self, session: Session, errors: _Collector) -> None:
        self.session = session
        self.errors = errors
        self.seen: dict[int, tuple[str, int]] = {}
        self.pending: list[tuple[str, int]] = []

    def add(self, ref: str, line: int) -> None:
        folded = ref.lower()
        earlier = self.seen.get(hash(folded))
        if earlier is not None and earlier[0] != ref and earlier[0].lower() == folded:
            self.errors.add(CRIMES, line, "crime_ref",
                            f"'{ref}' differs only in letter case from '{earlier[0]}' on line "
                            f"{earlier[1]}: a crime reference names one crime")
        elif earlier is None:
            self.seen[hash(folded)] = (ref, line)
        self.pending.append((ref, line))
        if len(self.pending) >= LOOKUP_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        folded = {ref.lower() for ref, _line in self.pending}
        held = {ref.lower(): ref for ref in self.session.execute(
            select(Case.crime_ref).where(func.lower(Case.crime_ref).in_(folded))).scalars()}
        for ref, line in self.pending:
            other = held.get(ref.lower())
            if other is not None and other != ref:
                self.errors.add(CRIMES, line, "crime_ref",
                                f"'{ref}' differs only in letter case from '{other}' in Vigil: "
                                "write the reference as Vigil holds it")
        self.pending.clear()


class _DateOrder:
    """Facts the services refuse, refused here too: a breach before its order
    was granted, an order served before it was granted, an assessment dated
    long before its crime was reported. Dates come from the extract or, for
    references not in it, from Vigil (in batches)."""

    def __init__(self, session: Session, errors: _Collector) -> None:
        self.session = session
        self.errors = errors
        self.reported: dict[str, float] = {}  # crime_ref -> reported_at (epoch seconds)
        self.granted: dict[str, float | None] = {}  # order_ref -> granted_at
        self.risk_pending: list[RiskRecord] = []
        self.breach_pending: list[BreachRecord] = []

    def crime(self, record: CrimeRecord) -> None:
        self.reported[record.crime_ref] = record.reported_at.timestamp()

    def order(self, record: OrderRecord) -> None:
        granted = record.granted_at
        self.granted[record.order_ref] = granted.timestamp() if granted else None
        # compared to the minute: records management systems record minutes
        if granted and record.served_at and _minute(record.served_at) < _minute(granted):
            self.errors.add(ORDERS, record.line, "served_at",
                            f"{_shown(record.served_at)} is before the order was granted "
                            f"({_shown(granted)})")

    def risk(self, record: RiskRecord) -> None:
        self.risk_pending.append(record)
        if len(self.risk_pending) >= LOOKUP_BATCH:
            self.flush()

    def breach(self, record: BreachRecord) -> None:
        self.breach_pending.append(record)
        if len(self.breach_pending) >= LOOKUP_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.risk_pending:
            wanted = {r.crime_ref for r in self.risk_pending} - set(self.reported)
            held = dict(self.session.execute(
                select(Case.crime_ref, Case.reported_at).where(Case.crime_ref.in_(wanted))
            ).all()) if wanted else {}
            for record in self.risk_pending:
                stamp = self.reported.get(record.crime_ref)
                reported = (datetime.fromtimestamp(stamp, tz=record.assessed_at.tzinfo)
                            if stamp is not None else held.get(record.crime_ref))
                if reported is not None and record.assessed_at < reported - ASSESSMENT_LEAD:
                    self.errors.add(RISK, record.line, "assessed_at",
                                    f"{_shown(record.assessed_at)} is long before crime "
                                    f"'{record.crime_ref}' was reported ({_shown(reported)}): "
                                    "an assessment is made on the crime reported")
            self.risk_pending.clear()
        if self.breach_pending:
            wanted = {b.order_ref for b in self.breach_pending} - set(self.granted)
            held = dict(self.session.execute(
                select(ProtectiveOrder.order_ref, ProtectiveOrder.granted_at)
                .where(ProtectiveOrder.order_ref.in_(wanted))
            ).all()) if wanted else {}
            for record in self.breach_pending:
                if record.order_ref in self.granted:
                    stamp = self.granted[record.order_ref]
                    granted = (datetime.fromtimestamp(stamp, tz=record.occurred_at.tzinfo)
                               if stamp is not None else None)
                else:
                    granted = held.get(record.order_ref)
                if granted is not None and record.occurred_at < granted:
                    self.errors.add(BREACHES, record.line, "occurred_at",
                                    f"{_shown(record.occurred_at)} is before order "
                                    f"'{record.order_ref}' was granted ({_shown(granted)}): "
                                    "an order cannot be breached before it exists")
            self.breach_pending.clear()


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _shown(moment: datetime) -> str:
    return moment.isoformat()


def _raw(values: dict[str, str], name: str) -> str:
    return (values.get(name) or "").strip()


def _row_key(file_name: str, values: dict[str, str],
             record: object) -> tuple[object, str, str] | None:
    """What identifies a row in its file: (key, field to blame, key as shown)."""
    if file_name == CRIMES or file_name == ORDERS:
        name = "crime_ref" if file_name == CRIMES else "order_ref"
        ref = _raw(values, name)
        return (ref, name, f"'{ref}'") if ref else None
    if file_name == BREACHES and isinstance(record, BreachRecord):
        return record.breach_ref, "breach_ref", f"'{record.breach_ref}'"
    if file_name == RISK and isinstance(record, RiskRecord):
        return ((record.crime_ref, record.assessed_at, record.tool), "assessed_at",
                f"the {record.tool} assessment of '{record.crime_ref}' at "
                f"{_raw(values, 'assessed_at')}")
    if file_name == SPO_DECISIONS and isinstance(record, SpoDecisionRecord):
        return ((record.crime_ref, record.decided_at, record.status), "decided_at",
                f"the {record.status} SPO decision on '{record.crime_ref}' at "
                f"{_raw(values, 'decided_at')}")
    if file_name == SEARCHES and isinstance(record, SearchRow):
        return ((record.crime_ref, record.power, record.conducted_at), "conducted_at",
                f"the {record.power} search on '{record.crime_ref}' at "
                f"{_raw(values, 'conducted_at')}")
    if file_name == MULTI_AGENCY and isinstance(record, MultiAgencyRecord):
        return ((record.crime_ref, record.kind, record.referred_at), "referred_at",
                f"the {record.kind} referral of '{record.crime_ref}' at "
                f"{_raw(values, 'referred_at')}")
    if file_name == OFFICER_TRAINING and isinstance(record, TrainingRow):
        return ((record.officer, record.course, record.completed_on), "completed_on",
                f"the {record.course} course of '{record.officer}' on {record.completed_on}")
    if file_name == PROGRAMMES and isinstance(record, ProgrammeRecord):
        return record.code, "code", f"programme '{record.code}'"
    if file_name == PERPETRATOR_REFERRALS and isinstance(record, PerpetratorReferralRecord):
        return ((record.crime_ref, record.programme_code, record.referred_at), "referred_at",
                f"the {record.programme_code} referral of '{record.crime_ref}' at "
                f"{_raw(values, 'referred_at')}")
    if file_name == VICTIM_CARE and isinstance(record, CareRecord):
        if record.service:
            return ((record.crime_ref, record.service), "service",
                    f"the {record.service} referral of '{record.crime_ref}'")
        return (record.crime_ref, ""), "crime_ref", f"'{record.crime_ref}' (no service)"
    return None


@dataclass
class _FileScan:
    """Duplicates and victim-care conflicts in one file, in bounded memory.

    The first pass keeps 64-bit hashes, not the keys; a line whose hash was
    seen before is a suspect. Suspects (rare: they are errors) are confirmed,
    and the earlier line found, by :func:`_rescan` reading the file again, so
    a hash collision never becomes a false error."""

    hashes: set[int] = field(default_factory=set)
    repeat_lines: set[int] = field(default_factory=set)
    repeat_hashes: set[int] = field(default_factory=set)
    care_refs: set[int] = field(default_factory=set)
    care_values: set[int] = field(default_factory=set)
    conflict_lines: set[int] = field(default_factory=set)
    conflict_refs: set[int] = field(default_factory=set)

    def key(self, key: object, line: int, exact: set[str] | None = None) -> None:
        if exact is not None:  # the set of references itself, kept for other files
            if key in exact:
                self.repeat_lines.add(line)
                self.repeat_hashes.add(hash(key))
            else:
                exact.add(key)  # type: ignore[arg-type]
            return
        digest = hash(key)
        if digest in self.hashes:
            self.repeat_lines.add(line)
            self.repeat_hashes.add(digest)
        else:
            self.hashes.add(digest)

    def care(self, record: CareRecord, line: int) -> None:
        ref = hash(record.crime_ref)
        values = hash((record.crime_ref, record.care_values))
        if ref not in self.care_refs:
            self.care_refs.add(ref)
            self.care_values.add(values)
        elif values not in self.care_values:
            self.conflict_lines.add(line)
            self.conflict_refs.add(ref)

    @property
    def suspects(self) -> bool:
        return bool(self.repeat_lines or self.conflict_lines)


def _rescan(extract: ExtractFiles, file_name: str, vocab: Vocabulary, scan: _FileScan,
            errors: _Collector) -> None:
    parse = PARSERS[file_name]
    first: dict[object, int] = {}
    care_first: dict[str, tuple[int, tuple[object, ...]]] = {}
    for line, values in read_rows(extract.path(file_name), file_name, lambda *_: None,
                                  extract.format_version):
        record = parse(values, line, vocab, [])
        found = _row_key(file_name, values, record)
        if found is not None and hash(found[0]) in scan.repeat_hashes:
            key, field_name, shown = found
            if key in first and line in scan.repeat_lines:
                errors.add(file_name, line, field_name, f"{shown} is also on line {first[key]}")
            else:
                first.setdefault(key, line)
        if (isinstance(record, CareRecord) and record.has_care
                and hash(record.crime_ref) in scan.conflict_refs):
            earlier = care_first.get(record.crime_ref)
            if earlier is None:
                care_first[record.crime_ref] = (line, record.care_values)
            elif line in scan.conflict_lines:
                for name, old, new in zip(_CARE_FIELDS, earlier[1], record.care_values,
                                          strict=True):
                    if old != new:
                        errors.add(file_name, line, name,
                                   f"differs from line {earlier[0]} for the same crime_ref")
                        break


def validate_extract(session: Session, extract: ExtractFiles, vocab: Vocabulary,
                     *, progress: Callable[[str, int], None] | None = None) -> ValidationReport:
    """Check every row of every file of ``extract``; write nothing."""
    if vocab.manifest != extract.manifest:
        vocab = replace(vocab, manifest=extract.manifest)
    errors = _Collector()
    if extract.problems:
        return ValidationReport(extract=extract, rows={}, errors=extract.problems,
                                error_count=len(extract.problems))
    rows: dict[str, int] = {}
    crime_refs: set[str] = set()
    order_refs: set[str] = set()
    crimes = _ReferenceCheck(session, Case.crime_ref, errors)
    orders = _ReferenceCheck(session, ProtectiveOrder.order_ref, errors)
    checks = _Checks(_CaseFold(session, errors), _DateOrder(session, errors),
                     _ReferenceCheck(session, PerpetratorProgramme.code, errors))

    if PROGRAMMES in extract.files:
        checks.programmes_where = PROGRAMMES
    spools: dict[str, Spool] = {}
    try:
        for file_name in extract.files:
            _check_file(session, extract, file_name, vocab, errors, rows, spools, crime_refs,
                        order_refs, crimes, orders, progress, checks)
    except BaseException:
        for spool in spools.values():
            spool.close()
        raise
    if errors.count:
        for spool in spools.values():
            spool.close()
        spools = {}
    return ValidationReport(extract=extract, rows=rows, errors=errors.sorted(),
                            error_count=errors.count, spools=spools)


@dataclass
class _Checks:
    case_fold: _CaseFold
    dates: _DateOrder
    # programme codes a perpetrator referral names: in the extract or in Vigil
    programmes: _ReferenceCheck | None = None
    programme_codes: set[str] = field(default_factory=set)
    programmes_where: str = "the extract"

    def record(self, record: object) -> None:
        if isinstance(record, ProgrammeRecord):
            self.programme_codes.add(record.code)
        elif (isinstance(record, PerpetratorReferralRecord) and self.programmes is not None
              and record.programme_code not in self.programme_codes):
            self.programmes.need(record.programme_code, PERPETRATOR_REFERRALS, record.line,
                                 "programme_code", self.programmes_where)
        if isinstance(record, CrimeRecord):
            self.case_fold.add(record.crime_ref, record.line)
            self.dates.crime(record)
        elif isinstance(record, OrderRecord):
            self.dates.order(record)
        elif isinstance(record, RiskRecord):
            self.dates.risk(record)
        elif isinstance(record, BreachRecord):
            self.dates.breach(record)

    def flush(self) -> None:
        self.case_fold.flush()
        self.dates.flush()
        if self.programmes is not None:
            self.programmes.flush()


def _check_file(session: Session, extract: ExtractFiles, file_name: str, vocab: Vocabulary,
                errors: _Collector, rows: dict[str, int], spools: dict[str, Spool],
                crime_refs: set[str], order_refs: set[str], crimes: _ReferenceCheck,
                orders: _ReferenceCheck, progress: Callable[[str, int], None] | None,
                checks: _Checks) -> None:
    crimes_where = CRIMES if CRIMES in extract.files else "the extract"
    orders_where = ORDERS if ORDERS in extract.files else "the extract"
    parse = PARSERS[file_name]
    scan = _FileScan()
    spool = spools[file_name] = Spool(file_name)
    exact = crime_refs if file_name == CRIMES else order_refs if file_name == ORDERS else None
    count = 0

    def problem(line: int, field_name: str, text: str, _file: str = file_name) -> None:
        errors.add(_file, line, field_name, text)

    for line, values in read_rows(extract.path(file_name), file_name, problem,
                                  extract.format_version):
        count += 1
        if progress and count % 100_000 == 0:
            progress(file_name, count)
        row_errors: Errors = []
        record = parse(values, line, vocab, row_errors)
        for field_name, text in row_errors:
            errors.add(file_name, line, field_name, text)
        if record is not None:
            checks.record(record)
        if record is not None and not errors.count:
            spool.add(record)
        found = _row_key(file_name, values, record)
        if found is not None:
            scan.key(found[0], line, exact)
        if file_name == CRIMES:
            continue

        crime_ref = _raw(values, "crime_ref")
        if crime_ref and crime_ref not in crime_refs and not any(
            f == "crime_ref" for f, _ in row_errors
        ):
            crimes.need(crime_ref, file_name, line, "crime_ref", crimes_where)
        if isinstance(record, BreachRecord) and record.order_ref not in order_refs:
            orders.need(record.order_ref, file_name, line, "order_ref", orders_where)
        elif isinstance(record, CareRecord) and record.has_care:
            scan.care(record, line)
    crimes.flush()
    orders.flush()
    checks.flush()
    rows[file_name] = count
    if scan.suspects:
        _rescan(extract, file_name, vocab, scan, errors)


def format_errors(errors: Iterable[str], total: int, limit: int = 200) -> str:
    """The first ``limit`` errors, then how many more there are."""
    shown = list(errors)[:limit]
    lines = list(shown)
    if total > len(shown):
        lines.append(f"... and {total - len(shown)} more")
    return "\n".join(lines)
