"""S-DASH scoring and the rules on setting a level (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.policy import default_policy
from app.rules.risk import (
    AnswersError,
    assess,
    check_level,
    level_guidance,
    parse_answers,
    rationale_problem,
    review_due,
    suggested_level,
    yes_count,
)
from models.enums import RiskLevel

POLICY = default_policy().risk  # medium from 3 yes, high from 6, Q6/Q8 alone => medium
S, M, H = RiskLevel.STANDARD, RiskLevel.MEDIUM, RiskLevel.HIGH


def answers(text: str) -> tuple[bool, ...]:
    return parse_answers(text, 11)


def test_parse_answers_reads_y_and_n() -> None:
    assert answers("yNYnnnnnnnY") == (True, False, True) + (False,) * 7 + (True,)


@pytest.mark.parametrize(("text", "message"), [
    ("YN", "expected 11 Y/N letters, got 2"),
    ("YNYNNNNNNNX", "only Y and N allowed, found 'X'"),
])
def test_parse_answers_refuses_bad_forms(text: str, message: str) -> None:
    with pytest.raises(AnswersError, match=message):
        parse_answers(text, 11)


@pytest.mark.parametrize(("text", "count", "level"), [
    ("NNNNNNNNNNN", 0, S),
    ("YYNNNNNNNNN", 2, S),
    ("YYYNNNNNNNN", 3, M),   # medium from 3 yes
    ("NNNNNYNNNNN", 1, M),   # Q6 threats of violence alone: at least medium
    ("NNNNNNNYNNN", 1, M),   # Q8 violence in this course of conduct alone
    ("YYYYYNNNNNN", 5, M),
    ("YYYYYYNNNNN", 6, H),   # high from 6 yes
    ("YYYYYYYYYYY", 11, H),
])
def test_suggested_level_from_policy(text: str, count: int, level: RiskLevel) -> None:
    parsed = answers(text)
    assert yes_count(parsed) == count
    assert suggested_level(parsed, POLICY) == level


def test_suggestion_follows_the_policy_not_constants() -> None:
    strict = replace(POLICY, medium_from_yes=1, high_from_yes=2, at_least_medium_if_yes=())
    assert suggested_level(answers("YNNNNNNNNNN"), strict) == M
    assert suggested_level(answers("YYNNNNNNNNN"), strict) == H


def test_raising_on_professional_judgement_needs_nothing() -> None:
    check = check_level(suggested=S, level=H, previous=None)
    assert check.is_raise_on_judgement
    assert not check.needs_rationale
    assert not check.needs_second_approval


def test_lowering_below_suggestion_needs_rationale_and_four_eyes() -> None:
    check = check_level(suggested=M, level=S, previous=M)
    assert check.needs_rationale and check.is_downgrade_from_suggestion
    assert check.needs_second_approval


def test_lowering_from_previous_high_needs_second_approval() -> None:
    check = check_level(suggested=M, level=M, previous=H)
    assert check.needs_rationale and check.needs_second_approval
    assert not check.is_downgrade_from_suggestion


def test_lowering_below_a_high_suggestion_needs_second_approval() -> None:
    check = check_level(suggested=H, level=M, previous=None)
    assert check.needs_second_approval and check.is_downgrade_from_suggestion


def test_keeping_high_needs_no_approval() -> None:
    check = check_level(suggested=M, level=H, previous=H)
    assert not check.needs_second_approval and not check.needs_rationale


def test_assess_and_rationale_problem() -> None:
    outcome = assess(answers("YYYNNNNNNNN"), S, None, POLICY)
    assert (outcome.yes_count, outcome.suggested, outcome.rationale_required) == (3, M, True)
    assert rationale_problem(outcome, "  ") == (
        "setting standard below the suggested medium (3 yes) needs a written rationale")
    assert rationale_problem(outcome, "victim has moved out of area") is None
    from_high = assess(answers("NNNNNNNNNNN"), S, H, POLICY)
    assert rationale_problem(from_high, None) == (
        "lowering the level from high to standard needs a written rationale")
    assert "second supervisor's approval" in level_guidance(from_high)
    assert level_guidance(assess(answers("NNNNNNNNNNN"), H, None, POLICY)) == (
        "high is above the suggested standard: raised on professional judgement")
    assert level_guidance(assess(answers("NNNNNNNNNNN"), S, None, POLICY)) == (
        "standard follows the suggested level")


def test_review_due_by_level() -> None:
    at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert review_due(H, at, POLICY) == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    assert review_due(M, at, POLICY) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert review_due(S, at, POLICY) == datetime(2026, 5, 31, 8, 0, tzinfo=UTC)


@given(st.lists(st.booleans(), min_size=11, max_size=11),
       st.sampled_from([S, M, H]), st.sampled_from([None, S, M, H]))
def test_second_approval_exactly_when_leaving_high_or_below_the_suggestion(
        flags: list[bool], level: RiskLevel, previous: RiskLevel | None) -> None:
    outcome = assess(tuple(flags), level, previous, POLICY)
    leaving_high = level != H and H in (outcome.suggested, previous)
    below = level.rank < outcome.suggested.rank
    assert outcome.check.needs_second_approval == (leaving_high or below)
    # never more than the suggestion needs a rationale unless leaving high
    if level.rank >= outcome.suggested.rank and not leaving_high:
        assert rationale_problem(outcome, None) is None
    else:
        assert rationale_problem(outcome, None) is not None
