"""One keymap across screens and role-aware keys: `/` filters as you type,
home/end go to the first and last row, pgdn past the last row is the next
page, `q` goes back or quits, `?` groups keys by task, keys.toml remaps by
binding id; actions a role cannot take are absent from the footer, the
palette and help, and their key is refused in words before any dialog."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input

import tui
from app.app import VigilApp
from app.db import Database
from app.errors import BadInput
from app.keymap import load_keymap
from app.services.screening_flags import raise_flag
from screens.help import HelpScreen, binding_rows
from tests import factories as f
from tests.conftest import NOW
from tests.factories import dmm_morning


async def _settle(pilot: Any, app: VigilApp) -> None:
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()


def _footer_actions(app: VigilApp) -> set[str]:
    return {active.binding.action for active in app.screen.active_bindings.values()
            if active.binding.show}


@pytest.fixture
def morning(sqlite_database: Database) -> Database:
    with sqlite_database.write() as session:
        dmm_morning(session)
    return sqlite_database


async def test_analyst_sees_no_decision_keys_and_is_told_why(morning: Database,
                                                             make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("analyst"), start="dmm")
    async with app.run_test(size=(160, 40)) as pilot:
        await _settle(pilot, app)
        actions = _footer_actions(app)
        assert "decide" not in actions and "add_action" not in actions
        assert "refresh" in actions
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert not any(title.startswith("Decide") for title in commands)
        assert "Decide" not in {row[1] for row in binding_rows(app.screen)}
        notes: list[str] = []
        app.notify = lambda message, **_: notes.append(str(message))  # type: ignore[method-assign]
        await pilot.press("d")
        await pilot.pause()
        assert not app.screen.is_modal  # no dialog opened
        assert notes == ["Analysts cannot record DMM decisions, actions or discussed marks; "
                         "a supervisor of the area records them."]


async def test_supervisor_of_another_area_is_refused_in_words(morning: Database,
                                                              make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=(160, 40)) as pilot:
        await _settle(pilot, app)
        assert "decide" in _footer_actions(app)
        screen = app.screen
        screen.area = "Southern"  # type: ignore[attr-defined]
        screen._switch_meeting()  # type: ignore[attr-defined]
        await _settle(pilot, app)
        assert "decide" not in _footer_actions(app)
        assert screen.refused("decide") == (  # type: ignore[attr-defined]
            "Supervisors of Northern cannot record DMM decisions, actions or discussed marks "
            "for Southern; a supervisor of Southern records them")


async def test_screening_refusal_before_the_dialog(make_sqlite_context, sqlite_database) -> None:  # type: ignore[no-untyped-def]
    with sqlite_database.write() as s:
        f.add_case(s, "NO/26/000001", NOW - timedelta(days=5), code="8L", victim="V1",
                   suspect="S1", summary="He followed her to the gym and waited outside.")
    analyst = make_sqlite_context("analyst")
    raise_flag(analyst, crime_ref="NO/26/000001", suggested_change="add_included_stalking",
               reason="behaviours")
    app = VigilApp(make_sqlite_context("analyst"), start="screening")
    async with app.run_test(size=(160, 40)) as pilot:
        await _settle(pilot, app)
        assert "accept" not in _footer_actions(app) and "reject" not in _footer_actions(app)
        assert "flag" in _footer_actions(app)
        notes: list[str] = []
        app.notify = lambda message, **_: notes.append(str(message))  # type: ignore[method-assign]
        app.screen.query_one(DataTable).focus()
        await pilot.press("y")
        await pilot.pause()
        assert not app.screen.is_modal
        assert notes == ["Analysts cannot decide screening flags; a supervisor of the area "
                         "decides."]


async def test_filter_as_you_type_and_esc_clears(morning: Database, make_sqlite_context,  # type: ignore[no-untyped-def]
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from screens.dmm import DmmScreen

    # the filter waits for a pause in typing; here the pause is over at once
    monkeypatch.setattr(DmmScreen, "FILTER_DELAY", 0.001)  # Textual timers need a delay above 0
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=(160, 40)) as pilot:
        await _settle(pilot, app)
        table = app.screen.query_one(DataTable)
        everything = table.row_count
        assert everything > 1
        await pilot.press("slash", *"0105")
        for _tick in range(100):  # the app's own ticks until the filtered rows are in
            await _settle(pilot, app)
            if table.row_count == 1:
                break
        assert [str(k.value) for k in table.rows] == ["NC/26/0105"]
        assert isinstance(app.focused, Input)  # still typing
        await pilot.press("escape")
        await _settle(pilot, app)
        assert table.row_count == everything and app.focused is table


async def test_home_end_rows_and_q_back_then_quit(morning: Database, make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=(160, 40)) as pilot:
        await _settle(pilot, app)
        table = app.screen.query_one(DataTable)
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1 and table.scroll_x == 0
        await pilot.press("home")
        assert table.cursor_row == 0
        await pilot.press("enter")
        await _settle(pilot, app)
        assert type(app.screen).__name__ == "CaseScreen"
        await pilot.press("q")
        await _settle(pilot, app)
        assert type(app.screen).__name__ == "DmmScreen"
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_help_groups_keys_by_task(morning: Database, make_sqlite_context) -> None:  # type: ignore[no-untyped-def]
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=(160, 40)) as pilot:
        await _settle(pilot, app)
        rows = binding_rows(app.screen)
        tasks = {description: task for _key, description, task in rows}
        assert tasks["Decide"] == "Record"
        assert tasks["Filter"] == "Find and move"
        assert tasks["Minutes"] == "Save and share"
        assert tasks["DMM"] == "Go to a section"
        order = [task for _k, _d, task in rows]
        assert order == sorted(order, key=["Find and move", "Open and go back", "Record",
                                           "Save and share", "Go to a section",
                                           "Vigil"].index)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_keys_remapped_from_the_user_file(morning: Database, make_sqlite_context,  # type: ignore[no-untyped-def]
                                                tmp_path: Path, monkeypatch) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\n"dmm.decide" = "D"\n', encoding="utf-8")
    monkeypatch.setenv("VIGIL_KEYMAP", str(keys))
    app = VigilApp(make_sqlite_context("supervisor.northern"), start="dmm")
    async with app.run_test(size=(160, 40)) as pilot:
        await _settle(pilot, app)
        bound = {key for key, active in app.screen.active_bindings.items()
                 if active.binding.action == "decide"}
        assert bound == {"D"}
        await pilot.press("D")
        await pilot.pause()
        assert type(app.screen).__name__ == "DecisionDialog"


def test_bad_keys_file_is_named(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\n"dmm.nope" = "D"\n', encoding="utf-8")
    with pytest.raises(BadInput, match=r"keys.toml: keys.dmm.nope: no binding has this id"):
        load_keymap(keys, known_ids={"dmm.decide"})
    monkeypatch.setenv("VIGIL_KEYMAP", str(keys))
    assert tui.main(["keys", "--check"]) == 2
    assert "keys.dmm.nope: no binding has this id" in capsys.readouterr().err
    keys.write_text('[keys]\n"dmm.decide" = "D"\n', encoding="utf-8")
    assert tui.main(["keys"]) == 0
    assert "dmm.decide" in capsys.readouterr().out
