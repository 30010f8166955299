"""How realistic a synthetic force is: every rate of ``seed/calibration.toml``
measured on a database, against its reference figure and band.

``measure`` reads aggregates only (counts, shares, a median): nothing about
any one case leaves the database. The windows are counted back from the
force's "now", the time it was generated as of (``app_meta`` key
``generated``), or from the given ``now``.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from statistics import median
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlmodel import Session

from app.db import Database
from app.errors import BadInput
from app.policy import Policy, default_policy
from models import (
    Breach,
    Case,
    DmmAction,
    DmmItem,
    DmmMeeting,
    IncludedClassification,
    ProtectiveOrder,
    Referral,
    SpoDecision,
)
from seed.generator_build import SEED_DIR

CALIBRATION_FILE = SEED_DIR / "calibration.toml"
YEAR = timedelta(days=365)


@dataclass(frozen=True)
class Band:
    key: str
    label: str
    reference: float
    low: float
    high: float
    unit: str
    source: str


@dataclass(frozen=True)
class Measured:
    band: Band
    value: float | None  # None: nothing to measure it on
    basis: int  # how many records the rate rests on

    @property
    def within(self) -> bool:
        return self.value is not None and self.band.low <= self.value <= self.band.high


@cache
def bands() -> tuple[Band, ...]:
    with CALIBRATION_FILE.open("rb") as handle:
        raw = tomllib.load(handle)
    found: list[Band] = []
    for key, row in raw["rate"].items():
        found.append(Band(key, row["label"], float(row["reference"]), float(row["low"]),
                          float(row["high"]), row["unit"], row["source"]))
    return tuple(found)


def reference(key: str) -> float:
    """The reference figure of rate ``key``: what the generator aims at."""
    for band in bands():
        if band.key == key:
            return band.reference
    raise KeyError(key)


def force_now(database: Database) -> datetime:
    """The time the force was generated as of."""
    raw = database.meta("generated")
    if raw is None:
        raise BadInput(f"{database.safe_url}: no synthetic force was generated here "
                       "(vigil seed --report reads a seeded database)")
    return datetime.fromisoformat(json.loads(raw)["now"]).astimezone(UTC)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _count(session: Session, *conditions: Any, table: Any = Case) -> int:
    return int(session.execute(select(func.count()).select_from(table).where(*conditions))
               .scalar() or 0)


def _stalking():
    return or_(Case.principal_code == "8Q",
               exists().where(IncludedClassification.case_id == Case.id,
                              IncludedClassification.code == "8Q"))


def measure(database: Database, *, now: datetime | None = None,
            policy: Policy | None = None) -> list[Measured]:
    """Every rate of the calibration file, measured on ``database``."""
    now = now or force_now(database)
    policy = policy or default_policy()
    year_ago = now - YEAR
    clock = timedelta(hours=policy.breach.acknowledge_within_hours)
    values: dict[str, tuple[float | None, int]] = {}
    with database.read() as session:
        total = _count(session)
        closed = _count(session, Case.status == "closed")
        values["stalking_share"] = (_share(_count(session, Case.principal_code == "8Q"), total),
                                    total)
        values["online_share"] = (_share(_count(session, Case.online.is_(True)), total), total)
        values["charge_rate"] = (_share(_count(session, Case.outcome == "charged"), closed),
                                 closed)
        values["victim_withdrawal"] = (
            _share(_count(session, Case.outcome == "victim does not support action"), closed),
            closed)

        # SPOs: per 100 stalking crimes reported in the last year
        stalking_year = _count(session, _stalking(), Case.reported_at >= year_ago,
                               Case.reported_at < now)
        applied = _count(session, SpoDecision.status == "applied",
                         SpoDecision.decided_at >= year_ago, SpoDecision.decided_at < now,
                         table=SpoDecision)
        values["spo_applications"] = (
            100 * applied / stalking_year if stalking_year else None, stalking_year)
        court = {status: int(session.execute(
            select(func.count(func.distinct(SpoDecision.case_id)))
            .where(SpoDecision.status == status)).scalar() or 0)
            for status in ("refused", "interim_granted", "granted")}
        granted_cases = int(session.execute(
            select(func.count(func.distinct(SpoDecision.case_id)))
            .where(SpoDecision.status.in_(("interim_granted", "granted")))).scalar() or 0)
        decided = granted_cases + court["refused"]
        values["spo_refused"] = (_share(court["refused"], decided), decided)
        interim = _count(session, ProtectiveOrder.kind == "ISPO",
                         ProtectiveOrder.granted_at >= year_ago, ProtectiveOrder.granted_at < now,
                         table=ProtectiveOrder)
        values["interim_spo"] = (100 * interim / stalking_year if stalking_year else None,
                                 stalking_year)

        # PINs
        year_total = _count(session, Case.reported_at >= year_ago, Case.reported_at < now)
        pins_year = _count(session, Case.pin_issued.is_(True), Case.reported_at >= year_ago,
                           Case.reported_at < now)
        values["pins"] = (10_000 * pins_year / year_total if year_total else None, year_total)
        pins = _count(session, Case.pin_issued.is_(True))
        authorised = _count(session, Case.pin_issued.is_(True),
                            func.coalesce(func.trim(Case.pin_authorised_by), "") != "")
        values["pins_authorised"] = (_share(authorised, pins), pins)

        # breaches per order kind: orders granted before now breached at least once
        breached = exists().where(Breach.order_id == ProtectiveOrder.id)
        for key, kinds in (("breach_spo", ("SPO", "ISPO")), ("breach_ro", ("RO",)),
                           ("breach_nmo", ("NMO",)), ("breach_dvpo", ("DVPO",))):
            made = _count(session, ProtectiveOrder.kind.in_(kinds),
                          ProtectiveOrder.granted_at.is_not(None), table=ProtectiveOrder)
            hit = _count(session, ProtectiveOrder.kind.in_(kinds),
                         ProtectiveOrder.granted_at.is_not(None), breached,
                         table=ProtectiveOrder)
            values[key] = (_share(hit, made), made)

        # acknowledgement of breaches reported before the clock ran out
        rows = session.execute(select(Breach.reported_at, Breach.acknowledged_at)).all()
        due = [(r.reported_at, r.acknowledged_at) for r in rows if r.reported_at + clock <= now]
        on_time = sum(1 for reported, acked in due
                      if acked is not None and acked - reported <= clock)
        values["ack_in_clock"] = (_share(on_time, len(due)), len(due))
        waiting = [now - reported - clock for reported, acked in due if acked is None]
        taken = sorted((acked - reported) / timedelta(hours=1) for reported, acked in
                       ((r.reported_at, r.acknowledged_at) for r in rows) if acked is not None)
        values["ack_median_hours"] = (median(taken) if taken else None, len(taken))
        values["ack_overdue_days"] = (
            max(waiting) / timedelta(days=1) if waiting else 0.0, len(waiting))

        # closure
        spans = session.execute(select(Case.reported_at, Case.closed_at)
                                .where(Case.status == "closed")).all()
        days = [(r.closed_at - r.reported_at) / timedelta(days=1) for r in spans]
        values["close_median_days"] = (median(days) if days else None, len(days))
        old = _count(session, Case.reported_at < year_ago)
        values["open_over_year"] = (
            _share(_count(session, Case.reported_at < year_ago, Case.status == "open"), old), old)

        # referrals
        month_ago = now - timedelta(days=30)
        answered = _count(session, Referral.referred_at < month_ago,
                          Referral.service.not_in(policy.victims_code.signposting_services),
                          table=Referral)
        accepted = _count(session, Referral.referred_at < month_ago, Referral.outcome == "accepted",
                          Referral.service.not_in(policy.victims_code.signposting_services),
                          table=Referral)
        values["referral_accepted"] = (_share(accepted, answered), answered)
        old_referrals = _count(session, Referral.referred_at < now - timedelta(days=60),
                               table=Referral)
        old_pending = _count(session, Referral.referred_at < now - timedelta(days=60),
                             Referral.outcome == "pending", table=Referral)
        values["referral_pending_60"] = (_share(old_pending, old_referrals), old_referrals)

        # risk levels of assessed crimes
        assessed = _count(session, Case.risk_level.is_not(None))
        values["risk_high"] = (_share(_count(session, Case.risk_level == "high"), assessed),
                               assessed)
        values["risk_medium"] = (_share(_count(session, Case.risk_level == "medium"), assessed),
                                 assessed)

        # the DMM history
        sizes = session.execute(
            select(func.count(DmmItem.id)).select_from(DmmMeeting)
            .join(DmmItem, DmmItem.meeting_id == DmmMeeting.id, isouter=True)
            .where(DmmMeeting.starts_at < now - timedelta(hours=2))
            .group_by(DmmMeeting.id)).scalars().all()
        values["dmm_items_per_meeting"] = (float(median(sizes)) if sizes else None, len(sizes))
        actions_due = _count(session, DmmAction.due_at < now, table=DmmAction)
        actions_on_time = _count(session, DmmAction.due_at < now, DmmAction.done_at.is_not(None),
                                 DmmAction.done_at <= DmmAction.due_at, table=DmmAction)
        values["dmm_actions_on_time"] = (_share(actions_on_time, actions_due), actions_due)
    return [Measured(band, *values.get(band.key, (None, 0))) for band in bands()]


def _show(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "share":
        return f"{100 * value:.1f}%"
    return f"{value:,.2f} {unit}" if value != int(value) or unit.startswith("per") \
        else f"{value:,.0f} {unit}"


def report_lines(rows: list[Measured], *, sources: bool = True) -> list[str]:
    """The calibration table, one rate a line, then the sources."""
    width = max(len(r.band.label) for r in rows)
    lines = [f"{'rate':<{width}}  {'in the seed':>16}  {'reference':>14}  "
             f"{'band':>26}  {'basis':>8}  ok",
             f"{'-' * width}  {'-' * 16}  {'-' * 14}  {'-' * 26}  {'-' * 8}  --"]
    for number, row in enumerate(rows, 1):
        band = row.band
        span = f"{_show(band.low, band.unit)} - {_show(band.high, band.unit)}"
        lines.append(f"{band.label:<{width}}  {_show(row.value, band.unit):>16}  "
                     f"{_show(band.reference, band.unit):>14}  {span:>26}  {row.basis:>8,}  "
                     f"{'ok' if row.within else 'OUT'} [{number}]")
    if sources:
        lines.append("")
        lines.append("sources:")
        for number, row in enumerate(rows, 1):
            lines.append(f"  [{number}] {row.band.source}")
    return lines


__all__ = ["Band", "Measured", "bands", "force_now", "measure", "reference", "report_lines"]
