"""The force's action plan as data: each recommendation it answers, the text
as published (loaded from the force's file, never written in Vigil), the
evidence required, the owner, the status and its history of dated updates.

Analysts and the administrator edit it; every load, owner change and update
is audited with what it was before. An update may attach the current figures
of the recommendation's metrics (analysts: the administrator sees no case
data), frozen as they stood, with their definitions, so a later reader sees
what the force reported and on what basis.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.errors import BadInput, NotFound
from app.rules import metric_figures
from app.rules import metrics as m
from app.services.assurance import AssuranceReport, assurance_report
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import Recommendation, RecommendationUpdate
from models.enums import AuditAction

ENTITY = "action_plan"
DEFAULT_FILE = Path(__file__).resolve().parents[2] / "seed" / "recommendations.toml"
REPORTS = ("2024", "2017")
# the inspectorate's tracker: "awaiting review", then "being progressed" ...
STATUSES = ("awaiting_review", "being_progressed", "complete", "not_applicable")
STATUS_TITLES = {"awaiting_review": "Awaiting review", "being_progressed": "Being progressed",
                 "complete": "Complete", "not_applicable": "Not applicable to the force"}
FILE_FIELDS = ("number", "report", "theme", "summary", "published_text", "source",
               "evidence_requirement", "owner", "metrics")


@dataclass(frozen=True)
class AttachedFigure:
    code: str
    title: str
    figure: str
    basis: str
    status: str
    definition: str
    trend: tuple[tuple[str, str], ...]  # (month, figure)


@dataclass(frozen=True)
class PlanUpdate:
    written_at: datetime
    written_by: str
    status: str
    response: str
    period: tuple[str, str] | None  # first and last day counted
    figures: tuple[AttachedFigure, ...]


@dataclass(frozen=True)
class PlanItem:
    number: str
    report: str
    theme: str
    published_text: str
    source: str | None
    evidence_requirement: str
    owner: str
    status: str
    metrics: tuple[str, ...]
    updates: tuple[PlanUpdate, ...]  # oldest first

    @property
    def is_summary(self) -> bool:
        """No published text loaded yet: only Vigil's summary of the theme."""
        return not self.published_text.strip()

    @property
    def latest(self) -> PlanUpdate | None:
        return self.updates[-1] if self.updates else None


@dataclass(frozen=True)
class ActionPlan:
    items: tuple[PlanItem, ...]
    generated_at: datetime
    generated_by: str
    training: bool
    evaluation: bool
    # the current figures for the period (None: the reader may not see them)
    report: AssuranceReport | None
    date_from: date | None
    date_to: date | None


@dataclass(frozen=True)
class LoadResult:
    created: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: int
    sha256: str


# --- the force's file ----------------------------------------------------
def _problem(where: str, i: int, field: str, problem: str) -> BadInput:
    return BadInput(f"{where}: recommendation[{i}]: {field}: {problem}")


