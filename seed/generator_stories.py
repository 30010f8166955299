"""Background courses of conduct: one victim and one suspect with 1-6 crimes
over weeks or months, with the risk assessments, allocations, orders,
breaches, victims' care and closures that follow them.

A story is built from the builder's single random stream, so the same seed
gives the same stories; its crime summaries are composed by seed/grammar.py
from a stream of their own, seeded by one draw from the builder's, so their
wording can change without moving any other fact. The proportions are tuned so that about a sixth of
crimes are recorded as stalking (8Q), charge rates sit near 5-6% and more than
half of closed cases end because the victim does not support action
(DOMAIN.md §11).
"""

from __future__ import annotations

import random
from collections import deque

from seed.generator_build import (
    BREACH_CODES,
    DAY,
    DOMESTIC_RELATIONSHIPS,
    HOUR,
    MINUTE,
    Builder,
    CaseRec,
    Choice,
    OrderRec,
    Person,
)
from seed.grammar import Clause, Facts, compose, load_parts

KIND = Choice([("stalking", 0.2), ("harassment", 0.35), ("malicious", 0.22),
               ("damage", 0.14), ("coercive", 0.08)])
AREA = Choice([("Northern", 0.18), ("Southern", 0.17), ("Eastern", 0.15), ("Western", 0.15),
               ("Central", 0.22), ("Coastal", 0.13)])
RELATIONSHIP = {
    "stalking": Choice([("ex_partner", 47), ("acquaintance", 20), ("stranger", 11),
                        ("family", 5), ("partner", 3), ("unknown", 9)]),
    "harassment": Choice([("ex_partner", 25), ("acquaintance", 32), ("family", 11),
                          ("partner", 4), ("stranger", 15), ("unknown", 13)]),
    "malicious": Choice([("ex_partner", 24), ("acquaintance", 30), ("stranger", 14),
                         ("family", 7), ("partner", 3), ("unknown", 22)]),
    "damage": Choice([("acquaintance", 38), ("ex_partner", 20), ("stranger", 14),
                      ("unknown", 18), ("family", 7), ("partner", 3)]),
    "coercive": Choice([("partner", 45), ("ex_partner", 45), ("family", 10)]),
}
CRIMES = {
    "stalking": Choice([(1, 22), (2, 24), (3, 20), (4, 14), (5, 11), (6, 9)]),
    "harassment": Choice([(1, 50), (2, 22), (3, 13), (4, 8), (5, 4), (6, 3)]),
    "malicious": Choice([(1, 58), (2, 22), (3, 11), (4, 5), (5, 2), (6, 2)]),
    "damage": Choice([(1, 70), (2, 18), (3, 8), (4, 4)]),
    "coercive": Choice([(1, 55), (2, 25), (3, 12), (4, 8)]),
}
GAP_DAYS = {"stalking": 9.0, "harassment": 16.0, "malicious": 14.0, "damage": 25.0,
            "coercive": 30.0}
VICTIM_FEMALE = {"stalking": 0.8, "harassment": 0.6, "malicious": 0.62, "damage": 0.5,
                 "coercive": 0.85}
SUSPECT_FEMALE = {"stalking": 0.15, "harassment": 0.3, "malicious": 0.3, "damage": 0.2,
                  "coercive": 0.12}
HIDDEN_SHARE = 0.26
MAX_CRIMES = 6
HIDDEN_CODE = Choice([("8L", 45), ("8R", 30), ("58A", 25)])  # 58x: the template decides
DAMAGE_CODE = Choice([("58A", 35), ("58B", 10), ("58C", 35), ("58D", 20)])
ONLINE = {"8Q": 0.45, "8L": 0.28, "8M": 0.15, "8R": 0.92, "8U": 0.3, "58A": 0.02,
          "58B": 0.02, "58C": 0.02, "58D": 0.02, "BRO": 0.3, "BNMO": 0.3, "BSPO": 0.3,
          "BDVPO": 0.3}
ASSESS_SHARE = {"stalking": 0.9, "harassment": 0.7, "domestic": 0.72,
                "malicious communications": 0.45, "criminal damage": 0.2, "breach": 0.4}
REFER_SHARE = {"stalking": 0.8, "harassment": 0.52, "domestic": 0.66,
               "malicious communications": 0.38, "criminal damage": 0.25, "breach": 0.5}
