"""Dip sampling: the samples drawn (top), and the files of the selected one
with the reviewer's findings (bottom). `enter` on a sample lists its files;
`enter` on a file opens the case record; `v` opens the review of the
selected file (each checklist item met or not, a note on each item not met);
`m` records it as meeting every item. Both are for the sample's reviewer
only, refused in words before anything opens for anyone else."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from app.output import cell_text
from app.rules.metrics import UNALLOCATED
from app.services.dip_sampling import (
    SampleDetail,
    SampleFile,
    SampleSummary,
    list_samples,
    record_review,
    sample_detail,
)
from app.services.permissions import Permission
from app.widgets.columns import Col, RowBuffer
from app.widgets.table import VigilTable
from screens.base import VigilScreen, cursor_row_key
from screens.keys import refresh_key
from screens.review_dialog import ReviewDialog, ReviewResult

SAMPLE_COLUMNS: tuple[Col, ...] = (
    Col("id", "Sample", 7, keep=True), Col("area", "Area", 9), Col("period", "Reported", 23),
    Col("reviewer", "Reviewer", 16), Col("checklist", "Checklist", 10), Col("seed", "Seed", 11, keep=True),
    Col("files", "Files", 6, keep=True), Col("reviewed", "Reviewed", 9, keep=True), Col("drawn", "Drawn", 16, keep=True),
)
FILE_COLUMNS: tuple[Col, ...] = (
    Col("crime_ref", "Crime ref", 12, keep=True), Col("stratum", "Stratum", 28), Col("team", "Team", 13),
    Col("reviewed", "Reviewed", 16, keep=True), Col("met", "Met", 5, keep=True), Col("not_met", "Not met (note)", 60, flex=1, min=12),
)


class SamplingScreen(VigilScreen):
    """Dip samples of case files and the findings against the checklist."""

    PURPOSE = ("Dip sampling: samples of an area's stalking and harassment files, drawn "
               "reproducibly by risk and classification and never the reviewer's own cases, "
               "reviewed against the policy's checklist. enter lists a sample's files or opens "
               "a file's case; v reviews a file item by item, m records it as meeting every item "
               "(its reviewer only).")
    CSS_PATH = "sampling.tcss"
    AUTO_FOCUS = "#sampling-samples"
    ROLE_ACTIONS: ClassVar[dict[str, Permission]] = {
        "review": Permission.REVIEW_SAMPLE, "all_met": Permission.REVIEW_SAMPLE}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "review", "Review file", id="sampling.review"),
        Binding("m", "all_met", "All items met", id="sampling.all_met"),
        refresh_key("sampling"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.samples: dict[str, SampleSummary] = {}
        self.files: dict[str, SampleFile] = {}
        self.detail: SampleDetail | None = None
        self.title = "Dip sampling"

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static("loading…", id="sampling-summary", markup=False)
        yield VigilTable(id="sampling-samples", cursor_type="row", zebra_stripes=True)
        yield Static("choose a sample (enter)", id="sampling-files-title", markup=False)
        yield VigilTable(id="sampling-files", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sample_columns = self.fitted_columns(
            self.query_one("#sampling-samples", DataTable), SAMPLE_COLUMNS)
        self.file_columns = self.fitted_columns(
            self.query_one("#sampling-files", DataTable), FILE_COLUMNS)
        self.load()

    def load(self) -> None:
        self.call_service(list_samples, on_result=self.show, group="sampling")

    def show(self, samples: list[SampleSummary]) -> None:
        table = self.query_one("#sampling-samples", DataTable)
        selected = cursor_row_key(table)
        rows = RowBuffer()
        self.samples = {}
        for s in samples:
            key = str(s.sample_id)
            self.samples[key] = s
            rows.add_row(key, s.area, f"{s.date_from:%d/%m/%Y} to {s.date_to:%d/%m/%Y}",
                          s.reviewer, s.checklist_version, str(s.seed), str(s.files),
                          str(s.reviewed), cell_text(s.drawn_at), key=key)
        self.sample_columns.fill(rows)
        if selected and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        reviewed = sum(s.reviewed for s in samples)
        files = sum(s.files for s in samples)
        self.query_one("#sampling-summary", Static).update(
            f"{len(samples)} samples · {reviewed} of {files} files reviewed")
        if self.detail is not None:
            self.open_sample(self.detail.summary.sample_id)

    def open_sample(self, sample_id: int) -> None:
        self.call_service(sample_detail, sample_id, on_result=self.show_files,
                          group="sampling-files")

    def show_files(self, detail: SampleDetail) -> None:
        self.detail = detail
        table = self.query_one("#sampling-files", DataTable)
        selected = cursor_row_key(table)
        rows = RowBuffer()
        self.files = {}
        for f in detail.files:
            self.files[f.crime_ref] = f
            not_met = "; ".join(f"{x.item}: {x.note or ''}" for x in f.findings if not x.passed)
            rows.add_row(f.crime_ref, f.stratum, f.team or UNALLOCATED,
                          cell_text(f.reviewed_at) if f.reviewed_at else "—",
                          str(sum(1 for x in f.findings if x.passed)) if f.findings else "—",
                          not_met or "—", key=f.crime_ref)
        self.file_columns.fill(rows)
        if selected and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        s = detail.summary
        self.query_one("#sampling-files-title", Static).update(
            f"Sample {s.sample_id} · {s.area} · reviewer {s.reviewer} · {s.reviewed} of "
            f"{s.files} files reviewed")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value or ""
        if event.data_table.id == "sampling-samples" and key in self.samples:
            self.open_sample(self.samples[key].sample_id)
        elif event.data_table.id == "sampling-files" and key in self.files:
            self.vigil.open_case(key)

    def _reviewable(self) -> tuple[SampleDetail, str] | None:
        """The sample and file under the cursor, when the user may review it;
        otherwise says why (before any dialog opens) and gives None."""
        detail = self.detail
        key = cursor_row_key(self.query_one("#sampling-files", DataTable))
        if detail is None or not key:
            self.notify("choose a file of a sample first", severity="warning")
            return None
        actor = self.context.actor
        if not self.context.allowed(Permission.REVIEW_SAMPLE):
            self.notify(f"Reviewing dip-sampled files is for auditors and inspectors; you are "
                        f"{actor.username} ({actor.role}).", severity="error")
            return None
        if detail.summary.reviewer != actor.username:
            self.notify(f"Sample {detail.summary.sample_id} is for {detail.summary.reviewer} "
                        f"to review, not {actor.username}.", severity="error")
            return None
        if not detail.checklist:
            self.notify("this sample's checklist is not the policy's current one: draw a new "
                        "sample", severity="warning")
            return None
        return detail, key

    def action_review(self) -> None:
        found = self._reviewable()
        if found is None:
            return
        detail, key = found
        held = self.files.get(key)
        answers = {x.item: x.passed for x in held.findings} if held else {}
        notes = {x.item: x.note or "" for x in held.findings if x.note} if held else {}
        title = (f"Review of {key} · sample {detail.summary.sample_id} · checklist "
                 f"{detail.summary.checklist_version}")

        def decided(result: ReviewResult | None) -> None:
            if result is not None:
                self.call_service(record_review, sample_id=detail.summary.sample_id,
                                  crime_ref=key, answers=result.answers, notes=result.notes,
                                  on_result=lambda _: self.load(), group="sampling-review")

        self.app.push_screen(ReviewDialog(title, detail.checklist, answers, notes), decided)

    def action_all_met(self) -> None:
        found = self._reviewable()
        if found is None:
            return
        detail, key = found
        items = [code for code, _ in detail.checklist]
        question = (f"Record {key} as meeting every checklist item ({len(items)}) in sample "
                    f"{detail.summary.sample_id}?")
        self.confirm_then_call(question, record_review, sample_id=detail.summary.sample_id,
                               crime_ref=key, answers={i: True for i in items},
                               on_result=lambda _: self.load(), group="sampling-review")

    def action_refresh(self) -> None:
        self.load()
