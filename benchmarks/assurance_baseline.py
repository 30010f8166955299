"""The assurance report's hand-written baseline: every figure of the report
for the same period, force-wide, from SQL written by hand and run through the
DB-API (sqlite3 or psycopg), with nothing else done with the rows.

It is the fastest way I know to get the same numbers from the database:

- the cases reported in the period in one pass, read in id order (so each
  probe of another table by case id walks its index forwards), month and
  Victims' Code referral deadline from a balanced ``CASE`` over the period's
  slices, every fact about a case as one bit of a mask, each other table
  probed at most once per case and only for the cases whose figures need it
  (a stalking case's care and referrals); the cases grouped by cell and mask,
  and each figure's parts summed over the groups (a few thousand rows) rather
  than over the cases;
- one grouped statement each for orders, screening flags, reclassifications,
  searches, searches by code, training, referrals, dip samples and
  programmes;
- the breaches reported in the period in one statement with each breach's
  time limits and level-2 reasons worked out in SQL.

The policy decides the codes, services, limits and allocation rules, as it
does the report's; the figures come back as plain tuples
(:class:`BaselineFigures`), which ``tests/services/test_assurance_baseline.py``
holds equal to the report's on a generated force.
"""
# The statements are written here from the policy's codes, the period's
# moments and the classification table's codes (quoted by ``_text`` and
# ``_in_text``, or bound), never from what a user types.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from app.policy import Policy
from app.rules import metric_measures, metric_periods
from app.rules import metrics as m
from benchmarks.dbapi import is_sqlite, rows, when

Row = tuple[Any, ...]

# bits of a case's mask (one fact each; a figure's part tests several)
P_STALKING, I_STALKING, P_SH, I_SH, SDASH, NO_PLAN, SPO_DECIDED, NEEDS = (1 << i for i in range(8))
CONSENT_REFUSED, REFERRED, IN_TIME, DUE, MOVES_EXCEEDED, ONLINE, PIN, PIN_UNAUTHORISED = (
    1 << i for i in range(8, 16))
HAS_SUSPECT, SEARCHED, ARRESTED, DIGITAL, MULTI_AGENCY, PERPETRATOR, ORIGINAL_TEAM = (
    1 << i for i in range(16, 23))
FAMILY_BITS = 23  # then two bits a family: its principal code, an included code


@dataclass
class BaselineFigures:
    """Per metric: tallies ``(area, team, month, numerator, denominator)``;
    samples ``(area, team, month, value)``; programmes available at each
    month's end and, by area, at the period's end."""

    tallies: dict[str, list[Row]] = field(default_factory=dict)
    samples: dict[str, list[Row]] = field(default_factory=dict)
    programmes_by_month: list[Row] = field(default_factory=list)
    programmes_by_area: list[Row] = field(default_factory=list)


def _rows(connection: Any, statement: str, params: list[Any]) -> list[Row]:
    return rows(connection, statement, tuple(params))


def _in(values: Any, params: list[Any]) -> str:
    """``IN (?, ?, ...)`` for ``values`` (``IN (NULL)`` for none), binding them."""
    values = list(values)
    params.extend(values)
    return "(" + (", ".join("?" * len(values)) or "NULL") + ")"


def _bind(value: Any, params: list[Any]) -> str:
    params.append(value)
    return "?"


def _day(connection: Any, day: date) -> Any:
    return day.isoformat() if is_sqlite(connection) else day


def _plus_hours(connection: Any, column: str, hours: int) -> str:
    """``column`` + ``hours`` exactly: SQLite shifts the whole seconds and keeps
    the stored fraction (its date functions round to milliseconds)."""
    if is_sqlite(connection):
        return (f"(strftime('%Y-%m-%d %H:%M:%S', substr({column}, 1, 19), '{int(hours):+d} hours')"
                f" || substr({column}, 20))")
    return f"({column} + interval '{int(hours)} hours')"


def _days_between(connection: Any, later: str, earlier: str) -> str:
    if is_sqlite(connection):
        return f"(julianday({later}) - julianday({earlier}))"
    return f"(extract(epoch from ({later} - {earlier})) / 86400.0)"


def _is(connection: Any) -> str:
    return "IS" if is_sqlite(connection) else "IS NOT DISTINCT FROM"


