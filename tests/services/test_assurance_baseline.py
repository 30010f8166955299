"""The benchmark's hand-written baseline computes the assurance report's
figures: every metric, overall, by area, by team and by month, on a generated
force and on the hand-built force of test_assurance_service, both engines.
(A baseline doing less work than the report would flatter the ratio.)"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.db import Database
from app.policy import default_policy
from app.rules import metric_figures
from app.rules import metrics as m
from app.services.assurance import AssuranceReport, assurance_report
from benchmarks.assurance_baseline import BaselineFigures, baseline_report_sql
from tests.conftest import NOW
from tests.services.test_assurance_service import FROM, TO, build_force

Flat = list[tuple[Any, ...]]


def _flat(result: metric_figures.MetricResult) -> Flat:
    """Every figure of a result with its scope; values to 6 places (the
    baseline's medians are worked out in SQL)."""

    def one(scope: tuple[Any, ...], f: metric_figures.Figure) -> tuple[Any, ...]:
        return (*scope, f.numerator, f.denominator,
                None if f.value is None else round(f.value, 6))

    return ([one(("overall",), result.overall)]
            + [one(("area", a.area), a.figure) for a in result.by_area]
            + [one(("team", t.area, t.team), t.figure) for t in result.by_team]
            + [one(("month", p.month), p.figure) for p in result.trend])


def _baseline_results(report: AssuranceReport, found: BaselineFigures) -> dict[str, Flat]:
    results: dict[str, Flat] = {}
    for definition in report.definitions:
        code = definition.code
        if code == m.R25_PROGRAMMES:
            results[code] = (
                # the period's last day is its last month's
                [("overall", int(found.programmes_by_month[-1][1]))]
                + [("area", area, int(n)) for area, n in found.programmes_by_area]
                + [("month", report.months[i], int(n)) for i, n in found.programmes_by_month])
        elif code in found.samples:
            samples = [metric_figures.Sample(*row) for row in found.samples[code]]
            results[code] = _flat(metric_figures.summarise_samples(definition, samples,
                                                                   report.months))
        else:
            tallies = [metric_figures.Tally(*row) for row in found.tallies[code]]
            results[code] = _flat(metric_figures.summarise_tallies(definition, tallies,
                                                                   report.months))
    return results


def _report_results(report: AssuranceReport) -> dict[str, Flat]:
    results: dict[str, Flat] = {}
    for result in report.results:
        if result.code == m.R25_PROGRAMMES:
            results[result.code] = (
                [("overall", int(result.overall.numerator))]
                + [("area", a.area, int(a.figure.numerator)) for a in result.by_area]
                + [("month", p.month, int(p.figure.numerator)) for p in result.trend])
        else:
            results[result.code] = _flat(result)
    return results


def _compare(database: Database, report: AssuranceReport) -> None:
    if database.dialect != "sqlite":
        pytest.skip("the assurance baseline is measured on SQLite (vigil bench)")
    raw = database.engine.raw_connection()
    try:
        found = baseline_report_sql(raw.driver_connection, default_policy(), report.date_from,
                                    report.date_to, NOW)
    finally:
        raw.close()
    baseline = _baseline_results(report, found)
    product = _report_results(report)
    assert set(baseline) == set(product)
    for code in product:
        assert baseline[code] == product[code], code


def test_the_baseline_gives_the_hand_built_force_its_figures(database: Database,
                                                             make_context) -> None:  # type: ignore[no-untyped-def]
    build_force(database)
    report = assurance_report(make_context("analyst"), date_from=FROM, date_to=TO)
    _compare(database, report)


@pytest.mark.parametrize(("date_from", "date_to"), [
    (date(2025, 3, 1), date(2026, 3, 1)),
    (date(2025, 6, 1), date(2026, 2, 1)),
], ids=["twelve-months", "eight-months"])
def test_the_baseline_gives_a_generated_force_its_figures(database: Database, make_context,  # type: ignore[no-untyped-def]
                                                          date_from: date, date_to: date) -> None:
    from seed.generator import generate

    generate(database, cases=3000, seed=11, now=NOW)
    report = assurance_report(make_context("analyst"), date_from=date_from, date_to=date_to)
    assert report.result(m.R14_REFERRALS).overall.denominator
    _compare(database, report)


def test_the_training_twin_agrees_with_the_rule(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    """Rec 10 is counted in SQL (run_training_twin); the rule is
    metric_measures.training_tallies over the (month, officer) rows and the
    officers' completions."""
    from sqlalchemy import select

    from app.rules import metric_measures
    from app.services.assurance_more import run_training_twin, training_tallies
    from app.services.assurance_sql import reference_codes, report_period, run_core
    from models import Case, TrainingRecord
    from seed.generator import generate

    generate(database, cases=3000, seed=5, now=NOW)
    policy = default_policy()
    period = report_period(date(2025, 3, 1), date(2026, 2, 15))
    with database.read() as session:
        sh = reference_codes(session).stalking_or_harassment
        twin = training_tallies(session, policy, sh, period, None)
        month = period.month_of(Case.reported_at)
        rows = [(int(mo), officer) for mo, officer in run_core(session, select(
            month, Case.officer).where(period.contains(Case.reported_at),
                                       Case.officer.is_not(None),
                                       Case.principal_code.in_(sh)))]
        completions: dict[str, list[date]] = {}
        for officer, done in run_core(session, select(
                TrainingRecord.officer, TrainingRecord.completed_on).where(
                TrainingRecord.course.in_(policy.training.courses))):
            completions.setdefault(officer, []).append(done)
        named = (select(month.label("month"), Case.officer.label("officer"))
                 .where(period.contains(Case.reported_at), Case.officer.is_not(None),
                        Case.principal_code.in_(sh))
                 .group_by(month, Case.officer).subquery("named"))
        by_principal = run_training_twin(session, policy, period, named)
    rule = metric_measures.training_tallies(rows, completions, period.months, period.date_to,
                                            policy.training.valid_months)
    assert by_principal == rule
    assert sum(t.denominator or 0 for t in twin) >= sum(t.denominator or 0 for t in rule) > 50
    assert 0 < sum(t.numerator for t in rule) < sum(t.denominator or 0 for t in rule)
