"""The action plan: loading the force's file, owners, the status history of
dated updates with figures frozen in, and the rendered plan, on SQLite and
PostgreSQL. The figures are those of the hand-made force of
tests/services/test_assurance_service.py (hand counts there)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from app.errors import BadInput, PermissionDenied
from app.reports.action_plan import render_plan_csv, render_plan_html, render_plan_markdown
from app.services.action_plan import (
    DEFAULT_FILE,
    action_plan,
    add_update,
    history,
    load_recommendations,
    read_file,
    set_owner,
)
from models import AuditEvent, User
from tests.services.test_assurance_service import FROM, TO, build_force

LATER = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _administrator(database) -> None:  # type: ignore[no-untyped-def]
    with database.write() as s:
        s.add(User(username="admin", display_name="IT Administrator", role="admin"))


def _load(make_context, user: str = "analyst"):  # type: ignore[no-untyped-def]
    return load_recommendations(make_context(user), text=read_file(DEFAULT_FILE),
                                where=str(DEFAULT_FILE), note="the shipped example")


def test_the_shipped_file_loads_every_recommendation(database, make_context) -> None:  # type: ignore[no-untyped-def]
    done = _load(make_context)
    numbers = [str(n) for n in range(7, 26)]
    assert list(done.created[:19]) == numbers
    assert {"2017-PIN", "2017-SEARCH", "2017-PROTOCOL", "2017-PROGRAMMES"} <= set(done.created)
    plan = action_plan(make_context("analyst"))
    by_number = {i.number: i for i in plan.items}
    assert by_number["7"].published_text.startswith("By 27 March 2025, where required")
    assert not by_number["7"].is_summary
    assert by_number["8"].is_summary and by_number["8"].published_text == ""
    assert by_number["12"].is_summary  # Vigil's theme only: the force fills in the text
    # loading the same file again changes nothing; the owner set in Vigil stays
    set_owner(make_context("analyst"), number="12", owner="D/Supt Example",
              evidence_requirement="monthly S-DASH audit")
    again = _load(make_context, "admin")
    assert again.created == () and again.changed == () and again.unchanged == 23
    assert {i.number: i.owner for i in action_plan(make_context("analyst")).items}["12"] == \
        "D/Supt Example"


def test_bad_files_name_the_entry_and_field(database, make_context) -> None:  # type: ignore[no-untyped-def]
    ctx = make_context("analyst")
    bad = ('[[recommendation]]\nnumber = "7"\nreport = "2024"\ntheme = "t"\n'
           'metrics = ["NO_SUCH"]\n')
    with pytest.raises(BadInput, match=r"f.toml: recommendation\[0\]: metrics: 'NO_SUCH'"):
        load_recommendations(ctx, text=bad, where="f.toml", note="n")
    twice = ('[[recommendation]]\nnumber = "7"\nreport = "2024"\ntheme = "t"\n'
             '[[recommendation]]\nnumber = "7"\nreport = "2024"\ntheme = "t"\n')
    with pytest.raises(BadInput, match=r"recommendation\[1\]: number: '7' is given twice"):
        load_recommendations(ctx, text=twice, where="f.toml", note="n")
    summary = ('[[recommendation]]\nnumber = "7"\nreport = "2024"\ntheme = "t"\n'
               'summary = true\npublished_text = "x"\n')
    with pytest.raises(BadInput, match="published_text: given with summary = true"):
        load_recommendations(ctx, text=summary, where="f.toml", note="n")
    with pytest.raises(PermissionDenied):
        _load(make_context, "supervisor.northern")


def test_status_history_with_figures_frozen_in(database, make_context) -> None:  # type: ignore[no-untyped-def]
    build_force(database)
    _load(make_context)
    first = add_update(make_context("analyst"), number="18", status="awaiting_review",
                       response="Initial response: searches and digital enquiries audited")
    assert first.figures == ()
    second = add_update(make_context("analyst", now=LATER), number="18",
                        status="being_progressed", response="Recorded on every file",
                        attach_figures=True, date_from=FROM, date_to=TO)
    figures = {f.code: (f.figure, f.basis) for f in second.figures}
    # hand counts of the assurance test force: 3, 2 and 2 of its 5 stalking cases
    assert figures == {"R18_SEARCHED": ("60.0%", "3 / 5"), "R18_ARRESTED": ("40.0%", "2 / 5"),
                       "R18_DIGITAL": ("40.0%", "2 / 5")}
    assert second.period == ("2026-01-01", "2026-02-28")
    assert "Numerator:" in second.figures[0].definition
    item = history(make_context("auditor"), "18")
    assert [(u.status, u.written_at) for u in item.updates] == [
        ("awaiting_review", first.written_at), ("being_progressed", LATER)]
    assert item.status == "being_progressed"
    # the administrator edits the plan but attaches no figures (sees no case data)
    with pytest.raises(BadInput, match="sees no case figures"):
        add_update(make_context("admin"), number="18", status="complete", response="done",
                   attach_figures=True, date_from=FROM, date_to=TO)
    add_update(make_context("admin"), number="18", status="complete", response="Closed")
    with pytest.raises(BadInput, match="--status"):
        add_update(make_context("analyst"), number="18", status="finished", response="x")
    with pytest.raises(PermissionDenied):
        add_update(make_context("supervisor.northern"), number="18", status="complete",
                   response="x")
    with database.read() as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.entity == "action_plan",
                                                    AuditEvent.entity_id == "18",
                                                    AuditEvent.action == "update")
                           .order_by(AuditEvent.id)).scalars().all()
    assert [(e.before, e.after["status"]) for e in events] == [
        ({"status": "awaiting_review"}, "awaiting_review"),
        ({"status": "awaiting_review"}, "being_progressed"),
        ({"status": "being_progressed"}, "complete")]


def test_the_plan_renders_in_the_published_layout(database, make_context) -> None:  # type: ignore[no-untyped-def]
    build_force(database)
    _load(make_context)
    add_update(make_context("analyst"), number="7", status="being_progressed",
               response="Included classifications searchable", attach_figures=True,
               date_from=FROM, date_to=TO)
    plan = action_plan(make_context("analyst"), date_from=FROM, date_to=TO)
    md = render_plan_markdown(plan)
    assert "| Rec No | Recommendation | Evidence requirements | Owner | Response | Update |" in md
    assert "Summary (published text not yet loaded)" in md
    csv_text = render_plan_csv(plan)
    assert csv_text.splitlines()[0].startswith("rec_no,report,recommendation,")
    html = render_plan_html(plan)
    assert 'id="rec-7"' in html and "<svg" in html
    for outside in ("href=", "src=", "<script", "@import", "url("):
        assert outside not in html
    # the administrator's copy has no figures
    admin_plan = action_plan(make_context("admin"), date_from=date(2026, 1, 1), date_to=TO)
    assert admin_plan.report is None
