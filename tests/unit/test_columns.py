"""Column widths from content and the table's width (app.widgets.columns)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.widgets.columns import Col, content_widths, fit_widths

COLS = (
    Col("ref", "Crime ref", 12, keep=True),
    Col("team", "Team", 13, min=5),
    Col("risk", "Risk", 10, min=4),
    Col("summary", "Summary", 20, flex=1, min=10),
)


def test_wide_table_gives_free_text_what_is_left() -> None:
    widths = fit_widths(COLS, 220, contents={"ref": 12, "team": 13, "risk": 10})
    assert widths["ref"] == 12 and widths["team"] == 13 and widths["risk"] == 10
    assert sum(widths.values()) + 2 * len(COLS) == 220
    assert widths["summary"] == 220 - 8 - 35


def test_narrow_table_shrinks_the_others_never_the_reference() -> None:
    widths = fit_widths(COLS, 40, contents={"ref": 12, "team": 13, "risk": 10})
    assert widths["ref"] == 12
    assert widths["team"] >= 5 and widths["risk"] >= 4
    assert widths["summary"] == 10


def test_content_widens_a_kept_column_beyond_its_declaration() -> None:
    widths = fit_widths(COLS, 100, contents={"ref": 16})
    assert widths["ref"] == 16


def test_before_any_row_the_declared_width_holds() -> None:
    assert fit_widths(COLS, 30)["ref"] == 12


def test_content_widths_read_text_cells() -> None:
    rows = [("NC/26/000412", "CID", "high", "x"), ("TR/26/1000", "Safeguarding", "", "")]
    assert content_widths(COLS, rows) == {"ref": 12, "team": 12, "risk": 4, "summary": 1}


@given(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=30))
def test_keep_columns_never_cut_at_any_width(available: int, ref: int) -> None:
    widths = fit_widths(COLS, available, contents={"ref": ref, "team": 13})
    assert widths["ref"] >= max(ref, len("Crime ref"))
    assert all(w >= 1 for w in widths.values())
