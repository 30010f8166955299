"""The S-DASH risk assessment form: the questionnaire's eleven yes/no
questions (versioned data in ``seed/questionnaires``), the live yes count and
the suggested level from the force's policy, the level set, the rationale and
the risk management plan.

Raising the level above the suggestion is professional judgement; lowering it
below needs a rationale; lowering from high waits for a second supervisor.
The form says which applies before it is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Select, Static

from app.dates import format_local
from app.errors import BadInput
from app.rules.risk import assess, level_guidance, rationale_problem
from app.services.risk import record_risk_assessment
from models.enums import RiskLevel
from screens.case_forms import CaseEditDialog
from seed.reference import questionnaire

LEVELS = [(level.value, level.value) for level in RiskLevel]


class RiskAssessmentForm(CaseEditDialog):
    """S-DASH as a form; saves through ``record_risk_assessment``."""

    TITLE_TEXT = "Risk assessment"
    DEFAULT_CSS = """
    RiskAssessmentForm > Vertical { width: 110; }
    RiskAssessmentForm Checkbox { height: auto; width: 100%; border: none; padding: 0 1; }
    RiskAssessmentForm #risk-score { height: auto; margin-top: 1; text-style: bold; }
    RiskAssessmentForm #risk-guidance { height: auto; color: $text-muted; }
    RiskAssessmentForm #risk-guidance.-warning { color: $warning; }
    """

    def __init__(self, case_screen: Any) -> None:
        super().__init__(case_screen)
        policy = case_screen.context.policy.risk
        self.form = questionnaire(policy.tool, policy.tool_version)
        # the level follows the suggestion until the assessor picks another
        self.level_chosen_by_user = False
        self._set_by_form: list[str] = []  # values the form put in the level select

    def compose_fields(self) -> ComposeResult:
        record = self.record
        current = record.risk_level or "unassessed"
        latest = record.latest_assessment
        # a re-assessment starts from the last answers and the level the case
        # holds (never from all-No and standard on a high-risk case); the
        # assessor goes through each question again
        previous = latest.answers if latest and len(latest.answers) == len(
            self.form.questions) else ""
        start_level = record.risk_level if record.risk_level in {
            level.value for level in RiskLevel} else RiskLevel.STANDARD.value
        if record.risk_level and not previous:
            self.level_chosen_by_user = True  # no answers to suggest from: keep the level
        note = (f" Starting from the assessment of {format_local(latest.assessed_at)}: "
                "go through each answer again." if previous else "")
        yield Static(f"{self.form.title}. Ask when: {self.form.ask_when}. Current level: "
                     f"{current}.{note}", classes="form-note", markup=False)
        for number, question in enumerate(self.form.questions, 1):
            answered = previous[number - 1:number] == "Y"
            yield Checkbox(f"{number:>2}. {question}", value=answered, id=f"risk-q{number}")
        yield Static("", id="risk-score", markup=False)
        yield self.label("Level set")
        yield Select(LEVELS, allow_blank=False, value=start_level, id="risk-level")
        yield Static("", id="risk-guidance", markup=False)
        yield self.label("Rationale (required when lowering below the suggestion or from high)")
        yield Input(id="risk-rationale")
        yield self.label("Risk management plan")
        yield Input(value=(latest.management_plan or "") if latest else "", id="risk-plan")

    def on_mount(self) -> None:
        self.query_one("#risk-q1", Checkbox).focus()
        self.refresh_score()

    # --- live score -----------------------------------------------------------
    def answers(self) -> tuple[bool, ...]:
        return tuple(self.query_one(f"#risk-q{n}", Checkbox).value
                     for n in range(1, len(self.form.questions) + 1))

    def level(self) -> RiskLevel:
        value = self.query_one("#risk-level", Select).selection
        return RiskLevel(value or RiskLevel.STANDARD.value)

    def previous(self) -> RiskLevel | None:
        return RiskLevel(self.record.risk_level) if self.record.risk_level else None

    def refresh_score(self) -> None:
        policy = self.case_screen.context.policy.risk
        answers = self.answers()
        suggestion = assess(answers, self.level(), self.previous(), policy).suggested
        if not self.level_chosen_by_user and self.level() != suggestion:
            self._set_by_form.append(suggestion.value)
            self.query_one("#risk-level", Select).value = suggestion.value
        outcome = assess(answers, self.level(), self.previous(), policy)
        self.query_one("#risk-score", Static).update(
            f"Yes answers: {outcome.yes_count} of {len(answers)} · suggested level: "
            f"{outcome.suggested.value} (force policy: medium from {policy.medium_from_yes}, "
            f"high from {policy.high_from_yes})")
        guidance = self.query_one("#risk-guidance", Static)
        guidance.update(level_guidance(outcome))
        guidance.set_class(outcome.check.needs_rationale, "-warning")

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.refresh_score()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "risk-level":
            suggested = assess(self.answers(), self.level(), self.previous(),
                               self.case_screen.context.policy.risk).suggested
            if event.value in self._set_by_form:
                self._set_by_form.remove(event.value)
            elif event.value != suggested.value:
                self.level_chosen_by_user = True
            self.refresh_score()

    def on_reloaded(self) -> None:
        self.refresh_score()

    # --- saving ---------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        rationale = self.text("#risk-rationale") or None
        outcome = assess(self.answers(), self.level(), self.previous(),
                         self.case_screen.context.policy.risk)
        problem = rationale_problem(outcome, rationale)
        if problem:
            raise BadInput(problem)
        return {
            "crime_ref": self.record.crime_ref,
            "answers": "".join("Y" if a else "N" for a in self.answers()),
            "level": self.level().value,
            "rationale": rationale,
            "management_plan": self.text("#risk-plan") or None,
        }

    def service(self) -> Callable[..., Any]:
        return record_risk_assessment
