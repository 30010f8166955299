"""The agenda of a meeting: computed, stored, ranked, paged and explained."""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.errors import BadInput
from app.policy import Policy
from app.rules import dmm as rules
from app.rules.dmm import MeetingFrame
from app.rules.dmm_facts import ReasonHit
from app.rules.dmm_reasons import REASON_BITS, REASON_ORDER, REASON_TITLES, STANDING_REASONS
from app.services.context import ServiceContext
from app.services.dmm.common import (
    MaskBook,
    agenda_epoch,
    as_utc,
    bounds,
    check_area,
    check_meeting_day,
    chunks,
    code_book,
    core_rows,
    current_meeting_date,
    mask_of,
    queue_id,
    unconverted,
)
from app.services.dmm.facts import case_rows, explain, flagged_by_rules, settle_standing
from app.services.dmm.items import (
    StoredItem,
    actions_where,
    ensure_meeting,
    find_meeting,
    stored_items,
)
from app.services.dmm.reason_sql import STANDING_BITS, RankedItem, flagged_rows, priced
from app.services.dmm.views import DmmQueue, DmmQueueItem
from app.services.permissions import Permission
from models import (
    Case,
    DmmAction,
    DmmItem,
    Person,
    User,
)
from models.enums import AuditAction


def stored_hits(codes: list[str]) -> list[ReasonHit]:
    return [ReasonHit(code, REASON_TITLES.get(code, code)) for code in codes]


def stored_explanation(codes: list[str], score: int, policy: Policy) -> str:
    weights = policy.dmm.weights
    parts = [(code, weights.get(code, 0)) for code in codes]
    rest = score - sum(v for _c, v in parts)
    text = ", ".join(f"{c} +{v}" for c, v in parts)
    text = f"{text}, risk +{rest}" if text else f"risk +{rest}"
    return f"{text} = {score} (as stored for the meeting)"


# A live queue is recomputed in full at its first build, when the policy
# changes, and at least this often; in between, only the cases changed since
# the last build (a change to a case or anything hanging off it moves its
# ``last_activity_at``: app.services.case_lock) and the cases of the same
# victim–suspect pair are re-read. The deadlines are measured at the meeting's
# start, so an unchanged case keeps its reasons.
FULL_RECOMPUTE_EVERY = timedelta(minutes=15)
# Changes made this long before the last build are read again (a transaction
# that started before the build and committed after it).
CHANGE_MARGIN = timedelta(minutes=5)
# More changed cases than this: recompute in full.
INCREMENTAL_LIMIT = 5000
# At most this many changed cases (of every area) are judged by the rules
# themselves, from their facts (``flagged_by_rules``: a few statements the
# page reads anyway, about 0.1 ms a case); more, by the reasons' SQL twin
# (one large statement, cheaper per case, dearer to build and compile).
RULES_LIMIT = 300
FLAGS_VERSION = "dmm-flags-2"


def _cache_key(policy: Policy, epoch: datetime | None) -> str:
    text = repr((FLAGS_VERSION, REASON_ORDER, policy.dmm, policy.victims_code,
                 policy.allocation, policy.calendar, epoch))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


# The aliases of the statements below, made once (an alias made per call
# rebuilds its table's column proxies every time).
RECENT_CASE = aliased(Case, name="recent_case")
PAIR_MATE = aliased(Case, name="pair_mate")
LINKED_TO = aliased(Case, name="linked_to")


def _changed_cases(session: Session, since: datetime) -> list[int]:
    """Cases changed since ``since``, those sharing a victim and suspect with
    one, and cases linked to one (any area: the queue's scope narrows them).
    Read from the activity index outwards; naming the area here would steer
    the planner onto the area's whole history."""
    recent, mate, linked = RECENT_CASE, PAIR_MATE, LINKED_TO
    query = union(
        select(Case.id).where(Case.last_activity_at >= since),
        select(mate.id).join(recent, and_(recent.victim_id == mate.victim_id,
                                          recent.suspect_id == mate.suspect_id))
        .where(recent.last_activity_at >= since),
        select(linked.id).join(recent, recent.id == linked.linked_case_id)
        .where(recent.last_activity_at >= since),
    )
    return sorted(core_rows(session, query).scalars().all())


