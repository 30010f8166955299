"""orders.csv → ``ProtectiveOrder`` by order_ref (subject and protected person
from the case's suspect and victim). A changed SPO or interim SPO moves the
case's SPO decision (``spo_status``, with a ``SpoDecision`` row) to what its
status implies; the newest order of a case wins. spo_decisions.csv →
``SpoDecision`` by (crime, decided_at, status): with it the extract records
the decisions itself and orders no longer move them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.rms.apply_pass import SOURCE_REASON, ApplyPass, aware, differs
from app.rms.delta import OrderEvent
from app.rms.formats import (
    ORDERS,
    SPO_DECISIONS,
    OrderRecord,
    SpoDecisionRecord,
    format_when,
)
from app.rms.tables import (
    T_AUDIT,
    T_CASE,
    T_ORDER,
    T_SPO_DECISION,
)
from app.rules.orders import NOTIFICATION_KINDS, notification_due, spo_decision_for_order
from models.enums import (
    ORDERS_IN_FORCE,
    OrderStatus,
)

GRANTED_STATUSES = frozenset({OrderStatus.GRANTED.value, OrderStatus.INTERIM_GRANTED.value})
ORDER_FIELDS = ("case_id", "kind", "status", "applied_at", "granted_at", "served_at",
                "expires_at", "notification_due_at", "notified_at")
ORDER_KEPT_FIELDS = ("notification_due_at", "notified_at")


class OrderWrites(ApplyPass):
    # --- orders.csv ----------------------------------------------------------------
    def orders_chunk(self, records: list[OrderRecord]) -> None:
        counter = self.counters[ORDERS]
        cases = self._case_ids({r.crime_ref for r in records}, T_CASE.c.victim_id,
                               T_CASE.c.suspect_id, T_CASE.c.spo_status)
        spo_news: dict[int, tuple[tuple[datetime, str], OrderRecord, str]] = {}
        existing: dict[str, Any] = {}
        for row in self.sql.where_in(
            select(T_ORDER.c.id, T_ORDER.c.order_ref, T_ORDER.c.case_id, T_ORDER.c.kind,
                   T_ORDER.c.status, T_ORDER.c.applied_at, T_ORDER.c.granted_at,
                   T_ORDER.c.served_at, T_ORDER.c.expires_at, T_ORDER.c.subject_id,
                   T_ORDER.c.protected_id, T_ORDER.c.notification_due_at,
                   T_ORDER.c.notified_at),
            T_ORDER.c.order_ref, [r.order_ref for r in records],
        ):
            existing[row.order_ref] = row
        warning = timedelta(days=self.policy.spo.expiry_warning_days)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        for record in records:
            case = cases[record.crime_ref]
            values = {
                "case_id": case.id, "kind": record.kind, "status": record.status,
                "applied_at": record.applied_at, "granted_at": record.granted_at,
                "served_at": record.served_at, "expires_at": record.expires_at,
            }
            old = existing.get(record.order_ref)
            for name in ORDER_KEPT_FIELDS:
                given = getattr(record, name)
                values[name] = given if given is not None or old is None else getattr(old, name)
            if (values["notification_due_at"] is None and record.served_at is not None
                    and record.kind in NOTIFICATION_KINDS):
                # the RMS gave no date: SPA 2019 s9's clock from service, as Vigil keeps it
                values["notification_due_at"] = notification_due(record.served_at,
                                                                 self.policy.spo)
            if old is None:
                inserts.append({"order_ref": record.order_ref, **values,
                                "subject_id": case.suspect_id, "protected_id": case.victim_id,
                                "updated_at": self.now})
                counter.new += 1
                changed = {"status": (None, record.status)}
            else:
                changed = differs(old, values, ORDER_FIELDS)
                if not changed:
                    counter.unchanged += 1
                else:
                    moved = "case_id" in changed
                    updates.append({
                        "b_id": old.id, **values,
                        "subject_id": case.suspect_id if moved else old.subject_id,
                        "protected_id": case.victim_id if moved else old.protected_id,
                        "updated_at": self.now,
                    })
                    counter.updated += 1
                    if moved and self._is_existing(old.case_id):
                        self.touched.add(old.case_id)
            event = OrderEvent(record.order_ref, record.crime_ref, record.kind, record.status,
                               record.expires_at)
            if record.status in GRANTED_STATUSES and (old is None or old.status != record.status):
                self._delta["orders_granted"].add(event)
            expires = record.expires_at
            if (record.status in ORDERS_IN_FORCE and expires is not None
                    and self.now <= expires <= self.now + warning
                    and (changed or self.previous_import_at is None
                         or expires > self.previous_import_at + warning)):
                self._delta["orders_expiring"].add(event)
            if changed and self._is_existing(case.id):
                self.touched.add(case.id)
                self._audit(audits, record.crime_ref,
                            f"{record.kind} {record.order_ref} "
                            f"{'recorded' if old is None else 'updated'} from {SOURCE_REASON}",
                            {k: v[0] for k, v in changed.items()} if old is not None else None,
                            {k: v[1] for k, v in changed.items()})
            decision = spo_decision_for_order(record.kind, record.status)
            if changed and decision is not None and not self.decisions_given:
                when = (record.granted_at or record.applied_at or record.served_at
                        or self.now, record.order_ref)
                newest = spo_news.get(case.id)
                if newest is None or when > newest[0]:
                    spo_news[case.id] = (when, record, decision.value)
        self._write(T_ORDER, inserts)
        self._update_by_id(T_ORDER, updates)
        self._mirror_spo_decisions(cases, spo_news, audits)
        self._write(T_AUDIT, audits)

    def _mirror_spo_decisions(self, cases: dict[str, Any],
                              spo_news: dict[int, tuple[Any, OrderRecord, str]],
                              audits: list[dict[str, Any]]) -> None:
        """The case's SPO decision follows the newest SPO or interim SPO the
        extract changed. The RMS is the record of the court's decisions, so
        the import moves the decision even where Vigil saw no step between
        (an order first seen granted)."""
        current = {row.id: row.spo_status for row in cases.values()}
        decisions: list[dict[str, Any]] = []
        moved: list[dict[str, Any]] = []
        for case_id, (_when, record, decision) in sorted(spo_news.items()):
            before = current.get(case_id)
            if decision == before:
                continue
            decisions.append({"case_id": case_id, "status": decision,
                              "rationale": f"{record.kind} {record.order_ref} {record.status} "
                                           f"in the {SOURCE_REASON}",
                              "decided_by": self.username, "decided_at": self.now})
            moved.append({"b_id": case_id, "spo_status": decision})
            if self._is_existing(case_id):
                self.touched.add(case_id)
                self._audit(audits, record.crime_ref,
                            f"SPO decision from {record.kind} {record.order_ref} in the "
                            f"{SOURCE_REASON}", {"spo_status": before}, {"spo_status": decision})
        self._write(T_SPO_DECISION, decisions)
        self._update_by_id(T_CASE, moved)

    # --- spo_decisions.csv -----------------------------------------------------------
    def spo_decisions_chunk(self, records: list[SpoDecisionRecord]) -> None:
        """``SpoDecision`` by (crime, decided_at, status); the case's SPO
        decision (``spo_status``) follows its newest decision."""
        counter = self.counters[SPO_DECISIONS]
        cases = self._case_ids({r.crime_ref for r in records}, T_CASE.c.spo_status)
        existing: dict[tuple[int, datetime, str], Any] = {}
        for row in self.sql.where_in(
            select(T_SPO_DECISION.c.id, T_SPO_DECISION.c.case_id, T_SPO_DECISION.c.status,
                   T_SPO_DECISION.c.rationale, T_SPO_DECISION.c.decided_by,
                   T_SPO_DECISION.c.decided_at),
            T_SPO_DECISION.c.case_id, [row.id for row in cases.values()],
        ):
            existing[(row.case_id, aware(row.decided_at), row.status)] = row
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        changed_cases: set[int] = set()
        for record in records:
            case = cases[record.crime_ref]
            values = {"rationale": record.rationale, "decided_by": record.decided_by}
            old = existing.get((case.id, record.decided_at, record.status))
            if old is None:
                inserts.append({"case_id": case.id, "status": record.status,
                                "decided_at": record.decided_at, **values})
                counter.new += 1
                changed = {"status": (None, record.status), "rationale": (None, record.rationale)}
            else:
                changed = differs(old, values, ("rationale", "decided_by"))
                if not changed:
                    counter.unchanged += 1
                    continue
                updates.append({"b_id": old.id, **values})
                counter.updated += 1
            changed_cases.add(case.id)
            if self._is_existing(case.id):
                self.touched.add(case.id)
                self._audit(audits, record.crime_ref,
                            f"SPO decision {record.status} of {format_when(record.decided_at)} "
                            f"by {record.decided_by} {'recorded' if old is None else 'updated'} "
                            f"from {SOURCE_REASON}",
                            {k: v[0] for k, v in changed.items()} if old is not None else None,
                            {k: v[1] for k, v in changed.items()})
        self._write(T_SPO_DECISION, inserts)
        self._update_by_id(T_SPO_DECISION, updates)
        newest: dict[int, str] = {}
        for row in self.sql.where_in(
            select(T_SPO_DECISION.c.case_id, T_SPO_DECISION.c.status)
            .order_by(T_SPO_DECISION.c.case_id, T_SPO_DECISION.c.decided_at,
                      T_SPO_DECISION.c.id),
            T_SPO_DECISION.c.case_id, sorted(changed_cases),
        ):
            newest[row.case_id] = row.status
        by_id = {row.id: row for row in cases.values()}
        moved: list[dict[str, Any]] = []
        for case_id, status in sorted(newest.items()):
            case = by_id[case_id]
            if case.spo_status == status:
                continue
            moved.append({"b_id": case_id, "spo_status": status})
            if self._is_existing(case_id):
                self._audit(audits, case.crime_ref, f"SPO decision now {status} from "
                            f"{SOURCE_REASON}", {"spo_status": case.spo_status},
                            {"spo_status": status})
        self._update_by_id(T_CASE, moved)
        self._write(T_AUDIT, audits)
