"""The previous meetings of a synthetic force, held by the real rules.

Once the cases are written, each of the last meetings before "now" is walked
in date order, area by area, as it was held: at its start the agenda is built
by :func:`app.services.dmm.build_queue` (the product's own computation, so
each past agenda holds exactly what the rules put on it that morning), then
the chair of the day records a decision on most items, in order of priority,
sets actions with an owner and a due time, and leaves a few undecided (they
carry over, as the rules say). Actions are done in the days that follow,
most before they fall due, some late, a few still open at "now"; each is
marked done only when the walk passes its time, so a later meeting sees the
actions still open at its start.

The decisions are written directly (as an RMS import of minutes would), so
they carry no audit events and do not bump the cases' versions; the agenda
items and meetings are the service's own rows. Everything is drawn from a
random stream of its own, so the same seed and "now" give the same history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from app.clock import Clock
from app.db import SYNTHETIC, Database
from app.policy import Policy
from app.rules import dmm as dmm_rules
from app.services.context import Actor, ServiceContext
from app.services.dmm import build_queue
from models import DmmAction, DmmItem, DmmMeeting
from models.enums import Role

MEETINGS = 10  # past meetings walked per area
MEETINGS_LARGE = 3  # for forces of more than LARGE_FORCE cases
LARGE_FORCE = 200_000
MINUTE = timedelta(minutes=1)
FOREVER = datetime.max.replace(tzinfo=UTC)  # an action never done
HOUR = timedelta(hours=1)

RATIONALE = {
    "no_further_action": (
        "Investigation plan in place; no further oversight needed at the DMM",
        "Enquiries in hand with the OIC; nothing further for the meeting",
        "Reviewed: proportionate response recorded, victim updated",
    ),
    "actions_set": (
        "Actions set; review at the next DMM if not complete",
        "Actions agreed with the OIC; to return if not done by the due time",
        "Safeguarding and enquiries set out below",
    ),
    "escalate": (
        "Escalated to the detective inspector for a review of risk and an SPO",
        "Escalated: risk and order options for the DI's review today",
    ),
    "reallocate": (
        "Reallocate in line with the allocation policy",
        "Transfer agreed to the team the policy names; handover today",
    ),
}
ACTIONS = {
    "BREACH": ("Arrest the suspect for the breach", "Re-assess risk with the victim after the breach",
               "Consider an SPO application and record the decision"),
    "HIGH_RISK": ("Complete the risk management plan with the victim",
                  "Refer to MARAC or MASIP and record the date",
                  "Fit a panic alarm and mark the address"),
    "REPEAT_PAIR": ("Link the crimes and review as a course of conduct",
                    "Consider whether the course of conduct amounts to stalking"),
    "ALLOCATION_CONTRARY_TO_POLICY": ("Review the allocation with the duty inspector",),
    "RISK_BELOW_SUGGESTION": ("Second supervisor to review the risk level",),
    "PIN_RECORDED": ("Review the PIN with the superintendent and record an investigation plan",),
    "NEW_CRIME": ("Complete the S-DASH risk assessment with the victim",
                  "Update the victim on the investigation",
                  "Refer the victim to specialist support and record consent",
                  "Secure the digital evidence (screenshots, call logs)"),
}


@dataclass(frozen=True)
class Walked:
    meetings: int
    items: int
    decided: int
    actions: int


def history_meetings(cases: int) -> int:
    return MEETINGS if cases <= LARGE_FORCE else MEETINGS_LARGE


def _chair(area: str, day: date) -> str:
    """The supervisor who chairs the meeting that day (the inspector most days)."""
    slug = area.lower()
    return f"supervisor.{slug}" if day.toordinal() % 4 == 0 else f"inspector.{slug}"


def _working_day(moment: datetime, policy: Policy) -> datetime:
    calendar = policy.calendar
    zone = ZoneInfo(calendar.timezone)
    while True:
        day = moment.astimezone(zone).date()
        if day.weekday() < 5 and day not in calendar.holidays:
            return moment
        moment += timedelta(days=1)


def _decision(reasons: list[str], rng: random.Random) -> str:
    r = rng.random()
    if "ALLOCATION_CONTRARY_TO_POLICY" in reasons and r < 0.7:
        return "reallocate"
    if "BREACH" in reasons or "HIGH_RISK" in reasons or "PIN_RECORDED" in reasons:
        return "escalate" if r < 0.2 else "actions_set"
    if "REPEAT_PAIR" in reasons or "RISK_BELOW_SUGGESTION" in reasons:
        return "actions_set" if r < 0.7 else "no_further_action"
    return "no_further_action" if r < 0.55 else "actions_set"


def walk_history(database: Database, *, areas: tuple[str, ...], now: datetime,
                 policy: Policy, seed: int, meetings: int) -> Walked:
    """Hold the ``meetings`` meetings before the one current at ``now`` in
    every area (see the module's docstring)."""
    rng = random.Random(f"dmm-history-{seed}")
    day = dmm_rules.meeting_date_for(now, policy)
    days: list[date] = []
    for _ in range(meetings):
        day = dmm_rules.previous_meeting_date(day, policy)
        days.append(day)
    days.reverse()
    kind = database.database_kind() or SYNTHETIC
    pending: list[tuple[datetime, int]] = []  # (done at, action id), done when the walk passes
    counts = {"items": 0, "decided": 0, "actions": 0}
    # one action per area is still not done at "now", long overdue (it is back
    # on the agenda): the first set at a meeting four or more before the last
    forgotten: set[str] = set()
    for index, day in enumerate(days):
        start = dmm_rules.meeting_start(day, policy)
        last = index == len(days) - 1
        due_now = [entry for entry in pending if entry[0] < start]
        pending = [entry for entry in pending if entry[0] >= start]
        _complete(database, due_now)
        for area in areas:
            chair = _chair(area, day)
            ctx = ServiceContext(
                database=database, clock=Clock.fixed(start), policy=policy,
                actor=Actor(username=chair, display_name=chair, role=Role.SUPERVISOR,
                            area_command=area, real_role=Role.SUPERVISOR),
                kind=kind)
            build_queue(ctx, area=area, meeting_date=day, audit=False)
            forget = index <= len(days) - 4 and area not in forgotten
            held = _hold(database, area, day, start, chair, last, now, policy, rng, counts)
            if forget and held and held[0][0] != FOREVER:
                held[0] = (FOREVER, held[0][1])
            if any(at == FOREVER for at, _id in held):
                forgotten.add(area)
            pending += held
    _complete(database, [entry for entry in pending if entry[0] < now])
    return Walked(len(days) * len(areas), counts["items"], counts["decided"], counts["actions"])


def _complete(database: Database, done: list[tuple[datetime, int]]) -> None:
    if not done:
        return
    with database.write() as session:
        for at, action_id in sorted(done, key=lambda entry: entry[1]):
            session.execute(update(DmmAction).where(DmmAction.id == action_id)
                            .values(done_at=at))


def _hold(database: Database, area: str, day: date, start: datetime, chair: str, last: bool,
          now: datetime, policy: Policy, rng: random.Random,
          counts: dict[str, int]) -> list[tuple[datetime, int]]:
    """Decisions and actions of one meeting; returns the actions' completions."""
    slug = area.lower()
    completions: list[tuple[datetime, int]] = []
    with database.write() as session:
        meeting = session.execute(select(DmmMeeting).where(
            DmmMeeting.area_command == area, DmmMeeting.meeting_date == day)).scalar_one()
        items = session.execute(select(DmmItem.id, DmmItem.case_id, DmmItem.reasons)
                                .where(DmmItem.meeting_id == meeting.id)
                                .order_by(DmmItem.priority.desc(), DmmItem.id)).all()
        counts["items"] += len(items)
        # the meeting runs out of time on its last few items now and then; the last
        # meeting before now always leaves one or two to carry over
        left = 0
        if items:
            left = rng.randint(1, 2) if last else (1 if rng.random() < 0.3 else 0)
            left = min(left, len(items) - 1) if len(items) > 1 else (1 if last else 0)
        at = start + 3 * MINUTE
        for position, row in enumerate(items):
            fields = row._mapping
            if position >= len(items) - left:
                break
            at += timedelta(seconds=rng.randrange(60, 240))
            reasons = list(fields["reasons"] or [])
            decision = _decision(reasons, rng)
            session.execute(update(DmmItem).where(DmmItem.id == fields["id"]).values(
                decision=decision, rationale=rng.choice(RATIONALE[decision]), decided_by=chair,
                decided_at=at, discussed_at=at, discussed_by=chair))
            counts["decided"] += 1
            number = {"actions_set": 1 + (rng.random() < 0.3), "escalate": 1}.get(decision, 0)
            for _ in range(number):
                completions += _action(session, fields["id"], fields["case_id"], reasons, at,
                                       slug, chair, now, policy, rng, counts)
        meeting.chaired_by = chair
        meeting.closed_at = at + rng.randrange(5, 15) * MINUTE
        session.add(meeting)
    return completions


def _action(session, item_id: int, case_id: int, reasons: list[str], at: datetime, slug: str,
            chair: str, now: datetime, policy: Policy, rng: random.Random,
            counts: dict[str, int]) -> list[tuple[datetime, int]]:
    texts: tuple[str, ...] = ()
    for reason in reasons:
        texts += ACTIONS.get(reason, ())
    text = rng.choice(texts or ACTIONS["NEW_CRIME"])
    hours = rng.choice((policy.dmm.default_action_hours, 48, 72))
    due = _working_day(at + hours * HOUR, policy)
    owner = rng.choice((f"officer.{slug}", f"officer.{slug}", f"supervisor.{slug}"))
    action = DmmAction(item_id=item_id, case_id=case_id, text=text, owner=owner, due_at=due,
                       created_by=chair, created_at=at)
    session.add(action)
    session.flush()
    counts["actions"] += 1
    r = rng.random()
    if r < 0.8:  # done in time
        done = at + timedelta(seconds=rng.randrange(3600, max(7200, int((due - at).total_seconds()))))
    elif r < 0.95:  # late
        done = due + timedelta(seconds=rng.randrange(3600, 40 * 3600))
    else:  # still open a while: comes back to the meeting
        done = due + timedelta(days=rng.randint(3, 10))
    return [(done, action.id)]  # type: ignore[list-item]
