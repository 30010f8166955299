"""Screening: crimes that look like stalking recorded as something else
(rec 23.1), ranked by score, with the rules that fired, the matched phrases
highlighted in the summary and the linked crimes. Analysts run the screening
and flag a crime with a suggested change; a supervisor of the crime's area
(never the person who flagged it) accepts or rejects the flag."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static

from app.dates import format_local
from app.errors import BadInput
from app.rules.screening import RULE_NAMES, highlight_spans, rule_label
from app.sanitise import clean_text
from app.services.cases import ReasonRequired
from app.services.permissions import Permission
from app.services.screening import ScreeningRunSummary, run_screening
from app.services.screening_flags import (
    SUGGESTED_CHANGE_LABELS,
    FlagDecision,
    FlagFeedback,
    FlagView,
    decide_flag,
    flag_feedback,
    raise_flag,
)
from app.services.screening_queue import (
    QueueItem,
    ScreeningQueue,
    consult_candidate,
    screening_queue,
)
from app.widgets.columns import Col, RowBuffer
from app.widgets.table import VigilTable
from models.enums import SuggestedChange
from screens.base import VigilScreen, cursor_row_key
from screens.dialogs import ConfirmDialog, FormDialog, ReasonDialog
from screens.keys import clear_filter_key, filter_key, open_case_key, refresh_key
from screens.screening_filter import QueueFilter, parse_filter
from seed.reference import force_organisation

PAGE_SIZE = 100
HIGHLIGHT = "bold reverse"

COLUMNS: tuple[tuple[str, str, int], ...] = (
    Col("score", "Score", 5, keep=True),
    Col("crime_ref", "Crime ref", 12, keep=True),
    Col("class", "Class", 10),
    Col("rules", "Rules", 16, flex=1, min=10),
    Col("area", "Area", 8, keep=True),
    Col("team", "Team", 13),
    Col("flag", "Flag", 9),
    Col("reported", "Reported", 16, keep=True),
)


def highlighted_summary(summary: str, evidence: tuple[dict[str, Any], ...]) -> Text:
    """The summary with control characters neutralised and the matched
    phrases highlighted. Spans index the raw summary, so each piece is
    cleaned on its own and the highlight stays on the right words."""
    text = Text()
    position = 0
    for span in highlight_spans(evidence):
        if span.start < position or span.end > len(summary):
            continue
        text.append(clean_text(summary[position:span.start]))
        text.append(clean_text(summary[span.start:span.end]), style=HIGHLIGHT)
        position = span.end
    text.append(clean_text(summary[position:]))
    return text


class FlagDialog(FormDialog[tuple[str, str]]):
    """Flag a crime: the suggested change and a reason."""

    DEFAULT_CSS = """
    FlagDialog { align: center middle; }
    FlagDialog > Vertical {
        width: 84; height: auto; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    FlagDialog Select, FlagDialog Input { margin: 1 0 0 0; }
    FlagDialog #flag-error { color: $error; height: auto; }
    FlagDialog Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    FlagDialog Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="flag.cancel"),
    ]

    OK_BUTTON = "flag-ok"

    def __init__(self, item: QueueItem) -> None:
        super().__init__()
        self.item = item

    def compose(self) -> ComposeResult:
        options = [(label, str(change)) for change, label in SUGGESTED_CHANGE_LABELS.items()]
        with Vertical():
            yield Label(f"Flag {self.item.crime_ref} ({self.item.principal_code}, score "
                        f"{self.item.score:g}: {rule_label(self.item.rules)})", markup=False)
            yield Select(options, value=SuggestedChange.PRINCIPAL_TO_STALKING.value,
                         allow_blank=False, id="flag-change")
            yield Input(placeholder="Reason (what the supervisor should weigh)", id="flag-reason")
            yield Static("", id="flag-error")
            with Horizontal():
                yield Button("Flag", variant="primary", id="flag-ok")
                yield Button("Cancel", id="flag-cancel")

    def on_mount(self) -> None:
        self.query_one("#flag-reason", Input).focus()

    def submit(self) -> None:
        reason = self.query_one("#flag-reason", Input).value.strip()
        if not reason:
            self.query_one("#flag-error", Static).update("A reason is required.")
            return
        self.dismiss((str(self.query_one("#flag-change", Select).value), reason))