def parse_recommendations(text: str, *, where: str, known_metrics: set[str]) -> list[dict[str, Any]]:
    """The recommendations of a force's file, checked: each problem names the
    file, the entry and the field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{where}: {exc}") from None
    unknown = set(data) - {"recommendation"}
    if unknown:
        raise BadInput(f"{where}: {sorted(unknown)[0]}: not known (only [[recommendation]] entries)")
    entries = data.get("recommendation")
    if not isinstance(entries, list) or not entries:
        raise BadInput(f"{where}: no [[recommendation]] entries")
    seen: set[str] = set()
    found: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        for key in entry:
            if key not in FILE_FIELDS:
                raise _problem(where, i, key, "not known")
        number = entry.get("number")
        if not isinstance(number, str) or not number.strip() or len(number) > 16:
            raise _problem(where, i, "number", "give the number as published (text, 1-16 characters)")
        if number in seen:
            raise _problem(where, i, "number", f"{number!r} is given twice")
        seen.add(number)
        if entry.get("report") not in REPORTS:
            raise _problem(where, i, "report", f"expected one of {', '.join(REPORTS)}")
        for key in ("theme", "published_text", "source", "evidence_requirement", "owner"):
            if not isinstance(entry.get(key, ""), str):
                raise _problem(where, i, key, "expected text")
        if not entry.get("theme", "").strip():
            raise _problem(where, i, "theme", "empty")
        summary = entry.get("summary", not entry.get("published_text", "").strip())
        if not isinstance(summary, bool):
            raise _problem(where, i, "summary", "expected true or false")
        if summary and entry.get("published_text", "").strip():
            raise _problem(where, i, "published_text", "given with summary = true: a published "
                           "text is not a summary (set summary = false)")
        if not summary and not entry.get("published_text", "").strip():
            raise _problem(where, i, "published_text", "empty with summary = false")
        metrics = entry.get("metrics", [])
        if not isinstance(metrics, list) or not all(isinstance(x, str) for x in metrics):
            raise _problem(where, i, "metrics", "expected a list of figure codes")
        for code in metrics:
            if code not in known_metrics:
                raise _problem(where, i, "metrics", f"{code!r} is not an assurance figure")
        found.append({"number": number.strip(), "report": entry["report"],
                      "theme": entry["theme"].strip(),
                      "published_text": entry.get("published_text", "").strip(),
                      "source": entry.get("source", "").strip() or None,
                      "evidence_requirement": entry.get("evidence_requirement", "").strip(),
                      "owner": entry.get("owner", "").strip(), "metrics": list(metrics),
                      "position": i})
    return found


def read_file(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"recommendations file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"recommendations file {path}: cannot be read ({exc})") from None


def load_recommendations(ctx: ServiceContext, *, text: str, where: str,
                         note: str) -> LoadResult:
    """Store the recommendations of a force's file: texts, evidence
    requirements (where the file gives one) and figures from the file; a new recommendation takes its
    owner from the file, an existing one keeps the owner set in Vigil; status
    and updates are never touched. Audited with the file's SHA-256."""
    ctx.require(Permission.EDIT_ACTION_PLAN, entity=ENTITY)
    if not note.strip():
        raise BadInput("plan load --note: say why the recommendations are loaded")
    known = {d.code for d in m.metric_definitions(ctx.policy)}
    entries = parse_recommendations(text, where=where, known_metrics=known)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    created: list[str] = []
    changed: list[str] = []
    unchanged = 0
    with ctx.write() as session:
        existing = {r.number: r for r in session.execute(select(Recommendation)).scalars()}
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for entry in entries:
            row = existing.get(entry["number"])
            texts = {k: entry[k] for k in ("report", "theme", "published_text", "source",
                                           "evidence_requirement", "metrics", "position")}
            if row is None:
                row = Recommendation(number=entry["number"], owner=entry["owner"],
                                     text_sha256=digest, **texts)
                session.add(row)
                created.append(entry["number"])
                after[entry["number"]] = texts
                continue
            if not texts["evidence_requirement"]:
                del texts["evidence_requirement"]  # the file leaves the one set in Vigil
            old = {k: getattr(row, k) for k in texts}
            if old == texts:
                unchanged += 1
                continue
            for key, value in texts.items():
                setattr(row, key, value)
            row.text_sha256 = digest
            session.add(row)
            changed.append(entry["number"])
            before[entry["number"]] = {k: v for k, v in old.items() if texts[k] != v}
            after[entry["number"]] = {k: v for k, v in texts.items() if old[k] != v}
        session.flush()
        ctx.audit(session, AuditAction.UPDATE if changed else AuditAction.CREATE, ENTITY, None,
                  reason=f"recommendations loaded from {where} (sha256 {digest[:12]}): "
                         f"{len(created)} new, {len(changed)} changed, {unchanged} unchanged; "
                         f"note: {note.strip()}",
                  before=before or None, after=after or None)
    return LoadResult(tuple(created), tuple(changed), unchanged, digest)


# --- editing -------------------------------------------------------------
def _get(session: Session, number: str) -> Recommendation:
    row = session.execute(select(Recommendation).where(
        Recommendation.number == number.strip())).scalars().first()
    if row is None:
        raise NotFound(f"recommendation {number!r} is not in the action plan "
                       "(load the force's file: vigil plan load FILE)")
    return row


def set_owner(ctx: ServiceContext, *, number: str, owner: str,
              evidence_requirement: str | None = None) -> None:
    """Name the owner (and, optionally, the evidence required) of a recommendation."""
    ctx.require(Permission.EDIT_ACTION_PLAN, entity=ENTITY, entity_id=number)
    if not owner.strip():
        raise BadInput("plan set --owner: empty")
    with ctx.write() as session:
        row = _get(session, number)
        before = {"owner": row.owner, "evidence_requirement": row.evidence_requirement}
        row.owner = owner.strip()
        if evidence_requirement is not None:
            row.evidence_requirement = evidence_requirement.strip()
        session.add(row)
        ctx.audit(session, AuditAction.UPDATE, ENTITY, row.number,
                  reason=f"recommendation {row.number}: owner and evidence requirement set",
                  before=before, after={"owner": row.owner,
                                        "evidence_requirement": row.evidence_requirement})


def _attach(report: AssuranceReport, codes: list[str]) -> dict[str, Any]:
    figures = []
    for code in codes:
        try:
            result = report.result(code)
        except KeyError:
            continue
        d = result.definition
        figures.append({
            "code": d.code, "title": d.title, "figure": metric_figures.format_figure(d, result.overall),
            "basis": metric_figures.format_basis(d, result.overall), "status": result.status,
            "definition": d.describe(),
            "trend": [[f"{p.month:%b %Y}", metric_figures.format_figure(d, p.figure)] for p in result.trend],
        })
    return {"period": [report.date_from.isoformat(), report.last_day.isoformat()],
            "policy": report.policy_source, "figures": figures}