def _text(connection: Any, value: Any) -> str:
    """A value written into the statement (numbers, codes, moments), as the
    policy and the period give them."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        value = when(connection, value)
        if not is_sqlite(connection):
            return f"timestamptz '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _date_text(connection: Any, day: date) -> str:
    return f"'{day.isoformat()}'" if is_sqlite(connection) else f"date '{day.isoformat()}'"


def _in_text(values: Any) -> str:
    quoted = ["'" + str(v).replace("'", "''") + "'" for v in values]
    return "(" + (", ".join(quoted) or "NULL") + ")"


def _stepped(connection: Any, column: str, steps: list[Row]) -> str:
    """The value of the step ``column`` falls in, ``steps`` being ``(starts,
    value)`` in order: a balanced ``CASE`` (about log2(n) comparisons a row)."""
    if len(steps) == 1:
        return _text(connection, steps[0][1])
    middle = len(steps) // 2
    return (f"CASE WHEN {column} < {_text(connection, steps[middle][0])} "
            f"THEN {_stepped(connection, column, steps[:middle])} "
            f"ELSE {_stepped(connection, column, steps[middle:])} END")


def _month_case(connection: Any, column: str, edges: tuple[datetime, ...]) -> str:
    """The month of the period ``column`` is in (callers keep to the period)."""
    return _stepped(connection, column, [(edges[i], i) for i in range(len(edges) - 1)])


def _within(connection: Any, column: str, edges: tuple[datetime, ...]) -> str:
    return (f"{column} >= {_text(connection, edges[0])} "
            f"AND {column} < {_text(connection, edges[-1])}")


def _in_id_order(connection: Any) -> str:
    """SQLite reads the cases in the order of their ids (the whole table,
    the period's kept), so every probe by case id that follows walks its index
    forwards instead of jumping about it (six times faster at a million cases
    than the period's range of the reported-at index)."""
    return " NOT INDEXED" if is_sqlite(connection) else ""


def _unflattened(connection: Any) -> str:
    """Keeps SQLite from copying a subquery's columns into the query over it
    (where each use of the mask would probe the tables again)."""
    return " LIMIT -1" if is_sqlite(connection) else ""


def _values(connection: Any, name: str, columns: str, rows: list[Row], params: list[Any]) -> str:
    """A CTE of literal rows (bound): ``name(columns) AS (VALUES ...)``."""
    width = len(rows[0])
    for row in rows:
        params.extend(row)
    cell = "(" + ", ".join("?" * width) + ")"
    return f"{name}({columns}) AS (VALUES {', '.join(cell for _ in rows)})"


def _month_rows(connection: Any, period_edges: tuple[datetime, ...]) -> list[Row]:
    return [(i, when(connection, period_edges[i]), when(connection, period_edges[i + 1]))
            for i in range(len(period_edges) - 1)]


def _months_cte(connection: Any, edges: tuple[datetime, ...], params: list[Any]) -> str:
    return _values(connection, "month", "n, starts, ends", _month_rows(connection, edges), params)


def _slices(policy: Policy, date_from: date, date_to: date,
            now: datetime) -> list[Row]:
    """The period cut where the month or the referral deadline changes:
    ``(starts, ends, month, deadline)``."""
    edges = metric_periods.month_edges(date_from, date_to)
    steps = metric_periods.referral_deadline_steps(
        date_from, date_to, working_days=policy.victims_code.referral_working_days,
        holidays=policy.calendar.holidays, now=now)
    cuts = sorted({*edges, *(s.starts_at for s in steps)})
    slices: list[Row] = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        month = max(i for i in range(len(edges) - 1) if edges[i] <= start)
        deadline = max((s for s in steps if s.starts_at <= start), key=lambda s: s.starts_at).deadline
        slices.append((start, end, month, deadline))
    return slices


# --- the cases reported in the period ------------------------------------------------------
def _case_parts(policy: Policy, families: list[str]) -> dict[str, tuple[str, str]]:
    """Each case figure's (denominator, numerator) as SQL over a group's
    ``mask``, ``risk_level`` and ``domestic_abuse``."""

    def has(*bits: int) -> str:
        mask = sum(bits)
        return f"(mask & {mask}) = {mask}"

    def either(a: int, b: int) -> str:
        return f"(mask & {a | b}) <> 0"

    stalking = either(P_STALKING, I_STALKING)
    sh = either(P_SH, I_SH)
    high = "risk_level = 'high'"
    refused = f"((mask & {CONSENT_REFUSED}) <> 0 AND (mask & {REFERRED}) = 0)"
    not_refused = f"NOT {refused}"
    suspect = has(HAS_SUSPECT)
    allocation = _allocation_ok(policy, families)
    everyone = "1 = 1"
    return {
        m.R7_STALKING_INCLUDED: (stalking, f"(mask & {P_STALKING}) = 0 AND {has(I_STALKING)}"),
        m.R12_SDASH: (sh, f"{sh} AND {has(SDASH)}"),
        m.R12_HIGH_RISK_NO_PLAN: (high, f"{high} AND {has(NO_PLAN)}"),
        m.R13_SPO_DECISION: (stalking, f"{stalking} AND {has(SPO_DECIDED)}"),
        m.R14_NEEDS_ASSESSED: (stalking, f"{stalking} AND {has(NEEDS)}"),
        m.R14_REFERRALS: (f"{stalking} AND {not_refused}",
                          f"{stalking} AND {not_refused} AND {has(REFERRED)}"),
        m.R14_REFERRED_IN_TIME: (f"{stalking} AND {has(DUE)} AND {not_refused}",
                                 f"{stalking} AND {has(DUE)} AND {not_refused} AND {has(IN_TIME)}"),
        m.R14_CONSENT_REFUSED: (stalking, f"{stalking} AND {refused}"),
        m.R17_ALLOCATION: (everyone, allocation),
        m.R17_TEAM_MOVES: (everyone, has(MOVES_EXCEEDED)),
        m.R20_ONLINE: (everyone, has(ONLINE)),
        m.PINS_RECORDED: (everyone, has(PIN)),
        m.PINS_UNAUTHORISED: (has(PIN), has(PIN, PIN_UNAUTHORISED)),
        m.R18_SEARCHED: (stalking, f"{stalking} AND {has(SEARCHED)}"),
        m.R18_ARRESTED: (f"{stalking} AND {suspect}", f"{stalking} AND {suspect} AND {has(ARRESTED)}"),
        m.R18_DIGITAL: (stalking, f"{stalking} AND {has(DIGITAL)}"),
        m.R25_MULTI_AGENCY: (f"{stalking} AND {high}", f"{stalking} AND {high} AND {has(MULTI_AGENCY)}"),
        m.R25_PERPETRATOR_REFERRED: (f"{stalking} AND {suspect}",
                                     f"{stalking} AND {suspect} AND {has(PERPETRATOR)}"),
    }


def _allocation_ok(policy: Policy, families: list[str]) -> str:
    """The allocation rules, first match decides (app.rules.allocation)."""
    allocated = "team IS NOT NULL"
    branches: list[str] = []
    for rule in policy.allocation.rules:
        matches: list[str] = []
        if rule.families:
            bits = 0
            for family in rule.families:
                index = families.index(family)
                bits |= (1 << (FAMILY_BITS + 2 * index)) | (1 << (FAMILY_BITS + 2 * index + 1))
            matches.append(f"(mask & {bits}) <> 0")
        if rule.risk:
            levels = [r for r in rule.risk if r != "unassessed"]
            either = [f"risk_level IN ({', '.join(repr(x) for x in levels)})"] if levels else []
            if "unassessed" in rule.risk:
                either.append("risk_level IS NULL")
            matches.append("(" + " OR ".join(either) + ")")
        if rule.domestic_abuse == "yes":
            matches.append("domestic_abuse = 1")
        elif rule.domestic_abuse == "no":
            matches.append("domestic_abuse = 0")
        teams = [t for t in rule.teams if t != "@original"]
        allowed = [f"team IN ({', '.join(repr(t) for t in teams)})"] if teams else []
        if "@original" in rule.teams:
            allowed.append(f"(mask & {ORIGINAL_TEAM}) <> 0")
        complies = f"{allocated} AND ({' OR '.join(allowed) or '1 = 0'})"
        branches.append(f"WHEN {' AND '.join(matches) or '1 = 1'} THEN "
                        f"CASE WHEN {complies} THEN 1 ELSE 0 END")
    return f"(CASE {' '.join(branches)} ELSE CASE WHEN {allocated} THEN 1 ELSE 0 END END) = 1"


def case_figures(connection: Any, policy: Policy, date_from: date, date_to: date, now: datetime,
                 codes: list[Row]) -> dict[str, list[Row]]:
    stalking = sorted(code for code, _, is_stalking in codes if is_stalking)
    by_family: dict[str, list[str]] = {}
    for code, family, _ in codes:
        by_family.setdefault(family, []).append(code)
    sh = sorted({*stalking, *by_family.get("stalking", ()), *by_family.get("harassment", ())})
    families = sorted(metric_measures.rule_families(policy.allocation))
    edges = metric_periods.month_edges(date_from, date_to)
    slices = _slices(policy, date_from, date_to, now)
    specialist = policy.victims_code.specialist_services
    allowed_moves = policy.allocation.max_team_moves
    truthy = "1" if is_sqlite(connection) else "true"
    month = _stepped(connection, "c.reported_at", [(r[0], r[2]) for r in slices])
    deadline = _stepped(connection, "c.reported_at", [(r[0], r[3]) for r in slices])
    due_deadline = _stepped(connection, "c.reported_at", [(r[0], r[3]) for r in slices])
    principal = [f"CASE WHEN c.principal_code IN {_in_text(stalking)} THEN {P_STALKING} ELSE 0 END",
                 f"CASE WHEN c.principal_code IN {_in_text(sh)} THEN {P_SH} ELSE 0 END"]
    for index, family in enumerate(families):
        principal.append(f"CASE WHEN c.principal_code IN {_in_text(by_family.get(family, ()))} "
                         f"THEN {1 << (FAMILY_BITS + 2 * index)} ELSE 0 END")
    inc_bits = [f"max(CASE WHEN i.code IN {_in_text(stalking)} THEN {I_STALKING} ELSE 0 END)",
                f"max(CASE WHEN i.code IN {_in_text(sh)} THEN {I_SH} ELSE 0 END)"]
    for index, family in enumerate(families):
        inc_bits.append(f"max(CASE WHEN i.code IN {_in_text(by_family.get(family, ()))} "
                        f"THEN {1 << (FAMILY_BITS + 2 * index + 1)} ELSE 0 END)")
    base = " + ".join([
        *principal,
        f"coalesce((SELECT {' + '.join(inc_bits)} FROM included_classification i "
        "WHERE i.case_id = c.id), 0)",
        f"CASE WHEN c.spo_status <> 'not_considered' THEN {SPO_DECIDED} ELSE 0 END",
        f"CASE WHEN {due_deadline} IS NOT NULL THEN {DUE} ELSE 0 END",
        f"CASE WHEN c.online = {truthy} THEN {ONLINE} ELSE 0 END",
        f"CASE WHEN c.pin_issued = {truthy} THEN {PIN} ELSE 0 END",
        f"CASE WHEN o.allocation_team IS NOT NULL AND c.allocation_team = o.allocation_team "
        f"THEN {ORIGINAL_TEAM} ELSE 0 END",
    ])
    # probed only for the cases whose figures need them: a stalking case's
    # care, referrals, searches, arrests, enquiries and referrals of the suspect;
    # a stalking or harassment case's S-DASH; a high-risk case's plan. The
    # small sets (searches, referrals of suspects and to MARAC, cases
    # allocated more often than the moves allowed) are read once and looked
    # up, rather than probed case by case.
    stalking_probes = " + ".join([
        f"coalesce((SELECT CASE WHEN v.needs_assessed_at IS NOT NULL THEN {NEEDS} ELSE 0 END "
        f"+ CASE WHEN v.consent = {'0' if is_sqlite(connection) else 'false'} "
        f"THEN {CONSENT_REFUSED} ELSE 0 END FROM victim_care v WHERE v.case_id = k.id), 0)",
        f"coalesce((SELECT CASE WHEN min(f.referred_at) <= k.deadline THEN {REFERRED | IN_TIME} "
        f"ELSE {REFERRED} END FROM referral f WHERE f.case_id = k.id AND f.service IN "
        f"{_in_text(specialist)} HAVING count(*) > 0), 0)",
        f"(SELECT CASE WHEN x.suspect_id IS NOT NULL THEN {HAS_SUSPECT} ELSE 0 END "
        f"+ CASE WHEN coalesce(trim(x.digital_enquiries), '') <> '' THEN {DIGITAL} ELSE 0 END "
        f"+ CASE WHEN x.arrested_at IS NOT NULL OR EXISTS (SELECT 1 FROM breach b "
        f"WHERE b.original_case_id = x.id AND b.arrest_at IS NOT NULL) THEN {ARRESTED} ELSE 0 END "
        "FROM crime_case x WHERE x.id = k.id)",
        f"CASE WHEN k.id IN (SELECT x.case_id FROM search_record x) THEN {SEARCHED} ELSE 0 END",  # sql-safe: an int constant
        f"CASE WHEN k.id IN (SELECT x.case_id FROM perpetrator_referral x) "
        f"THEN {PERPETRATOR} ELSE 0 END",
        f"CASE WHEN k.risk_level = 'high' AND k.id IN (SELECT x.case_id "
        f"FROM multi_agency_referral x) THEN {MULTI_AGENCY} ELSE 0 END",
    ])
    stalking_bits = P_STALKING | I_STALKING
    sh_bits = P_SH | I_SH
    mask = " + ".join([
        "k.base",
        f"CASE WHEN (k.base & {stalking_bits}) <> 0 THEN {stalking_probes} ELSE 0 END",
        f"CASE WHEN (k.base & {sh_bits}) <> 0 AND EXISTS (SELECT 1 FROM risk_assessment r "
        f"WHERE r.case_id = k.id AND r.tool = {_text(connection, policy.risk.tool)}) "
        f"THEN {SDASH} ELSE 0 END",
        f"CASE WHEN k.risk_level = 'high' AND coalesce(trim((SELECT r.management_plan "
        "FROM risk_assessment r WHERE r.case_id = k.id ORDER BY r.assessed_at DESC, r.id DESC "
        f"LIMIT 1)), '') = '' THEN {NO_PLAN} ELSE 0 END",
        f"CASE WHEN (k.base & {PIN}) <> 0 AND (SELECT coalesce(trim(x.pin_authorised_by), '') "
        f"FROM crime_case x WHERE x.id = k.id) = '' THEN {PIN_UNAUTHORISED} ELSE 0 END",
        f"CASE WHEN k.id IN (SELECT a.case_id FROM allocation a GROUP BY a.case_id "
        f"HAVING count(*) > {_text(connection, allowed_moves + 1)}) "
        "AND (SELECT count(*) FROM (SELECT a.team, lag(a.team) OVER (ORDER BY a.allocated_at, "
        "a.id) AS before FROM allocation a WHERE a.case_id = k.id) moves "
        f"WHERE moves.team <> moves.before) > {_text(connection, allowed_moves)} "
        f"THEN {MOVES_EXCEEDED} ELSE 0 END",
    ])
    parts = _case_parts(policy, families)
    sums = []
    for code, (denominator, numerator) in parts.items():
        sums.append(f"sum(CASE WHEN {numerator} THEN n ELSE 0 END) AS \"{code}_n\"")
        sums.append(f"sum(CASE WHEN {denominator} THEN n ELSE 0 END) AS \"{code}_d\"")
    statement = f"""
WITH cases AS (
  SELECT c.id, {month} AS month, {deadline} AS deadline, c.area_command AS area,
         c.allocation_team AS team, c.risk_level,
         CASE WHEN c.domestic_abuse = {truthy} THEN 1 ELSE 0 END AS domestic_abuse,
         {base} AS base
  FROM crime_case c{_in_id_order(connection)}
  LEFT JOIN crime_case o ON o.id = c.linked_case_id
  WHERE c.reported_at >= {_text(connection, edges[0])}
    AND c.reported_at < {_text(connection, edges[-1])}{_unflattened(connection)}
),
facts AS (
  SELECT k.month, k.area, k.team, k.risk_level, k.domestic_abuse, {mask} AS mask
  FROM cases k{_unflattened(connection)}
),
cells AS (
  SELECT month, area, team, risk_level, domestic_abuse, mask, count(*) AS n
  FROM facts GROUP BY month, area, team, risk_level, domestic_abuse, mask
)
SELECT month, area, team, {', '.join(sums)}
FROM cells GROUP BY month, area, team"""
    found: dict[str, list[Row]] = {code: [] for code in parts}
    found[m.R13_SPO_APPLICATIONS] = []
    for row in _rows(connection, statement, []):
        month, area, team = row[0], row[1], row[2] or m.UNALLOCATED
        for i, code in enumerate(parts):
            found[code].append((area, team, month, int(row[3 + 2 * i] or 0),
                                int(row[4 + 2 * i] or 0)))
        stalking_cases = found[m.R13_SPO_DECISION][-1][4]
        found[m.R13_SPO_APPLICATIONS].append((area, team, month, 0, stalking_cases))
    return found


# --- everything else ----------------------------------------------------------------------
def _cell(row: Row) -> tuple[str, str, int]:
    return row[0], row[1] or m.UNALLOCATED, int(row[2])


GRANTED = ("interim_granted", "granted", "varied", "renewed", "discharged", "expired")


def order_figures(connection: Any, date_from: date, date_to: date,
                  found: BaselineFigures) -> None:
    """SPO and interim SPO applications by the month applied for (granted, when
    no application date), and of those granted or refused, the granted."""
    params: list[Any] = []
    months = _months_cte(connection, metric_periods.month_edges(date_from, date_to), params)
    granted = f"p.status IN {_in(GRANTED, params)} OR p.granted_at IS NOT NULL"
    decided = f"p.status IN {_in((*GRANTED, 'refused'), params)} OR p.granted_at IS NOT NULL"
    statement = f"""
WITH {months}
SELECT c.area_command, c.allocation_team, mo.n, count(*),
       sum(CASE WHEN {granted} THEN 1 ELSE 0 END), sum(CASE WHEN {decided} THEN 1 ELSE 0 END)
FROM protective_order p
JOIN month mo ON coalesce(p.applied_at, p.granted_at) >= mo.starts
             AND coalesce(p.applied_at, p.granted_at) < mo.ends
JOIN crime_case c ON c.id = p.case_id
WHERE p.kind IN {_in(("SPO", "ISPO"), params)}
GROUP BY c.area_command, c.allocation_team, mo.n"""
    rows = _rows(connection, statement, params)
    found.tallies[m.R13_SPO_APPLICATIONS].extend((*_cell(r), int(r[3]), 0) for r in rows)
    found.tallies[m.R13_SPO_GRANT_RATE] = [(*_cell(r), int(r[4] or 0), int(r[5] or 0))
                                           for r in rows]


def flag_figures(connection: Any, date_from: date, date_to: date,
                 found: BaselineFigures) -> None:
    params: list[Any] = []
    months = _months_cte(connection, metric_periods.month_edges(date_from, date_to), params)
    rows = _rows(connection, f"""
WITH {months}
SELECT c.area_command, c.allocation_team, mo.n, count(*),
       sum(CASE WHEN f.status = 'accepted' THEN 1 ELSE 0 END),
       sum(CASE WHEN f.status = 'rejected' THEN 1 ELSE 0 END)
FROM screening_flag f
JOIN month mo ON f.raised_at >= mo.starts AND f.raised_at < mo.ends
JOIN crime_case c ON c.id = f.case_id
GROUP BY c.area_command, c.allocation_team, mo.n""", params)
    found.tallies[m.R23_FLAGS_RAISED] = [(*_cell(r), int(r[3]), None) for r in rows]
    found.tallies[m.R23_FLAGS_ACCEPTED] = [(*_cell(r), int(r[4] or 0), int(r[3])) for r in rows]
    found.tallies[m.R23_FLAGS_REJECTED] = [(*_cell(r), int(r[5] or 0), int(r[3])) for r in rows]


def reclassified_figures(connection: Any, date_from: date, date_to: date, stalking: list[str],
                         found: BaselineFigures) -> None:
    params: list[Any] = []
    months = _months_cte(connection, metric_periods.month_edges(date_from, date_to), params)
    rows = _rows(connection, f"""
WITH {months},
events AS (
  SELECT i.case_id, i.added_at AS at FROM included_classification i
  WHERE i.source = 'screening' AND i.code IN {_in(stalking, params)}
  UNION ALL
  SELECT f.case_id, f.decided_at FROM screening_flag f JOIN crime_case c ON c.id = f.case_id
  WHERE f.status = 'accepted' AND f.suggested_change = 'principal_to_stalking'
    AND f.decided_at IS NOT NULL AND c.principal_code IN {_in(stalking, params)}
),
first AS (SELECT case_id, min(at) AS at FROM events GROUP BY case_id)
SELECT c.area_command, c.allocation_team, mo.n, count(*)
FROM first JOIN month mo ON first.at >= mo.starts AND first.at < mo.ends
JOIN crime_case c ON c.id = first.case_id
GROUP BY c.area_command, c.allocation_team, mo.n""", params)
    found.tallies[m.R23_RECLASSIFIED] = [(*_cell(r), int(r[3]), None) for r in rows]


def search_figures(connection: Any, policy: Policy, date_from: date, date_to: date,
                   found: BaselineFigures) -> None:
    params: list[Any] = []
    months = _months_cte(connection, metric_periods.month_edges(date_from, date_to), params)
    rows = _rows(connection, f"""
WITH {months}
SELECT c.area_command, c.allocation_team, mo.n, count(*)
FROM search_record x
JOIN month mo ON x.conducted_at >= mo.starts AND x.conducted_at < mo.ends
JOIN crime_case c ON c.id = x.case_id
WHERE x.power IN {_in(policy.assurance.stalking_search_powers, params)}
GROUP BY c.area_command, c.allocation_team, mo.n""", params)
    found.tallies[m.STALKING_SEARCHES] = [(*_cell(r), int(r[3]), None) for r in rows]
    params = []
    months = _months_cte(connection, metric_periods.month_edges(date_from, date_to), params)
    rows = _rows(connection, f"""
WITH {months}
SELECT mo.n, count(*)
FROM audit_event e JOIN month mo ON e.at >= mo.starts AND e.at < mo.ends
WHERE e.entity = 'search' AND e.action = 'view' AND e.reason LIKE '%code=%'
GROUP BY mo.n""", params)
    found.tallies[m.R7_CLASSIFICATION_SEARCHES] = [("", "", int(r[0]), int(r[1]), None)
                                                   for r in rows]


def training_figures(connection: Any, policy: Policy, date_from: date, date_to: date,
                     sh: list[str], found: BaselineFigures) -> None:
    """Officers named on each month's stalking and harassment cases, and those
    with a course completed in the validity window ending on the month's last
    day (the period's, for a part-month at its end)."""
    edges = metric_periods.month_edges(date_from, date_to)
    months = metric_periods.period_months(date_from, date_to)
    after: list[str] = []
    last: list[str] = []
    for i, first in enumerate(months):
        end = min(metric_periods.shift_months(first, 1), date_to) - timedelta(days=1)
        start = metric_periods.shift_months(end, -policy.training.valid_months)
        after.append(f"WHEN {i} THEN {_date_text(connection, start)}")
        last.append(f"WHEN {i} THEN {_date_text(connection, end)}")
    statement = f"""
WITH named AS (
  SELECT {_month_case(connection, "c.reported_at", edges)} AS n, c.officer
  FROM crime_case c{_in_id_order(connection)}
  WHERE {_within(connection, "c.reported_at", edges)} AND c.officer IS NOT NULL
    AND (c.principal_code IN {_in_text(sh)}
         OR EXISTS (SELECT 1 FROM included_classification i WHERE i.case_id = c.id
                    AND i.code IN {_in_text(sh)}))
  GROUP BY 1, 2
)
SELECT n, count(*),
       sum(CASE WHEN EXISTS (SELECT 1 FROM training_record t WHERE t.officer = named.officer
                             AND t.course IN {_in_text(policy.training.courses)}
                             AND t.completed_on > CASE n {' '.join(after)} END
                             AND t.completed_on <= CASE n {' '.join(last)} END)
           THEN 1 ELSE 0 END)
FROM named GROUP BY n"""
    found.tallies[m.R10_TRAINED] = [("", "", int(r[0]), int(r[2] or 0), int(r[1]))
                                    for r in _rows(connection, statement, [])]


def referral_figures(connection: Any, policy: Policy, date_from: date, date_to: date,
                     now: datetime, found: BaselineFigures) -> None:
    """Specialist referrals made in the period by month: with an outcome back;
    and the days each still pending has waited (referrals have no index by
    date: one pass over them in the order they are stored, each one's case
    looked up by id; SQLite keeps that order for a CROSS JOIN)."""
    edges = metric_periods.month_edges(date_from, date_to)
    month = _month_case(connection, "f.referred_at", edges)
    services = _in_text(policy.victims_code.specialist_services)
    days = _days_between(connection, _text(connection, now), "f.referred_at")
    larger = "max" if is_sqlite(connection) else "greatest"
    rows = _rows(connection, f"""
SELECT c.area_command, c.allocation_team, {month} AS month, count(*),
       sum(CASE WHEN f.outcome <> 'pending' THEN 1 ELSE 0 END)
FROM referral f CROSS JOIN crime_case c
WHERE c.id = f.case_id AND {_within(connection, "f.referred_at", edges)}
  AND f.service IN {services}
GROUP BY c.area_command, c.allocation_team, month""", [])
    found.tallies[m.R16_REFERRAL_OUTCOME] = [(*_cell(r), int(r[4] or 0), int(r[3]))
                                             for r in rows]
    rows = _rows(connection, f"""
SELECT c.area_command, c.allocation_team, {month}, {larger}(0.0, {days})
FROM referral f JOIN crime_case c ON c.id = f.case_id
WHERE {_within(connection, "f.referred_at", edges)} AND f.service IN {services}
  AND f.outcome = 'pending'""", [])
    found.samples[m.R16_PENDING_DAYS] = [(*_cell(r), float(r[3])) for r in rows]


def programme_figures(connection: Any, date_from: date, date_to: date,
                      found: BaselineFigures) -> None:
    params: list[Any] = []
    months = metric_periods.period_months(date_from, date_to)
    lasts = [(i, _day(connection, min(metric_periods.shift_months(first, 1), date_to)
                      - timedelta(days=1))) for i, first in enumerate(months)]
    month_cte = _values(connection, "month", "n, last", lasts, params)
    found.programmes_by_month = _rows(connection, f"""
WITH {month_cte}
SELECT mo.n, count(p.id) FROM month mo
LEFT JOIN perpetrator_programme p ON p.available_from <= mo.last
     AND (p.available_to IS NULL OR p.available_to >= mo.last)
GROUP BY mo.n ORDER BY mo.n""", params)
    last = _day(connection, date_to - timedelta(days=1))
    found.programmes_by_area = _rows(connection, """
SELECT p.area_command, sum(CASE WHEN p.available_from <= ? AND (p.available_to IS NULL
       OR p.available_to >= ?) THEN 1 ELSE 0 END)
FROM perpetrator_programme p GROUP BY p.area_command ORDER BY p.area_command""", [last, last])


def dip_figures(connection: Any, policy: Policy, date_from: date, date_to: date,
                found: BaselineFigures) -> None:
    params: list[Any] = []
    months = _months_cte(connection, metric_periods.month_edges(date_from, date_to), params)
    rows = _rows(connection, f"""
WITH {months}
SELECT d.area_command, f.team, mo.n, x.item, count(*),
       sum(CASE WHEN x.passed THEN 1 ELSE 0 END)
FROM dip_finding x
JOIN dip_sample_file f ON f.id = x.file_id
JOIN dip_sample d ON d.id = f.sample_id
JOIN month mo ON f.reviewed_at >= mo.starts AND f.reviewed_at < mo.ends
GROUP BY d.area_command, f.team, mo.n, x.item""", params)
    codes = {item.code: m.dip_item_code(item.code) for item in policy.dip_sampling.checklist}
    found.tallies[m.DIP_COMPLIANCE] = []
    for code in codes.values():
        found.tallies[code] = []
    for row in rows:
        tally = (*_cell(row), int(row[5] or 0), int(row[4]))
        found.tallies[m.DIP_COMPLIANCE].append(tally)
        if row[3] in codes:
            found.tallies[codes[row[3]]].append(tally)


def breach_figures(connection: Any, policy: Policy, date_from: date, date_to: date,
                   now: datetime, found: BaselineFigures) -> None:
    """Each breach reported in the period with its limits worked out: due once
    the limit has passed by now, in time when done by the limit; level 2 when
    the pair breached often enough within the window either side, the order is
    an SPO, there were threats or violence, the original case is high risk or
    the level was set at 2 or more."""
    ack_hours = policy.breach.acknowledge_within_hours
    reassess_hours = policy.risk.reassessment_due_hours
    escalate_hours = policy.assurance.breach_escalation_hours
    window_hours = policy.breach.repeat_window_days * 24
    params: list[Any] = []
    months = _months_cte(connection, metric_periods.month_edges(date_from, date_to), params)
    now_param = when(connection, now)
    same = _is(connection)
    truthy = "1" if is_sqlite(connection) else "true"

    def due(hours: int) -> str:
        params.append(now_param)
        return f"CASE WHEN {_plus_hours(connection, 'b.reported_at', hours)} <= ? THEN 1 ELSE 0 END"

    def done(column: str, hours: int) -> str:
        return (f"CASE WHEN {column} IS NOT NULL AND {column} <= "
                f"{_plus_hours(connection, 'b.reported_at', hours)} THEN 1 ELSE 0 END")

    select_due = [due(ack_hours), due(reassess_hours), due(escalate_hours)]
    kinds = _in(policy.breach.level2_order_kinds, params)
    params.append(policy.breach.repeat_count)
    hours = _days_between(connection, "b.acknowledged_at", "b.reported_at")
    statement = f"""
WITH {months},
reported AS (
  SELECT b.*, mo.n AS month, c.area_command AS area, c.allocation_team AS team,
         o.victim_id, o.suspect_id, o.risk_level AS original_risk, p.kind AS order_kind,
         (SELECT min(r.assessed_at) FROM risk_assessment r WHERE r.case_id = b.original_case_id
          AND r.assessed_at >= b.reported_at) AS reassessed_at
  FROM breach b
  JOIN month mo ON b.reported_at >= mo.starts AND b.reported_at < mo.ends
  JOIN crime_case c ON c.id = b.breach_case_id
  JOIN crime_case o ON o.id = b.original_case_id
  JOIN protective_order p ON p.id = b.order_id
)
SELECT b.area, b.team, b.month,
       CASE WHEN b.acknowledged_at IS NULL THEN NULL ELSE {hours} * 24 END,
       {select_due[0]}, {done('b.acknowledged_at', ack_hours)},
       {select_due[1]}, {done('b.reassessed_at', reassess_hours)},
       {select_due[2]}, {done('b.escalated_at', escalate_hours)},
       CASE WHEN b.order_kind IN {kinds} OR b.threats_or_violence = {truthy}
              OR b.original_risk = 'high' OR coalesce(b.manual_level, 0) >= 2
              OR (SELECT count(*) FROM crime_case pc JOIN breach pb ON pb.original_case_id = pc.id
                  WHERE pc.victim_id = b.victim_id AND pc.suspect_id {same} b.suspect_id
                    AND pb.occurred_at >= {_plus_hours(connection, 'b.occurred_at', -window_hours)}
                    AND pb.occurred_at <= {_plus_hours(connection, 'b.occurred_at', window_hours)}
                 ) >= ?
            THEN 1 ELSE 0 END
FROM reported b"""
    counted = {m.BREACH_ACK_IN_TIME: [], m.R12_BREACH_REASSESSED: [],
               m.BREACH_ESCALATED_IN_TIME: []}
    samples: list[Row] = []
    for row in _rows(connection, statement, params):
        cell = _cell(row)
        acknowledged = None if row[3] is None else max(0.0, float(row[3]))
        samples.append((*cell, acknowledged))
        ack_due, ack_done, re_due, re_done, esc_due, esc_done, level2 = (int(x) for x in row[4:])
        counted[m.BREACH_ACK_IN_TIME].append((*cell, ack_due & ack_done, ack_due))
        counted[m.R12_BREACH_REASSESSED].append((*cell, re_due & re_done, re_due))
        escalation_due = level2 & esc_due
        counted[m.BREACH_ESCALATED_IN_TIME].append((*cell, escalation_due & esc_done,
                                                    escalation_due))
    found.tallies.update(counted)
    found.samples[m.BREACH_ACK_MEDIAN] = samples


def baseline_report_sql(connection: Any, policy: Policy, date_from: date, date_to: date,
                        now: datetime) -> BaselineFigures:
    """Every figure of the force-wide assurance report for ``[date_from, date_to)``."""
    codes = _rows(connection, "SELECT code, family, is_stalking FROM classification", [])
    stalking = sorted(code for code, _, is_stalking in codes if is_stalking)
    families = {}
    for code, family, _ in codes:
        families.setdefault(family, []).append(code)
    sh = sorted({*stalking, *families.get("stalking", ()), *families.get("harassment", ())})
    found = BaselineFigures()
    found.tallies.update(case_figures(connection, policy, date_from, date_to, now, codes))
    order_figures(connection, date_from, date_to, found)
    flag_figures(connection, date_from, date_to, found)
    reclassified_figures(connection, date_from, date_to, stalking, found)
    search_figures(connection, policy, date_from, date_to, found)
    training_figures(connection, policy, date_from, date_to, sh, found)
    referral_figures(connection, policy, date_from, date_to, now, found)
    programme_figures(connection, date_from, date_to, found)
    dip_figures(connection, policy, date_from, date_to, found)
    breach_figures(connection, policy, date_from, date_to, now, found)
    return found
