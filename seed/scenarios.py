"""Training scenarios: data files in ``seed/scenarios/`` that reset the
training database to a known state at a fixed "now" that tells a story.

A scenario names its clock, the synthetic background (a generated force of
``base_cases`` cases, possibly none) and the story: people, cases, risk
assessments, orders, breaches, victim care, allocations and earlier DMM
actions, with times relative to ``now`` ("-2d", "-6h30m", "+60d"). Its
``key_refs`` name the cases (or breaches) of its key moment and
``key_screens`` the screens they must top (tests/services/test_scenario_moments.py).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from app.dates import LONDON, parse_datetime
from app.db import Database
from app.errors import BadInput
from app.policy import default_policy
from app.rules.risk import parse_answers, reassessment_due, review_due, suggested_level, yes_count
from models import tables
from models.enums import RiskLevel
from seed.reference import install_reference, organisation, questionnaire
from seed.users import install_users

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
_OFFSET = re.compile(r"^(?P<sign>[+-])(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    now: datetime
    base_cases: int
    base_seed: int
    start: str
    role: str
    key_moment: str
    story: dict[str, Any]
    path: Path
    # the area command whose screen the scenario opens on (None: the role's own)
    area: str | None = None
    # the key moment's cases or breaches (references), which stand at the top
    # of each of ``key_screens`` (the screen the scenario opens on when not given)
    key_refs: tuple[str, ...] = ()
    key_screens: tuple[str, ...] = ()


def _when(value: str | None, now: datetime, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    match = _OFFSET.match(value.strip())
    if match and any(match.group(g) for g in ("d", "h", "m")):
        delta = timedelta(days=int(match["d"] or 0), hours=int(match["h"] or 0),
                          minutes=int(match["m"] or 0))
        return now - delta if match["sign"] == "-" else now + delta
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise BadInput(f"{where}: {exc}") from None


@cache
def scenarios() -> dict[str, Scenario]:
    found: dict[str, Scenario] = {}
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
        meta = raw.get("scenario", {})
        name = meta.get("name", path.stem)
        found[name] = Scenario(
            name=name,
            title=meta["title"],
            description=meta["description"].strip(),
            now=parse_datetime(meta["now"]),
            base_cases=int(meta.get("base_cases", 0)),
            base_seed=int(meta.get("base_seed", 1)),
            start=meta.get("start", "cases"),
            role=meta.get("role", "supervisor"),
            area=meta.get("area"),
            key_moment=meta.get("key_moment", ""),
            key_refs=tuple(meta.get("key_refs", ())),
            key_screens=tuple(meta.get("key_screens", (meta.get("start", "cases"),))),
            story=raw,
            path=path,
        )
    return found


def get_scenario(name: str) -> Scenario:
    known = scenarios()
    if name not in known:
        raise BadInput(f"scenario {name!r} is not known; choose one of: {', '.join(known)}")
    return known[name]


class _Story:
    """Writes one scenario's story into a session."""

    def __init__(self, session: Session, scenario: Scenario) -> None:
        self.session = session
        self.scenario = scenario
        self.now = scenario.now
        self.cases: dict[str, tables.Case] = {}
        self.orders: dict[str, tables.ProtectiveOrder] = {}
        self.risk_policy = default_policy().risk
        self.questions = len(questionnaire().questions)

    def at(self, value: str | None, where: str) -> datetime | None:
        return _when(value, self.now, f"{self.scenario.path.name}: {where}")

    def person(self, ref: str) -> tables.Person:
        found = self.session.exec(select(tables.Person).where(tables.Person.person_ref == ref)).first()
        if found:
            return found
        names = {p["ref"]: p["name"] for p in self.scenario.story.get("person", [])}
        created = tables.Person(person_ref=ref, name=names.get(ref, f"Person {ref}"))
        self.session.add(created)
        self.session.flush()
        return created

    def write(self) -> None:
        for row in self.scenario.story.get("case", []):
            self.add_case(row)
        for row in self.scenario.story.get("order", []):
            self.add_order(row)
        for row in self.scenario.story.get("breach", []):
            self.add_breach(row)
        for row in self.scenario.story.get("dmm_action", []):
            self.add_dmm_action(row)

    def add_case(self, row: dict[str, Any]) -> None:
        ref = row["ref"]
        where = f"case {ref}"
        reported = self.at(row["reported"], f"{where}: reported")
        assert reported is not None
        area = row.get("area", "Northern")
        if area not in organisation().area_commands:
            raise BadInput(f"{self.scenario.path.name}: {where}: unknown area {area!r}")
        linked = self.cases[row["linked_to"]].id if row.get("linked_to") else None
        case = tables.Case(
            crime_ref=ref, reported_at=reported, occurred_from=reported - timedelta(hours=3),
            area_command=area, principal_code=row.get("code", "8L"),
            victim_id=self.person(row["victim"]).id,
            suspect_id=self.person(row["suspect"]).id if row.get("suspect") else None,
            relationship=row.get("relationship", "unknown"),
            domestic_abuse=row.get("domestic_abuse", False), online=row.get("online", False),
            summary=row.get("summary", "").strip(), status=row.get("status", "open"),
            allocation_team=row.get("team"), officer=row.get("officer"),
            spo_status=row.get("spo", "not_considered"), pin_issued=row.get("pin", False),
            linked_case_id=linked, created_at=reported, last_activity_at=reported,
        )
        if case.status == "closed":
            case.closed_at = self.at(row.get("closed", "-1d"), f"{where}: closed")
            case.outcome = row.get("outcome", "victim does not support action")
        self.session.add(case)
        self.session.flush()
        self.cases[ref] = case
        for code in row.get("included", []):
            self.session.add(tables.IncludedClassification(case_id=case.id, code=code, source="recording",
                                                    added_by=row.get("officer") or "rms",
                                                    added_at=reported))
        for index, team in enumerate(row.get("team_history", [row["team"]] if row.get("team") else [])):
            self.session.add(tables.Allocation(case_id=case.id, team=team, officer=row.get("officer"),
                                        allocated_at=reported + timedelta(hours=index),
                                        allocated_by="rms", reason="initial allocation" if index == 0
                                        else "moved"))
        if "risk" in row:
            self.add_risk(case, row["risk"], where)
        if row.get("spo") and row["spo"] != "not_considered":
            self.session.add(tables.SpoDecision(case_id=case.id, status=row["spo"],
                                         rationale=row.get("spo_rationale"),
                                         decided_by=row.get("spo_by", "supervisor.northern"),
                                         decided_at=reported + timedelta(days=1)))
        if "victim_care" in row:
            care = row["victim_care"]
            self.session.add(tables.VictimCare(
                case_id=case.id,
                needs_assessed_at=self.at(care.get("needs_assessed"), f"{where}: needs_assessed"),
                enhanced_rights=care.get("enhanced_rights", True),
                rights_explained_at=self.at(care.get("rights_explained"), f"{where}: rights"),
                consent=care.get("consent"),
            ))
            for referral in care.get("referrals", []):
                referred = self.at(referral["at"], f"{where}: referral")
                assert referred is not None
                self.session.add(tables.Referral(case_id=case.id, service=referral["service"],
                                          referred_at=referred,
                                          outcome=referral.get("outcome", "pending"),
                                          referred_by=row.get("officer") or "rms"))
        if row.get("hidden_stalking") is not None:
            self.session.add(tables.TrainingKey(case_id=case.id, hidden_stalking=row["hidden_stalking"],
                                         note=row.get("answer_note")))
        self.session.flush()

    def add_risk(self, case: tables.Case, risk: dict[str, Any], where: str) -> None:
        answers = parse_answers(risk["answers"], self.questions)
        suggested = suggested_level(answers, self.risk_policy)
        level = RiskLevel(risk.get("level", suggested))
        assessed = self.at(risk["at"], f"{where}: risk.at")
        assert assessed is not None
        due = review_due(level, assessed, self.risk_policy)
        self.session.add(tables.RiskAssessment(
            case_id=case.id, tool="S-DASH", tool_version="2009", answers=risk["answers"],
            yes_count=yes_count(answers), suggested_level=suggested, level=level,
            rationale=risk.get("rationale"), management_plan=risk.get("plan"),
            assessor=risk.get("assessor", "officer.northern"), assessed_at=assessed, review_due=due,
        ))
        case.risk_level = level
        case.risk_assessed_at = assessed
        case.risk_review_due = due

    def add_order(self, row: dict[str, Any]) -> None:
        case = self.cases[row["case"]]
        where = f"order {row['ref']}"
        order = tables.ProtectiveOrder(
            order_ref=row["ref"], case_id=case.id, kind=row["kind"], status=row["status"],
            applied_at=self.at(row.get("applied"), f"{where}: applied"),
            granted_at=self.at(row.get("granted"), f"{where}: granted"),
            served_at=self.at(row.get("served"), f"{where}: served"),
            expires_at=self.at(row.get("expires"), f"{where}: expires"),
            notified_at=self.at(row.get("notified"), f"{where}: notified"),
            conditions=row.get("conditions"), subject_id=case.suspect_id,
            protected_id=case.victim_id, updated_at=self.at(row.get("granted"), where),
        )
        self.session.add(order)
        self.session.flush()
        self.orders[row["ref"]] = order

    def add_breach(self, row: dict[str, Any]) -> None:
        order = self.orders[row["order"]]
        crime = self.cases[row["crime"]]
        crime.linked_case_id = order.case_id
        where = f"breach {row['ref']}"
        reported = self.at(row["reported"], f"{where}: reported")
        self.session.add(tables.Breach(
            breach_ref=row["ref"], order_id=order.id, breach_case_id=crime.id,
            original_case_id=order.case_id,
            occurred_at=self.at(row.get("occurred", row["reported"]), f"{where}: occurred"),
            reported_at=reported, threats_or_violence=row.get("threats_or_violence", False),
            acknowledged_at=self.at(row.get("acknowledged"), f"{where}: acknowledged"),
            acknowledged_by=row.get("acknowledged_by"),
            acknowledgement_note=row.get("acknowledgement_note"),
        ))
        original = self.session.get(tables.Case, order.case_id)
        assert original is not None and reported is not None
        # the breach crime is the pair's live record: its re-assessment is due
        # from this breach unless the victim was assessed since
        assessed = [at for at in (original.risk_assessed_at, crime.risk_assessed_at) if at]
        crime.reassessment_due_at = reassessment_due(
            [reported], max(assessed) if assessed else None, self.risk_policy)
        self.session.add(crime)
        self.session.flush()

    def add_dmm_action(self, row: dict[str, Any]) -> None:
        case = self.cases[row["case"]]
        meeting_start = self.at(row["meeting"], f"dmm_action on {row['case']}: meeting")
        assert meeting_start is not None
        meeting_day = meeting_start.astimezone(LONDON).date()
        meeting = self.session.exec(select(tables.DmmMeeting).where(
            tables.DmmMeeting.area_command == case.area_command,
            tables.DmmMeeting.meeting_date == meeting_day)).first()
        if meeting is None:
            meeting = tables.DmmMeeting(area_command=case.area_command,
                                 meeting_date=meeting_day, starts_at=meeting_start,
                                 covers_from=meeting_start - timedelta(days=1),
                                 chaired_by=row.get("by", "supervisor.northern"))
            self.session.add(meeting)
            self.session.flush()
        item = tables.DmmItem(meeting_id=meeting.id, case_id=case.id, reasons=row.get("reasons", []),
                       priority=0, decision=row.get("decision", "actions_set"),
                       rationale=row.get("rationale"), decided_by=row.get("by"),
                       decided_at=meeting_start, discussed_at=meeting_start,
                       discussed_by=row.get("by"))
        self.session.add(item)
        self.session.flush()
        self.session.add(tables.DmmAction(item_id=item.id, case_id=case.id, text=row["text"],
                                   owner=row["owner"],
                                   due_at=self.at(row["due"], "dmm_action due") or meeting_start,
                                   done_at=self.at(row.get("done"), "dmm_action done"),
                                   created_by=row.get("by", "supervisor.northern"),
                                   created_at=meeting_start))
        self.session.flush()


IN_USE_SINCE_KEY = "in_use_since"  # app.services.dmm.common.IN_USE_SINCE_KEY
SCENARIO_IN_USE = timedelta(days=7)


def load_scenario(database: Database, scenario: Scenario) -> None:
    """Write ``scenario`` into an empty, migrated training database."""
    if scenario.base_cases:
        from seed.generator import generate

        generate(database, cases=scenario.base_cases, seed=scenario.base_seed, now=scenario.now,
                 training=True)
    with database.write() as session:
        install_reference(session)
        install_users(session)
        session.flush()
        _Story(session, scenario).write()
    # the story is told as if the force had used Vigil for the week before it:
    # what happened that week and went undecided is on the morning's agenda
    database.set_meta(IN_USE_SINCE_KEY, (scenario.now - SCENARIO_IN_USE).isoformat())