def add_update(ctx: ServiceContext, *, number: str, status: str, response: str,
               attach_figures: bool = False, date_from: date | None = None,
               date_to: date | None = None) -> PlanUpdate:
    """A dated update: the response, the status it moves to, and (on
    request) the current figures of the recommendation for ``[date_from,
    date_to)`` frozen into the update."""
    ctx.require(Permission.EDIT_ACTION_PLAN, entity=ENTITY, entity_id=number)
    if status not in STATUSES:
        raise BadInput(f"plan update --status {status!r}: expected one of {', '.join(STATUSES)}")
    if not response.strip():
        raise BadInput("plan update --response: empty: say what the force has done")
    figures: dict[str, Any] | None = None
    if attach_figures:
        if not ctx.allowed(Permission.VIEW_ASSURANCE):
            raise BadInput(f"a {ctx.actor.role} sees no case figures: an analyst attaches the "
                           "figures (leave out --attach-figures)")
        if date_from is None or date_to is None:
            raise BadInput("plan update --attach-figures: give the period (--from and --to)")
        with ctx.read() as session:
            codes = list(_get(session, number).metrics)
        if not codes:
            raise BadInput(f"recommendation {number}: no figures are named for it in the "
                           "force's file (metrics = [...])")
        figures = _attach(assurance_report(ctx, date_from=date_from, date_to=date_to), codes)
    now = ctx.now()
    with ctx.write() as session:
        row = _get(session, number)
        before = {"status": row.status}
        update = RecommendationUpdate(recommendation_id=row.id, written_at=now,  # type: ignore[arg-type]
                                      written_by=ctx.actor.username, status=status,
                                      response=response.strip(), figures=figures)
        row.status = status
        session.add(update)
        session.add(row)
        session.flush()
        ctx.audit(session, AuditAction.UPDATE, ENTITY, row.number,
                  reason=f"recommendation {row.number}: update written, status {status}"
                         + (f", {len(figures['figures'])} figures attached" if figures else ""),
                  before=before, after={"status": status, "response": update.response,
                                        "figures": figures})
        return _update(update)


def _update(row: RecommendationUpdate) -> PlanUpdate:
    figures = row.figures or {}
    period = figures.get("period")
    return PlanUpdate(
        written_at=row.written_at, written_by=row.written_by, status=row.status,
        response=row.response, period=(period[0], period[1]) if period else None,
        figures=tuple(AttachedFigure(f["code"], f["title"], f["figure"], f["basis"],
                                     f["status"], f["definition"],
                                     tuple((a, b) for a, b in f.get("trend", [])))
                      for f in figures.get("figures", [])))


# --- reading -------------------------------------------------------------
def _items(session: Session) -> tuple[PlanItem, ...]:
    rows = session.execute(select(Recommendation).order_by(
        Recommendation.report.desc(), Recommendation.position, Recommendation.id)).scalars().all()
    updates: dict[int, list[PlanUpdate]] = {}
    for u in session.execute(select(RecommendationUpdate).order_by(
            RecommendationUpdate.written_at, RecommendationUpdate.id)).scalars():
        updates.setdefault(u.recommendation_id, []).append(_update(u))
    return tuple(PlanItem(r.number, r.report, r.theme, r.published_text, r.source,
                          r.evidence_requirement, r.owner, r.status, tuple(r.metrics),
                          tuple(updates.get(r.id, ())))  # type: ignore[arg-type]
                 for r in rows)


def history(ctx: ServiceContext, number: str) -> PlanItem:
    """One recommendation with its status history (every dated update)."""
    ctx.require(Permission.VIEW_ACTION_PLAN, entity=ENTITY, entity_id=number)
    with ctx.read() as session:
        wanted = _get(session, number).number
        item = next(i for i in _items(session) if i.number == wanted)
    with ctx.write() as session:
        ctx.audit(session, AuditAction.VIEW, ENTITY, wanted,
                  reason=f"recommendation {wanted}: history viewed")
    return item


def action_plan(ctx: ServiceContext, *, date_from: date | None = None,
                date_to: date | None = None) -> ActionPlan:
    """The plan, with the current figures for the period when given and the
    reader may see them (the administrator sees the plan without figures)."""
    ctx.require(Permission.VIEW_ACTION_PLAN, entity=ENTITY)
    with ctx.read() as session:
        items = _items(session)
    report = None
    if date_from is not None and date_to is not None and ctx.allowed(Permission.VIEW_ASSURANCE):
        report = assurance_report(ctx, date_from=date_from, date_to=date_to)
    with ctx.write() as session:
        ctx.audit(session, AuditAction.VIEW, ENTITY, None,
                  reason=f"action plan viewed ({len(items)} recommendations"
                         + (f", figures {date_from.isoformat()} to "
                            f"{(date_to - timedelta(days=1)).isoformat()})"
                            if report and date_from and date_to else ")"))
    return ActionPlan(items, ctx.now(), ctx.actor.display_name, ctx.training, ctx.evaluation,
                      report, date_from, date_to)
