"""The audit log's hash chain: each event's canonical text (the same in SQL
and in Python), the link hash over it, and the SQLite triggers that keep
the log append-only and write the chain."""

from __future__ import annotations

import hashlib

NULL_MARK = "\u2400"
SEPARATOR = "\u241f"
AUDIT_COLUMNS = ("id", "at", "username", "role", "action", "entity", "entity_id", "reason",
                 "before", "after", "policy_version")


def canonical_sql(dialect: str, prefix: str = "") -> str:
    """SQL giving an audit event's canonical text (hashed into the chain);
    ``prefix`` is ``NEW.`` in a trigger or a table alias."""
    parts: list[str] = []
    for column in AUDIT_COLUMNS:
        quoted = '"before"' if column == "before" else column
        ref = f"{prefix}{quoted}"
        if column == "at":
            expr = (f"to_char({ref} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
                    if dialect == "postgresql" else f"CAST({ref} AS TEXT)")
        else:
            expr = f"CAST({ref} AS TEXT)"
        parts.append(f"coalesce({expr}, '{NULL_MARK}')")
    return f" || '{SEPARATOR}' || ".join(parts)


def link_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------
# SQLite
# --------------------------------------------------------------------------

def sqlite_statements() -> list[tuple[str, str]]:
    canon = canonical_sql("sqlite", "NEW.")
    # built from column names only, no input
    chain = " ".join((
        "CREATE TRIGGER IF NOT EXISTS audit_event_chain AFTER INSERT ON audit_event BEGIN",
        "INSERT INTO audit_chain (seq, audit_id, prev_hash, hash)",
        "SELECT coalesce((SELECT max(seq) FROM audit_chain), 0) + 1, NEW.id, p.h,",
        f"vigil_sha256(p.h || {canon})",
        "FROM (SELECT coalesce((SELECT hash FROM audit_chain ORDER BY seq DESC LIMIT 1), '')",
        "AS h) p; END"))
    stmts = [
        ("audit_event_no_update",
         "CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event "
         "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END"),
        ("audit_event_no_delete",
         "CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event "
         "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END"),
        ("audit_event_chain", chain),
    ]
    for table in ("audit_chain", "policy_version"):
        for op in ("UPDATE", "DELETE"):
            name = f"{table}_no_{op.lower()}"
            stmts.append((name, f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {table} "
                                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"))
    return stmts
