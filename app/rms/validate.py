"""The validation pass: read a whole extract, write nothing, and report every
problem as ``file:line: field: what is wrong``.

Memory stays bounded: rows are streamed, and only what later rows must be
checked against is kept (the references seen so far, with their line). A
reference not in the extract is looked up in the database in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from sqlalchemy.orm import Session

from app.rms.cross_checks import (
    CaseFold,
    DateOrder,
    ErrorCollector,
    RecordChecks,
    ReferenceCheck,
)
from app.rms.extract_files import ExtractFiles
from app.rms.formats import (
    BREACHES,
    CRIMES,
    MULTI_AGENCY,
    OFFICER_TRAINING,
    ORDERS,
    PARSERS,
    PERPETRATOR_REFERRALS,
    PROGRAMMES,
    RISK,
    SEARCHES,
    SPO_DECISIONS,
    VICTIM_CARE,
    BreachRecord,
    CareRecord,
    Errors,
    MultiAgencyRecord,
    PerpetratorReferralRecord,
    ProgrammeRecord,
    RiskRecord,
    SearchRow,
    SpoDecisionRecord,
    TrainingRow,
    Vocabulary,
    read_rows,
)
from app.rms.spool import Spool
from models import Case, PerpetratorProgramme, ProtectiveOrder

_CARE_FIELDS = ("needs_assessed_at", "enhanced_rights", "rights_explained_at", "consent",
                "consent_at", "last_update_at", "vps_offered_at")


class RowKey(NamedTuple):
    """What identifies a row in its file, the field to blame for a repeat and
    the key as a message shows it."""

    key: object
    field_name: str
    shown: str


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


def _raw(values: dict[str, str], name: str) -> str:
    return (values.get(name) or "").strip()


def _row_key(file_name: str, values: dict[str, str],
             record: object) -> RowKey | None:
    """What identifies a row in its file."""
    if file_name == CRIMES or file_name == ORDERS:
        name = "crime_ref" if file_name == CRIMES else "order_ref"
        ref = _raw(values, name)
        return RowKey(ref, name, f"'{ref}'") if ref else None
    if file_name == BREACHES and isinstance(record, BreachRecord):
        return RowKey(record.breach_ref, "breach_ref", f"'{record.breach_ref}'")
    if file_name == RISK and isinstance(record, RiskRecord):
        return RowKey((record.crime_ref, record.assessed_at, record.tool), "assessed_at",
                      f"the {record.tool} assessment of '{record.crime_ref}' at "
                      f"{_raw(values, 'assessed_at')}")
    if file_name == SPO_DECISIONS and isinstance(record, SpoDecisionRecord):
        return RowKey((record.crime_ref, record.decided_at, record.status), "decided_at",
                      f"the {record.status} SPO decision on '{record.crime_ref}' at "
                      f"{_raw(values, 'decided_at')}")
    if file_name == SEARCHES and isinstance(record, SearchRow):
        return RowKey((record.crime_ref, record.power, record.conducted_at), "conducted_at",
                      f"the {record.power} search on '{record.crime_ref}' at "
                      f"{_raw(values, 'conducted_at')}")
    if file_name == MULTI_AGENCY and isinstance(record, MultiAgencyRecord):
        return RowKey((record.crime_ref, record.kind, record.referred_at), "referred_at",
                      f"the {record.kind} referral of '{record.crime_ref}' at "
                      f"{_raw(values, 'referred_at')}")
    if file_name == OFFICER_TRAINING and isinstance(record, TrainingRow):
        return RowKey((record.officer, record.course, record.completed_on), "completed_on",
                      f"the {record.course} course of '{record.officer}' on {record.completed_on}")
    if file_name == PROGRAMMES and isinstance(record, ProgrammeRecord):
        return RowKey(record.code, "code", f"programme '{record.code}'")
    if file_name == PERPETRATOR_REFERRALS and isinstance(record, PerpetratorReferralRecord):
        return RowKey((record.crime_ref, record.programme_code, record.referred_at), "referred_at",
                      f"the {record.programme_code} referral of '{record.crime_ref}' at "
                      f"{_raw(values, 'referred_at')}")
    if file_name == VICTIM_CARE and isinstance(record, CareRecord):
        if record.service:
            return RowKey((record.crime_ref, record.service), "service",
                          f"the {record.service} referral of '{record.crime_ref}'")
        return RowKey((record.crime_ref, ""), "crime_ref", f"'{record.crime_ref}' (no service)")
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
            errors: ErrorCollector) -> None:
    parse = PARSERS[file_name]
    first: dict[object, int] = {}
    care_first: dict[str, tuple[int, tuple[object, ...]]] = {}
    for line, values in read_rows(extract.path(file_name), file_name, lambda *_: None,
                                  extract.format_version):
        record = parse(values, line, vocab, [])
        found = _row_key(file_name, values, record)
        if found is not None and hash(found.key) in scan.repeat_hashes:
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
                first_line, first_values = earlier
                for name, old, new in zip(_CARE_FIELDS, first_values, record.care_values,
                                          strict=True):
                    if old != new:
                        errors.add(file_name, line, name,
                                   f"differs from line {first_line} for the same crime_ref")
                        break


def validate_extract(session: Session, extract: ExtractFiles, vocab: Vocabulary,
                     *, progress: Callable[[str, int], None] | None = None) -> ValidationReport:
    """Check every row of every file of ``extract``; write nothing."""
    if vocab.manifest != extract.manifest:
        vocab = replace(vocab, manifest=extract.manifest)
    errors = ErrorCollector()
    if extract.problems:
        return ValidationReport(extract=extract, rows={}, errors=extract.problems,
                                error_count=len(extract.problems))
    rows: dict[str, int] = {}
    crime_refs: set[str] = set()
    order_refs: set[str] = set()
    crimes = ReferenceCheck(session, Case.crime_ref, errors)
    orders = ReferenceCheck(session, ProtectiveOrder.order_ref, errors)
    checks = RecordChecks(CaseFold(session, errors), DateOrder(session, errors),
                     ReferenceCheck(session, PerpetratorProgramme.code, errors))

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


def _check_file(session: Session, extract: ExtractFiles, file_name: str, vocab: Vocabulary,
                errors: ErrorCollector, rows: dict[str, int], spools: dict[str, Spool],
                crime_refs: set[str], order_refs: set[str], crimes: ReferenceCheck,
                orders: ReferenceCheck, progress: Callable[[str, int], None] | None,
                checks: RecordChecks) -> None:
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
            scan.key(found.key, line, exact)
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
