"""risk.csv → ``RiskAssessment`` by (crime, assessed_at, tool); four-eyes over
each changed case's assessments, the case's risk mirrors follow the latest
assessment, and an assessment made after the event that made a
re-assessment due clears it."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.rms.apply_pass import SOURCE_REASON, ApplyPass, aware, differs
from app.rms.delta import RiskChange
from app.rms.formats import (
    RISK,
    RiskRecord,
    format_when,
)
from app.rms.tables import (
    T_AUDIT,
    T_CASE,
    T_RISK,
)
from app.rules.risk import AssessmentStep, review_due, walk_assessments
from models.enums import (
    RiskLevel,
)

RISK_FIELDS = ("tool_version", "answers", "level", "rationale", "assessor", "management_plan",
               "plan_set_at", "plan_review_due", "approved_by", "approved_at")
# format 2 columns: an empty cell leaves what Vigil holds
RISK_KEPT_FIELDS = ("management_plan", "plan_set_at", "plan_review_due", "approved_by",
                    "approved_at")


class RiskWrites(ApplyPass):
    # --- risk.csv ----------------------------------------------------------------
    def risk_chunk(self, records: list[RiskRecord]) -> None:
        counter = self.counters[RISK]
        cases = self._case_ids(
            {r.crime_ref for r in records}, T_CASE.c.risk_level, T_CASE.c.risk_assessed_at,
            T_CASE.c.risk_review_due, T_CASE.c.reassessment_due_at)
        existing: dict[tuple[int, datetime, str], Any] = {}
        for row in self.sql.where_in(
            select(T_RISK.c.id, T_RISK.c.case_id, T_RISK.c.assessed_at, T_RISK.c.tool,
                   T_RISK.c.tool_version, T_RISK.c.answers, T_RISK.c.level,
                   T_RISK.c.rationale, T_RISK.c.assessor, T_RISK.c.management_plan,
                   T_RISK.c.plan_set_at, T_RISK.c.plan_review_due, T_RISK.c.approved_by,
                   T_RISK.c.approved_at),
            T_RISK.c.case_id, [row.id for row in cases.values()],
        ):
            existing[(row.case_id, row.assessed_at, row.tool)] = row

        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        latest_change: dict[int, datetime] = {}
        for record in records:
            case = cases[record.crime_ref]
            level = RiskLevel(record.level)
            old = existing.get((case.id, record.assessed_at, record.tool))
            values = {
                "tool_version": record.tool_version,
                "answers": record.answers,
                "level": record.level,
                "rationale": record.rationale,
                "assessor": record.assessor,
                "yes_count": record.yes_count,
                "suggested_level": record.suggested_level,
                "review_due": review_due(level, record.assessed_at, self.policy.risk),
            }
            # format 2 columns: an empty cell keeps what Vigil holds
            for name in RISK_KEPT_FIELDS:
                given = getattr(record, name)
                values[name] = given if given is not None or old is None else getattr(old, name)
            if (old is not None and record.approved_by is None
                    and (old.level != record.level or old.answers != record.answers)):
                # the assessment was amended: an approval of what it was no longer holds
                values["approved_by"] = values["approved_at"] = None
            if old is None:
                inserts.append({"case_id": case.id, "tool": record.tool,
                                "assessed_at": record.assessed_at, "approval_required": False,
                                **values})
                counter.new += 1
                changed = {name: (None, values[name]) for name in ("answers", "level")}
                if values["approved_by"]:
                    changed["approved_by"] = (None, values["approved_by"])
            else:
                changed = differs(old, values, RISK_FIELDS)
                if not changed:
                    counter.unchanged += 1
                    continue
                updates.append({"b_id": old.id, **values})
                counter.updated += 1
            when = latest_change.get(case.id)
            if when is None or record.assessed_at > when:
                latest_change[case.id] = record.assessed_at
            if self._is_existing(case.id):
                self.touched.add(case.id)
                self._audit(audits, record.crime_ref,
                            f"{record.tool} risk assessment of {format_when(record.assessed_at)} "
                            f"{'recorded' if old is None else 'updated'} from {SOURCE_REASON}",
                            {k: v[0] for k, v in changed.items()} if old is not None else None,
                            {k: v[1] for k, v in changed.items()})
            if "approved_by" in changed and values["approved_by"]:
                self._audit(audits, record.crime_ref,
                            f"risk level {record.level} approved (four-eyes) in the "
                            f"{SOURCE_REASON}: by {values['approved_by']}, assessed by "
                            f"{record.assessor}", None,
                            {"approved_by": values["approved_by"],
                             "approved_at": values["approved_at"],
                             "assessor": record.assessor, "level": record.level})
        self._write(T_RISK, inserts)
        self._update_by_id(T_RISK, updates)
        self._write(T_AUDIT, audits)
        if latest_change:
            self._follow_latest_assessment(cases, latest_change)

    def _follow_latest_assessment(self, cases: dict[str, Any],
                                  latest_change: dict[int, datetime]) -> None:
        """Four-eyes over each changed case's assessments in order (a level
        below the suggestion, or lowered from high, waits for a second
        supervisor: the case keeps the higher level), then the case's risk
        mirrors follow what it carries."""
        by_id = {row.id: row for row in cases.values()}
        history: dict[int, list[Any]] = defaultdict(list)
        for row in self.sql.where_in(
            select(T_RISK.c.id, T_RISK.c.case_id, T_RISK.c.level, T_RISK.c.suggested_level,
                   T_RISK.c.assessed_at, T_RISK.c.approved_at, T_RISK.c.approval_required)
            .order_by(T_RISK.c.case_id, T_RISK.c.assessed_at, T_RISK.c.id),
            T_RISK.c.case_id, sorted(latest_change),
        ):
            history[row.case_id].append(row)
        hours = timedelta(hours=self.policy.risk.reassessment_due_hours)
        mirrors: list[dict[str, Any]] = []
        flags: list[dict[str, Any]] = []
        for case_id, assessed in latest_change.items():
            case = by_id[case_id]
            rows = sorted(history[case_id], key=lambda r: (aware(r.assessed_at), r.id))
            outcomes = walk_assessments(
                [AssessmentStep(RiskLevel(r.level), RiskLevel(r.suggested_level),
                                aware(r.assessed_at), r.approved_at is not None) for r in rows],
                self.policy.risk)
            for row, outcome in zip(rows, outcomes, strict=True):
                if bool(row.approval_required) != outcome.approval_required:
                    flags.append({"b_id": row.id, "approval_required": outcome.approval_required})
            carried = outcomes[-1].case
            due = case.reassessment_due_at
            if due is not None and assessed >= due - hours:
                due = None
            level = carried.level.value
            if (case.risk_level, case.risk_assessed_at, case.risk_review_due,
                    case.reassessment_due_at) == (level, carried.assessed_at,
                                                  carried.review_due, due):
                continue
            if case.risk_level != level and self._is_existing(case_id):
                self._delta["risk_changes"].add(RiskChange(case.crime_ref, case.risk_level,
                                                           level))
            mirrors.append({"b_id": case_id, "risk_level": level,
                            "risk_assessed_at": carried.assessed_at,
                            "risk_review_due": carried.review_due, "reassessment_due_at": due})
        self._update_by_id(T_RISK, flags)
        self._update_by_id(T_CASE, mirrors)
