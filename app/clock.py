"""An injectable clock: "now" can be fixed for demos, tests and benchmarks."""

from __future__ import annotations

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

    def shifted(self, delta: timedelta) -> Clock:
        source = self.source
        return Clock(lambda: source() + delta)
