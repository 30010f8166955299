"""Import an RMS extract (a folder of CSV files) into Vigil.

Validation first, all or nothing: every problem in every file is collected
and reported as ``file:line: field: what is wrong``; with any problem nothing
is written. A valid extract is applied in ONE transaction (an interrupted
import leaves the database as it was), upserting by reference so the same
extract imported twice changes nothing the second time. The delta (new
crimes, reclassifications, risk level changes, new breaches, orders granted
or expiring, cases closed) is kept in ``import_batch`` and audited; the DMM
screen shows it as "since the last extract" (:func:`last_extract_summary`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.db import SYNTHETIC
from app.errors import BadInput, VigilError
from app.rms.apply import Applier
from app.rms.apply_pass import ExtractChanged
from app.rms.delta import DELTA_LIST_CAP, ApplyOutcome, FileCounts, ImportDelta
from app.rms.extract_files import TRAINING_SOURCE, ExtractFiles, find_extract_files
from app.rms.formats import Vocabulary, format_when
from app.rms.manifest import kind_problem
from app.rms.validate import ValidationReport, validate_extract
from app.services.audit_trail import audit_naming
from app.services.context import ServiceContext
from app.services.extract_summary import describe_totals
from app.services.permissions import Permission
from models import Case, Classification, ImportBatch
from models.enums import AuditAction
from seed.reference import classifications, install_reference

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ImportResult:
    """What an import found and did. ``ok`` is false when the extract had
    problems (``errors``, at most the first 1,000; ``error_count`` counts all):
    then nothing was written. A dry run (``dry_run``) reports what would
    change and writes nothing."""

    source: str
    files: tuple[str, ...]
    ignored: tuple[str, ...] = ()
    dry_run: bool = False
    errors: tuple[str, ...] = ()
    error_count: int = 0
    counts: tuple[FileCounts, ...] = ()
    delta: ImportDelta = field(default_factory=ImportDelta)
    batch_id: int | None = None
    people_created: int = 0
    cases_touched: int = 0
    rows_checked: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def count(self, file_name: str) -> FileCounts:
        for counts in self.counts:
            if counts.file == file_name:
                return counts
        return FileCounts(file=file_name)

    @property
    def changed(self) -> bool:
        return any(c.new or c.updated for c in self.counts)


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""

    def __init__(self, outcome: ApplyOutcome, changed: list[str]) -> None:
        super().__init__("dry run")
        self.outcome = outcome
        self.changed = changed


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _fingerprints(extract: ExtractFiles) -> dict[str, dict[str, Any]]:
    return {
        name: {"bytes": extract.path(name).stat().st_size, "sha256": _digest(extract.path(name))}
        for name in extract.files
    }


def _audit_role(ctx: ServiceContext) -> str:
    role = ctx.actor.role
    return f"trainer:{role}"[:16] if ctx.actor.is_trainer else role


def _item(value: Any) -> Any:
    if isinstance(value, str):
        return value
    return {k: format_when(v) if isinstance(v, datetime) else
            (list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(value).items()}


def delta_json(delta: ImportDelta) -> dict[str, Any]:
    """The delta as stored in ``import_batch.delta``: totals, and each list
    capped at :data:`app.rms.delta.DELTA_LIST_CAP` items."""
    stored: dict[str, Any] = {"totals": delta.totals(), "cap": DELTA_LIST_CAP}
    for kind in ImportDelta.KINDS:
        stored[kind] = [_item(item) for item in getattr(delta, kind).items]
    return stored


def _counts_json(outcome: ApplyOutcome, prints: dict[str, dict[str, Any]],
                 extract: ExtractFiles) -> dict[str, Any]:
    return {
        "files": {c.file: {"read": c.read, "new": c.new, "updated": c.updated,
                           "unchanged": c.unchanged, **prints.get(c.file, {})}
                  for c in outcome.counts},
        "people_created": outcome.people_created,
        "cases_touched": outcome.cases_touched,
        "ignored": list(extract.ignored),
    }


def describe_counts(counts: tuple[FileCounts, ...]) -> str:
    return "; ".join(f"{c.file} {c.read:,} read, {c.new:,} new, {c.updated:,} updated, "
                     f"{c.unchanged:,} unchanged" for c in counts)


def _ensure_reference(session: Any) -> None:
    present = set(session.execute(select(Classification.code)).scalars())
    if set(classifications()) - present:
        install_reference(session)
        session.flush()


def import_extract(ctx: ServiceContext, *, folder: Path | str, dry_run: bool = False,
                   progress: Progress | None = None) -> ImportResult:
    """Validate the extract in ``folder``, then (unless ``dry_run`` or it has
    problems) apply it in one transaction and record the delta."""
    ctx.require(Permission.IMPORT, entity="import", entity_id=str(folder)[:64])
    started = time.perf_counter()
    extract = find_extract_files(folder)
    check_source(ctx, extract)
    vocab = replace(Vocabulary.load(ctx.policy, ctx.now()), manifest=extract.manifest)
    prints = _fingerprints(extract)
    kind = ctx.database.database_kind()
    mixing = None if kind == SYNTHETIC else kind_problem(extract.manifest, kind)
    if mixing is not None:
        return ImportResult(source=str(extract.folder), files=extract.files,
                            ignored=extract.ignored, dry_run=dry_run, errors=(mixing,),
                            error_count=1, seconds=time.perf_counter() - started)

    def note(file_name: str, rows: int) -> None:
        if progress:
            progress(f"checked {rows:,} rows of {file_name}")

    with ctx.read() as session:
        report = validate_extract(session, extract, vocab, progress=note)
    try:
        return _apply(ctx, extract, report, vocab, prints, dry_run=dry_run, progress=progress,
                      started=started)
    finally:
        report.close()


def check_source(ctx: ServiceContext, extract: ExtractFiles) -> None:
    """Synthetic and live data never mix: a live (or evaluation) database
    refuses an extract exported from a training or synthetic one; a training
    database takes only those; a synthetic database (benchmarks, trying Vigil
    out) takes either."""
    kind = ctx.database.database_kind() or ("training" if ctx.training else "live")
    if kind == SYNTHETIC:
        return
    if kind == TRAINING_SOURCE and extract.source != TRAINING_SOURCE:
        marked = ("a live extract" if extract.manifest.present
                  else "unmarked (a live RMS extract)")
        raise BadInput(f"import: {extract.folder} is {marked}: a training database takes only "
                       "extracts exported from a training database; nothing was imported")
    if kind != TRAINING_SOURCE and extract.source == TRAINING_SOURCE:
        raise BadInput(f"import: {extract.folder} was exported from a TRAINING database "
                       "(synthetic data): a live database never takes it; nothing was imported")


def _collected(session: Any, applier: Applier) -> tuple[list[str], list[str]]:
    """The references of the cases the import created and of those it changed."""
    created = list(session.execute(
        select(Case.crime_ref).where(Case.id > applier.max_case_id).order_by(Case.id)).scalars())
    changed: list[str] = []
    touched = sorted(applier.touched)
    for start in range(0, len(touched), 5_000):
        changed += session.execute(select(Case.crime_ref).where(
            Case.id.in_(touched[start:start + 5_000])).order_by(Case.id)).scalars()
    return created, changed


def _apply(ctx: ServiceContext, extract: ExtractFiles, report: ValidationReport,
           vocab: Vocabulary, prints: dict[str, dict[str, Any]], *, dry_run: bool,
           progress: Progress | None, started: float) -> ImportResult:
    source = str(extract.folder)
    if not report.ok:
        return ImportResult(source=source, files=extract.files, ignored=extract.ignored,
                            dry_run=dry_run, errors=report.errors,
                            error_count=report.error_count, rows_checked=report.rows,
                            seconds=time.perf_counter() - started)

    def chunk_done(file_name: str, chunks: int) -> None:
        if progress and chunks % 10 == 0:
            progress(f"applied {chunks * 10_000:,} rows of {file_name}")

    batch_id: int | None = None
    try:
        with ctx.write() as session:
            _ensure_reference(session)
            conn = session.connection()
            previous = conn.execute(select(func.max(ImportBatch.started_at))).scalar()
            applier = Applier(conn, vocab, ctx.actor.username, _audit_role(ctx),
                              previous_import_at=previous, on_chunk=chunk_done)
            outcome = applier.apply(report.spools)
            if _fingerprints(extract) != prints:
                raise ExtractChanged(f"import: the files in {source} changed while they were "
                                     "being imported; nothing was written")
            created, changed = _collected(session, applier)
            if dry_run:
                raise _DryRun(outcome, changed)
            counts = _counts_json(outcome, prints, extract)
            batch = ImportBatch(started_at=vocab.now, finished_at=ctx.now(),
                                username=ctx.actor.username, source=source[:400],
                                counts=counts, delta=delta_json(outcome.delta))
            session.add(batch)
            session.flush()
            batch_id = batch.id
            # collection (DPA 2018 s62): the batch's event names every case it
            # created and every case it changed (no cap)
            audit_naming(ctx, session, AuditAction.IMPORT, "import", batch_id,
                         [*created, *changed],
                         reason=f"{source}: {describe_counts(outcome.counts)}; "
                                f"{describe_totals(outcome.delta.totals())}; "
                                f"{len(created):,} cases created, {len(changed):,} changed",
                         after={**counts, "cases_created": len(created),
                                "cases_changed": len(changed)})
    except _DryRun as signal:
        outcome = signal.outcome
        # a dry run compares the extract with the cases held: a consultation of them
        with ctx.write() as session:
            audit_naming(ctx, session, AuditAction.VIEW, "import", source[:64], signal.changed,
                         reason=f"import dry run of {source}: {describe_counts(outcome.counts)}; "
                                f"{len(signal.changed):,} cases held compared and would change",
                         after={"dry_run": True, "cases_compared": len(signal.changed)})
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise VigilError(f"import of {source} failed and was rolled back, nothing was "
                         f"written: {reason}") from None
    if batch_id is not None and (outcome.people_created
                                 or any(c.new or c.updated for c in outcome.counts)):
        # the planner's statistics follow what the import wrote; an extract that
        # changed nothing leaves them as they were (ANALYZE of a 100,000-case
        # force is 1.5 s of the server's CPU)
        ctx.database.refresh_statistics()
    return ImportResult(
        source=source, files=extract.files, ignored=extract.ignored, dry_run=dry_run,
        counts=outcome.counts, delta=outcome.delta, batch_id=batch_id,
        people_created=outcome.people_created, cases_touched=outcome.cases_touched,
        rows_checked=report.rows, seconds=time.perf_counter() - started,
    )
