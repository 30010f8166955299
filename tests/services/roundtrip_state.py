"""The state of a database that an extract carries, record by record and by
reference (never by id), and the breach board for a given now: what a
database re-imported from its own export must give back.

``python -m tests.services.roundtrip_state SOURCE_URL TARGET_URL NOW`` prints
the comparison of two databases (used for the 20,000-case figures)."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.db import Database
from app.services.breaches import breach_board
from app.services.context import ServiceContext
from models import (
    Breach,
    Case,
    IncludedClassification,
    MultiAgencyReferral,
    PerpetratorProgramme,
    PerpetratorReferral,
    Person,
    ProtectiveOrder,
    Referral,
    RiskAssessment,
    SearchRecord,
    SpoDecision,
    TrainingRecord,
    VictimCare,
)

CASE_FIELDS = ("reported_at", "area_command", "principal_code", "relationship",
               "domestic_abuse", "online", "summary", "status", "outcome", "closed_at",
               "allocation_team", "officer", "pin_issued", "risk_level", "risk_assessed_at",
               "risk_review_due", "reassessment_due_at", "spo_status", "pin_authorised_by",
               "arrested_at", "digital_enquiries")
RISK_FIELDS = ("tool_version", "answers", "yes_count", "suggested_level", "level", "rationale",
               "management_plan", "plan_set_at", "plan_review_due", "assessor", "review_due",
               "approval_required", "approved_by", "approved_at")
ORDER_FIELDS = ("kind", "status", "applied_at", "granted_at", "served_at", "expires_at",
                "notified_at", "notification_due_at")
BREACH_FIELDS = ("occurred_at", "reported_at", "threats_or_violence", "acknowledged_by",
                 "acknowledged_at", "acknowledgement_note", "manual_level", "escalated_by",
                 "escalated_at", "arrest_at", "reassessment_requested_at", "outcome")
CARE_FIELDS = ("needs_assessed_at", "enhanced_rights", "rights_explained_at", "consent",
               "consent_at", "last_update_at", "vps_offered_at")


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _pick(row: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(_aware(getattr(row, name)) for name in names)


def extract_state(database: Database) -> dict[str, dict[Any, Any]]:
    """Every record the extract carries, keyed by its references."""
    state: dict[str, dict[Any, Any]] = defaultdict(dict)
    with database.read() as session:
        refs = dict(session.execute(select(Case.id, Case.crime_ref)).all())
        people = dict(session.execute(select(Person.id, Person.person_ref)).all())
        included: dict[int, set[str]] = defaultdict(set)
        for case_id, code in session.execute(select(IncludedClassification.case_id,
                                                    IncludedClassification.code)):
            included[case_id].add(code)
        for case in session.execute(select(Case)).scalars():
            state["cases"][case.crime_ref] = (
                *_pick(case, CASE_FIELDS), people[case.victim_id], people.get(case.suspect_id),
                refs.get(case.linked_case_id), tuple(sorted(included[case.id])))
        for row in session.execute(select(RiskAssessment)).scalars():
            state["risk"][(refs[row.case_id], _aware(row.assessed_at), row.tool)] = _pick(
                row, RISK_FIELDS)
        orders = {}
        for row in session.execute(select(ProtectiveOrder)).scalars():
            orders[row.id] = row.order_ref
            state["orders"][row.order_ref] = (refs[row.case_id], *_pick(row, ORDER_FIELDS),
                                              people.get(row.subject_id),
                                              people.get(row.protected_id))
        decisions: Counter[Any] = Counter(
            (refs[d.case_id], _aware(d.decided_at), d.status, d.rationale, d.decided_by)
            for d in session.execute(select(SpoDecision)).scalars())
        state["spo_decisions"] = dict(decisions)
        for row in session.execute(select(Breach)).scalars():
            state["breaches"][row.breach_ref] = (orders[row.order_id], refs[row.breach_case_id],
                                                 refs[row.original_case_id],
                                                 *_pick(row, BREACH_FIELDS))
        for row in session.execute(select(VictimCare)).scalars():
            state["victim_care"][refs[row.case_id]] = _pick(row, CARE_FIELDS)
        latest = aliased(Referral)
        for row in session.execute(select(latest).order_by(latest.referred_at,
                                                           latest.id)).scalars():
            # the extract holds a victim's latest referral to each service
            state["referrals"][(refs[row.case_id], row.service)] = (
                _aware(row.referred_at), row.outcome)
        for row in session.execute(select(SearchRecord)).scalars():
            state["searches"][(refs[row.case_id], row.power, _aware(row.conducted_at))] = (
                row.officer, row.authorised_by, row.premises, row.items_seized)
        for row in session.execute(select(MultiAgencyReferral)).scalars():
            state["multi_agency"][(refs[row.case_id], row.kind, _aware(row.referred_at))] = (
                row.referred_by, row.outcome)
        for row in session.execute(select(TrainingRecord)).scalars():
            # the extract carries the course completed, not where Vigil got it from
            state["training"][(row.officer, row.course, row.completed_on)] = True
        programmes = {}
        for row in session.execute(select(PerpetratorProgramme)).scalars():
            programmes[row.id] = row.code
            state["programmes"][row.code] = (row.name, row.area_command, row.available_from,
                                             row.available_to)
        for row in session.execute(select(PerpetratorReferral)).scalars():
            state["perpetrator_referrals"][
                (refs[row.case_id], programmes[row.programme_id], _aware(row.referred_at))] = (
                row.referred_by, row.outcome)
    return dict(state)


def board_state(ctx: ServiceContext) -> dict[str, tuple[Any, ...]]:
    """The breach board for the context's now: each breach's level, reasons,
    clock and outstanding actions."""
    board = breach_board(ctx, audit=False)
    found: dict[str, tuple[Any, ...]] = {}
    for level in board.levels:
        for item in level.items:
            found[item.breach_ref] = (item.level, item.reasons, item.due_at, item.due_for,
                                      item.overdue, item.acknowledged, item.acknowledged_by,
                                      item.outstanding_actions, item.reassessed,
                                      item.risk_level)
    return found


def dmm_state(ctx: ServiceContext) -> dict[Any, tuple[Any, ...]]:
    """Each area's agenda for the context's now: per case its priority, its
    reasons (code and words) and its risk, keyed by (area, crime_ref)."""
    from app.services.dmm import build_queue, current_meeting_date
    from seed.reference import organisation

    found: dict[Any, tuple[Any, ...]] = {}
    meeting = current_meeting_date(ctx)
    for area in organisation().area_commands:
        queue = build_queue(ctx, area=area, meeting_date=meeting, audit=False)
        for item in queue.items:
            found[(area, item.crime_ref)] = (
                item.priority, tuple((h.code, h.explanation) for h in item.reasons), item.risk)
    return found


def work_queue_state(ctx: ServiceContext) -> dict[Any, tuple[Any, ...]]:
    """Each area's work queue for the context's now, gap by gap."""
    from app.services.dmm import work_queue
    from seed.reference import organisation

    found: dict[Any, tuple[Any, ...]] = {}
    for area in organisation().area_commands:
        for item in work_queue(ctx, area=area, audit=False).items:
            found[(area, item.crime_ref, item.code)] = (
                item.explanation, item.crossed_at, item.second_at, item.team, item.owner,
                item.risk)
    return found


def by_reason(source: dict[Any, tuple[Any, ...]], target: dict[Any, tuple[Any, ...]],
              reasons: Any) -> dict[str, tuple[int, int]]:
    """Per reason code: (items equal on both sides, items differing or on one side only)."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key in set(source) | set(target):
        codes = set(reasons(key, source.get(key))) | set(reasons(key, target.get(key)))
        for code in codes:
            tally[code][0 if source.get(key) == target.get(key) else 1] += 1
    return {code: (same, other) for code, (same, other) in sorted(tally.items())}


