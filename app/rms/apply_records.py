"""The records kept beside a case: victim_care.csv → ``VictimCare`` by crime,
``Referral`` by (crime, service); searches.csv → ``SearchRecord``;
multi_agency.csv → ``MultiAgencyReferral``; officer_training.csv →
``TrainingRecord`` by (officer, course, completed_on);
perpetrator_programmes.csv → ``PerpetratorProgramme`` by code;
perpetrator_referrals.csv → ``PerpetratorReferral`` by (crime, programme,
referred_at)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.rms.apply_pass import SOURCE_REASON, ApplyPass, ExtractChanged, Values, aware, differs
from app.rms.formats import (
    MULTI_AGENCY,
    OFFICER_TRAINING,
    PERPETRATOR_REFERRALS,
    PROGRAMMES,
    SEARCHES,
    VICTIM_CARE,
    CareRecord,
    MultiAgencyRecord,
    PerpetratorReferralRecord,
    ProgrammeRecord,
    SearchRow,
    TrainingRow,
    format_when,
)
from app.rms.tables import (
    T_AUDIT,
    T_CARE,
    T_MULTI_AGENCY,
    T_PERPETRATOR_REFERRAL,
    T_PROGRAMME,
    T_REFERRAL,
    T_SEARCH,
    T_TRAINING,
)
from models.enums import (
    ReferralOutcome,
)

# format 2 columns: an empty cell leaves what Vigil holds
CARE_KEPT_FIELDS = ("consent_at", "last_update_at", "vps_offered_at")
CARE_FIELDS = ("needs_assessed_at", "enhanced_rights", "rights_explained_at",
               "consent") + CARE_KEPT_FIELDS
PROGRAMME_FIELDS = ("name", "area_command", "available_from", "available_to")
TRAINING_SOURCE = "import"


class CaseRecordWrites(ApplyPass):
    # --- victim_care.csv ----------------------------------------------------------------
    def care_chunk(self, records: list[CareRecord]) -> None:
        counter = self.counters[VICTIM_CARE]
        cases = self._case_ids({r.crime_ref for r in records})
        ids = [row.id for row in cases.values()]
        care: dict[int, Any] = {}
        referrals: dict[tuple[int, str], Any] = {}
        for row in self.sql.where_in(
            select(T_CARE.c.id, T_CARE.c.case_id, T_CARE.c.needs_assessed_at,
                   T_CARE.c.enhanced_rights, T_CARE.c.rights_explained_at, T_CARE.c.consent,
                   *[T_CARE.c[name] for name in CARE_KEPT_FIELDS]),
            T_CARE.c.case_id, ids,
        ):
            care[row.case_id] = row
        for row in self.sql.where_in(
            select(T_REFERRAL.c.id, T_REFERRAL.c.case_id, T_REFERRAL.c.service,
                   T_REFERRAL.c.referred_at, T_REFERRAL.c.outcome)
            .order_by(T_REFERRAL.c.referred_at, T_REFERRAL.c.id),
            T_REFERRAL.c.case_id, ids,
        ):
            referrals[(row.case_id, row.service)] = row  # the latest per service wins
        care_inserts: list[dict[str, Any]] = []
        care_updates: list[dict[str, Any]] = []
        referral_inserts: list[dict[str, Any]] = []
        referral_updates: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        for record in records:
            case_id = cases[record.crime_ref].id
            state = "unchanged"
            changes: dict[str, tuple[Any, Any]] = {}
            if record.has_care:
                old = care.get(case_id)
                values = {
                    "needs_assessed_at": record.needs_assessed_at,
                    "enhanced_rights": (record.enhanced_rights if record.enhanced_rights is not None
                                        else (old.enhanced_rights if old is not None else True)),
                    "rights_explained_at": record.rights_explained_at,
                    "consent": record.consent,
                }
                for name in CARE_KEPT_FIELDS:
                    given = getattr(record, name)
                    values[name] = (given if given is not None or old is None
                                    else getattr(old, name))
                if old is None:
                    care_inserts.append({"case_id": case_id, **values})
                    state = "new"
                    changes.update({k: (None, v) for k, v in values.items()})
                else:
                    changes.update(differs(old, values, CARE_FIELDS))
                    if changes:
                        care_updates.append({"b_id": old.id, **values})
                        state = "updated"
                care[case_id] = Values(id=getattr(old, "id", None), case_id=case_id, **values)
            if record.service:
                key = (case_id, record.service)
                old_ref = referrals.get(key)
                values = {"referred_at": record.referred_at,
                          "outcome": record.outcome or ReferralOutcome.PENDING.value}
                if old_ref is None:
                    referral_inserts.append({"case_id": case_id, "service": record.service,
                                             "referred_by": self.username, **values})
                    state = "new"
                    changes[f"referral {record.service}"] = (None, values["outcome"])
                else:
                    changed = differs(old_ref, values, ("referred_at", "outcome"))
                    if changed:
                        referral_updates.append({"b_id": old_ref.id, **values})
                        if state == "unchanged":
                            state = "updated"
                        changes.update({f"referral {record.service} {k}": v
                                        for k, v in changed.items()})
                referrals[key] = Values(id=getattr(old_ref, "id", None), **values)
            if state == "unchanged":
                counter.unchanged += 1
                continue
            if state == "new":
                counter.new += 1
            else:
                counter.updated += 1
            if self._is_existing(case_id):
                self.touched.add(case_id)
                self._audit(audits, record.crime_ref,
                            f"victim care {'recorded' if state == 'new' else 'updated'} from "
                            f"{SOURCE_REASON}",
                            {k: v[0] for k, v in changes.items()},
                            {k: v[1] for k, v in changes.items()})
        self._write(T_CARE, care_inserts)
        self._update_by_id(T_CARE, care_updates)
        self._write(T_REFERRAL, referral_inserts)
        self._update_by_id(T_REFERRAL, referral_updates)
        self._write(T_AUDIT, audits)

    # --- searches.csv ----------------------------------------------------------------
    def searches_chunk(self, records: list[SearchRow]) -> None:
        """``SearchRecord`` by (crime, power, conducted_at); ``result`` is kept
        as the items seized."""
        self._keyed_rows(
            SEARCHES, records, T_SEARCH, ("power", "conducted_at"),
            lambda r: {"officer": r.officer, "authorised_by": r.authorised_by,
                       "premises": r.premises, "items_seized": r.result},
            {"recorded_by": self.username, "recorded_at": self.now},
            lambda r: f"search under {r.power} of {format_when(r.conducted_at)}")

    # --- multi_agency.csv ------------------------------------------------------------
    def multi_agency_chunk(self, records: list[MultiAgencyRecord]) -> None:
        """``MultiAgencyReferral`` by (crime, kind, referred_at)."""
        self._keyed_rows(
            MULTI_AGENCY, records, T_MULTI_AGENCY, ("kind", "referred_at"),
            lambda r: {"referred_by": r.referred_by, "outcome": r.outcome},
            {}, lambda r: f"{r.kind} referral of {format_when(r.referred_at)}")

    # --- officer_training.csv ------------------------------------------------------
    def training_chunk(self, records: list[TrainingRow]) -> None:
        """``TrainingRecord`` by (officer, course, completed_on): a row is a fact
        (a course completed), new or already held."""
        counter = self.counters[OFFICER_TRAINING]
        held: set[tuple[str, str, Any]] = set()
        for row in self.sql.where_in(
            select(T_TRAINING.c.officer, T_TRAINING.c.course, T_TRAINING.c.completed_on),
            T_TRAINING.c.officer, sorted({r.officer for r in records}),
        ):
            held.add((row.officer, row.course, row.completed_on))
        inserts: list[dict[str, Any]] = []
        for record in records:
            key = (record.officer, record.course, record.completed_on)
            if key in held:
                counter.unchanged += 1
                continue
            held.add(key)
            inserts.append({"officer": record.officer, "course": record.course,
                            "completed_on": record.completed_on, "source": TRAINING_SOURCE})
            counter.new += 1
        self._write(T_TRAINING, inserts)

    # --- perpetrator_programmes.csv -----------------------------------------------
    def programmes_chunk(self, records: list[ProgrammeRecord]) -> None:
        """``PerpetratorProgramme`` by code."""
        counter = self.counters[PROGRAMMES]
        existing: dict[str, Any] = {}
        for row in self.sql.where_in(
            select(T_PROGRAMME.c.id, T_PROGRAMME.c.code,
                   *[T_PROGRAMME.c[name] for name in PROGRAMME_FIELDS]),
            T_PROGRAMME.c.code, [r.code for r in records],
        ):
            existing[row.code] = row
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for record in records:
            values = {name: getattr(record, name) for name in PROGRAMME_FIELDS}
            old = existing.get(record.code)
            if old is None:
                inserts.append({"code": record.code, **values})
                counter.new += 1
            elif differs(old, values, PROGRAMME_FIELDS):
                updates.append({"b_id": old.id, **values})
                counter.updated += 1
            else:
                counter.unchanged += 1
        self._write(T_PROGRAMME, inserts)
        self._update_by_id(T_PROGRAMME, updates)

    # --- perpetrator_referrals.csv ------------------------------------------------
    def perpetrator_referrals_chunk(self, records: list[PerpetratorReferralRecord]) -> None:
        """``PerpetratorReferral`` by (crime, programme, referred_at)."""
        ids: dict[str, int] = {}
        for row in self.sql.where_in(select(T_PROGRAMME.c.id, T_PROGRAMME.c.code),
                                     T_PROGRAMME.c.code, {r.programme_code for r in records}):
            ids[row.code] = row.id
        missing = {r.programme_code for r in records} - ids.keys()
        if missing:
            raise ExtractChanged(f"programme '{sorted(missing)[0]}' is no longer in Vigil or "
                                 "the extract; nothing was written")
        rows = [Values(crime_ref=r.crime_ref, programme_id=ids[r.programme_code],
                        programme_code=r.programme_code, referred_at=r.referred_at,
                        referred_by=r.referred_by, outcome=r.outcome) for r in records]
        self._keyed_rows(
            PERPETRATOR_REFERRALS, rows, T_PERPETRATOR_REFERRAL, ("programme_id", "referred_at"),
            lambda r: {"referred_by": r.referred_by, "outcome": r.outcome},
            {}, lambda r: f"referral to perpetrator programme {r.programme_code} of "
                          f"{format_when(r.referred_at)}")

    def _keyed_rows(self, file_name: str, records: list[Any], table: Any,
                    key: tuple[str, ...], values_of: Callable[[Any], dict[str, Any]],
                    on_insert: dict[str, Any], what: Callable[[Any], str]) -> None:
        """Upsert rows of ``table`` identified by the case and ``key``."""
        counter = self.counters[file_name]
        cases = self._case_ids({r.crime_ref for r in records})
        sample = values_of(records[0])
        existing: dict[tuple[Any, ...], Any] = {}
        for row in self.sql.where_in(
            select(table.c.id, table.c.case_id, *[table.c[k] for k in key],
                   *[table.c[name] for name in sample]),
            table.c.case_id, [row.id for row in cases.values()],
        ):
            existing[(row.case_id, *[aware(v) if isinstance(v, datetime) else v
                                     for v in (getattr(row, k) for k in key)])] = row
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        for record in records:
            case_id = cases[record.crime_ref].id
            values = values_of(record)
            old = existing.get((case_id, *[getattr(record, k) for k in key]))
            if old is None:
                inserts.append({"case_id": case_id, **{k: getattr(record, k) for k in key},
                                **values, **on_insert})
                counter.new += 1
                changed = {name: (None, value) for name, value in values.items()
                           if value is not None}
            else:
                changed = differs(old, values, tuple(values))
                if not changed:
                    counter.unchanged += 1
                    continue
                updates.append({"b_id": old.id, **values})
                counter.updated += 1
            if self._is_existing(case_id):
                self.touched.add(case_id)
                self._audit(audits, record.crime_ref,
                            f"{what(record)} {'recorded' if old is None else 'updated'} from "
                            f"{SOURCE_REASON}",
                            {k: v[0] for k, v in changed.items()} if old is not None else None,
                            {k: v[1] for k, v in changed.items()})
        self._write(table, inserts)
        self._update_by_id(table, updates)
        self._write(T_AUDIT, audits)
