"""Who is on duty in an area command, and when the supervisor of the day
acknowledges a breach.

Each area command of the synthetic force has a sergeant and an inspector
(``seed.users``). The sergeant supervises the weekday day shift; evenings,
nights and weekends the duty inspector holds the area. Breaches reported in
the night wait for the morning shift: nobody acknowledges one between the end
of the late shift and the start of the early one (Europe/London).

An acknowledgement comes after a working-hours delay: most inside the force
policy's clock (``policy.breach.acknowledge_within_hours``), the share
``seed/calibration.toml`` gives for ``ack_in_clock``; the rest late by hours,
a few by a day or more, none by more than the clock plus two days.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from seed.generator_build import HOUR, MINUTE

DAY_SHIFT = (7, 19)  # the sergeant's weekday shift, local hours [start, end)
NIGHT = (22, 7)  # no acknowledgement from the end of the late shift to the early one
LONDON = ZoneInfo("Europe/London")
# how late the late ones are, beyond the clock: (share, shortest, longest)
LATE_BY = ((0.8, HOUR, 12 * HOUR), (0.2, 12 * HOUR, 36 * HOUR))
MORNING_SPREAD = 2 * HOUR  # the night's breaches are taken up in the shift's first hours


def _local(at: int) -> datetime:
    return datetime.fromtimestamp(at, UTC).astimezone(LONDON)


def supervisor_on_duty(area: str, at: int) -> str:
    """The username of the supervisor holding ``area`` at ``at`` (epoch seconds)."""
    moment = _local(at)
    slug = area.lower()
    day_shift = moment.weekday() < 5 and DAY_SHIFT[0] <= moment.hour < DAY_SHIFT[1]
    return f"supervisor.{slug}" if day_shift else f"inspector.{slug}"


def next_working_moment(at: int) -> int:
    """``at``, or the start of the morning shift when ``at`` falls in the night."""
    moment = _local(at)
    if NIGHT[1] <= moment.hour < NIGHT[0]:
        return at
    morning = moment.replace(hour=NIGHT[1], minute=0, second=0)
    if moment.hour >= NIGHT[0]:
        morning = (moment + timedelta(days=1)).replace(hour=NIGHT[1], minute=0, second=0)
    return int(morning.timestamp())


class Acknowledgements:
    """Draws who acknowledges a breach and when, from one random stream."""

    def __init__(self, rng: random.Random, *, clock_hours: int, in_clock_share: float) -> None:
        self.rng = rng
        self.clock = clock_hours * HOUR
        self.in_clock_share = in_clock_share

    def working(self, at: int, *, before: int | None = None) -> int:
        """``at``, or when it falls in the night a moment in the first hours of
        the morning shift (before ``before`` when given): each area's morning
        takes up the night's breaches at its own pace."""
        morning = next_working_moment(at)
        if morning == at:
            return at
        spread = MORNING_SPREAD if before is None else min(MORNING_SPREAD, before - morning)
        return morning + self.rng.randrange(spread) if spread > 0 else morning

    def delay(self, reported: int) -> int:
        """Seconds from the report to the acknowledgement (working hours)."""
        rng = self.rng
        seen = self.working(reported + rng.randrange(5 * MINUTE, 30 * MINUTE))
        if rng.random() < self.in_clock_share:
            # handled in the shift: usually within a few hours, the whole
            # response never past the clock
            work = int(rng.expovariate(1 / (2.5 * HOUR)))
            at = self.working(seen + work)
            latest = reported + self.clock - 10 * MINUTE
            return min(at, max(latest, seen)) - reported
        r = rng.random()
        for share, shortest, longest in LATE_BY:
            if r < share:
                return self.working(reported + self.clock
                                    + rng.randrange(shortest, longest)) - reported
            r -= share
        return self.clock + LATE_BY[-1][2]

    def draw(self, area: str, reported: int, now: int) -> tuple[str, int] | None:
        """(who, when) for a breach reported at ``reported``; None while it is
        still waiting at ``now``."""
        at = reported + self.delay(reported)
        if at >= now:
            return None
        return supervisor_on_duty(area, at), at
