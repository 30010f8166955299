"""A case as a row of a case list, the same on the case list (home) and in
search results: its columns (search adds the case's flags and gives some
columns other widths) and its cells."""

from __future__ import annotations

from app.output import cell_text
from app.sanitise import clean_text
from app.services.search import CaseRow
from app.widgets.columns import Col


def case_columns(*, codes: int, risk: int, pair: int, summary: int,
                 flags: bool = False) -> tuple[Col, ...]:
    """The columns of a case list, with the widths given (in cells)."""
    return (
        Col("crime_ref", "Crime ref", 12, keep=True),
        Col("reported", "Reported", 16, keep=True),
        Col("area", "Area", 9),
        Col("codes", "Classification", codes),
        Col("risk", "Risk", risk),
        Col("team", "Team", 13),
        Col("status", "Status", 6),
        *((Col("flags", "Flags", 12),) if flags else ()),
        Col("pair", "Victim → suspect", pair),
        Col("summary", "Summary", summary, flex=1, min=12),
    )


def case_cells(row: CaseRow, *, summary_chars: int, flags: bool = False) -> tuple[str, ...]:
    """The cells of ``row`` under :func:`case_columns` (the summary cut to
    ``summary_chars``)."""
    marks = " ".join(mark for mark, on in (("online", row.online), ("DA", row.domestic_abuse),
                                           ("PIN", row.pin_issued)) if on)
    return (
        row.crime_ref,
        cell_text(row.reported_at),
        row.area_command,
        row.principal_code + (f" +{','.join(row.included_codes)}" if row.included_codes else ""),
        row.risk_level or "—",
        row.allocation_team or "unallocated",
        row.status,
        *((marks,) if flags else ()),
        f"{row.victim_ref} → {row.suspect_ref or '?'}",
        clean_text(row.summary, keep_newlines=False)[:summary_chars],
    )