def differences(source: dict[str, dict[Any, Any]],
                target: dict[str, dict[Any, Any]]) -> dict[str, list[Any]]:
    """Per kind of record, the keys whose records differ (or are on one side only)."""
    found: dict[str, list[Any]] = {}
    for kind in sorted(set(source) | set(target)):
        left, right = source.get(kind, {}), target.get(kind, {})
        keys = sorted((k for k in set(left) | set(right) if left.get(k) != right.get(k)),
                      key=repr)
        if keys:
            found[kind] = keys
    return found


def main(argv: list[str]) -> int:
    from app.services.context import open_context
    from app.settings import Settings

    source_url, target_url, now_text = argv
    now = datetime.fromisoformat(now_text.replace("Z", "+00:00"))
    states = []
    for url in (source_url, target_url):
        database = Database(url)
        ctx = open_context(Settings(database_url=url, username="analyst", now=now),
                           database=database, migrate=False)
        record = extract_state(database)
        record["breach_board"] = board_state(ctx)
        record["dmm_agendas"] = dmm_state(ctx)
        record["work_queues"] = work_queue_state(ctx)
        states.append(record)
    left, right = states
    diff = differences(left, right)

    def agenda_codes(_key: Any, value: tuple[Any, ...] | None) -> list[str]:
        return [code for code, _words in value[1]] if value else []

    for name, tally in (
            ("dmm_agendas", by_reason(left["dmm_agendas"], right["dmm_agendas"], agenda_codes)),
            ("work_queues", by_reason(left["work_queues"], right["work_queues"],
                                      lambda key, value: [key[2]])),
            ("breach_board", by_reason(left["breach_board"], right["breach_board"],
                                       lambda _key, value: list(value[1]) if value else []))):
        print(f"{name}: " + ", ".join(f"{code} {same} equal / {other} different"
                                       for code, (same, other) in tally.items()))
    for kind in sorted(left):
        print(f"{kind:14} source {len(left[kind]):7,}  re-imported {len(right.get(kind, {})):7,}"
              f"  differing {len(diff.get(kind, [])):,}")
    for kind, keys in diff.items():
        for key in keys[:5]:
            print(f"  {kind} {key}: {left[kind].get(key)} -> {right.get(kind, {}).get(key)}")
    return 1 if diff else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
