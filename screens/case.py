"""The case record: every screen leads here.

Tabs show what the inspections look at (classifications, S-DASH risk, orders
and breaches, victim care, allocation, the course of conduct, searches under
the stalking powers, the audit trail); keys open the edit forms. Opening a
case is a recorded consultation; outside the user's area a reason is asked
first (:func:`open_case_record`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from app.dates import format_local
from app.failures import describe_failure
from app.output import cell_text
from app.sanitise import clean_text
from app.services.audit_trail import AuditEntry, case_audit_trail
from app.services.case_views import CaseRecord
from app.services.cases import needs_reason, open_case
from app.services.orders import record_spo_decision
from app.services.pair_timeline import Timeline, pair_timeline
from app.services.permissions import Permission
from app.services.risk import approve_risk_assessment
from app.widgets.table import VigilTable
from screens.base import VigilScreen
from screens.case_dmm import CaseDmmPanel
from screens.dialogs import ReasonDialog

TABS: tuple[tuple[str, str], ...] = (
    ("tab-summary", "Summary"),
    ("tab-classifications", "Classifications"),
    ("tab-risk", "Risk"),
    ("tab-orders", "Orders & breaches"),
    ("tab-victim", "Victim care"),
    ("tab-allocation", "Allocation"),
    ("tab-conduct", "Course of conduct"),
    ("tab-searches", "Searches"),
    ("tab-audit", "Audit"),
)

# (column key, label, width) for each table
TABLES: dict[str, tuple[tuple[str, str, int], ...]] = {
    "classifications-table": (("code", "Code", 6), ("title", "Title", 44), ("kind", "As", 9),
                              ("source", "Source", 10), ("by", "Added by", 20),
                              ("at", "Added", 16), ("reason", "Reason", 40)),
    "risk-table": (("at", "Assessed", 16), ("tool", "Tool", 12), ("answers", "Answers", 12),
                   ("yes", "Yes", 4), ("suggested", "Suggested", 9), ("level", "Set", 8),
                   ("assessor", "Assessor", 20), ("review", "Review due", 16),
                   ("approval", "Approval", 30)),
    "orders-table": (("ref", "Order", 14), ("kind", "Kind", 5), ("status", "Status", 26),
                     ("applied", "Applied", 16), ("granted", "Granted", 16),
                     ("served", "Served", 16), ("expires", "Expires", 16)),
    "breaches-table": (("ref", "Breach", 14), ("order", "Order", 14),
                       ("crime", "Breach crime", 14), ("original", "Original crime", 14),
                       ("occurred", "Occurred", 16), ("ack", "Acknowledged", 30),
                       ("outcome", "Outcome", 16)),
    "spo-table": (("at", "Decided", 16), ("status", "Decision", 28), ("by", "By", 20),
                  ("rationale", "Rationale", 60)),
    "referrals-table": (("service", "Service", 9), ("name", "Service name", 44),
                        ("at", "Referred", 16), ("outcome", "Outcome", 10), ("by", "By", 20)),
    "multi-table": (("kind", "Referral", 8), ("at", "Referred", 16), ("by", "By", 20),
                    ("outcome", "Outcome", 30)),
    "allocations-table": (("at", "From", 16), ("team", "Team", 13), ("officer", "Officer", 20),
                          ("by", "By", 20), ("reason", "Reason", 60)),
    "conduct-table": (("crime", "Crime ref", 14), ("reported", "Reported", 16),
                      ("codes", "Classification", 16), ("area", "Area", 9),
                      ("risk", "Risk", 8), ("status", "Status", 6)),
    "timeline-table": (("at", "When", 16), ("kind", "Event", 12), ("ref", "Reference", 14),
                       ("title", "What", 44), ("level", "Level / status", 16),
                       ("detail", "Detail", 50)),
    "searches-table": (("at", "Conducted", 16), ("power", "Power", 32), ("officer", "Officer", 18),
                       ("authorised", "Authorised by", 18), ("premises", "Premises", 24),
                       ("items", "Items seized", 30)),
    "audit-table": (("at", "When", 16), ("user", "Who", 20), ("role", "Role", 10),
                    ("action", "Action", 7), ("reason", "Why", 70), ("changed", "Changed", 30)),
}


def _t(moment: Any) -> str:
    return format_local(moment) if moment else "—"


def _clean(text: str | None, width: int | None = None) -> str:
    cleaned = clean_text(text or "", keep_newlines=False)
    return cleaned[:width] if width else cleaned


class CaseScreen(VigilScreen):
    """One case, in tabs, with its edit forms."""

    PURPOSE = ("The case record: what the inspections look at on one crime. Read the tabs; "
               "edit with the keys below (each change is checked, locked against other "
               "editors and audited). Opening it is recorded as a consultation.")
    CSS_PATH = "case.tcss"
    AUTO_FOCUS = "#case-tabs Tabs"
    ROLE_ACTIONS: ClassVar[dict[str, Permission]] = {
        **{action: Permission.EDIT_CASE for action in (
            "add_included", "remove_included", "risk", "victim_care", "refer",
            "referral_outcome", "multi_agency", "reallocate", "record_search", "spo_decision",
            "change_action")},
        "approve": Permission.APPROVE_RISK_DOWNGRADE,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="case.back"),
        Binding("i", "add_included", "Add classification", id="case.add_included"),
        Binding("I", "remove_included", "Remove classification", id="case.remove_included"),
        Binding("k", "risk", "Risk assessment", id="case.risk"),
        Binding("A", "approve", "Approve downgrade", id="case.approve"),
        Binding("v", "victim_care", "Victim care", id="case.victim_care"),
        Binding("f", "refer", "Refer victim", id="case.refer"),
        Binding("u", "referral_outcome", "Referral outcome", show=False,
                id="case.referral_outcome"),
        Binding("m", "multi_agency", "Multi-agency referral", show=False, id="case.multi_agency"),
        Binding("l", "reallocate", "Reallocate", id="case.reallocate"),
        Binding("s", "record_search", "Record search", id="case.record_search"),
        Binding("o", "spo_decision", "SPO decision", id="case.spo_decision"),
        Binding("c", "change_action", "Action done/reassign", show=False,
                id="case.change_action"),
        Binding("ctrl+r", "reload", "Reload", id="case.reload"),
    ]

    def __init__(self, crime_ref: str, *, reason: str | None = None) -> None:
        super().__init__()
        self.crime_ref = crime_ref
        self.view_reason = reason
        self.record: CaseRecord | None = None
        self.audit_loaded = False
        self.timeline_loaded = False
        self.title = f"Case {crime_ref}"

    # --- layout ------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(f"{self.crime_ref} · loading…", id="case-heading", markup=False)
        with TabbedContent(id="case-tabs"):
            with TabPane("Summary", id="tab-summary"), VerticalScroll():
                yield Static("", id="summary-text", markup=False)
            with TabPane("Classifications", id="tab-classifications"):
                yield Static("", id="classifications-note", classes="case-note", markup=False)
                yield self._table("classifications-table")
            with TabPane("Risk", id="tab-risk"):
                yield Static("", id="risk-note", classes="case-note", markup=False)
                yield self._table("risk-table")
                yield Static("", id="risk-latest", classes="case-note", markup=False)
            with TabPane("Orders & breaches", id="tab-orders"), VerticalScroll():
                yield Static("", id="spo-note", classes="case-note", markup=False)
                yield Static("Orders", classes="case-subtitle")
                yield self._table("orders-table")
                yield Static("Breaches", classes="case-subtitle")
                yield self._table("breaches-table")
                yield Static("SPO decisions", classes="case-subtitle")
                yield self._table("spo-table")
            with TabPane("Victim care", id="tab-victim"), VerticalScroll():
                yield Static("", id="victim-note", classes="case-note", markup=False)
                yield Static("Referrals to support", classes="case-subtitle")
                yield self._table("referrals-table")
                yield Static("Multi-agency referrals", classes="case-subtitle")
                yield self._table("multi-table")
            with TabPane("Allocation", id="tab-allocation"):
                yield Static("", id="allocation-note", classes="case-note", markup=False)
                yield self._table("allocations-table")
            with TabPane("Course of conduct", id="tab-conduct"), VerticalScroll():
                yield Static("", id="conduct-note", classes="case-note", markup=False)
                yield self._table("conduct-table")
                yield Static("Timeline of the pair: crimes, breaches, risk, orders, SPO decisions",
                             id="timeline-note", classes="case-subtitle", markup=False)
                yield self._table("timeline-table")
            with TabPane("Searches", id="tab-searches"):
                yield Static("Searches of premises under the stalking powers (PHA 1997 s2B) "
                             "and other powers, recorded for audit.", classes="case-note",
                             markup=False)
                yield self._table("searches-table")
            with TabPane("DMM & work queue", id="tab-dmm"):
                yield CaseDmmPanel(self.crime_ref, id="case-dmm")
            with TabPane("Audit", id="tab-audit"):
                yield Static("Who viewed and who changed this case, when and why "
                             "(opening this tab is itself recorded).", id="audit-note",
                             classes="case-note", markup=False)
                yield self._table("audit-table")
        yield Footer()

    @staticmethod
    def _table(table_id: str) -> DataTable[str]:
        table: DataTable[str] = VigilTable(id=table_id, cursor_type="row", zebra_stripes=True,
                                          classes="case-table")
        for key, label, width in TABLES[table_id]:
            table.add_column(label, key=key, width=width)
        return table

    def on_mount(self) -> None:
        self.load()

    # --- data --------------------------------------------------------------------
    @property
    def version(self) -> int | None:
        return self.record.version if self.record else None

    def load(self) -> None:
        self.call_service(open_case, crime_ref=self.crime_ref, reason=self.view_reason,
                          on_result=self.show_record, on_failure=self._load_failed, group="case")

    def _load_failed(self, error: Exception) -> bool:
        """Not loaded: the heading says so (the App shows the failure)."""
        if self.record is None:
            self.query_one("#case-heading", Static).update(
                f"{self.crime_ref}: {describe_failure(error).message}")
        return False

    def action_area(self, action: str) -> str | None:
        return self.record.area_command if self.record is not None else None

    def show_record(self, record: CaseRecord) -> None:
        self.record = record
        self.refresh_bindings()  # edits are for the case's own area
        flags = [name for name, on in (("domestic abuse", record.domestic_abuse),
                                       ("online", record.online), ("PIN", record.pin_issued))
                 if on]
        pending = " · downgrade awaiting approval" if record.pending_assessment else ""
        self.query_one("#case-heading", Static).update(
            f"{record.crime_ref} · {record.principal.code} {record.principal.title}"
            f"{' +' + ','.join(c.code for c in record.included) if record.included else ''}"
            f" · {record.area_command} · risk {record.risk_level or 'unassessed'}{pending}"
            f" · {record.allocation_team or 'unallocated'} · {record.status}"
            f"{' · ' + ', '.join(flags) if flags else ''} · version {record.version}"
            f"{'' if record.can_edit else ' · read only'}")
        self._summary(record)
        self._classifications(record)
        self._risk(record)
        self._orders(record)
        self._victim(record)
        self._allocation(record)
        self._conduct(record)
        self._fill("searches-table", [
            (str(s.id), (_t(s.conducted_at), s.power, _clean(s.officer),
                         _clean(s.authorised_by) or "—", _clean(s.premises) or "—",
                         _clean(s.items_seized) or "—"))
            for s in record.searches])
        if self.audit_loaded:
            self.load_audit()
        if self.timeline_loaded:
            self.load_timeline()

    def _fill(self, table_id: str, rows: Iterable[tuple[str, Sequence[str]]]) -> None:
        table = self.query_one(f"#{table_id}", DataTable)
        selected = None
        if table.row_count:
            try:
                selected = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            except Exception:  # cursor outside the rows
                selected = None
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))

    def _note(self, widget_id: str, text: str) -> None:
        self.query_one(f"#{widget_id}", Static).update(text)

    def _summary(self, r: CaseRecord) -> None:
        lines = [
            f"Crime {r.crime_ref}   reported {_t(r.reported_at)}   area {r.area_command}",
            f"Occurred {_t(r.occurred_from)} to {_t(r.occurred_to)}",
            f"Status {r.status}" + (f" ({r.outcome}, closed {_t(r.closed_at)})"
                                    if r.status == "closed" else ""),
            f"Victim {r.victim_ref} {_clean(r.victim_name)}   suspect "
            f"{r.suspect_ref or 'unknown'} {_clean(r.suspect_name)}   relationship "
            f"{r.relationship.replace('_', ' ')}",
            f"Domestic abuse {cell_text(r.domestic_abuse)}   online {cell_text(r.online)}   "
            f"Police Information Notice {cell_text(r.pin_issued)}"
            + ("   ⚠ a PIN is an exception for supervisors" if r.pin_issued else ""),
            f"Classification {r.principal.code} {r.principal.title}"
            + (f"   included {', '.join(c.code for c in r.included)}" if r.included else ""),
            f"Risk {r.risk_level or 'unassessed'}   assessed {_t(r.risk_assessed_at)}   "
            f"review due {_t(r.risk_review_due)}"
            + ("   REVIEW OVERDUE" if r.review_overdue else "")
            + (f"   re-assessment due {_t(r.reassessment_due_at)}" if r.reassessment_due_at else ""),
            f"Allocation {r.allocation_team or 'unallocated'}"
            + (f" ({_clean(r.officer)})" if r.officer else "")
            + f"   policy: {'complies' if r.policy_check.compliant else 'CONTRARY'}",
            f"SPO {r.spo_status.replace('_', ' ')}   orders {len(r.orders)}   "
            f"breaches {len(r.breaches)}",
            f"Victim care: referrals {len(r.referrals)}   course of conduct: "
            f"{len(r.course_of_conduct)} other crimes of this pair",
            f"Linked crime {r.linked_crime_ref}" if r.linked_crime_ref else "",
            f"Last activity {_t(r.last_activity_at)}   version {r.version}",
            "",
            _clean(r.summary, None) if r.summary else "(no summary)",
        ]
        if r.out_of_area:
            lines.insert(0, f"Viewed outside your area; reason recorded: {_clean(r.view_reason)}")
        self._note("summary-text", "\n".join(line for line in lines if line is not None))

    def _classifications(self, r: CaseRecord) -> None:
        self._note("classifications-note",
                   "The principal classification is counted; included classifications are "
                   "other crimes on the same report, searchable (rec 7). i adds, I removes.")
        rows = [(r.principal.code, (r.principal.code, r.principal.title, "principal", "—", "—",
                                    "—", "—"))]
        rows += [(c.code, (c.code, c.title, "included", c.source or "—", _clean(c.added_by) or "—",
                           _t(c.added_at), _clean(c.reason) or "—")) for c in r.included]
        self._fill("classifications-table", rows)

    def _risk(self, r: CaseRecord) -> None:
        pending = r.pending_assessment
        note = (f"Current level {r.risk_level or 'unassessed'} · assessed {_t(r.risk_assessed_at)} "
                f"· review due {_t(r.risk_review_due)}")
        if r.reassessment_due_at:
            note += f" · re-assessment due {_t(r.reassessment_due_at)}"
        if pending:
            note += (f"\n⚠ {pending.assessor} set {pending.level} (from high) on "
                     f"{_t(pending.assessed_at)}: awaiting a second supervisor's approval (A)")
        self._note("risk-note", note + "\nk records a new S-DASH assessment.")
        rows = []
        for a in r.assessments:
            if a.awaiting_approval:
                approval = "awaiting approval"
            elif a.approved_by:
                approval = f"approved by {a.approved_by}"
            else:
                approval = "—"
            rows.append((str(a.id), (_t(a.assessed_at), f"{a.tool} {a.tool_version}", a.answers,
                                     str(a.yes_count), a.suggested_level, a.level,
                                     _clean(a.assessor), _t(a.review_due), approval)))
        self._fill("risk-table", rows)
        latest = r.latest_assessment
        self._note("risk-latest", (
            f"Latest rationale: {_clean(latest.rationale) or '—'}\n"
            f"Risk management plan: {_clean(latest.management_plan) or '—'}") if latest else
            "No S-DASH assessment recorded.")

    def _orders(self, r: CaseRecord) -> None:
        latest = r.spo_decisions[0] if r.spo_decisions else None
        self._note("spo-note", f"SPO decision: {r.spo_status.replace('_', ' ')}" + (
            f" ({_t(latest.decided_at)} by {latest.decided_by})" if latest else ""))
        self._fill("orders-table", [
            (o.order_ref, (o.order_ref, o.kind, o.status.replace("_", " "), _t(o.applied_at),
                           _t(o.granted_at), _t(o.served_at), _t(o.expires_at)))
            for o in r.orders])
        self._fill("breaches-table", [
            (b.breach_ref, (b.breach_ref, b.order_ref, b.breach_crime_ref, b.original_crime_ref,
                            _t(b.occurred_at),
                            f"{_t(b.acknowledged_at)} {b.acknowledged_by or ''}".strip()
                            if b.acknowledged_at else "NOT ACKNOWLEDGED",
                            b.outcome or "—"))
            for b in r.breaches])
        self._fill("spo-table", [
            (str(i), (_t(d.decided_at), d.status.replace("_", " "), d.decided_by,
                      _clean(d.rationale) or "—"))
            for i, d in enumerate(r.spo_decisions)])

    def _victim(self, r: CaseRecord) -> None:
        care = r.victim_care
        if care is None:
            text = "Victims' Code: nothing recorded yet (v to record)."
        else:
            consent = "not recorded" if care.consent is None else ("yes" if care.consent else "no")
            text = (f"Needs assessment {_t(care.needs_assessed_at)} · enhanced rights "
                    f"{cell_text(care.enhanced_rights)} · rights explained "
                    f"{_t(care.rights_explained_at)} · consent to referral {consent}")
        self._note("victim-note", text + "\nv victim care · f refer · u referral outcome · "
                                         "m multi-agency referral")
        self._fill("referrals-table", [
            (str(x.id), (x.service, x.service_name, _t(x.referred_at), x.outcome,
                         _clean(x.referred_by) or "—"))
            for x in r.referrals])
        self._fill("multi-table", [
            (str(m.id), (m.kind, _t(m.referred_at), _clean(m.referred_by) or "—",
                         _clean(m.outcome) or "—"))
            for m in r.multi_agency])

    def _allocation(self, r: CaseRecord) -> None:
        check = r.policy_check
        verdict = "complies with policy" if check.compliant else "CONTRARY TO POLICY"
        moves = f"{r.team_moves} team moves" + (" (too many)" if r.too_many_moves else "")
        self._note("allocation-note",
                   f"Held by {r.allocation_team or 'nobody'}"
                   + (f" ({_clean(r.officer)})" if r.officer else "")
                   + f" · {verdict}: {check.explanation} · {moves}\nl reallocates.")
        self.query_one("#allocation-note", Static).set_class(not check.compliant, "-warning")
        self._fill("allocations-table", [
            (str(i), (_t(a.allocated_at), a.team, _clean(a.officer) or "—",
                      _clean(a.allocated_by) or "—", _clean(a.reason) or "—"))
            for i, a in enumerate(r.allocations)])

    def _conduct(self, r: CaseRecord) -> None:
        if r.suspect_ref is None:
            note = "Suspect unknown: no victim–suspect pair to follow."
        else:
            note = (f"Other crimes of victim {r.victim_ref} and suspect {r.suspect_ref} "
                    f"({len(r.course_of_conduct)}); enter opens one.")
        self._note("conduct-note", note)
        self._fill("conduct-table", [
            (c.crime_ref, (c.crime_ref, _t(c.reported_at),
                           c.principal_code + (f" +{','.join(c.included_codes)}"
                                               if c.included_codes else ""),
                           c.area_command, c.risk_level or "—", c.status))
            for c in r.course_of_conduct])

    # --- audit tab -----------------------------------------------------------------
    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-audit" and not self.audit_loaded:
            self.audit_loaded = True
            self.load_audit()
        elif event.pane.id == "tab-conduct" and not self.timeline_loaded:
            self.timeline_loaded = True
            self.load_timeline()
        elif event.pane.id == "tab-dmm" and self.record is not None:
            self.query_one(CaseDmmPanel).load()

    # --- course-of-conduct timeline -----------------------------------------------
    def load_timeline(self) -> None:
        if self.record is not None and self.record.suspect_ref is None:
            self._note("timeline-note", "No timeline: the suspect is unknown.")
            return
        self.call_service(pair_timeline, crime_ref=self.crime_ref, reason=self.view_reason,
                          on_result=self.show_timeline, group="case-timeline")

    def show_timeline(self, timeline: Timeline) -> None:
        events = timeline.events
        self._note("timeline-note", f"Timeline of the pair ({len(events)} events, oldest "
                                    "first): crimes, breaches, risk, orders, SPO decisions")
        self._fill("timeline-table", [
            (str(i), (_t(e.at), str(e.kind).replace("_", " "), _clean(e.ref),
                      _clean(e.title, 80), _clean(e.level) or "—", _clean(e.detail, 120) or "—"))
            for i, e in enumerate(events)])

    def load_audit(self) -> None:
        if self.record is not None and not self.record.can_view_audit:
            self._note("audit-note", "Your role cannot read audit trails (supervisors and "
                                     "auditors can).")
            return
        self.call_service(case_audit_trail, crime_ref=self.crime_ref, reason=self.view_reason,
                          on_result=self.show_audit, group="case-audit")

    def show_audit(self, entries: list[AuditEntry]) -> None:
        self._fill("audit-table", [
            (str(i), (_t(e.at), _clean(e.username), e.role, e.action, _clean(e.reason),
                      ", ".join(e.changed)))
            for i, e in enumerate(entries)])

    # --- actions -------------------------------------------------------------------
    def _can_edit(self) -> bool:
        if self.record is None:
            self.notify("The case is still loading.", severity="warning")
            return False
        if not self.record.can_edit:
            self.notify(f"You cannot change {self.crime_ref}: your role or area does not "
                        "allow it.", severity="warning")
            return False
        return True

    def _open_form(self, build: Callable[[], Any]) -> None:
        if self._can_edit():
            self.app.push_screen(build(), self._form_done)

    def _form_done(self, result: Any) -> None:
        if result is None:
            return
        message = getattr(result, "message", None) or "saved"
        self.notify(message, timeout=6)
        self.load()

    def action_change_action(self) -> None:
        self.query_one(CaseDmmPanel).change_action()

    def action_add_included(self) -> None:
        from screens.case_forms import AddIncludedDialog

        self._open_form(lambda: AddIncludedDialog(self))

    def action_remove_included(self) -> None:
        from screens.case_forms import RemoveIncludedDialog

        if self.record is not None and not self.record.included:
            self.notify("This case has no included classification to remove.", severity="warning")
            return
        self._open_form(lambda: RemoveIncludedDialog(self))

    def action_risk(self) -> None:
        from screens.risk_form import RiskAssessmentForm

        self._open_form(lambda: RiskAssessmentForm(self))

    def action_victim_care(self) -> None:
        from screens.case_forms import VictimCareDialog

        self._open_form(lambda: VictimCareDialog(self))

    def action_refer(self) -> None:
        from screens.case_forms import ReferDialog

        self._open_form(lambda: ReferDialog(self))

    def action_referral_outcome(self) -> None:
        from screens.case_forms import ReferralOutcomeDialog

        if self.record is not None and not self.record.referrals:
            self.notify("No referral recorded yet (f refers the victim).", severity="warning")
            return
        table = self.query_one("#referrals-table", DataTable)
        chosen = None
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            chosen = int(key) if key else None
        self._open_form(lambda: ReferralOutcomeDialog(self, chosen))

    def action_multi_agency(self) -> None:
        from screens.case_forms import MultiAgencyDialog

        self._open_form(lambda: MultiAgencyDialog(self))

    def action_reallocate(self) -> None:
        from screens.case_forms import ReallocateDialog

        self._open_form(lambda: ReallocateDialog(self))

    def action_record_search(self) -> None:
        from screens.case_forms import SearchRecordDialog

        self._open_form(lambda: SearchRecordDialog(self))

    def action_spo_decision(self) -> None:
        from screens.case_forms import SpoDecisionDialog

        self._open_form(lambda: SpoDecisionDialog(self, record_spo_decision))

    def action_approve(self) -> None:
        record = self.record
        if record is None:
            return
        pending = record.pending_assessment
        if pending is None:
            self.notify("No risk downgrade is awaiting approval on this case.", severity="warning")
            return
        if not record.can_approve:
            self.notify("Only a supervisor of this area can approve a downgrade from high.",
                        severity="warning")
            return
        question = (f"Approve lowering {record.crime_ref} from {record.risk_level or 'high'} to "
                    f"{pending.level}? Assessed by {pending.assessor} on "
                    f"{_t(pending.assessed_at)}. Rationale: {_clean(pending.rationale) or '—'}")
        self.confirm_then_call(question, approve_risk_assessment, assessment_id=pending.id,
                               expected_version=record.version, on_result=self._form_done,
                               group="case-approve")

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "conduct-table" and event.row_key.value:
            event.stop()
            self.vigil.open_case(event.row_key.value)


def open_case_record(app: App[Any], crime_ref: str) -> None:
    """Open the case record; outside the user's area ask for the reason first
    (a consultation must say why, DPA 2018 s62), then record the view with it."""
    context = app.context  # type: ignore[attr-defined]

    def ask(needed: bool) -> None:
        if not needed:
            app.push_screen(CaseScreen(crime_ref))
            return

        def answered(reason: str | None) -> None:
            if reason:
                app.push_screen(CaseScreen(crime_ref, reason=reason))

        app.push_screen(ReasonDialog(
            f"{crime_ref} is outside your area ({context.actor.area_command}). Viewing it is "
            "recorded: say why you need to see it.", prompt="Reason for viewing"), answered)

    app.call_service(needs_reason, crime_ref=crime_ref, on_result=ask,  # type: ignore[attr-defined]
                     group="open-case", exclusive=False)