def _sync_items(session: Session, meeting_id: int, ranked: list[RankedItem], masks: MaskBook,
                only: list[int] | None) -> None:
    """Store the computed items (all of them, or those of the cases in
    ``only``): insert new ones, update changed ones, drop items that no longer
    qualify and carry nothing recorded (kept ones get mask 0)."""
    stored = stored_items(session, meeting_id, only)
    wanted = {r.case_id: r for r in ranked}
    new_rows = [
        {"meeting_id": meeting_id, "case_id": r.case_id, "reasons": masks.codes(r.mask),
         "priority": r.priority, "mask": r.mask, "crime_ref": r.crime_ref,
         "reported_at": r.reported_at}
        for r in ranked if r.case_id not in stored
    ]
    changed = []
    for item in stored.values():
        found = wanted.get(item.case_id)
        if found is not None:
            if (item.mask != found.mask or item.priority != found.priority
                    or item.crime_ref is None or item.reported_at != found.reported_at):
                changed.append({"item_id": item.id, "new_reasons": masks.codes(found.mask),
                                "new_priority": found.priority, "new_mask": found.mask,
                                "new_ref": found.crime_ref, "new_reported": found.reported_at})
    stale = [s for s in stored.values() if s.case_id not in wanted]
    table = DmmItem.__table__  # type: ignore[attr-defined]
    if new_rows:  # Core executemany: a whole agenda is thousands of rows
        session.connection().execute(insert(table), new_rows)
    if changed:
        session.connection().execute(
            update(table).where(table.c.id == bindparam("item_id"))
            .values(reasons=bindparam("new_reasons"), priority=bindparam("new_priority"),
                    mask=bindparam("new_mask"), crime_ref=bindparam("new_ref"),
                    reported_at=bindparam("new_reported")),
            changed,
        )
    if stale:
        unrecorded = [s.id for s in stale if not s.recorded]
        with_actions: set[int] = set()
        for chunk in chunks(unrecorded):  # type: ignore[arg-type]
            with_actions.update(session.execute(
                select(DmmAction.item_id).where(DmmAction.item_id.in_(chunk))).scalars().all())
        drop = [i for i in unrecorded if i not in with_actions]
        keep = [s for s in stale if s.id not in set(drop) and s.mask != 0]
        for chunk in chunks(drop):  # type: ignore[arg-type]
            session.execute(delete(DmmItem).where(DmmItem.id.in_(chunk)))
        if keep:
            refs = {row.id: (row.crime_ref, as_utc(row.reported_at))
                    for chunk in chunks([s.case_id for s in keep])
                    for row in core_rows(session, select(
                        Case.id, Case.crime_ref, unconverted(Case.reported_at).label("reported_at"))
                        .where(Case.id.in_(chunk)))}
            session.connection().execute(
                update(table).where(table.c.id == bindparam("item_id"))
                .values(mask=0, crime_ref=bindparam("new_ref"),
                        reported_at=bindparam("new_reported")),
                [{"item_id": s.id, "new_ref": refs.get(s.case_id, (s.crime_ref, None))[0],
                  "new_reported": refs.get(s.case_id, (None, s.reported_at))[1]}
                 for s in keep],
            )


def _item_masks(items: Iterable[StoredItem]) -> None:
    """Fill the mask of items stored without one (e.g. by the data generator)."""
    for item in items:
        if item.mask is None:
            item.mask = mask_of(item.reasons)


def _fill_rank_keys(session: Session, items: list[StoredItem]) -> None:
    missing = [i for i in items if i.crime_ref is None or i.reported_at is None]
    if not missing:
        return
    by_case = {i.case_id: i for i in missing}
    for chunk in chunks(list(by_case)):
        for row in core_rows(session, select(
                Case.id, Case.crime_ref, unconverted(Case.reported_at).label("reported_at"))
                .where(Case.id.in_(chunk))):
            item = by_case[row.id]
            item.crime_ref, item.reported_at = row.crime_ref, as_utc(row.reported_at)


def display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    rows = session.execute(select(User.username, User.display_name)
                           .where(User.username.in_(wanted))).all()
    names = {row.username: row.display_name for row in rows}
    return {u: names.get(u, u) for u in wanted}


