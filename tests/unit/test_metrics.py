"""Assurance metrics as pure functions: definitions, figures, the period and
its months, Victims' Code deadlines, roll-ups, allocation, breaches and
call-outs. Every expected figure is worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.policy import default_policy
from app.rules import metric_figures, metric_measures, metric_periods
from app.rules import metrics as m

POLICY = default_policy()
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


# --- definitions ---------------------------------------------------------
def test_every_definition_is_complete_and_unique() -> None:
    definitions = m.metric_definitions(POLICY)
    codes = [d.code for d in definitions]
    # 35 figures and one per checklist item of the dip-sampling policy
    assert len(codes) == len(set(codes)) == 35 + len(POLICY.dip_sampling.checklist)
    for d in definitions:
        for text in (d.title, d.numerator, d.denominator, d.period, d.filters):
            assert text.strip()
        assert d.recommendation in m.RECOMMENDATIONS
        assert d.unit in m.UNIT_TITLES
        if d.target is not None:
            assert d.higher_is_better is not None
    assert {d.recommendation for d in definitions} == set(m.RECOMMENDATIONS)


def test_definitions_carry_the_policy_values() -> None:
    by_code = m.definitions_by_code(POLICY)
    assert by_code[m.R14_REFERRALS].target == 60.0  # referral_rate_threshold 0.6, per 100
    assert by_code[m.R12_SDASH].target == 0.8  # attention_threshold
    assert by_code[m.R12_HIGH_RISK_NO_PLAN].target == pytest.approx(0.2)  # lower is better
    assert by_code[m.BREACH_ACK_MEDIAN].target == 24.0
    assert "by the end of the 2nd working day" in by_code[m.R14_REFERRED_IN_TIME].numerator
    assert "more than 2 times" in by_code[m.R17_TEAM_MOVES].numerator
    changed = replace(POLICY, victims_code=replace(POLICY.victims_code,
                                                   referral_rate_threshold=0.75))
    assert m.definitions_by_code(changed)[m.R14_REFERRALS].target == 75.0
    text = by_code[m.R14_REFERRALS].describe()
    assert "Needs attention when below 60.0 per 100" in text
    assert text.splitlines()[0] == "R14_REFERRALS: Stalking victims referred to specialist support, per 100"


# --- figures -------------------------------------------------------------
def test_figures_by_unit() -> None:
    assert metric_figures.figure("share", 3, 4) == metric_figures.Figure(3, 4, 0.75)
    assert metric_figures.figure("rate_per_100", 4, 5) == metric_figures.Figure(4, 5, 80.0)
    assert metric_figures.figure("count", 7, None) == metric_figures.Figure(7, None, 7.0)
    assert metric_figures.figure("share", 0, 0).value is None
    with pytest.raises(ValueError):
        metric_figures.figure("hours", 1, 1)


def test_median_figure_counts_unknowns_in_the_denominator_only() -> None:
    assert metric_figures.median_figure([6.0, 48.0, None, 1.0]) == metric_figures.Figure(3, 4, 6.0)
    assert metric_figures.median_figure([6.0, 48.0]) == metric_figures.Figure(2, 2, 27.0)
    assert metric_figures.median_figure([None]) == metric_figures.Figure(0, 1, None)


def test_status_against_the_target() -> None:
    by_code = m.definitions_by_code(POLICY)
    sdash = by_code[m.R12_SDASH]
    assert metric_figures.status_of(sdash, metric_figures.Figure(79, 100, 0.79)) == m.STATUS_ATTENTION
    assert metric_figures.status_of(sdash, metric_figures.Figure(80, 100, 0.80)) == m.STATUS_OK
    no_plan = by_code[m.R12_HIGH_RISK_NO_PLAN]  # lower is better: attention above 20%
    assert metric_figures.status_of(no_plan, metric_figures.Figure(21, 100, 0.21)) == m.STATUS_ATTENTION
    assert metric_figures.status_of(no_plan, metric_figures.Figure(20, 100, 0.20)) == m.STATUS_OK
    pins = by_code[m.PINS_RECORDED]
    assert metric_figures.status_of(pins, metric_figures.figure("count", 1, 10)) == m.STATUS_ATTENTION
    assert metric_figures.status_of(pins, metric_figures.figure("count", 0, 10)) == m.STATUS_OK
    online = by_code[m.R20_ONLINE]
    assert metric_figures.status_of(online, metric_figures.Figure(1, 2, 0.5)) == m.STATUS_INFO
    assert metric_figures.status_of(sdash, metric_figures.Figure(0, 0, None)) == m.STATUS_NO_DATA


def test_formatting() -> None:
    assert m.format_value("share", 5 / 6) == "83.3%"
    assert m.format_value("rate_per_100", 80.0) == "80.0 per 100"
    assert m.format_value("hours", 27.0) == "27.0 h"
    assert m.format_value("count", 3.0) == "3"
    assert m.format_value("share", None) == "—"
    by_code = m.definitions_by_code(POLICY)
    assert metric_figures.format_basis(by_code[m.R12_SDASH], metric_figures.Figure(5, 6, 5 / 6)) == "5 / 6"
    assert metric_figures.format_basis(by_code[m.BREACH_ACK_MEDIAN], metric_figures.Figure(3, 4, 6.0)) == "3 of 4 acknowledged"
    assert metric_figures.format_basis(by_code[m.R23_FLAGS_RAISED], metric_figures.Figure(5, None, 5.0)) == "5"


# --- the period ----------------------------------------------------------
def test_months_of_a_period_and_their_edges_in_london_time() -> None:
    assert metric_periods.period_months(date(2025, 3, 15), date(2025, 5, 2)) == (
        date(2025, 3, 1), date(2025, 4, 1), date(2025, 5, 1))
    edges = metric_periods.month_edges(date(2025, 3, 15), date(2025, 5, 2))
    # 15 March is GMT; 1 April and 1 May are BST (midnight London = 23:00 UTC the day before)
    assert edges == (utc(2025, 3, 15), utc(2025, 3, 31, 23), utc(2025, 4, 30, 23),
                     utc(2025, 5, 1, 23))
    assert metric_periods.month_index(utc(2025, 3, 31, 22, 59), edges) == 0
    assert metric_periods.month_index(utc(2025, 3, 31, 23, 0), edges) == 1  # 00:00 on 1 April in London
    assert metric_periods.month_index(utc(2025, 5, 1, 23, 0), edges) is None  # 2 May: not counted
    assert metric_periods.month_index(utc(2025, 3, 14, 23, 59), edges) is None


def test_an_empty_period_is_refused() -> None:
    with pytest.raises(ValueError, match="first day not counted"):
        metric_periods.period_months(date(2026, 1, 1), date(2026, 1, 1))


def test_default_period_and_shifting() -> None:
    assert metric_periods.default_period(date(2026, 3, 2)) == (date(2025, 3, 1), date(2026, 3, 1))
    assert metric_periods.default_period(date(2026, 1, 31)) == (date(2025, 1, 1), date(2026, 1, 1))
    assert metric_periods.shift_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert metric_periods.shift_months(date(2026, 1, 1), -13) == date(2024, 12, 1)


def test_referral_deadlines_skip_weekends_and_bank_holidays() -> None:
    steps = metric_periods.referral_deadline_steps(
        date(2026, 3, 26), date(2026, 4, 4), working_days=2,
        holidays=POLICY.calendar.holidays, now=utc(2026, 4, 9, 12))
    # Thu 26 Mar -> Mon 30; Fri 27, Sat 28, Sun 29 -> Tue 31 (BST from 29 March);
    # Mon 30 -> Wed 1 Apr; Tue 31 -> Thu 2; Wed 1 -> Tue 7 (Good Friday 3 and Easter
    # Monday 6 April are bank holidays); Thu 2, Fri 3 -> Wed 8
    got = [(s.starts_at, s.deadline) for s in steps]
    assert got == [
        (utc(2026, 3, 26), utc(2026, 3, 30, 22, 59) + timedelta(seconds=59)),
        (utc(2026, 3, 27), utc(2026, 3, 31, 22, 59) + timedelta(seconds=59)),
        (utc(2026, 3, 29, 23), utc(2026, 4, 1, 22, 59) + timedelta(seconds=59)),
        (utc(2026, 3, 30, 23), utc(2026, 4, 2, 22, 59) + timedelta(seconds=59)),
        (utc(2026, 3, 31, 23), utc(2026, 4, 7, 22, 59) + timedelta(seconds=59)),
        (utc(2026, 4, 1, 23), utc(2026, 4, 8, 22, 59) + timedelta(seconds=59)),
    ]
    # a deadline after "now" has not passed: those reports are not yet due
    later = metric_periods.referral_deadline_steps(date(2026, 3, 26), date(2026, 3, 28), working_days=2,
                                      holidays=POLICY.calendar.holidays,
                                      now=utc(2026, 3, 31, 9))
    assert [s.deadline is None for s in later] == [False, True]


# --- roll-ups ------------------------------------------------------------
MONTHS = (date(2026, 1, 1), date(2026, 2, 1))


def test_summarise_tallies_by_area_team_and_month() -> None:
    referrals = m.definitions_by_code(POLICY)[m.R14_REFERRALS]
    tallies = [
        metric_figures.Tally("Northern", "CID", 0, 1, 1),
        metric_figures.Tally("Northern", "Response", 0, 0, 1),
        metric_figures.Tally("Northern", "Response", 0, 0, 0),  # summed into the same cell
        metric_figures.Tally("Northern", "Safeguarding", 0, 1, 1),
        metric_figures.Tally("Southern", "CID", 1, 0, 1),
        metric_figures.Tally("Southern", m.UNALLOCATED, 1, 1, 1),
        metric_figures.Tally("Southern", "Orders", 1, 0, 0),  # nothing counted: left out of the breakdown
    ]
    result = metric_figures.summarise_tallies(referrals, tallies, MONTHS)
    assert result.overall == metric_figures.Figure(3, 5, 60.0)
    assert result.status == m.STATUS_OK  # 60 is not below 60
    assert [(a.area, a.figure.numerator, a.figure.denominator, a.status) for a in result.by_area] == [
        ("Northern", 2, 3, m.STATUS_OK), ("Southern", 1, 2, m.STATUS_ATTENTION)]
    assert [(t.area, t.team) for t in result.by_team] == [
        ("Northern", "CID"), ("Northern", "Response"), ("Northern", "Safeguarding"),
        ("Southern", "CID"), ("Southern", m.UNALLOCATED)]
    assert [(p.month, p.figure.numerator, p.figure.denominator) for p in result.trend] == [
        (date(2026, 1, 1), 2, 3), (date(2026, 2, 1), 1, 2)]
    rows = metric_figures.breakdown_rows(result)
    assert [(a, t) for a, t, _, _ in rows][:2] == [("Northern", ""), ("Northern", "CID")]
    assert result.for_team("Southern", "CID").figure.value == 0.0  # type: ignore[union-attr]


def test_a_count_without_denominator_and_an_empty_month() -> None:
    flags = m.definitions_by_code(POLICY)[m.R23_FLAGS_RAISED]
    result = metric_figures.summarise_tallies(flags, [metric_figures.Tally("Northern", "Response", 0, 2, None)], MONTHS)
    assert result.overall == metric_figures.Figure(2, None, 2.0)
    assert [p.figure.value for p in result.trend] == [2.0, 0.0]
    searches = m.definitions_by_code(POLICY)[m.R7_CLASSIFICATION_SEARCHES]
    force = metric_figures.summarise_tallies(searches, [metric_figures.Tally("", "", 1, 4, None)], MONTHS)
    assert force.by_area == () and force.overall.numerator == 4


def test_summarise_samples_takes_medians() -> None:
    median = m.definitions_by_code(POLICY)[m.BREACH_ACK_MEDIAN]
    samples = [metric_figures.Sample("Northern", "Orders", 0, 6.0), metric_figures.Sample("Northern", "Response", 0, 48.0),
               metric_figures.Sample("Northern", "Orders", 1, 1.0), metric_figures.Sample("Southern", "Orders", 1, None)]
    result = metric_figures.summarise_samples(median, samples, MONTHS)
    assert result.overall == metric_figures.Figure(3, 4, 6.0)
    assert [p.figure.value for p in result.trend] == [27.0, 1.0]
    assert [(a.area, a.figure.value) for a in result.by_area] == [("Northern", 6.0),
                                                                   ("Southern", None)]
    assert result.status == m.STATUS_OK


@given(st.lists(st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(["X", "Y"]),
                          st.integers(0, 2), st.integers(0, 5), st.integers(0, 5)), max_size=30))
def test_breakdowns_add_up_to_the_overall_figure(cells: list[tuple[str, str, int, int, int]]) -> None:
    definition = m.definitions_by_code(POLICY)[m.R13_SPO_DECISION]
    tallies = [metric_figures.Tally(a, t, mo, min(n, d), d) for a, t, mo, n, d in cells]
    months = (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1))
    result = metric_figures.summarise_tallies(definition, tallies, months)
    for parts in (result.by_area, result.by_team, result.trend):
        assert sum(p.figure.numerator for p in parts) == result.overall.numerator
        assert sum(p.figure.denominator or 0 for p in parts) == result.overall.denominator


# --- allocation ----------------------------------------------------------
def test_rule_families_are_what_the_allocation_rules_look_at() -> None:
    # (the figure itself is held to app.rules.allocation by a service test on every
    # combination of risk, domestic abuse, families, team and original team)
    assert metric_measures.rule_families(POLICY.allocation) == frozenset({"stalking", "breach"})


# --- breaches ------------------------------------------------------------
def _breach(**changes: object) -> metric_measures.BreachRecord:
    base = metric_measures.BreachRecord(
        breach_ref="B1", crime_ref="C1", area="Northern", team="Orders", month=0,
        reported_at=utc(2026, 1, 20, 10), occurred_at=utc(2026, 1, 20, 8), order_kind="RO",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_breach_outcome_in_time_and_due() -> None:
    record = _breach(acknowledged_at=utc(2026, 1, 21, 10), escalated_at=utc(2026, 1, 21, 10, 1),
                     reassessed_at=utc(2026, 1, 21, 9), threats_or_violence=True)
    outcome = metric_measures.breach_outcome(record, POLICY, NOW)
    assert outcome.acknowledged_hours == 24.0
    assert outcome.ack_due and outcome.ack_in_time  # exactly 24 h is in time
    assert outcome.reassessment_due and outcome.reassessed_in_time
    assert outcome.needs_escalation and outcome.escalation_due
    assert not outcome.escalated_in_time  # 24 h 1 min
    assert outcome.counts(m.BREACH_ESCALATED_IN_TIME) == (True, False)
    fresh = metric_measures.breach_outcome(_breach(reported_at=NOW - timedelta(hours=2)), POLICY, NOW)
    assert not fresh.ack_due and fresh.counts(m.BREACH_ACK_IN_TIME) == (False, False)
    assert fresh.counts(m.BREACH_ACK_MEDIAN) == (True, False)


def test_what_makes_a_breach_need_escalation() -> None:
    assert not metric_measures.needs_escalation(_breach(), POLICY)
    assert metric_measures.needs_escalation(_breach(order_kind="ISPO"), POLICY)
    assert metric_measures.needs_escalation(_breach(risk_level="high"), POLICY)
    assert metric_measures.needs_escalation(_breach(manual_level=2), POLICY)
    # repeated: two breaches by the pair within 30 days of each other
    other = utc(2026, 2, 18, 8)  # 29 days later
    assert metric_measures.needs_escalation(_breach(pair_breach_times=(utc(2026, 1, 20, 8), other)), POLICY)
    assert metric_measures.needs_escalation(_breach(pair_breach_times=(other,)), POLICY)  # this one added
    far = utc(2026, 2, 20, 8)  # 31 days later
    assert not metric_measures.needs_escalation(_breach(pair_breach_times=(utc(2026, 1, 20, 8), far)), POLICY)


def test_pair_repeats_counts_within_the_window() -> None:
    times = (utc(2026, 1, 1), utc(2026, 1, 10), utc(2026, 1, 10), utc(2026, 3, 1))
    assert metric_measures.pair_repeats(times, utc(2026, 1, 10), timedelta(days=30)) == 3
    # 10 Jan twice, 1 Mar, and this breach (not in the list)
    assert metric_measures.pair_repeats(times, utc(2026, 2, 5), timedelta(days=30)) == 4
    assert metric_measures.pair_repeats((), utc(2026, 2, 5), timedelta(days=30)) == 1


def test_breach_tallies_sum_per_cell() -> None:
    records = [
        _breach(acknowledged_at=utc(2026, 1, 20, 16), reassessed_at=utc(2026, 1, 21, 8)),
        _breach(breach_ref="B2", acknowledged_at=utc(2026, 1, 22, 10), risk_level="high",
                escalated_at=utc(2026, 1, 20, 20)),
        _breach(breach_ref="B3", area="Southern", month=1, reported_at=utc(2026, 2, 28, 20),
                occurred_at=utc(2026, 2, 28, 18), order_kind="SPO"),
    ]
    tallies, samples = metric_measures.breach_tallies(records, POLICY, NOW)
    got = {code: [(t.area, t.numerator, t.denominator) for t in rows]
           for code, rows in tallies.items()}
    assert got == {
        m.R12_BREACH_REASSESSED: [("Northern", 1, 2), ("Southern", 0, 1)],
        m.BREACH_ACK_IN_TIME: [("Northern", 1, 2), ("Southern", 0, 1)],
        m.BREACH_ESCALATED_IN_TIME: [("Northern", 1, 1), ("Southern", 0, 1)],
    }
    assert [s.value for s in samples] == [6.0, 48.0, None]
    assert metric_measures.breach_counts_in(records[1], m.BREACH_ESCALATED_IN_TIME, "numerator", POLICY, NOW)
    assert not metric_measures.breach_counts_in(records[0], m.BREACH_ESCALATED_IN_TIME, "denominator",
                                  POLICY, NOW)


# --- call-outs -----------------------------------------------------------
def test_referral_call_outs_name_areas_and_teams_below_the_threshold() -> None:
    referrals = m.definitions_by_code(POLICY)[m.R14_REFERRALS]
    result = metric_figures.summarise_tallies(referrals, [
        metric_figures.Tally("Northern", "CID", 0, 3, 4),  # 75
        metric_figures.Tally("Northern", "Response", 0, 1, 2),  # 50: below
        metric_figures.Tally("Southern", "CID", 0, 1, 3),  # 33.3: below, and so is Southern
    ], MONTHS)
    call_outs = metric_figures.referral_call_outs(result, 0.6)
    assert [(c.scope, c.area, c.team) for c in call_outs] == [
        ("area", "Southern", None), ("team", "Northern", "Response"), ("team", "Southern", "CID")]
    assert call_outs[0].message == (
        "rec 14.5: Southern referred 33.3 per 100 stalking victims (1 / 3), below 60")


def test_attention_call_outs_for_metrics_off_target() -> None:
    by_code = m.definitions_by_code(POLICY)
    low = metric_figures.summarise_tallies(by_code[m.R12_SDASH], [metric_figures.Tally("Northern", "CID", 0, 1, 2)], MONTHS)
    fine = metric_figures.summarise_tallies(by_code[m.R13_SPO_DECISION],
                               [metric_figures.Tally("Northern", "CID", 0, 9, 10)], MONTHS)
    context = metric_figures.summarise_tallies(by_code[m.R20_ONLINE], [metric_figures.Tally("Northern", "CID", 0, 0, 10)],
                                  MONTHS)
    call_outs = metric_figures.attention_call_outs([low, fine, context], "Northern")
    assert [(c.code, c.scope, c.area) for c in call_outs] == [(m.R12_SDASH, "area", "Northern")]
    assert call_outs[0].message == ("R12_SDASH Stalking and harassment cases with an S-DASH "
                                    "risk assessment: 50.0% Northern (1 / 2), below 80.0%")


@given(
    kind=st.sampled_from(["RO", "NMO", "SPO", "ISPO", "DVPO"]),
    threats=st.booleans(),
    risk=st.sampled_from([None, "standard", "medium", "high"]),
    manual=st.sampled_from([None, 1, 2, 3]),
    offsets=st.lists(st.integers(-60, 60), max_size=4),
)
def test_escalation_need_agrees_with_the_breach_board(kind: str, threats: bool, risk: str | None,
                                                      manual: int | None,
                                                      offsets: list[int]) -> None:
    """The assurance rule for "needs escalation" is the board's level-2 reasons."""
    from app.rules.escalation import LEVEL_2_CODES, MANUAL, BreachFacts, assess_breach

    occurred = utc(2026, 1, 20, 8)
    times = tuple(sorted({occurred + timedelta(days=d) for d in offsets}))
    record = _breach(order_kind=kind, threats_or_violence=threats, risk_level=risk,
                     manual_level=manual, pair_breach_times=times)
    facts = BreachFacts(order_kind=kind, occurred_at=occurred, reported_at=record.reported_at,
                        threats_or_violence=threats, risk_level=risk, pair_breach_times=times,
                        manual_level=manual)
    board = assess_breach(facts, POLICY.breach, NOW)
    expected = any(code in (*LEVEL_2_CODES, MANUAL) for code in board.codes)
    assert metric_measures.needs_escalation(record, POLICY) == expected


