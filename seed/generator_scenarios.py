"""The busy last days: cases built around ``now`` so that every DMM reason and
every breach escalation level is present at the meeting a supervisor opens
(in every area command for large runs, force-wide for small ones), each area command at its own moments. The
previous meetings are held afterwards by the real rules
(:mod:`seed.generator_history`).

Windows and deadlines follow :mod:`app.rules.dmm`: the meeting on day D
covers from the previous meeting's start to D's start, and deadlines are
measured at the meeting start. Every threshold comes from the policy, so a
force's policy file moves the scenarios with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from app.dates import add_working_days
from app.rules import dmm as dmm_rules
from seed.duty import supervisor_on_duty
from seed.generator_build import (
    BREACH_CODES,
    DAY,
    HOUR,
    MINUTE,
    Builder,
    CaseRec,
    OrderRec,
    to_datetime,
    to_seconds,
)
from seed.generator_stories import ORDER_CONDITIONS, PLANS, SUPERINTENDENTS, Story, StoryMaker

SUMMARY_ATTEMPTS = 20
ANSWERS = {"standard": "YNNNNNNNNNN", "medium": "YYNNYNNNNNN", "high": "YYNYYYNNNYY"}


@dataclass(frozen=True)
class Moments:
    """The meeting in progress at ``now`` and its window, in epoch seconds."""

    now: int
    meeting_day: date
    window_start: int  # the previous meeting's start
    meeting_start: int

    @property
    def window_end(self) -> int:
        return min(self.meeting_start, self.now)

    @property
    def ref(self) -> int:
        """Deadlines are placed against the earlier of now and the meeting start,
        so a condition holds at both."""
        return min(self.meeting_start, self.now)

    def within(self, fraction: float) -> int:
        start, end = self.window_start, self.window_end
        return start + int((end - start) * fraction)


def moments(builder: Builder) -> Moments:
    policy = builder.policy
    day = dmm_rules.meeting_date_for(to_datetime(builder.now), policy)
    start, end = dmm_rules.meeting_window(day, policy)
    return Moments(builder.now, day, to_seconds(start), to_seconds(end))


Scenario = Callable[["ScenarioMaker", str], None]


class ScenarioMaker:
    def __init__(self, builder: Builder, stories: StoryMaker) -> None:
        self.b = builder
        self.rng = builder.rng
        self.stories = stories
        self.m = moments(builder)
        self.policy = builder.policy
        self.pending: list[CaseRec] = []
        self.told: dict[str, str] = {}  # summary: the area whose scenario told it

    # --- catalogue -----------------------------------------------------------
    SPECS: tuple[tuple[str, int], ...] = (
        ("new_high_risk_contrary_allocation", 1),
        ("risk_raised_to_high", 1),
        ("no_risk_assessment", 1),
        ("risk_review_overdue", 1),
        ("new_offence_after_assessment", 2),
        ("spo_not_considered", 1),
        ("victim_not_referred", 1),
        ("repeat_pair", 3),
        ("pin_recorded", 1),
        ("breach_level1_unacknowledged", 2),
        ("breach_level1_acknowledged", 2),
        ("breach_level2_repeated", 3),
        ("breach_level2_spo", 2),
        ("breach_level2_high_risk", 2),
        ("breach_level2_threats", 2),
        ("breach_level3_acknowledgement_overdue", 2),
        ("breach_level3_no_reassessment", 2),
    )

    # Scenarios shown in some area commands only (every n-th area): a PIN is
    # nearly nil since 2017, so a force does not show one in every area each week.
    EVERY_NTH_AREA: dict[str, int] = {"pin_recorded": 3}

    @classmethod
    def plan(cls, cases: int, areas: tuple[str, ...], *, per_area: bool) -> list[tuple[str, str]]:
        """(scenario, area) pairs that fit in ``cases``: every scenario in every
        area, or each scenario once with the areas taken in turn."""
        if per_area:
            wanted = [(name, area) for index, area in enumerate(areas)
                      for name, _size in cls.SPECS
                      if index % cls.EVERY_NTH_AREA.get(name, 1) == 0]
        else:
            wanted = [(name, areas[i % len(areas)]) for i, (name, _size) in enumerate(cls.SPECS)]
        sizes = dict(cls.SPECS)
        chosen: list[tuple[str, str]] = []
        used = 0
        for name, area in wanted:
            if used + sizes[name] > cases:
                break
            chosen.append((name, area))
            used += sizes[name]
        return chosen

    # Scenarios whose story holds a court's decision on an SPO application (a grant).
    COURT_DECISIONS: dict[str, int] = {"breach_level2_spo": 1}

    @classmethod
    def court_decisions(cls, plan: list[tuple[str, str]]) -> int:
        return sum(cls.COURT_DECISIONS.get(name, 0) for name, _area in plan)

    @classmethod
    def size(cls, plan: list[tuple[str, str]]) -> int:
        sizes = dict(cls.SPECS)
        return sum(sizes[name] for name, _area in plan)

    def build(self, plan: list[tuple[str, str]]) -> None:
        for name, area in plan:
            getattr(self, name)(area)
            for case in self.pending:
                self.b.settle_reassessment(case)
            for case in self.pending:
                self.b.finish(case)
            self.pending = []

    # --- helpers ----------------------------------------------------------------
    def story(self, area: str, kind: str, rel: str, *, victim_female: bool = True) -> Story:
        b = self.b
        victim = b.person(female=victim_female)
        suspect = b.person(female=not victim_female and self.rng.random() < 0.5,
                           age_low=18, age_high=60)
        return Story(kind=kind, area=area, rel=rel, victim=victim, suspect=suspect,
                     noun=self.stories.noun_for(rel), hidden=False, severity=0.6)

    def case(self, story: Story, code: str, group: str, reported: int, *,
             online: bool = False, included: tuple[str, ...] = (),
             linked: CaseRec | None = None, order_kind: str | None = None) -> CaseRec:
        text = self.summary(story, group, order_kind)
        case = self.b.new_case(area=story.area, code=code, reported=reported,
                               victim=story.victim, suspect=story.suspect, rel=story.rel,
                               online=online, summary=text, occurred_days=1.0, linked=linked)
        for extra in included:
            self.b.include(case, extra, reported + 20 * MINUTE, f"officer.{story.slug}")
        self.pending.append(case)
        return case

    def summary(self, story: Story, group: str, order_kind: str | None) -> str:
        """A summary from ``group`` that no other area's scenario has told (a
        template without names can come out word for word the same)."""
        context = "stalking" if group.startswith("stalking") else "ordinary"
        for _attempt in range(SUMMARY_ATTEMPTS):
            text, _template = self.stories.summary(story, group, order_kind=order_kind,
                                                   context=context)
            if self.told.setdefault(text, story.area) == story.area:
                break
        return text

    def at(self, moment: int) -> int | None:
        """``moment`` if it has happened by now, else None."""
        return moment if moment < self.m.now else None

    def allocate(self, story: Story, case: CaseRec, team: str, at: int, reason: str) -> None:
        when = self.at(at)
        if when is not None:
            self.b.allocate(case, team, when, by=f"supervisor.{story.slug}", reason=reason,
                            officer=self.stories.officer(story, team))

    def assess(self, story: Story, case: CaseRec, at: int, level: str, *,
               plan: bool = False) -> None:
        self.b.assess(case, at, ANSWERS[level], assessor=f"supervisor.{story.slug}",
                      plan=self.rng.choice(PLANS) if plan else None)

    def cared_for(self, story: Story, case: CaseRec, service: str | None,
                  outcome: str = "accepted") -> None:
        needs = self.at(case.reported + HOUR)
        self.b.care(case, needs=needs, enhanced=True, explained=needs, consent=True,
                    last_update=None, vps=None)
        if service is not None:
            referred = self.at(case.reported + 2 * HOUR)
            if referred is not None:
                self.b.refer(case, service, referred, outcome, f"officer.{story.slug}")

    def day(self, days: float) -> int:
        """About ``days`` before the reference moment, in the daytime of the day
        before (each area at its own minute)."""
        return self.m.ref - int(days * DAY) - self.rng.randrange(14 * HOUR, 22 * HOUR)

    def within(self, fraction: float) -> int:
        """A moment of the meeting's window near ``fraction`` of it (each area
        at its own moment)."""
        jittered = fraction + self.rng.uniform(-0.1, 0.1)
        return self.m.within(min(0.95, max(0.05, jittered)))

    def charged_original(self, story: Story, code: str, group: str, days: float) -> CaseRec:
        original = self.case(story, code, group, self.day(days))
        self.allocate(story, original, "Response", original.reported + HOUR, "Initial allocation")
        self.assess(story, original, original.reported + DAY, "standard")
        self.cared_for(story, original, "LOCAL")
        self.b.close(original, original.reported + 40 * DAY, "charged")
        return original

    def breach(self, story: Story, order: OrderRec, reported: int, *, threats: bool = False,
               acknowledge_after: int | None = None, reassess_after: int | None = None) -> CaseRec:
        code = BREACH_CODES[order.kind]
        case = self.case(story, code, "breach", reported, linked=order.case,
                         order_kind=order.kind)
        team = order.case.team or "Orders"
        self.allocate(story, case, team, reported + 20 * MINUTE,
                      "Breach: allocated with the original case")
        self.cared_for(story, case, None)
        # the supervisor on duty acknowledges it, a night breach in the morning
        ack = (self.at(self.stories.acknowledgements.working(reported + acknowledge_after,
                                                             before=self.m.now))
               if acknowledge_after is not None else None)
        self.b.breach(order, case, occurred=reported - 2 * HOUR, reported=reported,
                      threats=threats, ack_by=supervisor_on_duty(story.area, ack) if ack else None,
                      ack_at=ack, ack_note="Acknowledged; arrest to be considered" if ack else None,
                      arrest_at=None, reassess_requested=ack, outcome=None)
        if reassess_after is not None:
            when = self.at(reported + reassess_after)
            if when is not None:
                self.assess(story, order.case, when, "medium", plan=True)
        return case

    def hours_before_now(self, hours: float, *, after_window_start: bool = True) -> int:
        """About ``hours`` before now; kept after the previous meeting's start
        when asked, and before the meeting's start (each area at its own moment)."""
        rng = self.rng
        moment = self.m.now - int(hours * rng.uniform(0.85, 1.15) * HOUR)
        latest = self.m.window_end - 10 * MINUTE
        if after_window_start:
            earliest = self.m.window_start + HOUR
            if moment < earliest:
                moment = earliest + rng.randrange(max(MINUTE, latest - earliest))
        if moment > latest:
            moment = latest - rng.randrange(min(2 * HOUR, max(MINUTE, latest - self.m.window_start)))
        return moment

    def hours_ago(self, hours: float, spread: float) -> int:
        """``hours`` to ``hours + spread`` before now, to the second: a moment
        that must stay past a policy's deadline (each area at its own)."""
        return self.m.now - int(hours * HOUR) - self.rng.randrange(max(1, int(spread * HOUR)))

    # --- DMM reasons --------------------------------------------------------------
    def new_high_risk_contrary_allocation(self, area: str) -> None:
        """NEW_CRIME, HIGH_RISK (new) and ALLOCATION_CONTRARY_TO_POLICY: high-risk
        domestic stalking held by Response."""
        story = self.story(area, "stalking", "ex_partner")
        reported = self.within(0.35)
        case = self.case(story, "8Q", "stalking_online", reported, online=True)
        self.allocate(story, case, "Response", reported + 20 * MINUTE, "Initial allocation")
        self.assess(story, case, reported + (self.m.window_end - reported) // 3, "high", plan=True)
        self.cared_for(story, case, "ISAC", "pending")

    def risk_raised_to_high(self, area: str) -> None:
        story = self.story(area, "harassment", "acquaintance")
        case = self.case(story, "8L", "harassment", self.day(20))
        self.allocate(story, case, "Response", case.reported + HOUR, "Initial allocation")
        self.assess(story, case, case.reported + 20 * HOUR, "medium")
        raised = self.within(0.55)
        self.assess(story, case, raised, "high", plan=True)
        self.allocate(story, case, "Safeguarding", raised + 30 * MINUTE,
                      "Risk raised to high: transferred to Safeguarding")
        self.cared_for(story, case, "LOCAL")

    def no_risk_assessment(self, area: str) -> None:
        story = self.story(area, "harassment", "ex_partner")
        case = self.case(story, "8L", "harassment", self.day(self.policy.dmm.risk_assessment_days + 2))
        self.allocate(story, case, "Response", case.reported + HOUR, "Initial allocation")
        self.cared_for(story, case, "HELPLINE")

    def risk_review_overdue(self, area: str) -> None:
        """RISK_REVIEW_DUE (review date passed); the item was not discussed at
        the previous meeting (CARRIED_OVER)."""
        story = self.story(area, "stalking", "acquaintance")
        case = self.case(story, "8Q", "stalking",
                         self.day(self.policy.risk.review_days["medium"] + 18))
        self.allocate(story, case, "Response", case.reported + HOUR, "Initial allocation")
        self.assess(story, case, case.reported + DAY, "medium", plan=True)
        self.allocate(story, case, "Safeguarding", case.reported + DAY + 2 * HOUR,
                      "Risk assessed medium: transferred to Safeguarding")
        self.b.spo(case, "considered_not_appropriate", case.reported + 5 * DAY,
                   by=f"inspector.{story.slug}",
                   rationale="Victim does not support an application; reviewed with the SPO lead")
        self.cared_for(story, case, "ISHA")

    def new_offence_after_assessment(self, area: str) -> None:
        """RISK_REVIEW_DUE: a new offence in the same pair after the last
        assessment (also REPEAT_PAIR and NEW_CRIME)."""
        story = self.story(area, "harassment", "ex_partner")
        first = self.case(story, "8L", "harassment", self.day(25))
        self.allocate(story, first, "Response", first.reported + HOUR, "Initial allocation")
        self.assess(story, first, first.reported + DAY, "standard")
        self.cared_for(story, first, "LOCAL")
        second = self.case(story, "8R", "malicious", self.within(0.6), online=True)
        self.allocate(story, second, "Response", second.reported + 30 * MINUTE, "Initial allocation")
        self.cared_for(story, second, None)

    def spo_not_considered(self, area: str) -> None:
        """SPO_NOT_CONSIDERED; an action from an earlier meeting about it is overdue."""
        story = self.story(area, "stalking", "stranger")
        days = max(self.policy.dmm.spo_consideration_days, self.policy.spo.consideration_days) + 8
        case = self.case(story, "8Q", "stalking", self.day(days))
        self.allocate(story, case, "CID", case.reported + HOUR, "Initial allocation")
        self.assess(story, case, case.reported + 10 * HOUR, "medium", plan=True)
        self.cared_for(story, case, "ISHA")

    def victim_not_referred(self, area: str) -> None:
        story = self.story(area, "stalking", "acquaintance")
        code = self.policy.victims_code
        holidays = self.policy.calendar.holidays
        working = max(code.needs_assessment_working_days, code.referral_working_days)
        reported = self.day(3)
        while to_seconds(add_working_days(to_datetime(reported), working, holidays)) + DAY > self.m.ref:
            reported -= DAY
        case = self.case(story, "8Q", "stalking", reported)
        self.allocate(story, case, "Neighbourhood", reported + HOUR, "Initial allocation")
        self.assess(story, case, reported + 4 * HOUR, "standard")
        self.b.care(case, needs=None, enhanced=True, explained=None, consent=None,
                    last_update=None, vps=None)

    def repeat_pair(self, area: str) -> None:
        story = self.story(area, "harassment", "acquaintance")
        window = self.policy.dmm.repeat_pair_window_days
        for days in (min(50, window * 0.6), min(20, window * 0.25)):
            case = self.case(story, "8L", "harassment", self.day(days))
            self.allocate(story, case, "Neighbourhood", case.reported + HOUR, "Initial allocation")
            self.assess(story, case, case.reported + DAY, "standard")
            self.cared_for(story, case, "LOCAL")
        latest = self.case(story, "8R", "malicious", self.within(0.45), online=True)
        self.allocate(story, latest, "Neighbourhood", latest.reported + HOUR, "Initial allocation")
        self.cared_for(story, latest, None)

    def pin_recorded(self, area: str) -> None:
        story = self.story(area, "harassment", "acquaintance")
        case = self.case(story, "8L", "harassment", self.within(0.5))
        case.pin = True
        case.pin_by = self.rng.choice(SUPERINTENDENTS)
        self.allocate(story, case, "Neighbourhood", case.reported + HOUR, "Initial allocation")
        self.cared_for(story, case, None)

    # --- breach escalation levels ------------------------------------------------------
    def breach_level1_unacknowledged(self, area: str) -> None:
        story = self.story(area, "harassment", "acquaintance")
        original = self.charged_original(story, "8L", "harassment", 300)
        granted = original.closed + 30 * DAY
        order = self.b.order(original, "RO", "granted", applied=None, granted=granted,
                             served=granted, expires=granted + 3 * 365 * DAY,
                             conditions=ORDER_CONDITIONS["RO"], subject=original.suspect,
                             protected=original.victim)
        self.breach(story, order, self.hours_before_now(6))

    def breach_level1_acknowledged(self, area: str) -> None:
        story = self.story(area, "coercive", "ex_partner")
        original = self.case(story, "8U", "coercive", self.day(70))
        self.allocate(story, original, "Safeguarding", original.reported + HOUR, "Initial allocation")
        self.assess(story, original, original.reported + DAY, "standard")
        self.cared_for(story, original, "LOCAL")
        self.b.close(original, original.reported + 30 * DAY, "victim does not support action")
        granted = original.reported + 12 * DAY
        order = self.b.order(original, "NMO", "granted", applied=original.reported + 5 * DAY,
                             granted=granted, served=granted + DAY, expires=granted + 300 * DAY,
                             conditions=ORDER_CONDITIONS["NMO"], subject=original.suspect,
                             protected=original.victim)
        reported = self.hours_before_now(10)
        self.breach(story, order, reported, acknowledge_after=(self.m.now - reported) // 2)

    def breach_level2_repeated(self, area: str) -> None:
        story = self.story(area, "harassment", "ex_partner")
        original = self.case(story, "8L", "harassment", self.day(120))
        self.allocate(story, original, "Safeguarding", original.reported + HOUR, "Initial allocation")
        self.assess(story, original, original.reported + DAY, "medium", plan=True)
        self.cared_for(story, original, "LOCAL")
        granted = original.reported + 20 * DAY
        order = self.b.order(original, "NMO", "granted", applied=original.reported + 8 * DAY,
                             granted=granted, served=granted + DAY, expires=granted + 365 * DAY,
                             conditions=ORDER_CONDITIONS["NMO"], subject=original.suspect,
                             protected=original.victim)
        window = self.policy.breach.repeat_window_days
        self.breach(story, order, self.day(window * 0.6), acknowledge_after=2 * HOUR,
                    reassess_after=8 * HOUR)
        self.breach(story, order, self.hours_before_now(30, after_window_start=False),
                    acknowledge_after=2 * HOUR)

    def breach_level2_spo(self, area: str) -> None:
        story = self.story(area, "stalking", "stranger")
        original = self.case(story, "8Q", "stalking", self.day(150))
        self.allocate(story, original, "CID", original.reported + HOUR, "Initial allocation")
        self.assess(story, original, original.reported + DAY, "medium", plan=True)
        self.cared_for(story, original, "ISHA")
        by = f"inspector.{story.slug}"
        start = original.reported
        self.b.spo(original, "application_in_preparation", start + 5 * DAY, by=by,
                   rationale="Persistent fixated behaviour: application to magistrates")
        self.b.spo(original, "applied", start + 12 * DAY, by=by,
                   rationale="Application lodged with magistrates")
        self.b.spo(original, "interim_granted", start + 15 * DAY, by=by,
                   rationale="Interim order made")
        full = start + 60 * DAY
        self.b.order(original, "ISPO", "expired", applied=start + 12 * DAY,
                     granted=start + 15 * DAY, served=start + 15 * DAY + HOUR, expires=full,
                     conditions=ORDER_CONDITIONS["ISPO"], subject=original.suspect,
                     protected=original.victim, updated=full)
        self.b.spo(original, "granted", full, by=by, rationale="Full order made for two years")
        order = self.b.order(original, "SPO", "granted", applied=start + 12 * DAY, granted=full,
                             served=full + DAY, expires=full + 2 * 365 * DAY,
                             notified=full + 2 * DAY, conditions=ORDER_CONDITIONS["SPO"],
                             subject=original.suspect, protected=original.victim)
        self.breach(story, order, self.hours_before_now(20), acknowledge_after=2 * HOUR,
                    reassess_after=6 * HOUR)

    def breach_level2_high_risk(self, area: str) -> None:
        story = self.story(area, "coercive", "partner")
        original = self.case(story, "8U", "coercive", self.day(10))
        self.allocate(story, original, "CID", original.reported + HOUR, "Initial allocation")
        self.assess(story, original, original.reported + 3 * HOUR, "high", plan=True)
        self.cared_for(story, original, "ISAC")
        granted = original.reported + DAY
        order = self.b.order(original, "DVPO", "granted", applied=original.reported + 5 * HOUR,
                             granted=granted, served=granted + HOUR, expires=granted + 21 * DAY,
                             conditions=ORDER_CONDITIONS["DVPO"], subject=original.suspect,
                             protected=original.victim)
        self.breach(story, order, self.hours_before_now(15), acknowledge_after=HOUR)

    def breach_level2_threats(self, area: str) -> None:
        story = self.story(area, "harassment", "acquaintance")
        original = self.charged_original(story, "8L", "harassment", 200)
        granted = original.closed + 40 * DAY
        order = self.b.order(original, "RO", "granted", applied=None, granted=granted,
                             served=granted, expires=granted + 2 * 365 * DAY,
                             conditions=ORDER_CONDITIONS["RO"], subject=original.suspect,
                             protected=original.victim)
        self.breach(story, order, self.hours_before_now(4), threats=True)

    def breach_level3_acknowledgement_overdue(self, area: str) -> None:
        story = self.story(area, "malicious", "acquaintance")
        original = self.charged_original(story, "8R", "malicious", 250)
        granted = original.closed + 30 * DAY
        order = self.b.order(original, "RO", "granted", applied=None, granted=granted,
                             served=granted, expires=granted + 3 * 365 * DAY,
                             conditions=ORDER_CONDITIONS["RO"], subject=original.suspect,
                             protected=original.victim)
        self.breach(story, order, self.hours_ago(self.policy.breach.acknowledge_within_hours + 12, 8))

    def breach_level3_no_reassessment(self, area: str) -> None:
        """A level-2 breach (threats) of a non-molestation order, acknowledged,
        with no re-assessment in the policy's hours: level 3."""
        story = self.story(area, "stalking", "ex_partner")
        original = self.case(story, "8Q", "stalking", self.day(40))
        self.allocate(story, original, "CID", original.reported + HOUR, "Initial allocation")
        self.assess(story, original, original.reported + DAY, "medium", plan=True)
        self.cared_for(story, original, "ISAC")
        self.b.spo(original, "considered_not_appropriate", original.reported + 4 * DAY,
                   by=f"inspector.{story.slug}",
                   rationale="Non-molestation order sought by the victim; SPO kept under review")
        granted = original.reported + 9 * DAY
        order = self.b.order(original, "NMO", "granted", applied=original.reported + 3 * DAY,
                             granted=granted, served=granted + DAY, expires=granted + 365 * DAY,
                             conditions=ORDER_CONDITIONS["NMO"], subject=original.suspect,
                             protected=original.victim)
        self.breach(story, order, self.hours_ago(self.policy.breach.level2_reassessment_hours + 8, 8),
                    threats=True, acknowledge_after=3 * HOUR)