def _text_filter(session: Session, items: list[StoredItem], text: str) -> set[int]:
    """Case ids whose crime reference contains ``text``, whose team, risk or
    decision is ``text``, or whose victim or suspect reference starts with it."""
    needle = text.strip().lower()
    upper = text.strip().upper()
    people = select(Person.id).where(Person.person_ref >= upper,
                                     Person.person_ref < upper + "\uffff")
    found = {i.case_id for i in items
             if needle in (i.crime_ref or "").lower() or needle == (i.decision or "")}
    ids = [i.case_id for i in items if i.case_id not in found]
    for chunk in chunks(ids):
        found.update(core_rows(session, select(Case.id).where(
            Case.id.in_(chunk),
            or_(func.lower(Case.allocation_team) == needle,
                func.lower(func.coalesce(Case.risk_level, rules.UNASSESSED)) == needle,
                Case.victim_id.in_(people), Case.suspect_id.in_(people)),
        )).scalars().all())
    return found


def _rank_keys_missing(session: Session, meeting_id: int) -> bool:
    """Items stored without their reason bits or rank keys (e.g. by the data
    generator): those meetings are ranked in Python."""
    return session.execute(
        select(DmmItem.id).where(DmmItem.meeting_id == meeting_id,
                                 or_(DmmItem.mask.is_(None), DmmItem.crime_ref.is_(None),
                                     DmmItem.reported_at.is_(None))).limit(1)
    ).first() is not None


def _people_like(text: str) -> Any:
    upper = text.strip().upper()
    return select(Person.id).where(Person.person_ref >= upper,
                                   Person.person_ref < upper + "\uffff")


def _rank_in_sql(session: Session, meeting_id: int, *, reason: str | None, text: str | None,
                 limit: int | None, offset: int,
                 ) -> tuple[list[int], int, int, int, dict[int, int]]:
    """(page of case ids in rank order, total, discussed, matched, items per mask)
    of a stored meeting, ranked and counted by the database."""
    counts = session.execute(
        select(DmmItem.mask, func.count().label("items"),
               func.count(DmmItem.discussed_at).label("discussed"))
        .where(DmmItem.meeting_id == meeting_id).group_by(DmmItem.mask)
    ).all()
    by_mask = {int(row.mask or 0): int(row.items) for row in counts}
    total = sum(by_mask.values())
    discussed = sum(int(row.discussed) for row in counts)
    stmt = select(DmmItem.case_id).where(DmmItem.meeting_id == meeting_id)
    if reason:
        stmt = stmt.where(DmmItem.mask.op("&")(REASON_BITS[reason]) != 0)
    if text and text.strip():
        needle = text.strip().lower()
        people = _people_like(text)
        stmt = stmt.join(Case, Case.id == DmmItem.case_id).where(or_(
            func.lower(DmmItem.crime_ref).contains(needle, autoescape=True),
            DmmItem.decision == needle,
            func.lower(Case.allocation_team) == needle,
            func.coalesce(Case.risk_level, rules.UNASSESSED) == needle,
            Case.victim_id.in_(people), Case.suspect_id.in_(people),
        ))
    matched = total if not (reason or (text and text.strip())) else int(session.execute(
        select(func.count()).select_from(stmt.subquery())).scalar() or 0)
    stmt = stmt.order_by(DmmItem.priority.desc(), DmmItem.reported_at,
                         DmmItem.crime_ref).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).scalars().all()), total, discussed, matched, by_mask


def _rank_in_python(session: Session, items: list[StoredItem], *, reason: str | None,
                    text: str | None, limit: int | None, offset: int,
                    ) -> tuple[list[StoredItem], int, int, int, dict[int, int]]:
    items.sort(key=lambda i: rules.rank_key(i.priority, i.reported_at, i.crime_ref))  # type: ignore[arg-type]
    by_mask: dict[int, int] = {}
    for item in items:
        by_mask[item.mask or 0] = by_mask.get(item.mask or 0, 0) + 1
    discussed = sum(1 for i in items if i.discussed_at is not None)
    matched = items
    if reason:
        bit = REASON_BITS[reason]
        matched = [i for i in matched if (i.mask or 0) & bit]
    if text and text.strip():
        keep = _text_filter(session, matched, text)
        matched = [i for i in matched if i.case_id in keep]
    page = matched[offset:offset + limit] if limit is not None else matched[offset:]
    return page, len(items), discussed, len(matched), by_mask


