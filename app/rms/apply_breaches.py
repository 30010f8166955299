"""breaches.csv → ``Breach`` by breach_ref; the breach crime is linked to the
order's case, and a new breach makes a re-assessment of the original case
due (``risk.reassessment_due_hours`` after it was reported) unless the case
was assessed since."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.rms.apply_pass import SOURCE_REASON, ApplyPass, ExtractChanged, aware, differs
from app.rms.delta import NewBreach
from app.rms.formats import (
    BREACHES,
    BreachRecord,
)
from app.rms.tables import (
    T_AUDIT,
    T_BREACH,
    T_CASE,
    T_ORDER,
    T_RISK,
)

# format 2 columns: an empty cell leaves what Vigil holds (an acknowledgement
# made in Vigil is not undone by an RMS that does not record it)
BREACH_KEPT_FIELDS = ("threats_or_violence", "acknowledged_by", "acknowledged_at",
                      "acknowledgement_note", "manual_level", "escalated_by", "escalated_at",
                      "arrest_at", "reassessment_requested_at", "outcome")
BREACH_FIELDS = ("order_id", "breach_case_id", "original_case_id", "occurred_at",
                 "reported_at") + BREACH_KEPT_FIELDS


class BreachWrites(ApplyPass):
    # --- breaches.csv ----------------------------------------------------------------
    def breaches_chunk(self, records: list[BreachRecord]) -> None:
        counter = self.counters[BREACHES]
        orders: dict[str, Any] = {}
        for row in self.sql.where_in(
            select(T_ORDER.c.id, T_ORDER.c.order_ref, T_ORDER.c.case_id, T_CASE.c.crime_ref)
            .select_from(T_ORDER.join(T_CASE, T_CASE.c.id == T_ORDER.c.case_id)),
            T_ORDER.c.order_ref, {r.order_ref for r in records},
        ):
            orders[row.order_ref] = row
        cases = self._case_ids({r.crime_ref for r in records}, T_CASE.c.linked_case_id)
        existing: dict[str, Any] = {}
        for row in self.sql.where_in(
            select(T_BREACH.c.id, T_BREACH.c.breach_ref, T_BREACH.c.order_id,
                   T_BREACH.c.breach_case_id, T_BREACH.c.original_case_id,
                   T_BREACH.c.occurred_at, T_BREACH.c.reported_at,
                   *[T_BREACH.c[name] for name in BREACH_KEPT_FIELDS]),
            T_BREACH.c.breach_ref, [r.breach_ref for r in records],
        ):
            existing[row.breach_ref] = row
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        links: dict[int, int] = {}
        audits: list[dict[str, Any]] = []
        # per original case: the latest new breach and its crime (the live record)
        reassess: dict[int, tuple[datetime, int]] = {}
        for record in records:
            order = orders.get(record.order_ref)
            if order is None:
                raise ExtractChanged(f"order '{record.order_ref}' is no longer in Vigil or the "
                                     "extract; nothing was written")
            case = cases[record.crime_ref]
            values = {"order_id": order.id, "breach_case_id": case.id,
                      "original_case_id": order.case_id, "occurred_at": record.occurred_at,
                      "reported_at": record.reported_at}
            old = existing.get(record.breach_ref)
            for name in BREACH_KEPT_FIELDS:
                given = getattr(record, name)
                values[name] = given if given is not None or old is None else getattr(old, name)
            if values["threats_or_violence"] is None:
                values["threats_or_violence"] = False
            if old is None:
                inserts.append({"breach_ref": record.breach_ref, **values})
                counter.new += 1
                self._delta["new_breaches"].add(NewBreach(record.breach_ref, record.order_ref,
                                                          record.crime_ref, order.crime_ref))
                latest = reassess.get(order.case_id)
                if latest is None or record.reported_at > latest[0]:
                    reassess[order.case_id] = (record.reported_at, case.id)
                changed = {"reported_at": (None, record.reported_at)}
            else:
                changed = differs(old, values, BREACH_FIELDS)
                if not changed:
                    counter.unchanged += 1
                else:
                    updates.append({"b_id": old.id, **values})
                    counter.updated += 1
                    if "acknowledged_at" in changed and values["acknowledged_at"] is not None:
                        self._audit(audits, order.crime_ref,
                                    f"breach {record.breach_ref} acknowledged in the "
                                    f"{SOURCE_REASON} by {values['acknowledged_by']}",
                                    {"acknowledged_at": old.acknowledged_at},
                                    {"acknowledged_by": values["acknowledged_by"],
                                     "acknowledged_at": values["acknowledged_at"],
                                     "note": values["acknowledgement_note"]})
            linked = links.get(case.id, case.linked_case_id)
            if case.id != order.case_id and linked != order.case_id:
                links[case.id] = order.case_id
                changed = changed or {"linked": (None, order.crime_ref)}
            if changed:
                for case_id, crime_ref in ((case.id, record.crime_ref),
                                           (order.case_id, order.crime_ref)):
                    if self._is_existing(case_id):
                        self.touched.add(case_id)
                        self._audit(audits, crime_ref,
                                    f"breach {record.breach_ref} of {record.order_ref} "
                                    f"{'recorded' if old is None else 'updated'} from "
                                    f"{SOURCE_REASON}", None,
                                    {"breach_ref": record.breach_ref,
                                     "breach_crime": record.crime_ref,
                                     "original_crime": order.crime_ref,
                                     "reported_at": record.reported_at})
        self._write(T_BREACH, inserts)
        self._update_by_id(T_BREACH, updates)
        self._update_by_id(T_CASE, [{"b_id": cid, "linked_case_id": target}
                                    for cid, target in links.items()])
        self._write(T_AUDIT, audits)
        if reassess:
            self._reassessment_due(reassess)

    def _reassessment_due(self, latest: dict[int, tuple[datetime, int]]) -> None:
        """New breaches make a re-assessment due on the crime of the latest of
        them (the pair's live record), counted from that breach, as when a
        breach is recorded in Vigil, unless the pair was assessed since: the
        pair of the breach crime, or of the original case whose order was
        breached (a breach by a suspect the report did not name is still that
        pair's)."""
        hours = timedelta(hours=self.policy.risk.reassessment_due_hours)
        crime_ids = {crime_id: reported for reported, crime_id in latest.values()}
        original_of = {crime_id: original for original, (_r, crime_id) in latest.items()}
        mate = T_CASE.alias("pair_mate")
        pair_assessed = (
            select(func.max(T_RISK.c.assessed_at))
            .select_from(T_RISK.join(mate, mate.c.id == T_RISK.c.case_id))
            .where(mate.c.victim_id == T_CASE.c.victim_id,
                   mate.c.suspect_id == T_CASE.c.suspect_id)
            .scalar_subquery()
        )
        own_assessed = (select(func.max(T_RISK.c.assessed_at))
                        .where(T_RISK.c.case_id == T_CASE.c.id).scalar_subquery())
        original_assessed = {
            # the original case's own assessments count when its suspect is unknown
            case_id: max((aware(at) for at in (pair, own) if at is not None), default=None)
            for case_id, pair, own in self.sql.where_in(
                select(T_CASE.c.id, pair_assessed, own_assessed), T_CASE.c.id, sorted(latest))}
        changes: list[dict[str, Any]] = []
        for case_id, current, assessed in self.sql.where_in(
            select(T_CASE.c.id, T_CASE.c.reassessment_due_at, pair_assessed),
            T_CASE.c.id, sorted(crime_ids),
        ):
            breach_at = crime_ids[case_id]
            known = [at for at in (aware(assessed) if assessed is not None else None,
                                   original_assessed.get(original_of[case_id]))
                     if at is not None]
            if known and max(known) >= breach_at:
                continue
            due = breach_at + hours
            if current is not None and aware(current) == due:
                continue
            changes.append({"b_id": case_id, "reassessment_due_at": due})
        self._update_by_id(T_CASE, changes)