class ScreeningScreen(VigilScreen):
    """The analysts' screening queue and the supervisors' flag decisions."""

    PURPOSE = ("Screening: crimes recorded as harassment, malicious communications, damage or a "
               "breach that look like stalking, highest score first, with the rules that fired and "
               "the words that matched. Analysts flag a crime with a suggested change; a "
               "supervisor of its area accepts (the classification changes) or rejects it.")
    CSS_PATH = "screening.tcss"
    FILTER_INPUT = "screening-filter"
    AUTO_FOCUS = "#screening-table"
    ROLE_ACTIONS: ClassVar[dict[str, Permission]] = {
        "run": Permission.RUN_SCREENING, "flag": Permission.RAISE_FLAG,
        "accept": Permission.DECIDE_FLAG, "reject": Permission.DECIDE_FLAG}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("R", "run(False)", "Run screening", id="screening.run",
                tooltip="Screen crimes new or changed since the last run"),
        Binding("F", "run(True)", "Full run", show=False, id="screening.full",
                tooltip="Re-screen every crime"),
        Binding("g", "flag", "Flag", id="screening.flag",
                tooltip="Flag the crime with a suggested change and a reason"),
        Binding("y", "accept", "Accept flag", id="screening.accept",
                tooltip="Accept the open flag: the suggested change is applied"),
        Binding("x", "reject", "Reject flag", id="screening.reject",
                tooltip="Reject the open flag, with a reason"),
        open_case_key("screening"),
        filter_key("screening",
                   "area:X team:Y flag:open|unflagged|accepted|rejected min:N since:DATE ref"),
        Binding("t", "toggle_feedback", "Feedback", id="screening.feedback",
                tooltip="Flags accepted and rejected per rule and per team"),
        refresh_key("screening"),
        Binding("pagedown", "page(1)", "Next page", show=False, id="screening.next"),
        Binding("pageup", "page(-1)", "Previous page", show=False,
                id="screening.previous"),
        clear_filter_key("screening"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.title = "Screening"
        self.filter = QueueFilter()
        self.queue: ScreeningQueue | None = None
        self.items: dict[str, QueueItem] = {}
        self.feedback_shown = False
        self._consulted: set[str] = set()  # crimes whose detail was opened (and audited)
        self._reasons: dict[str, str] = {}  # area -> why its crimes are opened from here
        self._asking: set[str] = set()  # areas whose reason is being asked

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with Horizontal(id="screening-filter-bar"):
            yield Input(placeholder="/ area:Southern flag:open min:4 since:01/02/2026 or a crime "
                        "reference…", id="screening-filter")
            yield Static("", id="screening-summary", markup=False)
        with Horizontal(id="screening-main"):
            yield VigilTable(id="screening-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="screening-detail-pane"):
                yield Static("", id="screening-detail", markup=False)
        yield Static("", id="screening-feedback", markup=False, classes="-hidden")
        yield Footer()

    def on_mount(self) -> None:
        # supervisors decide flags in their own area: start there
        self.filter = QueueFilter(area=self.context.actor.area_command)
        self.columns = self.fitted_columns(self.query_one(DataTable), COLUMNS)
        self.load()

    # --- data ------------------------------------------------------------------------
    def load(self) -> None:
        self.query_one("#screening-summary", Static).update("loading…")
        flt = self.filter
        self.call_service(screening_queue, since=flt.since, min_score=flt.min_score,
                          area=flt.area, team=flt.team, flag_status=flt.flag_status,
                          text=flt.text, page=flt.page, page_size=PAGE_SIZE,
                          on_result=self.show_queue, group="screening-queue")

    def show_queue(self, queue: ScreeningQueue) -> None:
        self.queue = queue
        table = self.query_one(DataTable)
        selected = self._selected_ref()
        self.items = {item.crime_ref: item for item in queue.items}
        rows = RowBuffer()
        for item in queue.items:
            rows.add_row(*self._cells(item), key=item.crime_ref)
        self.columns.fill(rows)
        if selected in self.items:
            table.move_cursor(row=table.get_row_index(selected))
        first = queue.page * queue.page_size + 1 if queue.items else 0
        last = queue.page * queue.page_size + len(queue.items)
        more = " (more: pgdn)" if queue.has_more else ""
        run = queue.last_run
        ran = f"last run {format_local(run.started_at)}" if run else "never run (R)"
        self.query_one("#screening-summary", Static).update(
            f"{first}–{last} of {queue.total}{more} · {self.filter.describe()} · {ran}")
        self._show_item(self.selected_item())

    def _cells(self, item: QueueItem) -> tuple[Any, ...]:
        codes = item.principal_code + (f" +{','.join(item.included_codes)}"
                                       if item.included_codes else "")
        flag = item.flag_status or ""
        return (
            Text(f"{item.score:.1f}", style="bold", justify="right"),
            item.crime_ref,
            codes,
            rule_label(item.rules),
            item.area,
            item.team or "unallocated",
            Text(flag, style="bold" if flag == "open" else ""),
            format_local(item.reported_at),
        )

    def _selected_ref(self) -> str | None:
        return cursor_row_key(self.query_one(DataTable))

    def action_subject(self, action: str) -> tuple[str, str | None]:
        item = self.selected_item()
        return ("case", item.crime_ref) if item is not None else super().action_subject(action)

    def action_area(self, action: str) -> str | None:
        item = self.selected_item() if action in ("accept", "reject") else None
        return item.area if item is not None else None

    def selected_item(self) -> QueueItem | None:
        ref = self._selected_ref()
        return self.items.get(ref) if ref else None

    def _show_item(self, item: QueueItem | None) -> None:
        """The detail of a candidate, once its consultation is recorded (a
        reason asked for a crime outside the user's area, once per area)."""
        detail = self.query_one("#screening-detail", Static)
        if item is None:
            detail.update("No crime selected." if self.items else
                          "No candidates: run the screening (R) or change the filter (/).")
            return
        if item.crime_ref in self._consulted:
            self._render_item(item)
            return
        detail.update("loading…")
        ref = item.crime_ref

        def consulted(_area: str) -> None:
            self._consulted.add(ref)
            if self._selected_ref() == ref:
                self._render_item(self.items.get(ref, item))

        def refused(error: Exception) -> bool:
            if not isinstance(error, ReasonRequired):
                detail.update("")
                return False  # shown by the App
            if item.area in self._asking:
                return True  # the reason is being asked already
            self._asking.add(item.area)

            def answered(reason: str | None) -> None:
                self._asking.discard(item.area)
                if reason:
                    self._reasons[item.area] = reason
                    selected = self.selected_item()
                    if selected is not None:
                        self._show_item(selected)
                else:
                    detail.update("Not shown: a reason is needed to view a crime of another "
                                  "area.")

            self.app.push_screen(ReasonDialog(
                f"{error} (the detail shows the crime's summary and linked crimes; the reason "
                f"is recorded on each {item.area} crime you open here).",
                prompt="Reason for viewing"), answered)
            return True

        self.call_service(consult_candidate, crime_ref=ref, reason=self._reasons.get(item.area),
                          on_result=consulted, on_failure=refused, group="screening-consult",
                          exclusive=False)

    def _render_item(self, item: QueueItem) -> None:
        detail = self.query_one("#screening-detail", Static)
        head = Text(f"{item.crime_ref} · {item.principal_code}"
                    + (f" + {', '.join(item.included_codes)}" if item.included_codes else "")
                    + f" · {item.area} · {item.team or 'unallocated'} · reported "
                    f"{format_local(item.reported_at)} · {item.relationship.replace('_', ' ')}"
                    + (" · online" if item.online else ""), style="bold")
        parts: list[Any] = [head, Text(f"Score {item.score:g}", style="bold"),
                            highlighted_summary(item.summary, item.evidence), Text("")]
        for line in item.explanations:
            parts.append(Text("• " + clean_text(_rule_in_words(line))))
        if item.linked_crimes:
            parts.append(Text("Linked crimes (same victim and suspect):", style="bold"))
            for crime in item.linked_crimes:
                parts.append(Text(f"  {crime.crime_ref}  {crime.principal_code}  "
                                  f"{format_local(crime.reported_at)}"))
        if item.flag is not None:
            parts.append(Text(""))
            parts.append(Text(self._flag_text(item.flag), style="bold" if
                              item.flag.status == "open" else ""))
        detail.update(Group(*parts))

    @staticmethod
    def _flag_text(flag: FlagView) -> str:
        change = SUGGESTED_CHANGE_LABELS.get(flag.suggested_change, flag.suggested_change)
        text = (f"Flag #{flag.id} {flag.status}: {change} — raised by {flag.raised_by} "
                f"{format_local(flag.raised_at)}: {clean_text(flag.reason)}")
        if flag.decided_by:
            text += (f"\nDecided by {flag.decided_by} {format_local(flag.decided_at)}"
                     + (f": {clean_text(flag.rationale)}" if flag.rationale else ""))
        return text

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()  # area-bound keys follow the row's area
        ref = event.row_key.value if event.row_key else None
        self._show_item(self.items.get(ref) if ref else None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        ref = event.row_key.value if event.row_key else None
        if ref in self.items:
            self.vigil.open_case(ref)

    # --- actions ---------------------------------------------------------------------
    def action_run(self, full: bool) -> None:
        def start(confirmed: bool | None = True) -> None:
            if not confirmed:
                return
            self.query_one("#screening-summary", Static).update(
                "screening every crime…" if full else "screening new and changed crimes…")
            self.call_service(run_screening, full=full, on_result=self._after_run,
                              on_failure=self._run_failed, group="screening-run")

        if full:
            self.app.push_screen(ConfirmDialog(
                "Re-screen every crime? On a large force this takes up to a minute."), start)
        else:
            start()

    def _run_failed(self, error: Exception) -> bool:
        """A run that failed is shown by the App; the status line goes back to
        the last finished run (it never stays on "screening…")."""
        self.load()
        return False

    def _after_run(self, summary: ScreeningRunSummary) -> None:
        kind = "Full" if summary.full else "Incremental"
        self.notify(f"{kind} screening: {summary.screened:,} crimes screened, "
                    f"{summary.candidates:,} candidates ({summary.seconds:.1f} s)")
        self.load()

    def _require_item(self) -> QueueItem | None:
        item = self.selected_item()
        if item is None:
            self.notify("Select a crime first.", severity="warning")
        return item

    def action_flag(self) -> None:
        item = self._require_item()
        if item is None:
            return
        if item.flag is not None and item.flag.status == "open":
            self.notify(f"{item.crime_ref} already has an open flag (#{item.flag.id})",
                        severity="warning")
            return

        def answer(result: tuple[str, str] | None) -> None:
            if result:
                change, reason = result
                self.call_service(raise_flag, crime_ref=item.crime_ref, suggested_change=change,
                                  reason=reason, on_result=self._after_flag)

        self.app.push_screen(FlagDialog(item), answer)

    def _after_flag(self, flag: FlagView) -> None:
        self.notify(f"{flag.crime_ref} flagged (#{flag.id}): a supervisor of its area decides")
        self.load()

    def _open_flag(self) -> tuple[QueueItem, FlagView] | None:
        item = self._require_item()
        if item is None:
            return None
        if item.flag is None or item.flag.status != "open":
            self.notify(f"{item.crime_ref} has no open flag to decide", severity="warning")
            return None
        return item, item.flag

    def action_accept(self) -> None:
        found = self._open_flag()
        if found is None:
            return
        item, flag = found
        change = SUGGESTED_CHANGE_LABELS.get(flag.suggested_change, flag.suggested_change)

        def answer(rationale: str | None) -> None:
            if rationale is not None:
                self.call_service(decide_flag, flag_id=flag.id, accept=True, rationale=rationale,
                                  expected_version=item.version, on_result=self._after_decision)

        self.app.push_screen(ReasonDialog(
            f"Accept flag #{flag.id} on {item.crime_ref}: {change}", prompt="Rationale",
            required=False, placeholder="Rationale (optional)"), answer)

    def action_reject(self) -> None:
        found = self._open_flag()
        if found is None:
            return
        item, flag = found

        def answer(rationale: str | None) -> None:
            if rationale:
                self.call_service(decide_flag, flag_id=flag.id, accept=False, rationale=rationale,
                                  expected_version=item.version, on_result=self._after_decision)

        self.app.push_screen(ReasonDialog(
            f"Reject flag #{flag.id} on {item.crime_ref}", prompt="Reason for rejecting"), answer)

    def _after_decision(self, decision: FlagDecision) -> None:
        codes = decision.principal_code + (f" + {', '.join(decision.included_codes)}"
                                           if decision.included_codes else "")
        self.notify(f"Flag #{decision.flag.id} {decision.flag.status}: {decision.flag.crime_ref} "
                    f"is now {codes}")
        self.load()
        if self.feedback_shown:
            self.load_feedback()

    def action_open_case(self) -> None:
        ref = self._selected_ref()
        if ref:
            self.vigil.open_case(ref)

    def action_focus_filter(self) -> None:
        self.query_one("#screening-filter", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "screening-filter":
            return
        self.filter_submitted(event.value)

    def apply_filter(self, value: str, *, typing: bool = False) -> None:
        try:
            wanted = parse_filter(value, default_area=None,
                                  org=force_organisation(self.context.policy))
        except BadInput as exc:
            if not typing:  # half-typed filters wait for the rest
                self.show_error(exc)
            return
        if typing and wanted == self.filter:
            return
        self.filter = wanted
        self.load()

    def action_clear_filter(self) -> None:
        self.query_one("#screening-filter", Input).value = ""
        self.filter = QueueFilter()
        self.load()
        self.query_one(DataTable).focus()

    def action_page(self, step: int) -> None:
        if self.queue is None:
            return
        page = self.filter.page + step
        if page < 0 or (step > 0 and not self.queue.has_more):
            return
        self.filter = replace(self.filter, page=page)
        self.load()

    def action_refresh(self) -> None:
        self.load()
        if self.feedback_shown:
            self.load_feedback()

    # --- feedback ----------------------------------------------------------------------
    def action_toggle_feedback(self) -> None:
        panel = self.query_one("#screening-feedback", Static)
        self.feedback_shown = not self.feedback_shown
        panel.set_class(not self.feedback_shown, "-hidden")
        if self.feedback_shown:
            panel.update("loading…")
            self.load_feedback()

    def load_feedback(self) -> None:
        self.call_service(flag_feedback, on_result=self.show_feedback, group="screening-feedback")

    def show_feedback(self, feedback: FlagFeedback) -> None:
        table = Table(title="Flags per rule and team (tune the policy where acceptance is low)",
                      expand=True, title_justify="left")
        for name, width in (("Rule / team", 34), ("Raised", 7), ("Open", 6), ("Accepted", 9),
                            ("Rejected", 9), ("Changed", 8), ("Accept rate", 11)):
            table.add_column(name, width=width, justify="left" if width == 34 else "right")
        for group in (feedback.by_rule, feedback.by_team, [feedback.total]):
            for row in group:
                rate = "—" if row.acceptance_rate is None else f"{row.acceptance_rate:.0%}"
                table.add_row(row.key.replace("_", " "), str(row.raised), str(row.open),
                              str(row.accepted), str(row.rejected), str(row.changed), rate)
            table.add_section()
        self.query_one("#screening-feedback", Static).update(table)


def _rule_in_words(line: str) -> str:
    """``course_of_conduct: 4 crimes…`` → ``Course of conduct: 4 crimes…``
    (the rule's name as people read it; the stored explanation keeps it)."""
    rule, sep, rest = line.partition(": ")
    if sep and rule in RULE_NAMES:
        return f"{rule.replace('_', ' ').capitalize()}: {rest}"
    return line
