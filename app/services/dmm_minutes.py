"""The DMM queue as text: a table, CSV, JSON, HTML, and Markdown minutes fit
to circulate. The CLI (`vigil dmm`, `vigil export dmm`) and the screen's
export use the same functions, so the minutes match what the meeting saw.

Times are shown in Europe/London. Text typed by users (rationales, actions,
owners) is cleaned of control characters and kept on one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from app.dates import format_local
from app.output import TRAINING_MARK, Column, output_options, output_scope, render
from app.rules.dmm_reasons import REASON_NAMES, REASON_SHORT
from app.sanitise import clean_text
from app.services.context import ServiceContext
from app.services.dmm import (
    DECISION_LABELS,
    AddendumView,
    DmmActionView,
    DmmQueue,
    DmmQueueItem,
    build_queue,
    minutes_addenda,
)
from app.services.rms_export import require_export


def _line(text: str | None) -> str:
    return clean_text(text or "", keep_newlines=False).strip()


def _md(text: str | None) -> str:
    """One line of user text, safe inside Markdown (no tables, links or HTML)."""
    line = _line(text)
    for char in ("\\", "`", "*", "_", "[", "]", "<", ">", "|", "#", "&"):
        line = line.replace(char, "\\" + char)
    return line


def age_days(item: DmmQueueItem, queue: DmmQueue) -> int:
    return max(0, (queue.starts_at - item.reported_at).days)


def pair_text(item: DmmQueueItem) -> str:
    return f"{item.victim_ref} → {item.suspect_ref or 'unknown'}"


def decision_text(item: DmmQueueItem) -> str:
    if item.decision is None:
        return ""
    return DECISION_LABELS.get(item.decision, item.decision)


def action_text(action: DmmActionView, *, markdown: bool = False) -> str:
    clean = _md if markdown else _line
    state = f"done {format_local(action.done_at)}" if action.done_at else "open"
    return (f"{clean(action.text)} — owner {clean(action.owner)}, due "
            f"{format_local(action.due_at)} ({state})")


def title(queue: DmmQueue) -> str:
    return f"DMM {queue.area} {queue.meeting_date:%a %d/%m/%Y} — {queue.progress}"


def queue_rows(queue: DmmQueue) -> list[dict[str, Any]]:
    rows = []
    for rank, item in enumerate(queue.items, start=1):
        rows.append({
            "rank": rank,
            "priority": item.priority,
            "crime_ref": item.crime_ref,
            "reasons": item.codes,
            "chips": " ".join(REASON_SHORT.get(code, code) for code in item.codes),
            "risk": item.risk or "unassessed",
            "team": item.team or "unallocated",
            "reported_at": item.reported_at,
            "age_days": age_days(item, queue),
            "victim_ref": item.victim_ref,
            "suspect_ref": item.suspect_ref,
            "pair": pair_text(item),
            "decision": item.decision,
            "decision_text": decision_text(item),
            "rationale": _line(item.rationale),
            "discussed": item.discussed,
            "discussed_at": item.discussed_at,
            "actions": [action_text(a) for a in item.actions],
        })
    return rows


TABLE_COLUMNS = (
    Column("rank", "#"),
    Column("priority", "Pri"),
    Column("crime_ref", "Crime ref"),
    Column("chips", "Reasons", 30),
    Column("risk", "Risk"),
    Column("team", "Team"),
    Column("age_days", "Age (d)"),
    Column("pair", "Victim → suspect"),
    Column("discussed", "Disc."),
    Column("decision_text", "Decision"),
    Column("actions", "Actions", 40),
)

CSV_COLUMNS = tuple(Column(key, key) for key in (
    "rank", "priority", "crime_ref", "reasons", "risk", "team", "reported_at", "age_days",
    "victim_ref", "suspect_ref", "discussed_at", "decision", "rationale", "actions",
))


def queue_payload(queue: DmmQueue) -> dict[str, Any]:
    """The JSON shape: the meeting, then one object per item."""
    return {
        "area": queue.area,
        "meeting_date": queue.meeting_date,
        "starts_at": queue.starts_at,
        "covers_from": queue.covers_from,
        "covers_to": queue.covers_to,
        "live": queue.live,
        "recorded": queue.recorded,
        "chaired_by": queue.chaired_by,
        "attendees": queue.attendees,
        "discussed": queue.discussed,
        "total": queue.total,
        "items": [
            {
                "rank": rank,
                "crime_ref": item.crime_ref,
                "case_version": item.case_version,
                "priority": item.priority,
                "priority_explanation": item.priority_explanation,
                "reasons": item.codes,
                "explanations": [{"code": h.code, "explanation": h.explanation}
                                 for h in item.reasons],
                "risk": item.risk,
                "team": item.team,
                "reported_at": item.reported_at,
                "victim_ref": item.victim_ref,
                "suspect_ref": item.suspect_ref,
                "status": item.status,
                "decision": item.decision,
                "rationale": item.rationale,
                "decided_by": item.decided_by,
                "decided_at": item.decided_at,
                "discussed_at": item.discussed_at,
                "actions": [
                    {"id": a.id, "text": a.text, "owner": a.owner, "due_at": a.due_at,
                     "done_at": a.done_at, "created_by": a.created_by}
                    for a in item.actions
                ],
            }
            for rank, item in enumerate(queue.items, start=1)
        ],
    }


def addenda_lines(addenda: Sequence[AddendumView]) -> list[str]:
    """The addenda after the items: the record of the meeting stands above."""
    if not addenda:
        return []
    lines = ["## Addenda (recorded after the minutes closed)", ""]
    for a in addenda:
        what = (f"decision {DECISION_LABELS.get(a.decision or '', a.decision)}: "
                f"{_md(a.text)}" if a.change == "decision" else _md(a.text))
        lines.append(f"- {_md(a.crime_ref)}: {what} ({_md(a.recorded_by)}, "
                     f"{format_local(a.recorded_at)})")
    return [*lines, ""]


def minutes_markdown(queue: DmmQueue, addenda: Sequence[AddendumView] = ()) -> str:
    """Minutes to circulate: the meeting, who, progress, then each item with
    its reasons, risk, decision and rationale, and actions with owner and due."""
    decided = sum(1 for i in queue.items if i.decision)
    actions = sum(len(i.actions) for i in queue.items)
    lines = [
        f"# DMM minutes: {queue.area}, {queue.meeting_date:%A} {queue.meeting_date.day} "
        f"{queue.meeting_date:%B %Y}",
        "",
        f"- **Meeting:** {format_local(queue.starts_at, '%H:%M')} "
        f"(Europe/London), covering {format_local(queue.covers_from, '%a %d/%m/%Y %H:%M')} "
        f"to {format_local(queue.covers_to, '%a %d/%m/%Y %H:%M')}",
        f"- **Chair:** {_md(queue.chaired_by) or 'not recorded'}",
        f"- **Recorded by:** {', '.join(_md(a) for a in queue.attendees) or 'nobody yet'}",
        f"- **Progress:** {queue.progress}; {decided} decided; {actions} actions set",
        "- **Status:** " + ("agenda as of " + format_local(queue.built_at)
                             if queue.live else "record of the meeting"),
        "",
    ]
    if not queue.items:
        lines += ["No case needed a decision at this meeting.", ""]
    for rank, item in enumerate(queue.items, start=1):
        lines += [
            f"## {rank}. {_md(item.crime_ref)} (priority {item.priority})",
            "",
            f"- **Risk:** {item.risk or 'unassessed'} · **Team:** {_md(item.team) or 'unallocated'} "
            f"· **Victim → suspect:** {_md(pair_text(item))} · **Reported:** "
            f"{format_local(item.reported_at)}",
            "- **Reasons:**" if item.reasons else "- **Reasons:** added by the chair",
        ]
        lines += [f"  - {REASON_NAMES.get(h.code, h.code)}: {_md(h.explanation)}"
                  for h in item.reasons]
        if item.decision:
            by = f" ({_md(item.decided_by)}, {format_local(item.decided_at)})" \
                if item.decided_by else ""
            lines.append(f"- **Decision:** {decision_text(item)}{by}")
            lines.append(f"- **Rationale:** {_md(item.rationale)}")
        else:
            lines.append("- **Decision:** " + ("none recorded (discussed "
                                               f"{format_local(item.discussed_at)})"
                                               if item.discussed else "not discussed"))
        if item.actions:
            lines.append("- **Actions:**")
            lines += [f"  - {action_text(a, markdown=True)}" for a in item.actions]
        lines.append("")
    lines += addenda_lines(addenda)
    return "\n".join(lines)


def render_queue(queue: DmmQueue, fmt: str, addenda: Sequence[AddendumView] = (), *,
                 training: bool | None = None) -> str:
    """The queue in ``fmt`` with the meeting's addenda; minutes (``md``) from a
    training database open with the training mark (the other formats are
    marked by ``render``)."""
    if fmt == "md":
        marked = output_options().training if training is None else training
        text = minutes_markdown(queue, addenda)
        return f"> **{TRAINING_MARK}**\n\n{text}" if marked else text
    columns = CSV_COLUMNS if fmt == "csv" else TABLE_COLUMNS
    payload = queue_payload(queue)
    payload["addenda"] = [{"crime_ref": a.crime_ref, "change": a.change, "decision": a.decision,
                           "text": a.text, "recorded_by": a.recorded_by,
                           "recorded_at": a.recorded_at} for a in addenda]
    return render(queue_rows(queue), columns, fmt, title=title(queue), payload=payload)


def minutes_filename(area: str, meeting_date: date, fmt: str = "md") -> str:
    return f"dmm-{area.lower()}-{meeting_date.isoformat()}.{fmt}"


def minutes_for_saving(ctx: ServiceContext, *, area: str, meeting_date: date,
                       fmt: str = "md") -> tuple[str, list[str], int]:
    """The minutes' text, the crime references they name and their item count,
    for a save through the disclosure path (which checks the export
    permission and records the event before the file)."""
    require_export(ctx, "dmm")
    queue = build_queue(ctx, area=area, meeting_date=meeting_date)
    addenda = minutes_addenda(ctx, area=area, meeting_date=meeting_date)
    with output_scope(training=ctx.training):
        text = render_queue(queue, fmt, addenda)
    return text, [item.crime_ref for item in queue.items], queue.total
