"""The problem profile on a small hand-made force, with hand counts: volumes
by area, team and classification per month, repeat victims and suspects,
the online share, breach rates and SPO use (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.errors import PermissionDenied
from app.services.profile import ProblemProfile, Section, problem_profile
from tests.factories import add_breach, add_case, add_order

FROM, TO = date(2026, 1, 1), date(2026, 3, 1)  # January and February


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def build(database) -> None:  # type: ignore[no-untyped-def]
    """Seven crimes in the period (and one before it):

    ======  ========  ========  ====  ======  ==============  ======
    crime   reported  area      code  team    victim/suspect  online
    ======  ========  ========  ====  ======  ==============  ======
    P1      05 Jan    Northern  8Q    CID     V1 / S1         yes
    P2      20 Jan    Northern  8L    --      V1 / S1         no
    P3      25 Jan    Southern  8R    Resp.   V2 / S2         yes
    P4      03 Feb    Northern  BSPO  Orders  V1 / S1         no   (breach of P1's SPO)
    P5      10 Feb    Southern  8Q    CID     V3 / S2         no
    P6      14 Feb    Eastern   8L    Resp.   V4 / none       yes
    P7      27 Feb    Southern  8L    Resp.   V2 / S3         no
    P0      10 Dec    Northern  8Q    CID     V1 / S1         (before the period)
    ======  ========  ========  ====  ======  ==============  ======

    Orders: P1 SPO applied 8 Jan, granted; P5 interim SPO applied 12 Feb,
    applied (not granted); P0 SPO applied 12 Dec (before the period).
    Breaches: P4 of P1's SPO, reported 3 Feb."""
    with database.write() as s:
        p0 = add_case(s, "P0", at("2025-12-10"), code="8Q", team="CID", victim="V1",
                      suspect="S1")
        p1 = add_case(s, "P1", at("2026-01-05"), code="8Q", team="CID", victim="V1",
                      suspect="S1", online=True)
        add_case(s, "P2", at("2026-01-20"), code="8L", team=None, victim="V1", suspect="S1")
        add_case(s, "P3", at("2026-01-25"), area="Southern", code="8R", team="Response",
                 victim="V2", suspect="S2", online=True)
        p4 = add_case(s, "P4", at("2026-02-03"), code="BSPO", team="Orders", victim="V1",
                      suspect="S1")
        p5 = add_case(s, "P5", at("2026-02-10"), area="Southern", code="8Q", team="CID",
                      victim="V3", suspect="S2")
        add_case(s, "P6", at("2026-02-14"), area="Eastern", code="8L", team="Response",
                 victim="V4", suspect=None, online=True)
        add_case(s, "P7", at("2026-02-27"), area="Southern", code="8L", team="Response",
                 victim="V2", suspect="S3")
        spo = add_order(s, p1, "SPO/1", kind="SPO", status="granted",
                        applied_at=at("2026-01-08"), granted_at=at("2026-01-20"))
        add_order(s, p5, "ISPO/5", kind="ISPO", status="applied", applied_at=at("2026-02-12"))
        add_order(s, p0, "SPO/0", kind="SPO", status="granted", applied_at=at("2025-12-12"),
                  granted_at=at("2025-12-20"))
        add_breach(s, spo, p4, "BR/4", occurred_at=at("2026-02-03", 7),
                   reported_at=at("2026-02-03"))


def _section(profile: ProblemProfile, key: str) -> Section:
    return next(s for s in profile.sections if s.key == key)


def _series(section: Section) -> dict[str, tuple[tuple[float, ...], float]]:
    return {s.label: (s.values, s.total) for s in section.series}


def test_hand_counts_force_wide(database, make_context) -> None:  # type: ignore[no-untyped-def]
    build(database)
    profile = problem_profile(make_context("analyst"), date_from=FROM, date_to=TO)
    assert profile.months == (date(2026, 1, 1), date(2026, 2, 1))
    # volumes: January P1 P2 P3, February P4 P5 P6 P7 (P0 is before the period)
    assert _series(_section(profile, "area")) == {
        "Northern": ((2.0, 1.0), 3.0), "Southern": ((1.0, 2.0), 3.0),
        "Eastern": ((0.0, 1.0), 1.0)}
    assert _series(_section(profile, "team")) == {
        "Response": ((1.0, 2.0), 3.0), "CID": ((1.0, 1.0), 2.0),
        "Orders": ((0.0, 1.0), 1.0), "Unallocated": ((1.0, 0.0), 1.0)}
    assert _series(_section(profile, "classification")) == {
        "8L": ((1.0, 2.0), 3.0), "8Q": ((1.0, 1.0), 2.0), "8R": ((1.0, 0.0), 1.0),
        "BSPO": ((0.0, 1.0), 1.0)}
    # online: P1 P3 of 3 in January, P6 of 4 in February; 3 of 7 overall
    (online,) = _section(profile, "online").series
    assert online.values == pytest.approx((2 / 3, 1 / 4)) and online.total == pytest.approx(3 / 7)
    # repeats among the period's crimes: V1 on P1 P2 P4, V2 on P3 P7 (of V1-V4);
    # S1 on P1 P2 P4, S2 on P3 P5 (of S1-S3; P6 has no suspect)
    assert {s.label: s.total for s in _section(profile, "repeat").series} == {
        "repeat victims": 2.0, "victims": 4.0, "repeat suspects": 2.0, "suspects": 3.0}
    # breaches: one in February, per 100 crimes reported: 100 * 1/4 and 100 * 1/7
    breaches = _series(_section(profile, "breaches"))
    assert breaches["breaches"] == ((0.0, 1.0), 1.0)
    assert breaches["per 100 crimes"][0] == pytest.approx((0.0, 25.0))
    assert breaches["per 100 crimes"][1] == pytest.approx(100 / 7)
    # SPO use: P1's SPO applied in January (granted), P5's interim SPO in February
    assert _series(_section(profile, "spo")) == {
        "applications": ((1.0, 1.0), 2.0), "granted": ((1.0, 0.0), 1.0)}


def test_hand_counts_for_one_area(database, make_context) -> None:  # type: ignore[no-untyped-def]
    build(database)
    profile = problem_profile(make_context("analyst"), date_from=FROM, date_to=TO,
                              area="Southern")
    assert profile.area == "Southern"
    assert _series(_section(profile, "area")) == {"Southern": ((1.0, 2.0), 3.0)}
    (online,) = _section(profile, "online").series
    assert online.total == pytest.approx(1 / 3)  # P3 of P3 P5 P7
    # V2 on P3 and P7; S2 on P3 and P5
    assert {s.label: s.total for s in _section(profile, "repeat").series} == {
        "repeat victims": 1.0, "victims": 2.0, "repeat suspects": 1.0, "suspects": 2.0}
    assert _series(_section(profile, "breaches"))["breaches"] == ((0.0, 0.0), 0.0)
    assert _series(_section(profile, "spo")) == {
        "applications": ((0.0, 1.0), 1.0), "granted": ((0.0, 0.0), 0.0)}


def test_officers_may_not_see_the_profile(database, make_context) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        problem_profile(make_context("officer.northern"), date_from=FROM, date_to=TO)
