"""crimes.csv → ``Person`` by person_ref (created with a neutral name, the
extract carries none), ``Case`` by crime_ref, its ``IncludedClassification``
rows of source ``import`` replaced to match the file's list (rows recorded in
Vigil, e.g. accepted screening flags, are kept), an ``Allocation`` row when
the team or officer changes. A crime first seen already closed gets
``closed_at`` = its ``closed_at`` (format 2) or else its reported time; a
crime that closes between extracts gets the import time. pin_authorised_by,
arrested_at and digital_enquiries (format 2) keep what Vigil holds when
empty."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select, update

from app.rms.apply_pass import SOURCE_REASON, ApplyPass, differs
from app.rms.delta import Reclassification
from app.rms.formats import (
    CRIMES,
    CrimeRecord,
)
from app.rms.tables import (
    T_ALLOCATION,
    T_AUDIT,
    T_CASE,
    T_INCLUDED,
    T_PERSON,
)
from models.enums import (
    CaseStatus,
    ClassificationSource,
)

CRIME_FIELDS = ("reported_at", "area_command", "principal_code", "victim_ref", "suspect_ref",
                "relationship", "domestic_abuse", "online", "allocation_team", "officer",
                "status", "pin_issued", "summary")
# format 2 columns of crimes.csv: an empty cell leaves what Vigil holds
CRIME_KEPT_FIELDS = ("closed_at", "outcome", "reassessment_due_at", "pin_authorised_by",
                     "arrested_at", "digital_enquiries")


class CrimeWrites(ApplyPass):
    def _person_ids(self, refs: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for pid, ref in self.sql.where_in(select(T_PERSON.c.id, T_PERSON.c.person_ref),
                                          T_PERSON.c.person_ref, refs):
            found[ref] = pid
        missing = sorted(refs - found.keys())
        if missing:
            found.update(self.sql.insert_with_ids(
                T_PERSON, [{"person_ref": ref, "name": f"Person {ref}"} for ref in missing],
                "person_ref"))
            self.people_created += len(missing)
        return found

    # --- crimes.csv ------------------------------------------------------------
    def crimes_chunk(self, records: list[CrimeRecord]) -> None:
        counter = self.counters[CRIMES]
        victim = T_PERSON.alias("victim")
        suspect = T_PERSON.alias("suspect")
        existing: dict[str, Any] = {}
        stmt = (
            select(
                T_CASE.c.id, T_CASE.c.crime_ref, T_CASE.c.reported_at, T_CASE.c.area_command,
                T_CASE.c.principal_code, victim.c.person_ref.label("victim_ref"),
                suspect.c.person_ref.label("suspect_ref"), T_CASE.c.relationship,
                T_CASE.c.domestic_abuse, T_CASE.c.online, T_CASE.c.allocation_team,
                T_CASE.c.officer, T_CASE.c.status, T_CASE.c.pin_issued, T_CASE.c.summary,
                T_CASE.c.closed_at, T_CASE.c.outcome, T_CASE.c.reassessment_due_at,
                T_CASE.c.pin_authorised_by, T_CASE.c.arrested_at, T_CASE.c.digital_enquiries,
            )
            .select_from(
                T_CASE.join(victim, victim.c.id == T_CASE.c.victim_id)
                .outerjoin(suspect, suspect.c.id == T_CASE.c.suspect_id)
            )
        )
        for row in self.sql.where_in(stmt, T_CASE.c.crime_ref, [r.crime_ref for r in records]):
            existing[row.crime_ref] = row
        included: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)
        for inc_id, case_id, code, source in self.sql.where_in(
            select(T_INCLUDED.c.id, T_INCLUDED.c.case_id, T_INCLUDED.c.code, T_INCLUDED.c.source),
            T_INCLUDED.c.case_id, [row.id for row in existing.values()],
        ):
            included[case_id][code] = (inc_id, source)

        new_records: list[CrimeRecord] = []
        changes: list[tuple[CrimeRecord, Any, dict[str, tuple[Any, Any]], set[str],
                          dict[str, int]]] = []
        people: set[str] = set()
        for record in records:
            old = existing.get(record.crime_ref)
            if old is None:
                new_records.append(record)
                people.add(record.victim_ref)
                if record.suspect_ref:
                    people.add(record.suspect_ref)
                continue
            values = {name: getattr(record, name) for name in CRIME_FIELDS}
            changed = differs(old, values, CRIME_FIELDS)
            for name in CRIME_KEPT_FIELDS:
                # format 2: an empty cell keeps what Vigil holds
                given = getattr(record, name)
                if given is not None and given != getattr(old, name):
                    changed[name] = (getattr(old, name), given)
            current = included.get(old.id, {})
            add = set(record.included_codes - current.keys())
            remove = {code: inc_id for code, (inc_id, source) in current.items()
                      if source == ClassificationSource.IMPORT
                      and code not in record.included_codes}
            if not changed and not add and not remove:
                counter.unchanged += 1
                continue
            if "victim_ref" in changed or "suspect_ref" in changed:
                people.add(record.victim_ref)
                if record.suspect_ref:
                    people.add(record.suspect_ref)
            changes.append((record, old, changed, add, remove))

        person_ids = self._person_ids(people) if people else {}

        # new crimes
        new_rows = []
        for record in new_records:
            new_rows.append({
                "crime_ref": record.crime_ref,
                "reported_at": record.reported_at,
                "area_command": record.area_command,
                "principal_code": record.principal_code,
                "victim_id": person_ids[record.victim_ref],
                "suspect_id": person_ids[record.suspect_ref] if record.suspect_ref else None,
                "relationship": record.relationship,
                "domestic_abuse": record.domestic_abuse,
                "online": record.online,
                "summary": record.summary,
                "status": record.status,
                "closed_at": (record.closed_at or record.reported_at
                              if record.status == CaseStatus.CLOSED else None),
                "outcome": record.outcome,
                "reassessment_due_at": record.reassessment_due_at,
                "allocation_team": record.allocation_team,
                "officer": record.officer,
                "pin_issued": record.pin_issued,
                "pin_authorised_by": record.pin_authorised_by,
                "arrested_at": record.arrested_at,
                "digital_enquiries": record.digital_enquiries,
                "version": 1,
                "created_at": self.now,
                "last_activity_at": self.now,
            })
            self._delta["new_crimes"].add(record.crime_ref)
        counter.new += len(new_rows)
        new_ids = self.sql.insert_with_ids(T_CASE, new_rows, "crime_ref")

        included_rows: list[dict[str, Any]] = []
        allocation_rows: list[dict[str, Any]] = []
        for record in new_records:
            case_id = new_ids[record.crime_ref]
            for code in sorted(record.included_codes):
                included_rows.append(self._included_row(case_id, code))
            if record.allocation_team:
                allocation_rows.append(self._allocation_row(case_id, record))

        # changed crimes
        updates: list[dict[str, Any]] = []
        removals: list[int] = []
        audits: list[dict[str, Any]] = []
        for record, old, changed, add, remove in changes:
            counter.updated += 1
            self.touched.add(old.id)
            closed_at = old.closed_at
            if "status" in changed:
                closing = record.status == CaseStatus.CLOSED
                closed_at = (record.closed_at or self.now) if closing else None
                if closing:
                    self._delta["cases_closed"].add(record.crime_ref)
            elif record.closed_at is not None:
                closed_at = record.closed_at
            row = {
                "b_id": old.id,
                "reported_at": record.reported_at,
                "area_command": record.area_command,
                "principal_code": record.principal_code,
                "relationship": record.relationship,
                "domestic_abuse": record.domestic_abuse,
                "online": record.online,
                "summary": record.summary,
                "status": record.status,
                "closed_at": closed_at,
                "outcome": record.outcome if record.outcome is not None else old.outcome,
                "reassessment_due_at": (record.reassessment_due_at
                                        if record.reassessment_due_at is not None
                                        else old.reassessment_due_at),
                "allocation_team": record.allocation_team,
                "officer": record.officer,
                "pin_issued": record.pin_issued,
                **{name: (getattr(record, name) if getattr(record, name) is not None
                          else getattr(old, name))
                   for name in ("pin_authorised_by", "arrested_at", "digital_enquiries")},
            }
            if "victim_ref" in changed or "suspect_ref" in changed:
                self._update_people(old.id, person_ids[record.victim_ref],
                                    person_ids[record.suspect_ref] if record.suspect_ref else None)
            updates.append(row)
            for code in sorted(add):
                included_rows.append(self._included_row(old.id, code))
            removals.extend(remove.values())
            old_included = set(included.get(old.id, {}))
            new_included = (old_included - remove.keys()) | add
            before = {k: v[0] for k, v in changed.items()}
            after = {k: v[1] for k, v in changed.items()}
            if "principal_code" in changed or old_included != new_included:
                self._delta["reclassified"].add(Reclassification(
                    crime_ref=record.crime_ref,
                    old_principal=old.principal_code,
                    old_included=tuple(sorted(old_included)),
                    new_principal=record.principal_code,
                    new_included=tuple(sorted(new_included)),
                ))
                if old_included != new_included:
                    before["included_codes"] = old_included
                    after["included_codes"] = new_included
            if record.allocation_team and ("allocation_team" in changed or "officer" in changed):
                allocation_rows.append(self._allocation_row(old.id, record))
            self._audit(audits, record.crime_ref, f"updated from {SOURCE_REASON}", before, after)

        self._update_by_id(T_CASE, updates)
        self.sql.delete_ids(T_INCLUDED, removals)
        self._write(T_INCLUDED, included_rows)
        self._write(T_ALLOCATION, allocation_rows)
        self._write(T_AUDIT, audits)

    def _update_people(self, case_id: int, victim_id: int, suspect_id: int | None) -> None:
        self.conn.execute(update(T_CASE).where(T_CASE.c.id == case_id)
                          .values(victim_id=victim_id, suspect_id=suspect_id))

    def _included_row(self, case_id: int, code: str) -> dict[str, Any]:
        return {"case_id": case_id, "code": code, "source": ClassificationSource.IMPORT.value,
                "added_by": self.username, "added_at": self.now, "reason": SOURCE_REASON}

    def _allocation_row(self, case_id: int, record: CrimeRecord) -> dict[str, Any]:
        return {"case_id": case_id, "team": record.allocation_team, "officer": record.officer,
                "allocated_at": self.now, "allocated_by": self.username, "reason": SOURCE_REASON}