# S-DASH questions 1-11: how often each is "yes" in a course of conduct of middling severity.
QUESTION_BASE = (0.62, 0.3, 0.2, 0.18, 0.35, 0.24, 0.24, 0.1, 0.1, 0.26, 0.2)
OUTCOME_KNOWN = Choice([("victim does not support action", 56), ("evidential difficulties", 21),
                        ("charged", 5.0), ("cautioned", 3), ("community resolution", 3),
                        ("not in the public interest", 5), ("suspect not traced", 2)])
OUTCOME_UNKNOWN = Choice([("no suspect identified", 78), ("victim does not support action", 22)])
OUTCOME_BREACH = Choice([("charged", 8), ("victim does not support action", 40),
                         ("evidential difficulties", 22), ("cautioned", 6),
                         ("no further action after arrest", 14)])
FIRST_TEAM = Choice([("Response", 62), ("Neighbourhood", 20), ("Safeguarding", 10), ("CID", 8)])
# seed/calibration.toml: about 0.3-0.5 SPO applications per 100 stalking crimes, most
# granted (an interim order first), some refused; most considered and not pursued.
SPO_OUTCOME = Choice([("considered_not_appropriate", 97.8), ("application_in_preparation", 0.9),
                      ("applied", 0.04), ("interim_granted", 0.16), ("granted", 0.2),
                      ("refused", 0.05)])
# After an order is made, the chance that the suspect offends again while it is in
# force (seed/calibration.toml: breach_*); otherwise the course of conduct ends.
REOFFEND_UNDER_ORDER = {"SPO": 0.4, "ISPO": 0.4, "RO": 0.2, "NMO": 0.2, "DVPO": 0.1}
# Crimes that stay open well past their expected closure (complex investigations).
LONG_RUNNING = 0.004
# A PIN is nearly nil since 2017 (seed/calibration.toml: pins); each has a superintendent's authority.
PIN_SHARE = 0.0004
SUPERINTENDENTS = ("Supt Harcourt", "Supt Ellery", "Supt Wendon", "Supt Marsh")
SPO_NOT_APPROPRIATE = (
    "Single incident so far; the test for an SPO is not met",
    "Restraining order already in place on conviction",
    "Victim does not support an application; reviewed with the SPO lead",
    "Suspect now lives outside the force area and has stopped contact; keep under review",
    "Behaviour is harassment without fixation; an SPO would not be proportionate",
)
SPO_APPLY = (
    "Persistent fixated behaviour and risk of escalation: application to magistrates",
    "Repeated attendance at the victim's home and workplace: SPO with an exclusion zone",
    "Online contact through new accounts continues: SPO with a ban on contact by any means",
)
PLANS = (
    "Safety plan agreed with victim; target hardening referral; marker on address; "
    "review in 7 days",
    "Arrest suspect when located; bail conditions no contact and exclusion zone; "
    "ISAC engagement; review weekly",
    "Panic alarm fitted; daily welfare contact by OIC; consider SPO; MARAC referral made",
    "Victim relocated to family; suspect circulated as wanted; review at next DMM",
)
LOWER_RATIONALE = (
    "Suspect remanded in custody; immediate risk reduced",
    "Victim has moved out of the area and the suspect does not know the new address",
    "Answers reflect historic incidents; no contact for several months",
)
RAISE_RATIONALE = (
    "Professional judgement: escalation in frequency and victim's fear",
    "Suspect has breached bail conditions; judgement raises the level",
    "Recent threats to the victim's family; judgement raises the level",
)
MOVE_REASONS = (
    "Transferred for complex enquiries",
    "Returned to local team after review",
    "Workload rebalanced by the duty inspector",
    "Moved after DMM review",
)
SEARCH_PREMISES = ("Suspect's home address", "Suspect's vehicle", "Suspect's workplace locker",
                   "Shared garage used by the suspect")
SEARCH_ITEMS = ("Mobile phone and laptop seized", "Handwritten notes and photographs of the victim",
                "Mobile phone seized; GPS tracker recovered", "Nothing seized")
ACK_NOTES = ("Acknowledged; arrest to be considered", "Acknowledged; risk re-assessment requested",
             "Acknowledged; suspect arrested and in custody", "Acknowledged")
ORDER_CONDITIONS = {
    "RO": "Not to contact the victim directly or indirectly; not to enter the named street",
    "NMO": "Not to use or threaten violence; not to contact the applicant; exclusion zone",
    "DVPO": "Not to enter the victim's home or come within 100 metres of it",
    "SPO": "Not to contact the victim by any means; not to enter the exclusion zone; "
           "attend a perpetrator programme",
    "ISPO": "Not to contact the victim by any means; not to enter the exclusion zone",
}
SEARCH_POWER = Choice([(0, 40), (1, 30), (2, 20), (3, 10)])
HOURS_OF_DAY = Choice([(h, w) for h, w in enumerate(
    (2, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 8, 7, 6, 4, 3))])


