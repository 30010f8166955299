"""The edit forms of the case record, as modal dialogs.

Each form calls its service (through the one worker, ``call_service``) with
the case version the record was read at. On success it closes with the
service's result. A failure is shown by the App as every failure is; the form
stays open and filled. On a conflicting edit by someone else the App's dialog
offers a reload (as does `ctrl+r` here), which fetches the current record and
version so the user can check and save again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from app.dates import DateError, format_local, parse_datetime
from app.errors import BadInput
from app.failures import FailureKind, describe_failure
from app.rules.allocation import moves_after, verdict_for_team
from app.services.case_edits import (
    add_included_classification,
    reallocate,
    record_multi_agency_referral,
    record_search,
    remove_included_classification,
)
from app.services.cases import open_case
from app.services.victim_care import refer_victim, update_referral_outcome, update_victim_care
from models.enums import MultiAgencyKind, ReferralOutcome, SpoStatus
from screens.base import ServiceCaller
from seed.reference import classifications, force_organisation, organisation

if TYPE_CHECKING:
    from app.services.case_views import CaseRecord
    from screens.case import CaseScreen

DATE_HINT = "dd/mm/yyyy HH:MM, ISO, or 'now'"


class CaseEditDialog(ServiceCaller, ModalScreen[Any]):
    """Base of the case edit forms: fields, an error line, Save / Reload / Cancel."""

    DEFAULT_CSS = """
    CaseEditDialog { align: center middle; }
    CaseEditDialog > Vertical {
        width: 96; height: auto; max-height: 90%; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    CaseEditDialog .form-title { text-style: bold; margin-bottom: 1; }
    CaseEditDialog .form-fields { height: auto; max-height: 30; }
    CaseEditDialog .form-label { color: $text-muted; margin-top: 1; }
    CaseEditDialog .form-note { color: $text-muted; height: auto; }
    CaseEditDialog .form-note.-warning { color: $warning; }
    CaseEditDialog #form-error { color: $error; height: auto; margin-top: 1; }
    CaseEditDialog.-conflict #form-error { color: $warning; text-style: bold; }
    CaseEditDialog .form-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    CaseEditDialog .form-buttons Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
        Binding("ctrl+r", "reload", "Reload case", id="form.reload"),
    ]
    TITLE_TEXT = "Edit"

    def __init__(self, case_screen: CaseScreen) -> None:
        super().__init__()
        self.case_screen = case_screen
        self.busy = False

    @property
    def record(self) -> CaseRecord:
        assert self.case_screen.record is not None
        return self.case_screen.record

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self.TITLE_TEXT} · {self.record.crime_ref}", classes="form-title",
                        markup=False)
            with VerticalScroll(classes="form-fields"):
                yield from self.compose_fields()
            yield Static("", id="form-error", markup=False)
            with Horizontal(classes="form-buttons"):
                yield Button("Save", variant="primary", id="form-save")
                yield Button("Reload case", id="form-reload")
                yield Button("Cancel", id="form-cancel")

    # --- fitting the terminal ---------------------------------------------------
    #: rows the dialog needs besides its fields: border, padding, title, the
    #: error line and the buttons
    CHROME_ROWS: ClassVar[int] = 12

    def fit_fields(self) -> None:
        """The fields scroll inside what the terminal leaves, so the buttons are
        never cut (a long form at 45 rows keeps Save on screen)."""
        fields = self.query_one(".form-fields", VerticalScroll)
        fields.styles.max_height = max(4, int(self.app.size.height * 0.9) - self.CHROME_ROWS)

    def on_resize(self, event: events.Resize) -> None:
        self.fit_fields()

    # --- to override ----------------------------------------------------------
    def compose_fields(self) -> ComposeResult:
        yield from ()

    def values(self) -> dict[str, Any]:
        """The keyword arguments for the service (raise BadInput to refuse)."""
        return {}

    def service(self) -> Callable[..., Any]:
        raise NotImplementedError

    # --- helpers for subclasses ------------------------------------------------
    @staticmethod
    def label(text: str) -> Label:
        return Label(text, classes="form-label", markup=False)

    def text(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

    def choice(self, selector: str, what: str) -> Any:
        value = self.query_one(selector, Select).selection
        if value is None:
            raise BadInput(f"choose {what}")
        return value

    def moment(self, selector: str, what: str, *, required: bool = False) -> datetime | None:
        raw = self.text(selector)
        if not raw:
            if required:
                raise BadInput(f"{what} is required")
            return None
        if raw.lower() == "now":
            return self.case_screen.context.now()
        try:
            return parse_datetime(raw)
        except DateError as exc:
            raise BadInput(f"{what}: {exc}") from None

    def now_text(self) -> str:
        return format_local(self.case_screen.context.now())

    # --- flow ----------------------------------------------------------------
    def show_error(self, message: str, *, conflict: bool = False) -> None:
        self.set_class(conflict, "-conflict")
        self.query_one("#form-error", Static).update(message)

    def action_save(self) -> None:
        if self.busy:
            return
        try:
            kwargs = self.values()
        except BadInput as exc:
            self.show_error(str(exc))
            return
        version = self.record.version
        self.busy = True
        self.show_error("saving…")
        self.call_service(self.service(), expected_version=version, **kwargs,
                          on_result=self.dismiss, on_failure=self._refused, group="form")

    def _refused(self, error: Exception) -> bool:
        """Not saved: the form keeps the input (the App shows why)."""
        self.busy = False
        conflict = describe_failure(error).kind is FailureKind.CONFLICT
        self.show_error("Not saved: the case changed since you opened it. Your input is kept; "
                        "press ctrl+r to reload, then save again." if conflict else
                        "Not saved: your input is kept.", conflict=conflict)
        return False

    def reload_after_conflict(self, crime_ref: str | None) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        screen = self.case_screen
        self.call_service(open_case, crime_ref=screen.crime_ref, reason=screen.view_reason,
                          on_result=self._reloaded, group="form-reload")

    def _reloaded(self, record: CaseRecord) -> None:
        self.case_screen.show_record(record)
        self.set_class(False, "-conflict")
        self.show_error(f"Reloaded: {record.crime_ref} is now at version {record.version}. "
                        "Your input is kept; check it against the record and save again.")
        self.on_reloaded()

    def on_reloaded(self) -> None:
        """Refresh anything derived from the record (e.g. choice lists)."""

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "form-save":
            self.action_save()
        elif event.button.id == "form-reload":
            self.action_reload()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()


def _options(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(label, value) for label, value in pairs]


# --- classifications ---------------------------------------------------------------
class IncludedDialog(CaseEditDialog):
    """One included classification (``#included-code``) added or removed, with
    a reason (``#included-reason``)."""

    def values(self) -> dict[str, Any]:
        return {"crime_ref": self.record.crime_ref,
                "code": self.choice("#included-code", "a classification"),
                "reason": self.text("#included-reason")}


class AddIncludedDialog(IncludedDialog):
    TITLE_TEXT = "Add an included classification"

    def compose_fields(self) -> ComposeResult:
        taken = set(self.record.codes)
        choices = [(f"{ref.code}  {ref.title}", ref.code)
                   for ref in classifications().values() if ref.code not in taken]
        yield self.label("Classification (another crime on the same report; searchable, not counted)")
        yield Select(choices, prompt="Choose a classification", id="included-code")
        yield self.label("Reason")
        yield Input(placeholder="why this crime is also on the report", id="included-reason")

    def on_mount(self) -> None:
        self.query_one("#included-code", Select).focus()

    def service(self) -> Callable[..., Any]:
        return add_included_classification


class RemoveIncludedDialog(IncludedDialog):
    TITLE_TEXT = "Remove an included classification"

    def compose_fields(self) -> ComposeResult:
        choices = [(f"{c.code}  {c.title}", c.code) for c in self.record.included]
        yield self.label("Included classification")
        yield Select(choices, prompt="Choose a classification", id="included-code",
                     value=choices[0][1] if len(choices) == 1 else Select.NULL)
        yield self.label("Reason")
        yield Input(placeholder="why it was recorded in error", id="included-reason")

    def on_mount(self) -> None:
        self.query_one("#included-reason", Input).focus()

    def service(self) -> Callable[..., Any]:
        return remove_included_classification


# --- victim care ----------------------------------------------------------------------
_CONSENT = [("Not yet asked", "unknown"), ("Yes: consents to referral", "yes"),
            ("No: asked and refused (nothing outstanding)", "no")]


class VictimCareDialog(CaseEditDialog):
    TITLE_TEXT = "Victim care (Victims' Code)"

    def compose_fields(self) -> ComposeResult:
        care = self.record.victim_care
        consent = "unknown" if care is None or care.consent is None else (
            "yes" if care.consent else "no")
        yield self.label(f"Needs assessment done ({DATE_HINT})")
        yield Input(value=format_local(care.needs_assessed_at) if care else "",
                    placeholder=DATE_HINT, id="care-needs")
        yield Checkbox("Eligible for enhanced rights (persistently targeted, vulnerable or "
                       "intimidated)", value=care.enhanced_rights if care else True,
                       id="care-enhanced")
        yield self.label(f"Rights explained to the victim ({DATE_HINT})")
        yield Input(value=format_local(care.rights_explained_at) if care else "",
                    placeholder=DATE_HINT, id="care-rights")
        yield self.label("Consent to referral to support services")
        yield Select(_CONSENT, allow_blank=False, value=consent, id="care-consent")
        yield self.label(f"Last investigation update to the victim, right 6 ({DATE_HINT})")
        yield Input(value=format_local(care.last_update_at) if care and care.last_update_at
                    else "", placeholder=DATE_HINT, id="care-update")
        yield self.label(f"Victim Personal Statement offered, right 7 ({DATE_HINT}; "
                         "empty keeps what is recorded)")
        yield Input(value="", placeholder=DATE_HINT, id="care-vps")

    def on_mount(self) -> None:
        self.query_one("#care-needs", Input).focus()

    def values(self) -> dict[str, Any]:
        consent = self.query_one("#care-consent", Select).selection
        return {
            "crime_ref": self.record.crime_ref,
            "needs_assessed_at": self.moment("#care-needs", "needs assessment date"),
            "enhanced_rights": self.query_one("#care-enhanced", Checkbox).value,
            "rights_explained_at": self.moment("#care-rights", "rights explained date"),
            "consent": None if consent in (None, "unknown") else consent == "yes",
            "last_update_at": self.moment("#care-update", "last update date"),
            **({"vps_offered_at": vps} if (vps := self.moment("#care-vps", "VPS offer date"))
               else {}),
        }

    def service(self) -> Callable[..., Any]:
        return update_victim_care


class ReferDialog(CaseEditDialog):
    TITLE_TEXT = "Refer the victim to support"

    def compose_fields(self) -> ComposeResult:
        services = [(f"{s.code}  {s.name}", s.code) for s in organisation().services]
        yield self.label("Service")
        yield Select(services, prompt="Choose a service", id="refer-service")
        yield self.label(f"Referred at ({DATE_HINT})")
        yield Input(value=self.now_text(), placeholder=DATE_HINT, id="refer-at")
        if self.record.domestic_abuse:
            consent = self.record.victim_care.consent if self.record.victim_care else None
            yield Static("Domestic abuse: the victim's consent is needed unless the case is "
                         f"high risk (consent recorded: {'yes' if consent else 'no'}).",
                         classes="form-note", markup=False)

    def on_mount(self) -> None:
        self.query_one("#refer-service", Select).focus()

    def values(self) -> dict[str, Any]:
        return {"crime_ref": self.record.crime_ref,
                "service": self.choice("#refer-service", "a service"),
                "referred_at": self.moment("#refer-at", "referral date", required=True)}

    def service(self) -> Callable[..., Any]:
        return refer_victim


class ReferralOutcomeDialog(CaseEditDialog):
    TITLE_TEXT = "Referral outcome"

    def __init__(self, case_screen: CaseScreen, referral_id: int | None = None) -> None:
        super().__init__(case_screen)
        self.referral_id = referral_id

    def compose_fields(self) -> ComposeResult:
        choices = [(f"{r.service}  referred {format_local(r.referred_at)}  ({r.outcome})", str(r.id))
                   for r in self.record.referrals]
        chosen = str(self.referral_id) if self.referral_id is not None else (
            choices[-1][1] if choices else Select.NULL)
        yield self.label("Referral")
        yield Select(choices, prompt="Choose a referral", id="outcome-referral", value=chosen)
        yield self.label("Outcome")
        yield Select([(o.value.replace("_", " "), o.value) for o in ReferralOutcome],
                     prompt="Choose an outcome", id="outcome-value")

    def on_mount(self) -> None:
        self.query_one("#outcome-value", Select).focus()

    def values(self) -> dict[str, Any]:
        return {"referral_id": int(self.choice("#outcome-referral", "a referral")),
                "outcome": self.choice("#outcome-value", "an outcome")}

    def service(self) -> Callable[..., Any]:
        return update_referral_outcome


class MultiAgencyDialog(CaseEditDialog):
    TITLE_TEXT = "Multi-agency referral"

    def compose_fields(self) -> ComposeResult:
        yield self.label("Referred to")
        yield Select([(k.value, k.value) for k in MultiAgencyKind], prompt="MARAC, MAPPA or MASIP",
                     id="multi-kind")
        yield self.label(f"Referred at ({DATE_HINT})")
        yield Input(value=self.now_text(), placeholder=DATE_HINT, id="multi-at")
        yield self.label("Outcome (optional)")
        yield Input(id="multi-outcome")

    def on_mount(self) -> None:
        self.query_one("#multi-kind", Select).focus()

    def values(self) -> dict[str, Any]:
        return {"crime_ref": self.record.crime_ref,
                "kind": self.choice("#multi-kind", "MARAC, MAPPA or MASIP"),
                "referred_at": self.moment("#multi-at", "referral date", required=True),
                "outcome": self.text("#multi-outcome") or None}

    def service(self) -> Callable[..., Any]:
        return record_multi_agency_referral


# --- allocation ------------------------------------------------------------------------
class ReallocateDialog(CaseEditDialog):
    TITLE_TEXT = "Reallocate"

    def compose_fields(self) -> ComposeResult:
        org = force_organisation(self.app.context.policy)  # type: ignore[attr-defined]
        teams = [(team, team) for team in org.teams]
        yield Static(f"Now: {self.record.allocation_team or 'unallocated'}"
                     + (f" ({self.record.officer})" if self.record.officer else ""),
                     classes="form-note", markup=False)
        yield self.label("Team")
        yield Select(teams, prompt="Choose a team", id="realloc-team")
        yield Static("", id="realloc-policy", classes="form-note", markup=False)
        yield self.label("Officer (optional)")
        yield Input(id="realloc-officer")
        yield self.label("Reason")
        yield Input(placeholder="why the case moves", id="realloc-reason")

    def on_mount(self) -> None:
        self.query_one("#realloc-team", Select).focus()
        self._show_policy()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._show_policy()

    def on_reloaded(self) -> None:
        self._show_policy()

    def _show_policy(self) -> None:
        team = self.query_one("#realloc-team", Select).selection
        note = self.query_one("#realloc-policy", Static)
        if team is None:
            note.update("Choose a team to see the allocation policy check.")
            return
        policy = self.case_screen.context.policy.allocation
        verdict = verdict_for_team(self.record.allocation_facts, team, policy)
        moves = moves_after([a.team for a in self.record.allocations], team)
        mark = "✓ complies with policy" if verdict.compliant else "✗ contrary to policy"
        warn = (f"; {moves} team moves (more than {policy.max_team_moves})"
                if moves > policy.max_team_moves else f"; {moves} team moves")
        note.update(f"{mark}: {verdict.explanation}{warn}")
        note.set_class(not verdict.compliant, "-warning")

    def values(self) -> dict[str, Any]:
        return {"crime_ref": self.record.crime_ref,
                "team": self.choice("#realloc-team", "a team"),
                "officer": self.text("#realloc-officer") or None,
                "reason": self.text("#realloc-reason")}

    def service(self) -> Callable[..., Any]:
        return reallocate


# --- searches under the stalking powers ---------------------------------------------------
class SearchRecordDialog(CaseEditDialog):
    TITLE_TEXT = "Record a search of premises"

    def compose_fields(self) -> ComposeResult:
        powers = [(power, power) for power in organisation().search_powers]
        yield self.label("Power")
        yield Select(powers, prompt="Choose the power used", id="search-power")
        yield self.label(f"Conducted at ({DATE_HINT})")
        yield Input(placeholder=DATE_HINT, id="search-at")
        yield self.label("Officer in charge of the search")
        yield Input(id="search-officer")
        yield self.label("Authorised by (warrant: the justice of the peace; s18: the inspector)")
        yield Input(id="search-authorised")
        yield self.label("Premises")
        yield Input(id="search-premises")
        yield self.label("Items seized")
        yield Input(id="search-items")

    def on_mount(self) -> None:
        self.query_one("#search-power", Select).focus()

    def values(self) -> dict[str, Any]:
        return {"crime_ref": self.record.crime_ref,
                "power": self.choice("#search-power", "the power used"),
                "conducted_at": self.moment("#search-at", "search date", required=True),
                "officer": self.text("#search-officer"),
                "authorised_by": self.text("#search-authorised") or None,
                "premises": self.text("#search-premises") or None,
                "items_seized": self.text("#search-items") or None}

    def service(self) -> Callable[..., Any]:
        return record_search


# --- SPO decision ---------------------------------------------------------------------------
class SpoDecisionDialog(CaseEditDialog):
    TITLE_TEXT = "Stalking Protection Order decision"

    def __init__(self, case_screen: CaseScreen, record_spo_decision: Callable[..., Any]) -> None:
        super().__init__(case_screen)
        self._record = record_spo_decision

    def compose_fields(self) -> ComposeResult:
        statuses = [(s.value.replace("_", " "), s.value) for s in SpoStatus
                    if s != SpoStatus.NOT_CONSIDERED]
        yield Static(f"Now: {self.record.spo_status.replace('_', ' ')}", classes="form-note",
                     markup=False)
        yield self.label("Decision")
        yield Select(statuses, prompt="Choose the decision", id="spo-status")
        yield self.label("Rationale (required when not appropriate)")
        yield Input(id="spo-rationale")

    def on_mount(self) -> None:
        self.query_one("#spo-status", Select).focus()

    def values(self) -> dict[str, Any]:
        return {"crime_ref": self.record.crime_ref,
                "status": self.choice("#spo-status", "the decision"),
                "rationale": self.text("#spo-rationale") or None}

    def service(self) -> Callable[..., Any]:
        return self._record