def test_training_current_within_the_policy_months() -> None:
    assert metric_measures.is_trained([date(2023, 3, 1)], date(2026, 2, 28), 36)
    assert not metric_measures.is_trained([date(2023, 2, 28)], date(2026, 2, 28), 36)  # exactly 36 months
    assert not metric_measures.is_trained([date(2026, 3, 1)], date(2026, 2, 28), 36)  # after the day
    months = (date(2026, 1, 1), date(2026, 2, 1))
    tallies = metric_measures.training_tallies([(0, "a"), (0, "b"), (0, "a"), (1, "b")],
                                 {"a": [date(2025, 1, 1)], "b": [date(2026, 2, 3)]},
                                 months, date(2026, 3, 1), 36)
    assert [(t.month, t.numerator, t.denominator) for t in tallies] == [(0, 1, 2), (1, 1, 1)]


def test_programmes_available_on_the_last_day_of_each_month() -> None:
    definition = m.definitions_by_code(POLICY)[m.R25_PROGRAMMES]
    months = (date(2026, 1, 1), date(2026, 2, 1))
    result = metric_measures.programmes_result(definition, [("N", date(2025, 1, 1), date(2026, 1, 31)),
                                              ("S", date(2026, 2, 28), None)],
                                 months, date(2026, 3, 1))
    assert [p.figure.value for p in result.trend] == [1.0, 1.0]
    assert result.overall.value == 1.0
    assert [(a.area, a.figure.value) for a in result.by_area] == [("N", 0.0), ("S", 1.0)]