class Story:
    """The people and facts shared by the crimes of one course of conduct."""

    __slots__ = ("area", "by", "domestic", "hidden", "kind", "noun", "rel", "severity",
                 "slug", "suspect", "victim")

    def __init__(self, *, kind: str, area: str, rel: str, victim: Person,
                 suspect: Person | None, noun: str, hidden: bool, severity: float) -> None:
        self.kind = kind
        self.area = area
        self.slug = area.lower()
        self.rel = rel
        self.domestic = rel in DOMESTIC_RELATIONSHIPS
        self.victim = victim
        self.suspect = suspect
        self.noun = noun
        self.hidden = hidden
        self.severity = severity


class StoryMaker:
    """Builds background stories into a builder."""

    def __init__(self, builder: Builder, search_powers: tuple[str, ...]) -> None:
        self.b = builder
        self.rng = builder.rng
        self.texts = builder.texts
        self.parts = load_parts()
        # the summaries' words come from a stream of their own, seeded by one
        # draw from the builder's: rewording them leaves every other fact as it is
        self.words = random.Random(self.rng.getrandbits(64))
        self.search_powers = search_powers
        self.suspects: deque[Person] = deque(maxlen=256)
        self.victims: deque[Person] = deque(maxlen=256)

    # --- helpers ----------------------------------------------------------------
    def time_of_day(self) -> int:
        return HOURS_OF_DAY(self.rng) * HOUR + self.rng.randrange(HOUR)

    def noun_for(self, rel: str) -> str:
        texts = self.texts
        if rel == "ex_partner":
            return "former partner"
        if rel == "partner":
            return "partner"
        if rel == "family":
            return self.rng.choice(texts.family)
        if rel == "acquaintance":
            return self.rng.choice(texts.acquaintances)
        return ""

    def summary(self, story: Story, group: str, *, order_kind: str | None = None,
                context: str | None = None) -> tuple[str, Clause]:
        """A summary of ``group``'s conduct about the story's synthetic people,
        composed by the grammar (seed/grammar.py)."""
        facts = Facts(victim=story.victim, suspect=story.suspect, relationship=story.rel,
                      noun=story.noun)
        return compose(self.words, self.parts, group, facts,
                       order=self.texts.orders.get(order_kind or "", "order"), context=context)

    def answers(self, severity: float) -> str:
        rng = self.rng
        scale = 0.2 + 1.45 * severity
        return "".join("Y" if rng.random() < base * scale else "N" for base in QUESTION_BASE)

    def officer(self, story: Story, team: str) -> str:
        rng = self.rng
        if team in ("Response", "Neighbourhood") and rng.random() < 0.5:
            return f"officer.{story.slug}"
        rank = "DC" if team in ("CID", "Safeguarding") else "PC"
        return f"{rank} {rng.randrange(1000, 9999)}"

    def supervisor(self, story: Story) -> str:
        return (f"inspector.{story.slug}" if self.rng.random() < 0.35
                else f"supervisor.{story.slug}")

    # --- one story ---------------------------------------------------------------
    def story(self, budget: int) -> int:
        """Build one course of conduct of at most ``budget`` crimes; returns how many."""
        b, rng = self.b, self.rng
        now = b.now
        kind = KIND(rng)
        area = AREA(rng)
        rel = RELATIONSHIP[kind](rng)
        known = rel != "unknown" or rng.random() < 0.35
        crimes = min(CRIMES[kind](rng) if known else 1, budget)
        if rng.random() < 0.02 and self.victims:
            victim = rng.choice(self.victims)
        else:
            victim = b.person(female=rng.random() < VICTIM_FEMALE[kind])
        suspect = None
        if known:
            if kind in ("stalking", "harassment") and rng.random() < 0.04 and self.suspects:
                suspect = rng.choice(self.suspects)
            else:
                suspect = b.person(female=rng.random() < SUSPECT_FEMALE[kind],
                                   age_low=16, age_high=66)
            if kind in ("stalking", "harassment"):
                self.suspects.append(suspect)
        self.victims.append(victim)
        severity = rng.random() ** (0.8 if kind in ("stalking", "coercive") else 1.5)
        story = Story(kind=kind, area=area, rel=rel, victim=victim, suspect=suspect,
                      noun=self.noun_for(rel), hidden=kind == "stalking" and rng.random() < HIDDEN_SHARE,
                      severity=severity)
        t = now - rng.randrange(1, 730) * DAY
        t = t - t % DAY + self.time_of_day()
        if t >= now:
            t -= DAY
        made: list[CaseRec] = []
        order: OrderRec | None = None
        gap = GAP_DAYS[kind]
        while len(made) < crimes and t < now:
            in_force = order is not None and order.in_force(t)
            if in_force:
                case = self.breach_crime(story, t, order)
            else:
                case = self.crime(story, t, first=not made, protected=order is not None)
            made.append(case)
            new_order = None
            if not in_force:
                new_order = self.maybe_order(story, case)
                if new_order is None and case.spo_status in ("interim_granted", "granted"):
                    new_order = self._spo_order
            if new_order is not None:
                order = new_order
                if rng.random() < REOFFEND_UNDER_ORDER[new_order.kind]:
                    crimes = min(budget, MAX_CRIMES, max(crimes, len(made) + 1)
                                 + rng.choice((0, 0, 1, 1, 2)))
                else:
                    crimes = len(made)  # the order ends the course of conduct
                start = new_order.served or new_order.granted or t
                t = max(t, start) + int((1 + rng.expovariate(1 / 25)) * DAY)
            else:
                t += int((0.3 + rng.expovariate(1 / gap)) * DAY)
            t = t - t % DAY + self.time_of_day()
        for case in made:
            b.settle_reassessment(case)
        for case in made:
            b.finish(case)
        return len(made)

    # --- crimes -----------------------------------------------------------------
    def code_for(self, story: Story, first: bool) -> tuple[str, str, list[str]]:
        """(principal code, summary group, included codes) for a new crime."""
        rng = self.rng
        kind = story.kind
        if kind == "stalking":
            if story.hidden and (first or rng.random() > 0.2):
                code = HIDDEN_CODE(rng)
                group = "hidden_58" if code.startswith("58") else f"hidden_{code}"
                return code, group, []
            story.hidden = False
            if story.domestic and rng.random() < 0.25:
                return "8U", "coercive_stalking", ["8Q"]
            if rng.random() < ONLINE["8Q"]:
                return "8Q", "stalking_online", ["8R"] if rng.random() < 0.35 else []
            return "8Q", "stalking", []
        if kind == "harassment":
            if story.rel in ("acquaintance", "stranger", "unknown") and rng.random() < 0.12:
                return "8M", "harassment_8M", []
            return "8L", "harassment", []
        if kind == "malicious":
            return "8R", "malicious", []
        if kind == "damage":
            code = DAMAGE_CODE(rng)
            return code, f"damage_{code}", ["8L"] if code == "58A" and rng.random() < 0.08 else []
        if rng.random() < 0.15:
            return "8U", "coercive_stalking", ["8Q"]
        return "8U", "coercive", []

    def crime(self, story: Story, t: int, *, first: bool, protected: bool = False) -> CaseRec:
        b, rng = self.b, self.rng
        code, group, included = self.code_for(story, first)
        decoy = False
        if not group.startswith(("hidden", "stalking", "coercive_stalking")) and rng.random() < 0.045:
            group, decoy = "decoy", True
        stalking_like = group.startswith(("hidden", "stalking", "coercive_stalking"))
        text, template = self.summary(story, group,
                                      context="stalking" if stalking_like else "ordinary")
        if template.code:
            code = template.code
        if group in ("stalking_online", "hidden_8R"):
            online = True
        elif group == "stalking":
            online = rng.random() < 0.12
        else:
            online = rng.random() < ONLINE[code]
        case = b.new_case(area=story.area, code=code, reported=t, victim=story.victim,
                          suspect=story.suspect, rel=story.rel, online=online, summary=text,
                          occurred_days=rng.random() * (14 if stalking_like else 2))
        for extra in included:
            b.include(case, extra, t + rng.randrange(MINUTE, 3 * HOUR), f"officer.{story.slug}")
        if group.startswith("hidden"):
            b.key(case, hidden=True, note=f"stalking recorded as {code}: {template.note}")
        elif decoy:
            b.key(case, hidden=False, note=template.note)
        self.lifecycle(story, case, original=None, protected=protected)
        return case

    def breach_crime(self, story: Story, t: int, order: OrderRec) -> CaseRec:
        b, rng = self.b, self.rng
        code = BREACH_CODES[order.kind]
        hidden = story.hidden and code != "BSPO"
        group = "hidden_breach" if hidden else "breach"
        text, template = self.summary(story, group, order_kind=order.kind,
                                      context="stalking" if hidden else "ordinary")
        case = b.new_case(area=story.area, code=code, reported=t, victim=story.victim,
                          suspect=story.suspect, rel=story.rel, online=rng.random() < ONLINE[code],
                          summary=text, occurred_days=rng.random(), linked=order.case)
        if hidden:
            b.key(case, hidden=True, note=f"stalking recorded as {code}: {template.note}")
        self.lifecycle(story, case, original=order.case)
        now = b.now
        occurred = max(case.occ_from, (order.served or order.granted or case.occ_from))
        ack_at: int | None = None
        ack_by: str | None = None
        # most breaches are acknowledged within the policy's clock, a few late; only
        # those of the last days can still be waiting (none is left for months)
        unacknowledged = now - t < 3 * DAY and rng.random() < 0.3
        if not unacknowledged:
            r = rng.random()
            delay = (rng.randrange(HOUR, 12 * HOUR) if r < 0.72
                     else rng.randrange(12 * HOUR, 30 * HOUR) if r < 0.94
                     else rng.randrange(30 * HOUR, 72 * HOUR))
            if t + delay < now:
                ack_at, ack_by = t + delay, self.supervisor(story)
        arrest = t + rng.randrange(2 * HOUR, 30 * HOUR) if rng.random() < 0.45 else None
        if arrest is not None and arrest >= now:
            arrest = None
        threats = rng.random() < 0.2
        escalated_by = escalated_at = None
        if ack_at is not None and (threats or order.kind in ("SPO", "ISPO")) and rng.random() < 0.3:
            escalated_by, escalated_at = f"inspector.{story.slug}", ack_at + rng.randrange(HOUR, 6 * HOUR)
            if escalated_at >= now:
                escalated_by = escalated_at = None
        b.breach(order, case, occurred=min(occurred, t), reported=t, threats=threats,
                 ack_by=ack_by, ack_at=ack_at,
                 ack_note=rng.choice(ACK_NOTES) if ack_at is not None else None,
                 arrest_at=arrest,
                 reassess_requested=ack_at if ack_at is not None and rng.random() < 0.7 else None,
                 outcome=case.outcome, escalated_by=escalated_by, escalated_at=escalated_at)
        # Re-assessment of the original case after the breach (or not: a gap).
        if rng.random() < 0.62:
            at = t + rng.randrange(3 * HOUR, 44 * HOUR)
            if at < now:
                original = order.case
                b.assess(original, at, self.answers(min(1.0, story.severity + 0.15)),
                         assessor=self.supervisor(story),
                         plan=rng.choice(PLANS) if rng.random() < 0.7 else None)
        return case

    # --- what follows a crime -------------------------------------------------------
    def lifecycle(self, story: Story, case: CaseRec, *, original: CaseRec | None,
                  protected: bool = False) -> None:
        b, rng = self.b, self.rng
        now = b.now
        t = case.reported
        closed_at = None
        if rng.random() > LONG_RUNNING:
            closed_at = t + int((2 + rng.expovariate(1 / 35)) * DAY)
            if closed_at >= now:
                closed_at = None
        end = closed_at if closed_at is not None else now
        self.assessments(story, case, end)
        self.allocations(story, case, end, original)
        self.victim_care(story, case, end)
        if case.stalking and original is None:
            self.spo_decisions(story, case, end, protected=protected)
        if case.stalking and story.suspect is not None and rng.random() < 0.06:
            self.search(story, case, end)
        if case.code in ("8L", "8M") and rng.random() < PIN_SHARE:
            case.pin = True
            case.pin_by = rng.choice(SUPERINTENDENTS)
        if case.risk_level == "high" and case.risk_at is not None:
            kind = ("MARAC" if story.domestic else "MASIP") if case.stalking or story.domestic else None
            share = 0.55 if story.domestic else 0.2
            if kind and rng.random() < share:
                at = case.risk_at + rng.randrange(DAY, 10 * DAY)
                if at < end:
                    b.multi_agency(case, kind, at, f"supervisor.{story.slug}",
                                   "heard at MARAC" if kind == "MARAC" and at < now - 14 * DAY else None)
        if closed_at is not None:
            if case.family == "breach":
                outcome = OUTCOME_BREACH(rng)
            elif story.suspect is None:
                outcome = OUTCOME_UNKNOWN(rng)
            elif case.pin and rng.random() < 0.5:
                outcome = "Police Information Notice issued"
            else:
                outcome = OUTCOME_KNOWN(rng)
            b.close(case, closed_at, outcome)

    def assessments(self, story: Story, case: CaseRec, end: int) -> None:
        b, rng = self.b, self.rng
        if rng.random() >= ASSESS_SHARE[case.family]:
            return
        r = rng.random()
        delay = (rng.randrange(HOUR, DAY) if r < 0.6 else rng.randrange(DAY, 2 * DAY) if r < 0.85
                 else rng.randrange(2 * DAY, 12 * DAY))
        at = case.reported + delay
        severity = story.severity
        for _ in range(3):
            if at >= end:
                return
            answers = self.answers(severity)
            _yes, suggested = b.suggested(answers)
            level, rationale, approver = suggested, None, None
            r = rng.random()
            if r < 0.08 and suggested != "high":
                level = "medium" if suggested == "standard" else "high"
                rationale = rng.choice(RAISE_RATIONALE)
            elif r < 0.13 and suggested != "standard":
                level = "standard" if suggested == "medium" else "medium"
                rationale = rng.choice(LOWER_RATIONALE)
                approver = f"inspector.{story.slug}"
            plan = None
            if (level == "high" and rng.random() < 0.82) or (level == "medium" and rng.random() < 0.25):
                plan = rng.choice(PLANS)
            b.assess(case, at, answers, assessor=(f"officer.{story.slug}" if rng.random() < 0.55
                                                  else f"supervisor.{story.slug}"),
                     level=level, plan=plan, rationale=rationale, approver=approver)
            if case.risk_review is None or end != b.now or rng.random() >= 0.45:
                return
            at = case.risk_review + rng.randrange(-2 * DAY, 5 * DAY)
            at = max(at, case.risk_at + HOUR)
            severity = max(0.0, min(1.0, severity + rng.uniform(-0.2, 0.15)))

    def allocations(self, story: Story, case: CaseRec, end: int, original: CaseRec | None) -> None:
        b, rng = self.b, self.rng
        at = case.reported + rng.randrange(15 * MINUTE, 6 * HOUR)
        if at >= end:
            return
        if original is not None:
            r = rng.random()
            team = ((original.team or "Orders") if r < 0.5 else "Orders" if r < 0.85
                    else "CID" if r < 0.95 else "Response")
            reason = "Breach: allocated with the original case" if team == original.team else "Breach of order"
        else:
            team = FIRST_TEAM(rng)
            reason = "Initial allocation"
        b.allocate(case, team, at, by=self.supervisor(story), reason=reason,
                   officer=self.officer(story, team))
        rows = 1
        level = case.risk_level
        if level in ("high", "medium") and case.risk_at is not None and team not in ("CID", "Safeguarding"):
            if case.stalking and level == "high" and story.domestic:
                move = rng.random() < 0.85
                target = "CID"
            elif level == "high":
                move = rng.random() < 0.8
                target = "CID" if rng.random() < 0.5 else "Safeguarding"
            else:
                move = case.stalking and rng.random() < 0.7
                target = "CID" if rng.random() < 0.5 else "Safeguarding"
            when = max(at, case.risk_at) + rng.randrange(HOUR, 36 * HOUR)
            if move and when < end:
                b.allocate(case, target, when, by=f"inspector.{story.slug}",
                           reason=f"Risk assessed {level}: transferred to {target}",
                           officer=self.officer(story, target))
                at = when
                rows += 1
        if rng.random() < 0.09:
            for _ in range(rng.randint(1, 2)):
                if rows >= 4:
                    break
                when = at + rng.randrange(DAY, 20 * DAY)
                if when >= end:
                    break
                target = rng.choice(("Response", "Neighbourhood", "CID", "Safeguarding"))
                if target == case.team:
                    continue
                b.allocate(case, target, when, by=self.supervisor(story),
                           reason=rng.choice(MOVE_REASONS), officer=self.officer(story, target))
                at = when
                rows += 1

    def victim_care(self, story: Story, case: CaseRec, end: int) -> None:
        b, rng = self.b, self.rng
        now = b.now
        t = case.reported
        if rng.random() < 0.94:
            r = rng.random()
            needs: int | None
            if r < 0.78:
                needs = t + rng.randrange(HOUR, 40 * HOUR)
            elif r < 0.88:
                needs = t + rng.randrange(3 * DAY, 12 * DAY)
            else:
                needs = None
            if needs is not None and needs >= end:
                needs = None
            enhanced = rng.random() < (0.95 if case.stalking else 0.85 if story.domestic else 0.45)
            if story.domestic:
                r = rng.random()
                consent = True if r < 0.8 else False if r < 0.92 else None
            else:
                r = rng.random()
                consent = True if r < 0.88 else False if r < 0.93 else None
            explained = needs + rng.randrange(0, 6 * HOUR) if needs is not None else None
            if explained is not None and explained >= now:
                explained = None
            update = None
            if needs is not None and rng.random() < 0.7:
                update = needs + rng.randrange(DAY, 20 * DAY)
                if update >= end:
                    update = None
            vps = needs + rng.randrange(0, 3 * DAY) if needs is not None and rng.random() < 0.6 else None
            if vps is not None and vps >= now:
                vps = None
            b.care(case, needs=needs, enhanced=enhanced, explained=explained, consent=consent,
                   last_update=update, vps=vps)
            if consent is False:
                return
        if rng.random() >= REFER_SHARE[case.family]:
            return
        late = rng.random() < 0.28
        at = t + (rng.randrange(3 * DAY, 15 * DAY) if late else rng.randrange(2 * HOUR, 2 * DAY))
        if at >= end:
            return
        if case.stalking:
            if case.risk_level == "high":
                service = "PALADIN" if rng.random() < 0.4 else "ISAC"
            else:
                service = "ISAC" if story.domestic else "ISHA"
        else:
            service = "LOCAL" if rng.random() < 0.75 else "HELPLINE"
        # services answer within days to weeks: only recent referrals are still pending
        age = now - at
        pending = 0.7 if age < 7 * DAY else 0.25 if age < 21 * DAY else 0.06 if age < 45 * DAY else 0
        if rng.random() < pending:
            outcome = "pending"
        else:
            r = rng.random()
            outcome = ("accepted" if r < 0.62 else "declined" if r < 0.84 else "no_contact")
        b.refer(case, service, at, outcome, f"officer.{story.slug}")
        if case.stalking and rng.random() < 0.15 and at + DAY < end:
            b.refer(case, "HELPLINE", at + rng.randrange(HOUR, DAY), "accepted",
                    f"officer.{story.slug}")

    _spo_order: OrderRec | None = None

    def spo_decisions(self, story: Story, case: CaseRec, end: int, *, protected: bool) -> None:
        """SPO decision history; a granted interim or full order becomes the
        story's order (and may later be breached). When an order already
        protects the victim from this suspect the decision is "not appropriate"."""
        b, rng = self.b, self.rng
        now = b.now
        self._spo_order = None
        if rng.random() >= 0.72:
            return
        at = case.reported + (rng.randrange(DAY, 14 * DAY) if rng.random() < 0.75
                              else rng.randrange(14 * DAY, 30 * DAY))
        if at >= now:
            return
        by = f"inspector.{story.slug}"
        if protected:
            b.spo(case, "considered_not_appropriate", at, by=by,
                  rationale="An order already protects the victim from this suspect")
            return
        outcome = SPO_OUTCOME(rng)
        if outcome == "considered_not_appropriate":
            b.spo(case, outcome, at, by=by, rationale=rng.choice(SPO_NOT_APPROPRIATE))
            return
        reason = rng.choice(SPO_APPLY)
        b.spo(case, "application_in_preparation", at, by=by, rationale=reason)
        if outcome == "application_in_preparation":
            return
        applied = at + rng.randrange(7 * DAY, 21 * DAY)
        if applied >= now:
            return
        b.spo(case, "applied", applied, by=by, rationale="Application lodged with magistrates")
        if outcome == "applied":
            return
        if outcome == "refused":
            refused = applied + rng.randrange(14 * DAY, 60 * DAY)
            if refused < now:
                b.spo(case, "refused", refused, by=by, rationale="Court refused the application")
            return
        interim = applied + rng.randrange(DAY, 7 * DAY)
        if interim >= now:
            return
        b.spo(case, "interim_granted", interim, by=by, rationale="Interim order made")
        victim, suspect = story.victim.id, story.suspect.id if story.suspect else None
        full = interim + rng.randrange(28 * DAY, 90 * DAY)
        if outcome == "granted" and full < now:
            b.order(case, "ISPO", "expired", applied=applied, granted=interim,
                    served=interim + HOUR, expires=full, conditions=ORDER_CONDITIONS["ISPO"],
                    subject=suspect, protected=victim, updated=full,
                    notified=self._notified(interim + HOUR))
            b.spo(case, "granted", full, by=by, rationale="Full order made for two years or more")
            served = full + rng.randrange(HOUR, 3 * DAY)
            expires = full + rng.randint(2, 5) * 365 * DAY
            self._spo_order = b.order(
                case, "SPO", "granted" if expires > now else "expired", applied=applied,
                granted=full, served=served if served < now else None, expires=expires,
                conditions=ORDER_CONDITIONS["SPO"], subject=suspect, protected=victim,
                notified=served + rng.randrange(HOUR, 3 * DAY) if rng.random() < 0.9 and served + 3 * DAY < now else None)
        else:
            self._spo_order = b.order(
                case, "ISPO", "interim_granted", applied=applied, granted=interim,
                served=interim + HOUR, expires=None, conditions=ORDER_CONDITIONS["ISPO"],
                subject=suspect, protected=victim, notified=self._notified(interim + HOUR))

    def _notified(self, served: int) -> int | None:
        """When the subject of an order served at ``served`` notified name and
        address (SPA 2019 s9): nearly always within the policy's days, now and
        then not at all; never after now."""
        rng, now = self.rng, self.b.now
        if rng.random() >= 0.93:
            return None
        notified = served + rng.randrange(HOUR, self.b.policy.spo.notification_days * DAY)
        return notified if notified < now else None

    def maybe_order(self, story: Story, case: CaseRec) -> OrderRec | None:
        """A restraining order after a charge, a non-molestation order or a DVPO
        in a domestic story."""
        b, rng = self.b, self.rng
        now = b.now
        suspect = story.suspect.id if story.suspect else None
        if suspect is None or case.family == "breach":
            return None
        victim = story.victim.id
        if case.outcome == "charged" and case.closed is not None and rng.random() < 0.6:
            granted = case.closed + rng.randrange(7 * DAY, 90 * DAY)
            if granted >= now:
                return None
            expires = granted + rng.randint(1, 5) * 365 * DAY if rng.random() < 0.8 else None
            status = "expired" if expires is not None and expires < now else "granted"
            return b.order(case, "RO", status, applied=None, granted=granted, served=granted,
                           expires=expires, conditions=ORDER_CONDITIONS["RO"], subject=suspect,
                           protected=victim)
        if not story.domestic:
            return None
        r = rng.random()
        if r < 0.05:
            applied = case.reported + rng.randrange(2 * DAY, 20 * DAY)
            granted = applied + rng.randrange(DAY, 20 * DAY)
            if granted >= now:
                return None
            served = granted + rng.randrange(HOUR, 4 * DAY)
            expires = granted + rng.randrange(182, 366) * DAY
            status = "expired" if expires < now else ("varied" if rng.random() < 0.1 else "granted")
            return b.order(case, "NMO", status, applied=applied, granted=granted,
                           served=served if served < now else None, expires=expires,
                           conditions=ORDER_CONDITIONS["NMO"], subject=suspect, protected=victim)
        if r < 0.09 and story.rel != "family":
            applied = case.reported + rng.randrange(2 * HOUR, DAY)
            granted = applied + rng.randrange(20 * HOUR, 48 * HOUR)
            if granted >= now:
                return None
            expires = granted + rng.randrange(14, 29) * DAY
            return b.order(case, "DVPO", "expired" if expires < now else "granted",
                           applied=applied, granted=granted, served=granted + HOUR,
                           expires=expires, conditions=ORDER_CONDITIONS["DVPO"],
                           subject=suspect, protected=victim)
        return None

    def search(self, story: Story, case: CaseRec, end: int) -> None:
        b, rng = self.b, self.rng
        at = case.reported + rng.randrange(DAY, 10 * DAY)
        if at >= end:
            return
        index = SEARCH_POWER(rng)
        power = self.search_powers[index % len(self.search_powers)]
        authorised = f"inspector.{story.slug}" if index in (0, 1) else None
        officer = self.officer(story, "CID")
        b.search(case, power=power, at=at, officer=officer, authorised_by=authorised,
                 premises=rng.choice(SEARCH_PREMISES), items=rng.choice(SEARCH_ITEMS),
                 recorded_by=f"officer.{story.slug}",
                 recorded_at=min(at + rng.randrange(HOUR, 6 * HOUR), b.now))
