"""`vigil audit verify`: is the audit log whole and unaltered?

Each audit event has a link in ``audit_chain`` written by a database trigger
(app.dbsecurity): SHA-256 of the previous link's hash and the event's
canonical text. Walking the chain in order finds an event edited after it was
written (its hash no longer matches), an event deleted (its link points at
nothing, or a link is missing), an event slipped in with the trigger off (no
link) and a link forged or removed (the next link's ``prev_hash`` disagrees).
The head hash printed at the end lets a force keep an outside note of the log
at a moment: a later rewrite of the whole chain would not reproduce it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text

from app.dbsecurity_chain import canonical_sql, link_hash
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models.enums import AuditAction

MAX_LISTED = 50


@dataclass
class AuditVerification:
    events: int = 0
    links: int = 0
    head_hash: str = ""
    problems: list[str] = field(default_factory=list)
    unchained_before_chain: int = 0  # events written before the chain existed (older databases)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"{self.links:,} linked audit events checked"]
        if self.unchained_before_chain:
            out.append(f"{self.unchained_before_chain:,} older events were written before the "
                       "hash chain existed and cannot be checked")
        if self.ok:
            out.append(f"the audit log is whole and unaltered; head hash {self.head_hash}")
        else:
            out.append(f"{len(self.problems):,} problems:")
            out += [f"  {p}" for p in self.problems[:MAX_LISTED]]
            if len(self.problems) > MAX_LISTED:
                out.append(f"  ... and {len(self.problems) - MAX_LISTED:,} more")
        return out


def verify_chain(connection: object) -> AuditVerification:
    """Walk the chain on ``connection`` (no permission check; see :func:`verify`)."""
    dialect = connection.dialect.name  # type: ignore[attr-defined]
    canon = canonical_sql(dialect, "e.")
    report = AuditVerification()
    # built from column names only (app.dbsecurity_chain.canonical_sql), no input
    query = " ".join(("SELECT c.seq, c.audit_id, c.prev_hash, c.hash, e.id AS event_id,",
                      canon, "AS canon FROM audit_chain c",
                      "LEFT JOIN audit_event e ON e.id = c.audit_id ORDER BY c.seq"))
    rows = connection.execution_options(stream_results=True, yield_per=10_000).execute(  # type: ignore[attr-defined]
        text(query))
    previous_hash = ""
    previous_seq = 0
    first_linked: int | None = None
    for row in rows:
        report.links += 1
        if first_linked is None:
            first_linked = row.audit_id
        if row.seq != previous_seq + 1:
            report.problems.append(
                f"links {previous_seq + 1}-{row.seq - 1} are missing (deleted from the chain)")
        if row.prev_hash != previous_hash:
            report.problems.append(
                f"link {row.seq} (event {row.audit_id}) does not follow the link before it: "
                "the chain was cut or rewritten here")
        if row.event_id is None:
            report.problems.append(f"audit event {row.audit_id} (link {row.seq}) was deleted")
        elif link_hash(row.prev_hash, row.canon) != row.hash:
            report.problems.append(f"audit event {row.audit_id} (link {row.seq}) was altered "
                                   "after it was written")
        previous_hash, previous_seq = row.hash, row.seq
    report.head_hash = previous_hash
    unlinked = connection.execute(text(  # type: ignore[attr-defined]
        "SELECT e.id FROM audit_event e LEFT JOIN audit_chain c ON c.audit_id = e.id "
        "WHERE c.seq IS NULL ORDER BY e.id")).scalars().all()
    for event_id in unlinked:
        if first_linked is None or event_id < first_linked:
            report.unchained_before_chain += 1
        else:
            report.problems.append(f"audit event {event_id} has no link: written with the "
                                   "chain trigger off")
    report.events = report.links + len(unlinked)
    return report


def verify(ctx: ServiceContext) -> AuditVerification:
    """Check the whole audit log (auditors and administrators); audited."""
    ctx.require(Permission.VERIFY_AUDIT, entity="audit_log")
    with ctx.read() as session:
        report = verify_chain(session.connection())
    with ctx.write() as session:
        ctx.audit(session, AuditAction.VIEW, "audit_log", None,
                  reason=f"audit log verified: {report.links} links, "
                  f"{len(report.problems)} problems",
                  after={"head_hash": report.head_hash, "problems": len(report.problems)})
    return report
