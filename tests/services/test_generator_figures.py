"""The synthetic force carries the rows behind the action plan's figures:
on a seeded force every new figure has a value, PINs carry a
superintendent's authority but for one or two exceptions, and the same seed
gives the same rows."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.db import Database
from app.rules import metrics as m
from app.services.assurance import assurance_report
from models import Case, PerpetratorReferral, TrainingRecord
from seed.generator import generate
from tests.conftest import NOW, ContextFactory

NEW_FIGURES = (m.R10_TRAINED, m.R16_REFERRAL_OUTCOME, m.R16_PENDING_DAYS, m.R18_SEARCHED,
               m.R18_ARRESTED, m.R18_DIGITAL, m.R25_MULTI_AGENCY, m.R25_PERPETRATOR_REFERRED,
               m.R25_PROGRAMMES, m.PINS_UNAUTHORISED, m.DIP_COMPLIANCE)


def test_a_seeded_force_shows_every_new_figure(database: Database,
                                               make_context: ContextFactory) -> None:
    report = generate(database, cases=2500, seed=4, now=NOW)
    assert report.counts["training_record"] > 0 and report.counts["perpetrator_referral"] > 0
    assurance = assurance_report(make_context("analyst"), date_from=date(2025, 3, 1),
                                 date_to=date(2026, 3, 1))
    results = {r.code: r for r in assurance.results}
    for code in NEW_FIGURES:
        assert results[code].overall.value is not None, code
    for code in (m.R10_TRAINED, m.R18_ARRESTED, m.R18_DIGITAL, m.R25_PERPETRATOR_REFERRED):
        assert 0 < results[code].overall.value < 1, code  # type: ignore[operator]
    with database.read() as session:
        pins, authorised = session.execute(
            select(func.count(), func.count(Case.pin_authorised_by))
            .where(Case.pin_issued.is_(True))).one()
        # PINs are rare since 2017; one or two recent ones lack an authority
        assert pins >= 1 and 1 <= pins - authorised <= 2
        trained = session.execute(select(func.count(func.distinct(TrainingRecord.officer)))).scalar()
        officers = session.execute(select(func.count(func.distinct(Case.officer)))).scalar()
        assert 0.6 * officers < trained < officers  # most officers trained, some not
        referred = session.execute(select(func.count()).select_from(PerpetratorReferral)).scalar()
        assert referred > 0


def test_the_same_seed_gives_the_same_figures_rows(database: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = Database(f"sqlite:///{tmp_path / 'again.db'}")
    generate(database, cases=600, seed=9, now=NOW)
    generate(other, cases=600, seed=9, now=NOW)

    def rows(db: Database) -> tuple[list, list]:  # type: ignore[type-arg]
        with db.read() as session:
            cases = session.execute(select(Case.crime_ref, Case.pin_authorised_by,
                                           Case.arrested_at, Case.digital_enquiries)
                                    .order_by(Case.id)).all()
            training = session.execute(select(TrainingRecord.officer, TrainingRecord.course,
                                              TrainingRecord.completed_on)
                                       .order_by(TrainingRecord.id)).all()
        return [tuple(r) for r in cases], [tuple(r) for r in training]

    assert rows(database) == rows(other)
