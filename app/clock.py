"""An injectable clock: "now" can be fixed for demos, tests and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Clock:
    """Gives the current time as an aware UTC datetime.

    A fixed clock (``Clock.fixed(t)``) always answers ``t``; the system clock
    answers the real time.
    """

    source: Callable[[], datetime]

    def now(self) -> datetime:
        return self.source()

    @classmethod
    def system(cls) -> Clock:
        return cls(lambda: datetime.now(UTC))

    @classmethod
    def fixed(cls, at: datetime) -> Clock:
        if at.tzinfo is None:
            raise ValueError("a fixed clock needs an aware datetime")
        moment = at.astimezone(UTC)
        return cls(lambda: moment)

    @classmethod
    def anchored(cls, at: datetime) -> Clock:
        """The time ``at`` (read from the database server) moving on with this
        machine's monotonic clock, which its user cannot set: a live
        PostgreSQL database's clock, without a round trip per reading."""
        if at.tzinfo is None:
            raise ValueError("an anchored clock needs an aware datetime")
        start = at.astimezone(UTC)
        mono = time.monotonic()
        return cls(lambda: start + timedelta(seconds=time.monotonic() - mono))

