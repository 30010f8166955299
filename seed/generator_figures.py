"""The rows behind the action plan's figures, for the synthetic force: the
officers' training records (rec 10), perpetrator programmes per area command
and referrals of suspects to them (rec 25 and the 2017 report), the
superintendent's authority for each PIN (one or two left without, as the
exceptions supervisors must see), arrests and digital lines of enquiry on
cases (rec 18), and one reviewed dip sample per area command for the last
full quarter.

Written after the cases, from what the database holds (read in id order),
with its own random stream (``random.Random(f"{seed}:action-plan")``): the
rows of the cases themselves are untouched by it, and the same seed and
``now`` give the same rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from app.dates import local
from app.db import Database
from app.policy import Policy
from models import (
    Case,
    DipFinding,
    DipSample,
    DipSampleFile,
    IncludedClassification,
    PerpetratorProgramme,
    PerpetratorReferral,
    TrainingRecord,
)
from seed.reference import classifications, organisation

T_CASE = Case.__table__
T_INCLUDED = IncludedClassification.__table__
T_TRAINING = TrainingRecord.__table__
T_PROGRAMME = PerpetratorProgramme.__table__
T_REFERRAL = PerpetratorReferral.__table__
T_SAMPLE = DipSample.__table__
T_FILE = DipSampleFile.__table__
T_FINDING = DipFinding.__table__

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
REVIEWER = "auditor"
DRAWN_BY = "analyst"
SUPERINTENDENTS = ("Supt Ashdown", "Supt Brackley", "Supt Colwyn", "Supt Denholm",
                   "Supt Elstow", "Supt Fenwick")
DIGITAL_ENQUIRIES = (
    "phone download of the victim's handset",
    "social media accounts preserved",
    "communications data request (subscriber and call records)",
    "cell site analysis of the suspect's phone",
    "email account and IP address enquiries",
    "doorbell camera footage seized",
    "messages screenshotted and exhibited",
)
PROGRAMME_OUTCOMES = (("accepted", 0.35), ("completed", 0.2), ("declined", 0.15),
                      ("not suitable", 0.1), (None, 0.2))
# share of files where each checklist item is met, roughly as forces report
ITEM_MET = {"classification": 0.85, "sdash": 0.7, "spo": 0.45, "victims_code": 0.65,
            "search_powers": 0.4, "protocol_checklist": 0.3, "supervision": 0.75}
FAILED_NOTES = {
    "classification": "course of conduct recorded as harassment only",
    "sdash": "S-DASH not reviewed by a supervisor",
    "spo": "no SPO consideration or rationale on the file",
    "victims_code": "no referral to specialist support recorded",
    "search_powers": "s2B powers not considered",
    "protocol_checklist": "protocol checklist missing from the file",
    "supervision": "no supervisory review entry",
}


@dataclass(frozen=True)
class _CaseRow:
    id: int
    crime_ref: str
    area: str
    code: str
    team: str | None
    officer: str | None
    has_suspect: bool
    pin: bool
    online: bool
    reported_at: datetime
    closed_at: datetime | None
    risk_level: str | None
    stalking: bool
    family: str


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _weighted(rng: random.Random, items: tuple[tuple[Any, float], ...]) -> Any:
    point = rng.random() * sum(weight for _, weight in items)
    for item, weight in items:
        point -= weight
        if point < 0:
            return item
    return items[-1][0]


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


class FigureMaker:
    """Builds and writes the action plan's rows for one generated force."""

    def __init__(self, database: Database, *, seed: int, now: datetime, policy: Policy) -> None:
        self.database = database
        self.now = now.astimezone(UTC)
        self.policy = policy
        self.rng = random.Random(f"{seed}:action-plan")
        self.seed = seed
        self.counts: dict[str, int] = {}

    def _cases(self) -> list[_CaseRow]:
        refs = classifications()
        stalking_codes = sorted(code for code, ref in refs.items() if ref.is_stalking)
        with self.database.read() as session:
            conn = session.connection()
            included = {row.case_id for row in conn.execute(
                select(T_INCLUDED.c.case_id).where(T_INCLUDED.c.code.in_(stalking_codes)))}
            rows = conn.execute(
                select(T_CASE.c.id, T_CASE.c.crime_ref, T_CASE.c.area_command,
                       T_CASE.c.principal_code, T_CASE.c.allocation_team, T_CASE.c.officer,
                       T_CASE.c.suspect_id, T_CASE.c.pin_issued, T_CASE.c.online,
                       T_CASE.c.reported_at, T_CASE.c.closed_at, T_CASE.c.risk_level)
                .order_by(T_CASE.c.id)).all()
        return [_CaseRow(
            id=r.id, crime_ref=r.crime_ref, area=r.area_command, code=r.principal_code,
            team=r.allocation_team, officer=r.officer, has_suspect=r.suspect_id is not None,
            pin=bool(r.pin_issued), online=bool(r.online), reported_at=_aware(r.reported_at),  # type: ignore[arg-type]
            closed_at=_aware(r.closed_at), risk_level=r.risk_level,
            stalking=r.principal_code in stalking_codes or r.id in included,
            family=refs[r.principal_code].family if r.principal_code in refs else "other",
        ) for r in rows]

    # --- rows ----------------------------------------------------------------------
    def training(self, cases: list[_CaseRow]) -> list[dict[str, Any]]:
        """Most officers on the cases trained within the policy's months, some
        out of date, some never."""
        courses = self.policy.training.courses
        if not courses:
            return []
        valid = self.policy.training.valid_months
        today = local(self.now).date()
        rows: list[dict[str, Any]] = []
        for officer in sorted({c.officer for c in cases if c.officer}):
            draw = self.rng.random()
            if draw < 0.12:
                continue  # never trained
            if draw < 0.2:  # trained once, long ago
                days = self.rng.randrange(valid * 31, valid * 31 + 900)
            else:
                days = self.rng.randrange(14, max(15, valid * 30 - 30))
            course = courses[self.rng.randrange(len(courses))]
            rows.append({"officer": officer, "course": course,
                         "completed_on": today - timedelta(days=days), "source": "synthetic"})
            if len(courses) > 1 and self.rng.random() < 0.15:  # a second course later
                other = courses[(courses.index(course) + 1) % len(courses)]
                later = max(1, days - self.rng.randrange(30, 400))
                rows.append({"officer": officer, "course": other,
                             "completed_on": today - timedelta(days=later),
                             "source": "synthetic"})
        return rows

    def programmes(self) -> list[dict[str, Any]]:
        """A stalking intervention programme in each area command; a
        behaviour-change course in some; one pilot that has ended."""
        today = local(self.now).date()
        rows: list[dict[str, Any]] = []
        areas = organisation().area_commands
        for index, area in enumerate(areas):
            short = area[:3].upper()
            start = today - timedelta(days=self.rng.randrange(200, 1100))
            rows.append({"code": f"SIP-{short}", "name": f"{area} stalking intervention programme",
                         "area_command": area, "available_from": start, "available_to": None})
            if self.rng.random() < 0.5:
                rows.append({"code": f"BCP-{short}", "name": f"{area} behaviour change course",
                             "area_command": area,
                             "available_from": today - timedelta(days=self.rng.randrange(90, 700)),
                             "available_to": None})
            if index == 0:
                ended = today - timedelta(days=self.rng.randrange(60, 200))
                rows.append({"code": f"PILOT-{short}", "name": f"{area} perpetrator pilot",
                             "area_command": area, "available_from": ended - timedelta(days=365),
                             "available_to": ended})
        return rows

    def perpetrator_referrals(self, cases: list[_CaseRow], programmes: list[dict[str, Any]],
                              ids: dict[str, int]) -> list[dict[str, Any]]:
        by_area: dict[str, list[dict[str, Any]]] = {}
        for programme in programmes:
            by_area.setdefault(programme["area_command"], []).append(programme)
        rows: list[dict[str, Any]] = []
        for case in cases:
            if not (case.stalking and case.has_suspect):
                continue
            share = 0.3 if case.risk_level == "high" else 0.12 if case.risk_level == "medium" else 0.04
            if self.rng.random() >= share:
                continue
            at = case.reported_at + DAY * self.rng.randrange(5, 45) + HOUR * self.rng.randrange(8, 17)
            end = case.closed_at or self.now
            if at >= min(end, self.now):
                continue
            day = local(at).date()
            open_then = [p for p in by_area.get(case.area, [])
                         if p["available_from"] <= day
                         and (p["available_to"] is None or day <= p["available_to"])]
            if not open_then:
                continue
            programme = open_then[self.rng.randrange(len(open_then))]
            rows.append({"case_id": case.id, "programme_id": ids[programme["code"]],
                         "referred_at": at, "referred_by": f"supervisor.{case.area.lower()}",
                         "outcome": _weighted(self.rng, PROGRAMME_OUTCOMES)})
        return rows

    def case_updates(self, cases: list[_CaseRow]) -> list[dict[str, Any]]:
        """PIN authorities (one or two PINs without), arrests, digital enquiries."""
        pins = [c.id for c in cases if c.pin]
        # the exceptions among the recent PINs, where a supervisor would look
        recent = [c.id for c in cases if c.pin and c.reported_at >= self.now - 120 * DAY]
        pins = recent or pins
        exceptions: set[int] = set()
        if pins:
            exceptions = set(self.rng.sample(pins, min(len(pins), 1 if len(pins) < 4 else 2)))
        updates: list[dict[str, Any]] = []
        for case in cases:
            authority = None
            if case.pin and case.id not in exceptions:
                authority = SUPERINTENDENTS[self.rng.randrange(len(SUPERINTENDENTS))]
            arrested = None
            if case.has_suspect:
                share = 0.4 if case.stalking else 0.25 if case.family == "breach" else 0.12
                if self.rng.random() < share:
                    at = case.reported_at + HOUR * self.rng.randrange(2, 240)
                    if at < min(case.closed_at or self.now, self.now):
                        arrested = at
            digital = None
            share = 0.7 if case.online else 0.35 if case.stalking else 0.05
            if self.rng.random() < share:
                picked = self.rng.sample(DIGITAL_ENQUIRIES, self.rng.randrange(1, 3))
                digital = "; ".join(picked)
            if case.pin or arrested or digital:  # an exception's PIN loses any authority
                updates.append({"b_id": case.id, "pin_authorised_by": authority,
                                "arrested_at": arrested, "digital_enquiries": digital})
        return updates

    def dip_samples(self, cases: list[_CaseRow], start_id: dict[str, int]) -> dict[str, list]:
        """One sample per area command of the last full quarter's stalking and
        harassment files, reviewed against the policy's checklist."""
        sampling = self.policy.dip_sampling
        today = local(self.now).date()
        period_to = _quarter_start(today)
        period_from = _quarter_start(period_to - DAY)
        samples: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        findings: list[dict[str, Any]] = []
        sample_id, file_id = start_id["dip_sample"], start_id["dip_sample_file"]
        eligible = [c for c in cases
                    if c.family in ("stalking", "harassment") and c.officer != REVIEWER
                    and period_from <= local(c.reported_at).date() < period_to]
        drawn_at = datetime.combine(period_to, datetime.min.time(), UTC) + DAY * 7 + HOUR * 9
        if drawn_at >= self.now:
            return {"dip_sample": [], "dip_sample_file": [], "dip_finding": []}
        for area in organisation().area_commands:
            pool = [c for c in eligible if c.area == area]
            if not pool:
                continue
            strata: dict[str, list[_CaseRow]] = {}
            for case in pool:
                strata.setdefault(f"{case.risk_level or 'unassessed'} risk · {case.family}",
                                  []).append(case)
            samples.append({"id": sample_id, "area_command": area, "period_from": period_from,
                            "period_to": period_to, "seed": self.seed,
                            "per_stratum": sampling.per_stratum, "reviewer": REVIEWER,
                            "checklist_version": sampling.checklist_version,
                            "drawn_by": DRAWN_BY, "drawn_at": drawn_at})
            for stratum in sorted(strata):
                members = strata[stratum]
                for case in self.rng.sample(members, min(sampling.per_stratum, len(members))):
                    reviewed = drawn_at + DAY * self.rng.randrange(1, 20) + HOUR * self.rng.randrange(0, 7)
                    if reviewed >= self.now:
                        reviewed = None
                    files.append({"id": file_id, "sample_id": sample_id,
                                  "crime_ref": case.crime_ref, "stratum": stratum,
                                  "team": case.team,
                                  "reviewed_by": REVIEWER if reviewed else None,
                                  "reviewed_at": reviewed})
                    if reviewed:
                        for item in sampling.checklist:
                            met = self.rng.random() < ITEM_MET.get(item.code, 0.6)
                            findings.append({"file_id": file_id, "item": item.code,
                                             "passed": met,
                                             "note": None if met else FAILED_NOTES.get(
                                                 item.code, "not met")})
                    file_id += 1
            sample_id += 1
        return {"dip_sample": samples, "dip_sample_file": files, "dip_finding": findings}

    # --- writing ---------------------------------------------------------------------
    def write(self) -> dict[str, int]:
        cases = self._cases()
        training = self.training(cases)
        programmes = self.programmes()
        updates = self.case_updates(cases)
        with self.database.read() as session:
            conn = session.connection()
            start = {name: int(conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
                     for name, table in (("dip_sample", T_SAMPLE), ("dip_sample_file", T_FILE),
                                         ("perpetrator_programme", T_PROGRAMME))}
        ids = {row["code"]: start["perpetrator_programme"] + i for i, row in enumerate(programmes)}
        programme_rows = [{"id": ids[row["code"]], **row} for row in programmes]
        referrals = self.perpetrator_referrals(cases, programmes, ids)
        dip = self.dip_samples(cases, start)
        with self.database.write_engine.begin() as conn:
            for table, rows in ((T_TRAINING, training), (T_PROGRAMME, programme_rows),
                                (T_REFERRAL, referrals), (T_SAMPLE, dip["dip_sample"]),
                                (T_FILE, dip["dip_sample_file"]),
                                (T_FINDING, dip["dip_finding"])):
                if rows:
                    conn.execute(insert(table), rows)
                self.counts[table.name] = len(rows)
            if updates:
                conn.execute(update(T_CASE).where(T_CASE.c.id == bindparam("b_id")), updates)
            if self.database.dialect == "postgresql":
                for table in (T_PROGRAMME, T_SAMPLE, T_FILE):
                    conn.execute(select(func_setval(table)))
        return dict(self.counts)


def func_setval(table: Any) -> Any:
    """Move a PostgreSQL id sequence past the ids written here."""
    return func.setval(func.pg_get_serial_sequence(table.name, "id"),
                       select(func.coalesce(func.max(table.c.id), 0) + 1).scalar_subquery(),
                       False)


def add_action_plan_figures(database: Database, *, seed: int, now: datetime,
                            policy: Policy) -> dict[str, int]:
    """Write the action plan's rows for the generated force; rows per table."""
    return FigureMaker(database, seed=seed, now=now, policy=policy).write()
