"""The screening screen: run, the ranked queue with highlighted evidence,
an analyst's flag and a supervisor's decision (the pilot), filtering, the
feedback panel, and a snapshot."""

from __future__ import annotations

from rich.console import Group
from sqlmodel import select
from textual.widgets import DataTable, Input, Select, Static

from app.app import VigilApp
from app.db import Database
from models import AuditEvent, Case, IncludedClassification, ScreeningFlag
from screens.dialogs import ReasonDialog
from screens.screening import HIGHLIGHT, FlagDialog, ScreeningScreen, highlighted_summary
from screens.screening_filter import QueueFilter, parse_filter
from tests import factories as f
from tests.conftest import NOW


def _seed(database: Database) -> None:
    with database.write() as s:
        f.add_screening_candidates(s, NOW)


async def _settle(app: VigilApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()


def _keys(table: DataTable) -> list[str]:  # type: ignore[type-arg]
    return [row.key.value for row in table.ordered_rows]  # type: ignore[misc]


def test_highlight_keeps_spans_on_the_words_after_cleaning() -> None:
    summary = "\x1b[2Jhe followed her"
    evidence = ({"rule": "behaviour", "start": 7, "end": 15, "category": "following"},)
    text = highlighted_summary(summary, evidence)
    assert text.plain == "\\x1b[2Jhe followed her"
    (span,) = [s for s in text.spans if s.style == HIGHLIGHT]
    assert text.plain[span.start:span.end] == "followed"


def test_filter_line() -> None:
    flt = parse_filter("area:southern flag:open min:4 since:01/02/2026 NO/26", default_area=None)
    assert (flt.area, flt.flag_status, flt.min_score, flt.text) == ("Southern", "open", 4.0, "NO/26")
    assert flt.since is not None and flt.since.isoformat() == "2026-02-01T00:00:00+00:00"
    assert parse_filter("area:all", default_area="Northern").area is None
    assert QueueFilter().describe() == "all candidates"


async def test_pilot_analyst_runs_and_flags_supervisor_accepts(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    app = VigilApp(make_sqlite_context("analyst"), start="screening")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ScreeningScreen)
        assert _keys(screen.query_one(DataTable)) == []
        await pilot.press("R")
        await _settle(app, pilot)
        table = screen.query_one(DataTable)
        assert _keys(table) == ["NO/26/000001", "SO/26/000003"]
        assert table.get_row("NO/26/000001")[3] == "CoC ExP Beh"
        assert table.get_row("NO/26/000001")[0].plain == "7.5"
        # the detail pane highlights the matched words and lists the linked crime
        group = screen.query_one("#screening-detail", Static).content
        assert isinstance(group, Group)
        summary = next(p for p in group.renderables
                       if getattr(p, "plain", "").startswith("He followed"))
        marked = [summary.plain[s.start:s.end] for s in summary.spans if s.style == HIGHLIGHT]
        assert marked == ["followed", "waited outside"]
        detail = "\n".join(getattr(p, "plain", "") for p in group.renderables)
        assert "NO/26/000002  8R" in detail
        assert "• Course of conduct: 2 crimes for this victim and suspect within 365 days" in detail
        # flag it
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, FlagDialog)
        app.screen.query_one(Select).value = "principal_to_stalking"
        app.screen.query_one(Input).value = "Former partner following her"
        await pilot.press("enter")
        await _settle(app, pilot)
        assert screen.items["NO/26/000001"].flag_status == "open"
        assert table.get_row("NO/26/000001")[6].plain == "open"
        # the analyst cannot decide it
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is screen  # refused before any dialog, in words
        assert any("Analysts cannot decide screening flags; a supervisor of the area decides"
                   in n.message for n in app._notifications)
    with sqlite_database.read() as s:
        assert s.exec(select(ScreeningFlag.status)).all() == ["open"]

    supervisor = VigilApp(make_sqlite_context("supervisor.northern"), start="screening")
    async with supervisor.run_test(size=(160, 48)) as pilot:
        await _settle(supervisor, pilot)
        screen = supervisor.screen
        # supervisors start on their own area
        assert _keys(screen.query_one(DataTable)) == ["NO/26/000001"]
        await pilot.press("y")
        await pilot.pause()
        supervisor.screen.query_one(Input).value = "April 2020 rule: former partner"
        await pilot.press("enter")
        await _settle(supervisor, pilot)
        # accepted: now stalking, so out of the queue
        assert _keys(screen.query_one(DataTable)) == []
        assert any("is now 8Q + 8L" in n.message for n in supervisor._notifications)
    with sqlite_database.read() as s:
        case = s.exec(select(Case).where(Case.crime_ref == "NO/26/000001")).one()
        included = s.exec(select(IncludedClassification.code, IncludedClassification.source)
                          .where(IncludedClassification.case_id == case.id)).all()
        audit = s.exec(select(AuditEvent).where(AuditEvent.entity_id == "NO/26/000001",
                                                AuditEvent.action == "update")).one()
    assert case.principal_code == "8Q" and included == [("8L", "screening")]
    assert audit.username == "supervisor.northern"
    assert audit.after["principal_code"] == "8Q"


