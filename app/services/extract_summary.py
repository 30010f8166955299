"""The last extract applied, as the DMM queue shows it ("since the last
extract: 12 new crimes, 3 reclassified, 1 new breach"): a read of the import
log, kept apart from the import itself so the queue's screen does not load
the import machinery to show one line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.dates import format_local
from app.services.context import ServiceContext
from models import ImportBatch


@dataclass(frozen=True)
class ExtractSummary:
    """The last extract applied: when, by whom, from where, and its headline delta."""

    batch_id: int
    at: datetime
    username: str
    source: str
    totals: dict[str, int]
    rows: int

    def summary_line(self) -> str:
        """E.g. "since the last extract (02/03/2026 08:00, analyst): 12 new
        crimes, 3 reclassified, 1 new breach"."""
        return f"since the last extract ({format_local(self.at)}, {self.username}): " + \
            describe_totals(self.totals)


_PHRASES: tuple[tuple[str, str, str], ...] = (
    ("new_crimes", "new crime", "new crimes"),
    ("reclassified", "reclassified", "reclassified"),
    ("risk_changes", "risk level change", "risk level changes"),
    ("new_breaches", "new breach", "new breaches"),
    ("orders_granted", "order granted", "orders granted"),
    ("orders_expiring", "order expiring", "orders expiring"),
    ("cases_closed", "case closed", "cases closed"),
)


def describe_totals(totals: dict[str, int]) -> str:
    """``12 new crimes, 3 reclassified, 1 new breach`` (zeros left out)."""
    parts = []
    for key, one, many in _PHRASES:
        count = int(totals.get(key, 0) or 0)
        if count:
            parts.append(f"{count:,} {one if count == 1 else many}")
    return ", ".join(parts) if parts else "no changes"


def last_extract_summary(ctx: ServiceContext) -> ExtractSummary | None:
    """The newest applied extract, for "since the last extract" on the DMM queue."""
    with ctx.read() as session:
        batch = session.execute(
            select(ImportBatch).order_by(ImportBatch.started_at.desc(), ImportBatch.id.desc())
            .limit(1)
        ).scalars().first()
        if batch is None:
            return None
        files = (batch.counts or {}).get("files", {})
        return ExtractSummary(
            batch_id=batch.id,  # type: ignore[arg-type]
            at=batch.finished_at or batch.started_at,
            username=batch.username,
            source=batch.source,
            totals={k: int(v) for k, v in (batch.delta or {}).get("totals", {}).items()},
            rows=sum(int(f.get("read", 0)) for f in files.values()),
        )
