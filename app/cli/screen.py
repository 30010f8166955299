"""`vigil screen [--full] [--since DATE] [--format table|json|csv|md] [-o FILE]`:
screen crimes for stalking recorded as something else, then print the queue.

The run is incremental (crimes new or changed since they were last screened,
and the other crimes of their victim-suspect pairs) unless ``--full``; it
runs as the acting user, who must be an analyst: anyone else sees the queue
as last screened (``--no-run`` skips the run for analysts too). ``--since``
limits the run and the queue to crimes reported since that date.
``--feedback`` prints the flag decisions per rule and per team instead.
``--evaluate FILE`` measures the rules on a labelled CSV of summaries (id,
label, summary; optionally family, note): recall, precision, the confusion
table and each miss with its explanation. It reads no database.

JSON gives one object with ``run`` and ``items``; each item carries
``crime_ref``, ``principal_code``, ``score``, ``rules`` (names),
``explanations``, ``evidence`` (matched phrases with their character spans,
linked crime refs, S-DASH answers, breached orders), ``linked_crimes``,
``area``, ``team``, ``summary`` and ``flag_status``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from app.cli.base import CliEnv, add_format_option, working
from app.cli.disclose import add_output_option, emit_or_disclose
from app.dates import DateError, format_local, local_midnight, parse_date
from app.errors import BadInput
from app.output import Column, render
from app.rules.screening import rule_label
from app.services.context import ServiceContext
from app.services.permissions import Permission
from app.services.screening import ScreeningRunSummary, run_screening
from app.services.screening_flags import FlagFeedback, flag_feedback
from app.services.screening_queue import (
    FLAG_FILTERS,
    MAX_PAGE_SIZE,
    QueueItem,
    ScreeningQueue,
    screening_queue,
)
from seed.reference import force_organisation

HELP = "screen crimes for stalking recorded as something else and print the ranked queue"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full", action="store_true",
                        help="re-screen every crime (default: only what is new or changed)")
    parser.add_argument("--no-run", action="store_true",
                        help="print the queue as last screened, without a run")
    parser.add_argument("--since", metavar="DATE",
                        help="only crimes reported since this date (YYYY-MM-DD or dd/mm/yyyy)")
    parser.add_argument("--area", metavar="AREA", help="one area command")
    parser.add_argument("--team", metavar="TEAM", help="one team")
    parser.add_argument("--min-score", type=float, metavar="N",
                        help="lowest score listed (default: the policy's min_score)")
    parser.add_argument("--flags", choices=FLAG_FILTERS,
                        help="only crimes with this flag status")
    parser.add_argument("--limit", type=int, default=100, metavar="N",
                        help=f"at most N crimes, highest score first (default 100, max {MAX_PAGE_SIZE})")
    parser.add_argument("--feedback", action="store_true",
                        help="print flag decisions per rule and per team instead of the queue")
    parser.add_argument("--evaluate", metavar="FILE",
                        help="measure the rules on a labelled CSV of summaries (id, label, "
                             "summary[, family, note]) instead: recall, precision, misses")
    add_format_option(parser)
    add_output_option(parser)


def parse_since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return local_midnight(parse_date(text))
    except DateError as exc:
        raise BadInput(f"--since: {exc}") from None


def _area(ctx: ServiceContext, text: str | None) -> str | None:
    if not text:
        return None
    areas = force_organisation(ctx.policy).area_commands
    for known in areas:
        if known.lower() == text.strip().lower():
            return known
    raise BadInput(f"--area {text!r}: expected one of {', '.join(areas)}")


def _team(ctx: ServiceContext, text: str | None) -> str | None:
    if not text:
        return None
    teams = force_organisation(ctx.policy).teams
    for known in teams:
        if known.lower() == text.strip().lower():
            return known
    raise BadInput(f"--team {text!r}: expected one of {', '.join(teams)}")


# --- rendering -----------------------------------------------------------------------
TABLE_COLUMNS = [
    Column("score", "Score", 5),
    Column("crime_ref", "Crime ref", 14),
    Column("principal", "Class", 9),
    Column("rule_labels", "Rules", 22),
    Column("area", "Area", 9),
    Column("team", "Team", 13),
    Column("flag_status", "Flag", 8),
    Column("phrases", "Evidence", 40),
    Column("linked", "Linked crimes", 28),
]

EXPORT_COLUMNS = [Column(key, key) for key in (
    "crime_ref", "reported_at", "principal_code", "included_codes", "area", "team", "score",
    "rules", "explanations", "phrases", "linked", "flag_status", "flag_id", "summary",
)]


def item_row(item: QueueItem) -> dict[str, Any]:
    row = item.as_dict()
    row["principal"] = item.principal_code + (
        f" +{','.join(item.included_codes)}" if item.included_codes else "")
    row["rule_labels"] = rule_label(item.rules)
    row["phrases"] = list(dict.fromkeys(e["text"] for e in item.evidence if "text" in e))
    row["linked"] = [c.crime_ref for c in item.linked_crimes]
    return row


def run_dict(run: ScreeningRunSummary | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {"run_id": run.run_id, "full": run.full, "run_by": run.run_by,
            "started_at": run.started_at, "finished_at": run.finished_at,
            "screened": run.screened, "candidates": run.candidates}


def render_queue(queue: ScreeningQueue, fmt: str) -> str:
    rows = [item_row(item) for item in queue.items]
    shown = f"{len(rows)} of {queue.total}" if queue.total > len(rows) else f"{queue.total}"
    last = queue.last_run
    when = f", last run {format_local(last.started_at)}" if last else ", never run"
    title = f"Screening queue: {shown} candidates (score ≥ {queue.min_score:g}){when}"
    payload = {"run": run_dict(last), "min_score": queue.min_score, "total": queue.total,
               "items": [item.as_dict() for item in queue.items]}
    cols = EXPORT_COLUMNS if fmt == "csv" else TABLE_COLUMNS
    return render(rows, cols, fmt, title=title, payload=payload)


FEEDBACK_COLUMNS = [
    Column("key", "Rule / team", 34), Column("raised", "Raised", 6), Column("open", "Open", 6),
    Column("accepted", "Accepted", 8), Column("rejected", "Rejected", 8),
    Column("changed", "Changed", 7), Column("acceptance_rate", "Accept rate", 11),
]


def render_feedback(feedback: FlagFeedback, fmt: str) -> str:
    rows = ([{"kind": "rule", **r.as_dict()} for r in feedback.by_rule]
            + [{"kind": "team", **r.as_dict()} for r in feedback.by_team]
            + [{"kind": "all", **feedback.total.as_dict()}])
    payload = {"since": feedback.since, "by_rule": [r.as_dict() for r in feedback.by_rule],
               "by_team": [r.as_dict() for r in feedback.by_team],
               "total": feedback.total.as_dict()}
    cols = [Column("kind", "By", 5), *FEEDBACK_COLUMNS]
    return render(rows, cols, fmt, title="Screening flags: decisions per rule and team",
                  payload=payload)


# --- commands ------------------------------------------------------------------------
def _run_if_allowed(ctx: ServiceContext, args: argparse.Namespace,
                    since: datetime | None) -> None:
    if args.no_run:
        return
    if not ctx.allowed(Permission.RUN_SCREENING):
        print(f"vigil: {ctx.actor.username} ({ctx.actor.role}) does not run screening: "
              "showing the queue as last screened", file=sys.stderr)
        return
    with working("screening every crime" if args.full else "screening new and changed crimes"):
        summary = run_screening(ctx, full=args.full, since=since)
    kind = "full" if summary.full else "incremental"
    print(f"{kind} screening run: {summary.screened:,} crimes screened, "
          f"{summary.candidates:,} candidates ({summary.seconds:.1f} s)", file=sys.stderr)


def run(args: argparse.Namespace, env: CliEnv) -> int:
    if args.evaluate:
        env.emit(evaluate_file(args.evaluate, env, args.format), args.output)
        return 0
    since = parse_since(args.since)
    if not 1 <= args.limit <= MAX_PAGE_SIZE:
        raise BadInput(f"--limit: between 1 and {MAX_PAGE_SIZE}")
    ctx = env.context()
    area, team = _area(ctx, args.area), _team(ctx, args.team)
    if args.feedback:
        feedback = render_feedback(flag_feedback(ctx, since=since), args.format)
        return emit_or_disclose(ctx, args, kind="screening", text=feedback,
                                filter="flag decisions per rule and team", crime_refs=[],
                                rows=max(0, feedback.count("\n") - 1))
    _run_if_allowed(ctx, args, since)
    queue = screening_queue(ctx, since=since, min_score=args.min_score, area=area, team=team,
                            flag_status=args.flags, page_size=args.limit)
    shown = ", ".join(f"{name} {value}" for name, value in (
        ("since", args.since), ("area", area), ("team", team), ("flags", args.flags),
        ("min score", args.min_score)) if value is not None) or "all candidates"
    return emit_or_disclose(ctx, args, kind="screening", text=render_queue(queue, args.format),
                            filter=shown, crime_refs=[i.crime_ref for i in queue.items],
                            rows=len(queue.items))


def export_text(env: CliEnv, args: argparse.Namespace) -> tuple[str, list[str], int]:
    """`vigil export screening`: every candidate (no run; the export command
    discloses it: permission, purpose, event first). Honours --area and --since."""
    ctx = env.context()
    since = parse_since(getattr(args, "since", None) or getattr(args, "date_from", None))
    area = _area(ctx, getattr(args, "area", None))
    items: list[QueueItem] = []
    page = 0
    while True:
        queue = screening_queue(ctx, since=since, area=area, page=page,
                                page_size=MAX_PAGE_SIZE, audit=False)
        items += queue.items
        if not queue.has_more:
            break
        page += 1
    whole = ScreeningQueue(items=items, total=queue.total, page=0, page_size=len(items) or 1,
                           min_score=queue.min_score, last_run=queue.last_run)
    return (render_queue(whole, getattr(args, "format", "csv")), [i.crime_ref for i in items],
            len(items))


# --- evaluation on a labelled corpus ---------------------------------------------------
CONFUSION_COLUMNS = [Column("label", "Label", 16), Column("total", "Summaries", 9),
                     Column("flagged", "Flagged", 7), Column("not_flagged", "Not flagged", 11)]
MISS_COLUMNS = [Column("id", "Id", 6), Column("label", "Label", 15),
                Column("outcome", "Outcome", 11), Column("score", "Score", 5),
                Column("why", "Why (rules; phrases read)", 50), Column("summary", "Summary", 60)]
OUTCOME_COLUMNS = [Column(k, k) for k in ("id", "label", "family", "outcome", "score",
                                          "explanations", "phrases", "summary")]


def evaluate_file(path: str, env: CliEnv, fmt: str) -> str:
    """`vigil screen --evaluate FILE`: the rules measured on a labelled file."""
    from pathlib import Path

    from app.policy import load_policy
    from app.rules.screening.evaluation import CorpusError, evaluate, read_corpus

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"--evaluate {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"--evaluate {path}: cannot be read ({exc})") from None
    policy = load_policy(env.option("policy")).screening
    try:
        items = read_corpus(text, source=str(path), families=policy.families)
    except CorpusError as exc:
        raise BadInput(str(exc)) from None
    result = evaluate(items, policy)
    payload = {"file": str(path), **result.as_dict()}
    if fmt == "json":
        return render([], [], "json", payload=payload)
    if fmt == "csv":
        return render([o.as_dict() for o in result.outcomes], OUTCOME_COLUMNS, "csv")
    recall = "n/a" if result.recall is None else f"{result.recall:.3f}"
    precision = "n/a" if result.precision is None else f"{result.precision:.3f}"
    title = (f"Screening evaluated on {path}: {len(result.outcomes)} summaries, recall {recall} "
             f"({result.true_positives} of {result.true_positives + result.false_negatives} "
             f"hidden stalking flagged), precision {precision} ({result.false_positives} "
             f"false alarms of {result.true_positives + result.false_positives} flagged)")
    misses = [{**o.as_dict(), "why": "; ".join((*o.explanations, *o.phrases)) or "nothing read"}
              for o in result.misses]
    if fmt == "table":  # the figures as a plain line: a table title would wrap them
        text = title + "\n\n" + render(result.confusion(), CONFUSION_COLUMNS, fmt)
    else:
        text = render(result.confusion(), CONFUSION_COLUMNS, fmt, title=title)
    miss_title = f"Misses: {len(misses)} ({result.false_negatives} missed, " \
                 f"{result.false_positives} false alarms)"
    return text + "\n" + render(misses, MISS_COLUMNS, fmt, title=miss_title)