def _recorders(session: Session, meeting_id: int) -> list[str]:
    """Who recorded something at the meeting (decisions, discussed marks, actions)."""
    items = select(DmmItem.id).where(DmmItem.meeting_id == meeting_id)
    found = session.execute(union(
        select(DmmItem.decided_by).where(DmmItem.meeting_id == meeting_id,
                                         DmmItem.decided_by.is_not(None)),
        select(DmmItem.discussed_by).where(DmmItem.meeting_id == meeting_id,
                                           DmmItem.discussed_by.is_not(None)),
        select(DmmAction.created_by).where(DmmAction.item_id.in_(items)),
    )).scalars().all()
    return sorted(u for u in found if u)


# ---------------------------------------------------------------------------
# Public: the queue
# ---------------------------------------------------------------------------


def settle_first_page(items: list[RankedItem], masks: MaskBook, size: int,
                      settle: Callable[[list[RankedItem]], list[RankedItem]],
                      ) -> tuple[list[RankedItem], list[int], bool]:
    """The items of the first ``size`` places settled exactly, settling as
    few standing gaps as that needs: (exact items, ids of the cases settled
    or exact, whether any item was left for the full build).

    An item without a standing gap is exact. One with a standing gap may lose
    those bits when settled, never its other reasons: its rank lies between
    that of its other reasons (its floor, when it has any) and that of its
    whole mask (its ceiling). The ``size``-th best of the exact ranks and the
    floors is a rank at least ``size`` items will reach; an unsettled item
    whose ceiling falls below it cannot reach the page. So the unsettled are
    taken best ceiling first, ``size`` at a time (``settle`` gives each batch
    its exact masks, dropping items left with no reason), and each settled
    batch tightens that rank, until no ceiling left can reach it. With a
    negative standing weight in the policy the bounds do not hold, and
    everything is settled."""
    weights = masks.policy.dmm.weights
    if any(weights.get(code, 0) < 0 for code in STANDING_REASONS):
        return settle(items), [item.case_id for item in items], False

    def rank(item: RankedItem, mask: int) -> tuple[int, datetime, str]:
        return rules.rank_key(masks.priority(mask, item.risk).score, item.reported_at,
                              item.crime_ref)

    exact = [item for item in items if not item.mask & STANDING_BITS]
    known = [rank(item, item.mask) for item in exact]  # exact ranks
    pending = sorted((item for item in items if item.mask & STANDING_BITS),
                     key=lambda item: rank(item, item.mask))
    floors = {item.case_id: rank(item, item.mask & ~STANDING_BITS)
              for item in pending if item.mask & ~STANDING_BITS}
    settled_ids = [item.case_id for item in exact]
    while pending:
        bounds_now = known + [floors[item.case_id] for item in pending
                              if item.case_id in floors]
        reach = heapq.nsmallest(size, bounds_now)[-1] if len(bounds_now) >= size else None
        batch = [item for item in pending[:size]
                 if reach is None or rank(item, item.mask) <= reach]
        if not batch:
            break
        pending = pending[len(batch):]
        settled_ids.extend(item.case_id for item in batch)
        kept = settle(batch)
        exact.extend(kept)
        known.extend(rank(item, item.mask) for item in kept)
    return exact, settled_ids, bool(pending)