async def test_reject_needs_a_reason_and_filter_and_feedback(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    from app.services.screening import run_screening
    from app.services.screening_flags import raise_flag

    _seed(sqlite_database)
    analyst = make_sqlite_context("analyst")
    run_screening(analyst, full=True)
    raise_flag(analyst, crime_ref="SO/26/000003", suggested_change="add_included_stalking",
               reason="behaviours")
    app = VigilApp(make_sqlite_context("supervisor.southern"), start="screening")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert _keys(screen.query_one(DataTable)) == ["SO/26/000003"]
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        await pilot.press("enter")  # empty: refused by the dialog
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        app.screen.query_one(Input).value = "Single incident; criminal damage only"
        await pilot.press("enter")
        await _settle(app, pilot)
        assert screen.items["SO/26/000003"].flag_status == "rejected"
        # filter force-wide for flagged crimes
        await pilot.press("slash")
        screen.query_one("#screening-filter", Input).value = "area:all flag:unflagged"
        await pilot.press("enter")
        await _settle(app, pilot)
        assert _keys(screen.query_one(DataTable)) == ["NO/26/000001"]
        # a Northern crime's detail, opened by a Southern supervisor: the reason is asked
        assert isinstance(app.screen, ReasonDialog)
        assert "give a reason" in str(app.screen.query_one(".dialog-text", Static).render())
        app.screen.query_one(Input).value = "linked to a Southern victim"
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(screen.query_one("#screening-detail", Static).content, Group)  # shown
        await pilot.press("t")
        await _settle(app, pilot)
        panel = screen.query_one("#screening-feedback", Static)
        assert not panel.has_class("-hidden")
        table = panel.content
        cells = [list(col.cells) for col in table.columns]
        assert cells[0][:1] == ["behaviour"]
        assert cells[4][0] == "1"  # rejected
    with sqlite_database.read() as session:
        why = session.execute(select(AuditEvent.reason).where(
            AuditEvent.entity_id == "NO/26/000001", AuditEvent.action == "view")).scalars().all()
    assert why == ["screening detail viewed outside own area (Southern): linked to a Southern "
                   "victim"]
    with sqlite_database.read() as s:
        flag = s.exec(select(ScreeningFlag)).one()
    assert (flag.status, flag.decided_by, flag.rationale) == (
        "rejected", "supervisor.southern", "Single incident; criminal damage only")


def test_snapshot(snap_compare, sqlite_database, make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    from app.services.screening import run_screening
    from app.services.screening_flags import raise_flag

    _seed(sqlite_database)
    analyst = make_sqlite_context("analyst")
    run_screening(analyst, full=True)
    raise_flag(analyst, crime_ref="SO/26/000003", suggested_change="add_included_stalking",
               reason="damage and turning up")
    app = VigilApp(make_sqlite_context("analyst"), start="screening")

    async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(app, pilot)

    assert snap_compare(app, terminal_size=(160, 40), run_before=settle)


async def test_a_failed_run_says_so_and_the_status_line_does_not_stay_on_screening(
        make_sqlite_context, sqlite_database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.errors import DatabaseBusy

    _seed(sqlite_database)

    def busy(_context, **_kwargs):  # type: ignore[no-untyped-def]
        raise DatabaseBusy("the database is busy (another run is writing): try again")

    monkeypatch.setattr("screens.screening.run_screening", busy)
    app = VigilApp(make_sqlite_context("analyst"), start="screening")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        await pilot.press("R")
        await _settle(app, pilot)
        line = str(app.screen.query_one("#screening-summary", Static).content)
        shown = [n.message for n in app._notifications]
    assert "screening new and changed" not in line and "never run" in line
    assert any("busy" in message for message in shown)  # the App's one presentation
