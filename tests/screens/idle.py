"""Waiting in screen tests on the app itself, never on the clock."""

from __future__ import annotations

from typing import Any


async def settle(pilot: Any, app: Any) -> None:
    """Until the app's workers are done and their messages handled."""
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()