def build_queue(ctx: ServiceContext, *, area: str, meeting_date: date, audit: bool = True,
                limit: int | None = None, offset: int = 0, reason: str | None = None,
                text: str | None = None, defer_full: bool = False,
                full: bool = False) -> DmmQueue:
    """The ranked agenda of ``area``'s meeting on ``meeting_date``.

    Every item is ranked, counted and stored; ``items`` holds those matching
    ``reason`` (a code) and ``text``, from ``offset``, at most ``limit`` of
    them (all without a limit), each explained in words. Viewing is audited; a
    screen's automatic refresh of a queue already shown passes ``audit=False``.

    With ``defer_full``, a stored agenda whose periodic full recompute is due
    is brought up to date from the cases changed since its last build only,
    and the queue says ``full_refresh_due``: the caller shows it at once and
    asks again without ``defer_full``. The first build of a meeting nobody
    prepared (``prepare_queue`` does it ahead of the meeting), asked for its
    first page with ``defer_full``, settles only the standing gaps that could
    reach that page (``settle_first_page``): the page is exact, the queue says
    ``first_page_only`` and ``full_refresh_due``, and the full build that
    follows stores the rest. Every build with ``full`` is full.
    """
    check_area(area, ctx.policy)
    entity_id = queue_id(area, meeting_date)
    ctx.require(Permission.VIEW_DMM, area=area, entity="dmm_queue", entity_id=entity_id)
    policy = ctx.policy
    check_meeting_day(meeting_date, policy)
    if reason and reason not in REASON_BITS:
        raise BadInput(f"reason {reason!r}: choose one of {', '.join(REASON_ORDER)}")
    now = ctx.now()
    live = meeting_date >= current_meeting_date(ctx)
    masks = MaskBook(policy)

    only: list[int] | None = None
    ranked: list[RankedItem] = []
    full_due = False
    first_page_only = False  # the items that cannot reach the first page left for later
    settled_ids: list[int] = []
    with ctx.read() as session:
        epoch = agenda_epoch(session)
        frame = MeetingFrame.for_date(meeting_date, policy, epoch)
        b = bounds(area, frame, policy, as_of=now)
        key = _cache_key(policy, epoch)
        book = code_book(session)
        meeting = find_meeting(session, area, meeting_date)
        frozen = not live and meeting is not None
        if not frozen:
            if (live and not full and meeting is not None and meeting.computed_key == key
                    and meeting.computed_at is not None and meeting.full_computed_at is not None
                    and meeting.computed_at <= now):
                full_due = now - meeting.full_computed_at >= FULL_RECOMPUTE_EVERY
                if defer_full or not full_due:
                    only = _changed_cases(session, meeting.computed_at - CHANGE_MARGIN)
                    if len(only) > INCREMENTAL_LIMIT:
                        only = None
            full_due = full_due and only is not None
            if only is not None and 0 < len(only) <= RULES_LIMIT:
                ranked = priced(flagged_by_rules(session, b, frame, policy, book, only), masks)
            elif only is None or only:
                flagged = flagged_rows(session, b, policy, book, only=only)
                if (only is None and defer_full and live and limit and offset == 0
                        and not reason and not (text and text.strip())
                        and (meeting is None or meeting.full_computed_at is None)):
                    exact, settled_ids, first_page_only = settle_first_page(
                        flagged, masks, limit, lambda batch: settle_standing(
                            session, b, frame, policy, book, batch))
                    ranked = priced(exact, masks)
                else:
                    ranked = priced(settle_standing(session, b, frame, policy, book, flagged),
                                    masks)

    for attempt in range(3):
        if not (live or audit):
            break
        try:
            with ctx.write() as session:
                if live:
                    meeting = ensure_meeting(session, ctx, area, meeting_date)
                    if first_page_only:  # store what is final; the full build stores the rest
                        _sync_items(session, meeting.id, ranked, masks,  # type: ignore[arg-type]
                                    settled_ids)
                    elif only is None or only:
                        _sync_items(session, meeting.id, ranked, masks, only)  # type: ignore[arg-type]
                    meeting.computed_at = now
                    meeting.computed_key = key
                    if only is None and not first_page_only:
                        meeting.full_computed_at = now
                    session.add(meeting)
                if audit:
                    ctx.audit(session, AuditAction.VIEW, "dmm_queue", entity_id,
                              reason=f"DMM queue viewed ({'live' if live else 'record'})")
            break
        except IntegrityError:  # another user created the meeting or an item first
            if attempt == 2:
                raise

    with ctx.read() as session:
        start = max(0, offset)
        sql_ranked = (meeting is not None and meeting.id is not None
                      and not _rank_keys_missing(session, meeting.id))
        if sql_ranked:
            page_ids, total, discussed, matched, by_mask = _rank_in_sql(
                session, meeting.id, reason=reason, text=text, limit=limit, offset=start)  # type: ignore[union-attr,arg-type]
            stored_page = stored_items(session, meeting.id, page_ids)  # type: ignore[union-attr,arg-type]
            page = [stored_page[cid] for cid in page_ids if cid in stored_page]
            who = _recorders(session, meeting.id)  # type: ignore[union-attr,arg-type]
        else:
            if meeting is not None and meeting.id is not None:
                items = list(stored_items(session, meeting.id).values())
                _item_masks(items)
                _fill_rank_keys(session, items)
                who = _recorders(session, meeting.id)
            else:  # an earlier meeting never held: shown, not stored
                items = [StoredItem(None, r.case_id, masks.codes(r.mask), r.priority,
                                     mask=r.mask, crime_ref=r.crime_ref,
                                     reported_at=r.reported_at) for r in ranked]
                who = []
            page, total, discussed, matched, by_mask = _rank_in_python(
                session, items, reason=reason, text=text, limit=limit, offset=start)
        reason_counts: dict[str, int] = {}
        for mask, count in by_mask.items():
            for code in masks.codes(mask or 0):
                reason_counts[code] = reason_counts.get(code, 0) + count
        page_ids = [p.case_id for p in page]
        actions = actions_where(
            session, and_(DmmAction.item_id.in_(select(DmmItem.id).where(
                DmmItem.meeting_id == meeting.id)), DmmAction.case_id.in_(page_ids)), {}) \
            if meeting is not None and meeting.id is not None and page_ids else {}
        rows = {r.id: r for r in case_rows(session, page_ids, area, policy)}
        explained = {} if frozen else explain(
            session, b, frame, policy, book,
            [rows[p.case_id] for p in page if p.mask and p.case_id in rows])
        names = display_names(session, [meeting.chaired_by if meeting else None, *who])

    result: list[DmmQueueItem] = []
    for stored in page:
        row = rows.get(stored.case_id)
        if row is None:
            continue
        if stored.mask and not frozen:
            reason_hits = explained.get(stored.case_id, {})
            hits = [reason_hits.get(code) or ReasonHit(code, REASON_TITLES.get(code, code))
                    for code in masks.codes(stored.mask)]
            explanation = masks.priority(stored.mask, row.risk_level).explanation
            if masks.priority(stored.mask, row.risk_level).score != stored.priority:
                explanation = stored_explanation([h.code for h in hits], stored.priority,
                                                  policy)
        else:
            hits = stored_hits(stored.reasons)
            explanation = stored_explanation([h.code for h in hits], stored.priority, policy)
        result.append(DmmQueueItem(
            crime_ref=row.crime_ref,
            case_version=row.version,
            priority=stored.priority,
            reasons=hits,
            priority_explanation=explanation,
            risk=row.risk_level,
            team=row.team,
            reported_at=row.reported_at,
            victim_ref=row.victim_ref,
            suspect_ref=row.suspect_ref,
            decision=stored.decision,
            rationale=stored.rationale,
            discussed_at=stored.discussed_at,
            actions=[replace(a, crime_ref=row.crime_ref, meeting_date=meeting_date)
                     for a in actions.get(stored.case_id, [])],
            principal_code=row.principal_code,
            status=row.status,
            officer=row.officer,
            decided_by=stored.decided_by,
            decided_at=stored.decided_at,
            discussed_by=stored.discussed_by,
        ))
    attendees = sorted({names.get(u, u) for u in who})
    return DmmQueue(
        area=area,
        meeting_date=meeting_date,
        starts_at=frame.starts_at,
        covers_from=frame.covers_from,
        previous_meeting_date=rules.previous_meeting_date(meeting_date, policy),
        live=live,
        recorded=meeting is not None,
        can_decide=ctx.allowed(Permission.DECIDE_DMM, area=area),
        built_at=now,
        items=result,
        total=total,
        discussed=discussed,
        matched=matched,
        offset=start,
        reason_counts=reason_counts,
        chaired_by=names.get(meeting.chaired_by, meeting.chaired_by)
        if meeting and meeting.chaired_by else None,
        attendees=attendees,
        full_refresh_due=full_due or first_page_only,
        first_page_only=first_page_only,
    )


@dataclass(frozen=True)
class PreparedQueue:
    """A meeting's agenda computed and stored ahead of the meeting."""

    area: str
    meeting_date: date
    total: int


def prepare_queue(ctx: ServiceContext, *, area: str, meeting_date: date) -> PreparedQueue:
    """Compute and store the whole agenda of ``area``'s meeting on
    ``meeting_date`` now (e.g. overnight, after the RMS extract is imported), so
    that the morning's first view only reads the cases changed since. Only
    today's meeting or a later one can be prepared; earlier ones are records.
    Audited as a change to the stored agenda."""
    check_area(area, ctx.policy)
    if meeting_date < current_meeting_date(ctx):
        raise BadInput(f"prepare {area} {meeting_date:%d/%m/%Y}: that meeting has been held; "
                       "only today's meeting or a later one can be prepared")
    queue = build_queue(ctx, area=area, meeting_date=meeting_date, audit=False, limit=0,
                        full=True)
    with ctx.write() as session:
        ctx.audit(session, AuditAction.UPDATE, "dmm_queue", queue_id(area, meeting_date),
                  reason=f"DMM agenda prepared: {queue.total} items")
    return PreparedQueue(area=area, meeting_date=meeting_date, total=queue.total)
