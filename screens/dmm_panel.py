"""What the DMM queue screen draws from the queue: each case's row (its
cells under ``COLUMNS``) and the side panel's text (why the case is here and
ranks where it does, its decision and actions; the case behind it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from rich.text import Text

from app.dates import format_local
from app.output import words
from app.rules import dmm_reasons
from app.sanitise import clean_text
from app.services.dmm import (
    DECISION_LABELS,
    DmmActionView,
    DmmItemDetail,
    DmmItemState,
    DmmQueue,
    DmmQueueItem,
)
from app.services.dmm.first_page import PAGE_SIZE
from app.widgets.columns import Col
from app.widgets.reason_chips import chips_text

COLUMNS: tuple[Col, ...] = (
    Col("done", "✓", 1, keep=True),
    Col("priority", "Pri", 3, keep=True),
    Col("crime_ref", "Crime ref", 12, keep=True),
    Col("reasons", "Reasons", 24, flex=1, min=10),
    Col("risk", "Risk", 10, min=8),
    Col("team", "Team", 12, min=5),
    Col("age", "Age", 4, keep=True),
    Col("pair", "Pair (V → S)", 17, min=9),
    Col("decision", "Decision", 16, min=8),
)
REASONS_WIDTH = 24


def plain_cell(value: object) -> Text:
    """Database text as a plain cell (DataTable reads strings as markup)."""
    return Text(clean_text(str(value or ""), keep_newlines=False), no_wrap=True,
                overflow="ellipsis")


def row_cells(item: DmmQueueItem, queue: DmmQueue | None, weights: dict[str, int],
              reasons_width: int = REASONS_WIDTH) -> tuple[Any, ...]:
    """The table cells of one case of the queue."""
    age = (queue.starts_at - item.reported_at).days if queue else 0
    decision = DECISION_LABELS.get(item.decision or "", "")
    if item.actions and not decision:
        decision = f"{len(item.actions)} action{'s' if len(item.actions) != 1 else ''}"
    elif item.actions:
        decision += f" +{len(item.actions)}"
    return (
        Text("✓" if item.discussed else "", style="bold"),
        Text(str(item.priority), style="bold"),
        plain_cell(item.crime_ref),
        chips_text(item.codes, weights, width=reasons_width),
        Text(item.risk or "unassessed", style="bold" if item.risk == "high" else ""),
        plain_cell(item.team or "unallocated"),
        Text(f"{max(age, 0)}d"),
        plain_cell(f"{item.victim_ref} → {item.suspect_ref or '?'}"),
        plain_cell(decision),
    )


def why_text(item: DmmQueueItem, queue: DmmQueue | None, now: datetime) -> Text:
    """Why the case is on the agenda, why it ranks where it does, its decision
    and the actions set at this meeting."""
    offset = queue.offset if queue else 0
    rank = offset + next((i for i, it in enumerate(queue.items, 1)  # type: ignore[union-attr]
                          if it.crime_ref == item.crime_ref), 0)
    text = Text()
    text.append(f"{item.crime_ref}", style="bold")
    text.append(f"  #{rank} · priority {item.priority}\n")
    text.append("Why it is here\n", style="bold underline")
    if not item.reasons:
        text.append("  added to the agenda by the chair\n")
    for hit in item.reasons:
        text.append(f"  {dmm_reasons.REASON_NAMES.get(hit.code, hit.code)}", style="bold")
        text.append(f": {clean_text(hit.explanation, keep_newlines=False)}\n")
    text.append("Why it ranks here\n", style="bold underline")
    text.append(f"  {dmm_reasons.in_words(item.priority_explanation)}\n")
    text.append("Decision\n", style="bold underline")
    if item.decision:
        text.append(f"  {DECISION_LABELS.get(item.decision, item.decision)}", style="bold")
        text.append(f" ({clean_text(item.decided_by or '')}, "
                    f"{format_local(item.decided_at)}): "
                    f"{clean_text(item.rationale or '', keep_newlines=False)}\n")
    elif item.discussed:
        text.append(f"  discussed {format_local(item.discussed_at)}, no decision yet\n")
    else:
        text.append("  not discussed yet\n")
    if item.actions:
        text.append("Actions set at this meeting\n", style="bold underline")
        for action in item.actions:
            text.append(f"  {action_line(action, now)}\n")
    return text


def action_line(action: DmmActionView, now: datetime) -> str:
    """An action in one line: what, who, when due, and done, open or overdue."""
    state = ("done " + format_local(action.done_at)) if action.done_at else (
        "OVERDUE" if action.overdue_at(now) else "open")
    return clean_text(f"{action.text} — {action.owner}, due {format_local(action.due_at)} "
                      f"({state})", keep_newlines=False)


def detail_text(d: DmmItemDetail, meeting_date: date, now: datetime) -> Text:
    """The case behind the item: its classification and people, risk history,
    orders and breaches, course of conduct, last actions and earlier decisions."""
    text = Text()
    codes = d.principal_code + (f" + {', '.join(d.included_codes)}" if d.included_codes else "")
    text.append("The case\n", style="bold underline")
    text.append(clean_text(
        f"  {d.principal_title} ({codes}) · {d.status} · reported "
        f"{format_local(d.reported_at)}\n  {d.victim_ref} → {d.suspect_ref or '?'} "
        f"({words(d.relationship)}{', domestic abuse' if d.domestic_abuse else ''}"
        f"{', online' if d.online else ''}) · {d.team or 'unallocated'}"
        f"{' / ' + d.officer if d.officer else ''} · SPO {d.spo_status.replace('_', ' ')}\n",
    ))
    if d.summary:
        text.append(f"  {clean_text(d.summary, keep_newlines=False)[:240]}\n", style="italic")
    text.append("Risk history\n", style="bold underline")
    if not d.risk_history:
        text.append("  no risk assessment\n")
    for r in d.risk_history[:5]:
        plan = "plan" if r.management_plan else "NO PLAN"
        text.append(clean_text(
            f"  {format_local(r.assessed_at)} {r.level} (suggested {r.suggested_level}, "
            f"{r.yes_count} yes) · {plan} · review {format_local(r.review_due, '%d/%m/%Y')}"
            f"{' · awaiting approval' if r.approval_required else ''}\n",
            keep_newlines=True))
    text.append("Orders and breaches\n", style="bold underline")
    if not d.orders and not d.breaches:
        text.append("  none\n")
    for o in d.orders:
        text.append(clean_text(f"  {o.kind} {o.order_ref} {o.status}"
                               f"{' · expires ' + format_local(o.expires_at, '%d/%m/%Y') if o.expires_at else ''}\n"))
    for b in d.breaches[:5]:
        ack = "acknowledged" if b.acknowledged_at else "NOT acknowledged"
        order = f" of {b.order_kind} {b.order_ref}" if b.order_ref else ""
        original = (f" · original {b.original_ref} ({b.original_status})"
                    if b.original_ref and b.original_ref != d.crime_ref else "")
        text.append(clean_text(f"  breach {b.breach_ref}{order} ({b.crime_ref or '?'}) "
                               f"{format_local(b.reported_at)} · {ack}{original}\n"))
    if len(d.course_of_conduct) > 1:
        text.append("Course of conduct (this victim and suspect)\n", style="bold underline")
        for crime in d.course_of_conduct[:8]:
            mark = " ←" if crime.crime_ref == d.crime_ref else ""
            text.append(clean_text(
                f"  {format_local(crime.reported_at, '%d/%m/%Y')} {crime.crime_ref} "
                f"{crime.principal_code} · {crime.status}{mark}\n"))
    text.append("Last actions\n", style="bold underline")
    if not d.actions:
        text.append("  none\n")
    for action in d.actions[:6]:
        when = f"{action.meeting_date:%d/%m} " if action.meeting_date else ""
        text.append(f"  {when}{action_line(action, now)}\n")
    earlier = [e for e in d.decisions if e.decision and e.meeting_date != meeting_date]
    if earlier:
        text.append("Earlier decisions\n", style="bold underline")
        for e in earlier[:3]:
            text.append(clean_text(
                f"  {e.meeting_date:%d/%m/%Y} {DECISION_LABELS.get(e.decision or '', '')}: "
                f"{e.rationale or ''}\n", keep_newlines=True))
    return text


def filter_line(queue: DmmQueue | None, reason_filter: str | None, text_filter: str,
                page: int) -> str:
    """What the rows shown are: the filters, how many match, which page."""
    info = []
    if reason_filter:
        info.append(f"reason {reason_filter}")
    if text_filter:
        info.append(f"'{text_filter}'")
    if queue is not None:
        if queue.matched != queue.total:
            info.append(f"{queue.matched} of {queue.total}")
        pages = max(1, (queue.matched + PAGE_SIZE - 1) // PAGE_SIZE)
        if pages > 1:
            info.append(f"page {page + 1}/{pages} (pgdn/pgup)")
    return " · ".join(info) or "all cases"


def item_with_state(item: DmmQueueItem, state: DmmItemState) -> DmmQueueItem:
    """The queue's item as a recorded change left it (shown before the refresh)."""
    return replace(item, decision=state.decision, rationale=state.rationale,
                   decided_by=state.decided_by, decided_at=state.decided_at,
                   discussed_at=state.discussed_at, discussed_by=state.discussed_by,
                   actions=state.actions, case_version=state.case_version)


def state_with_action(item: DmmQueueItem, action: DmmActionView,
                      meeting_date: date) -> DmmItemState:
    """The item's state once ``action`` is set on it, at the case version the
    service returned (never computed here)."""
    return DmmItemState(
        crime_ref=item.crime_ref, case_version=action.case_version,  # type: ignore[arg-type]
        meeting_date=meeting_date, decision=item.decision, rationale=item.rationale,
        decided_by=item.decided_by, decided_at=item.decided_at,
        discussed_at=item.discussed_at, discussed_by=item.discussed_by,
        actions=[*item.actions, action])
