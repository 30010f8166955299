"""Each training scenario's key moment stands at the top of the screen it is
about, not under the generated backlog: the training database is reset to the
scenario as `vigil demo --scenario NAME` does, and the services the screens
call (DMM agenda, breach board, screening queue, work queue) are asked for the
scenario's area at its clock; every key case is on their first screenful."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.cli.demo import prepare_scenario
from app.db import Database
from app.rules.dmm import meeting_date_for
from app.services.breaches import breach_board
from app.services.context import ServiceContext, open_context
from app.services.dmm import build_queue
from app.services.dmm.worklist import work_queue
from app.services.screening import run_screening
from app.services.screening_queue import screening_queue
from app.settings import Settings
from seed.reference import organisation
from seed.scenarios import Scenario, scenarios

FIRST_SCREENFUL = 10


def _dmm(ctx: ServiceContext, scenario: Scenario, area: str) -> list[str]:
    day = meeting_date_for(scenario.now, ctx.policy)
    queue = build_queue(ctx, area=area, meeting_date=day, limit=FIRST_SCREENFUL)
    return [item.crime_ref for item in queue.items]


def _breaches(ctx: ServiceContext, scenario: Scenario, area: str) -> list[str]:
    items = breach_board(ctx, area=area).items[:FIRST_SCREENFUL]
    return [ref for item in items for ref in (item.breach_ref, item.crime_ref)]


def _screening(ctx: ServiceContext, scenario: Scenario, area: str) -> list[str]:
    # the screen runs the screening when it has never run (key R); the analyst's
    # queue is force-wide unless the scenario names an area
    run_screening(ctx, full=True)
    queue = screening_queue(ctx, area=scenario.area, page_size=FIRST_SCREENFUL)
    return [item.crime_ref for item in queue.items]


def _worklist(ctx: ServiceContext, scenario: Scenario, area: str) -> list[str]:
    queue = work_queue(ctx, area=area, limit=FIRST_SCREENFUL)
    return [item.crime_ref for item in queue.items]


SCREENS: dict[str, Callable[[ServiceContext, Scenario, str], list[str]]] = {
    "dmm": _dmm, "breaches": _breaches, "screening": _screening, "worklist": _worklist,
}


def _story_refs(scenario: Scenario) -> set[str]:
    story = scenario.story
    return {row["ref"] for kind in ("case", "breach") for row in story.get(kind, [])}


def test_every_scenario_names_its_key_cases_and_their_screens() -> None:
    for scenario in scenarios().values():
        assert scenario.key_refs, scenario.name
        assert set(scenario.key_refs) <= _story_refs(scenario), scenario.name
        assert scenario.key_screens and set(scenario.key_screens) <= set(SCREENS), scenario.name
        assert all(ref in scenario.key_moment for ref in scenario.key_refs), scenario.name


@pytest.mark.parametrize("name", sorted(scenarios()))
def test_the_key_moment_is_on_the_first_screenful(tmp_path: Path, name: str) -> None:
    database = Database(f"sqlite:///{tmp_path / 'training.db'}")
    settings = Settings(database_url=database.url, username="trainer", training=True)
    scenario = prepare_scenario(settings, database, name)
    context = open_context(settings.with_(now=scenario.now, demo_role=scenario.role),
                           database=database, migrate=False)
    # the DMM screen opens on the scenario's area, else the user's own, else the first
    area = scenario.area or context.actor.area_command or organisation().area_commands[0]
    for screen in scenario.key_screens:
        shown = SCREENS[screen](context, scenario, area)
        missing = [ref for ref in scenario.key_refs if ref not in shown]
        assert missing == [], (screen, area, shown)
    database.dispose()
