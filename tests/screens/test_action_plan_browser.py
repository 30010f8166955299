"""The action-plan page and the problem profile open offline in headless
Chromium (Debian's): written by the CLI as disclosures, loaded from the
file, every request the page makes recorded (none may leave the file), the
charts drawn and one recommendation's section shown."""

from __future__ import annotations

from pathlib import Path

from tests.screens.test_browser import chromium  # noqa: F401  (the fixture and its skip rules)
from tests.services.test_assurance_service import build_force
from tui import main

NOW = "2026-03-02T08:00:00Z"


def _write(db: str, out: Path, *args: str) -> None:
    code = main(["--db", db, "--user", "analyst", "--now", NOW, *args, "-o", str(out),
                 "--purpose", "strategic board pack"])
    assert code == 0


def _open(chromium_path: str, page_file: Path, shot: Path, section: str):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        page = browser.new_page(viewport={"width": 1300, "height": 1200})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        found = {
            "title": page.title(),
            "charts": page.locator("svg.chart").count(),
            "section_text": page.locator(section).inner_text(),
            "links": page.locator("a[href], link[href], script, img, iframe").count(),
        }
        page.locator(section).screenshot(path=str(shot))
        browser.close()
    return requests, found


def test_action_plan_and_profile_render_offline(tmp_path: Path, sqlite_database,  # type: ignore[no-untyped-def]
                                                chromium: str) -> None:  # noqa: F811
    build_force(sqlite_database)
    db = sqlite_database.url
    assert main(["--db", db, "--user", "analyst", "--now", NOW, "plan", "load",
                 "--note", "the shipped example"]) == 0
    assert main(["--db", db, "--user", "analyst", "--now", NOW, "plan", "update", "18",
                 "--status", "being_progressed", "--response", "Searches recorded on every file",
                 "--attach-figures", "--from", "2026-01-01", "--to", "2026-02-28"]) == 0
    plan = tmp_path / "plan.html"
    _write(db, plan, "assurance", "--format", "action-plan", "--from", "2026-01-01",
           "--to", "2026-02-28")
    requests, found = _open(chromium, plan, tmp_path / "rec18.png", "#rec-18")
    assert requests == [plan.as_uri()]  # the file itself, nothing else
    assert found["links"] == 0
    assert found["title"] == "Stalking action plan"
    assert found["charts"] >= 3
    text = found["section_text"]
    assert "Recommendation 18" in text and "Being progressed" in text
    assert "Searches recorded on every file" in text
    assert "R18_SEARCHED" in text and "3 / 5" in text
    assert (tmp_path / "rec18.png").stat().st_size > 20_000
    profile = tmp_path / "profile.html"
    _write(db, profile, "assurance", "--format", "profile", "--from", "2026-01-01",
           "--to", "2026-02-28")
    requests, found = _open(chromium, profile, tmp_path / "profile.png", "#area")
    assert requests == [profile.as_uri()]
    assert found["links"] == 0 and found["charts"] >= 5
    assert "Northern" in found["section_text"]
