"""Allocation policy checks and team moves (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.policy import default_policy
from app.rules.allocation import (
    AllocationFacts,
    check_allocation,
    families_of,
    moves_after,
    team_moves,
    too_many_moves,
    verdict_for_team,
)
from seed.reference import classifications

POLICY = default_policy().allocation  # max 2 moves
FAMILY = {code: ref.family for code, ref in classifications().items()}


def facts(codes: tuple[str, ...], risk: str | None, da: bool, team: str | None,
          original_team: str | None = None) -> AllocationFacts:
    return AllocationFacts(families=families_of(codes, FAMILY), risk_level=risk,
                           domestic_abuse=da, team=team, original_team=original_team)


def test_families_of_principal_and_included() -> None:
    assert families_of(("8L", "8Q", "ZZ"), FAMILY) == frozenset({"harassment", "stalking"})


@pytest.mark.parametrize(("codes", "risk", "da", "team", "compliant", "rule"), [
    (("8Q",), "high", True, "CID", True, "high_risk_domestic_stalking"),
    (("8Q",), "high", True, "Response", False, "high_risk_domestic_stalking"),
    # stalking found only as an included classification still counts
    (("8L", "8Q"), "high", True, "Safeguarding", False, "high_risk_domestic_stalking"),
    (("8Q",), "medium", False, "Safeguarding", True, "serious_stalking"),
    (("8L",), "high", False, "Response", False, "high_risk_other"),
    (("8L",), None, False, "Neighbourhood", True, "standard_risk"),
    (("8Q",), None, False, "Response", True, "standard_risk"),
])
def test_check_allocation(codes, risk, da, team, compliant, rule) -> None:  # type: ignore[no-untyped-def]
    verdict = check_allocation(facts(codes, risk, da, team), POLICY)
    assert verdict.compliant is compliant
    assert verdict.rule is not None and verdict.rule.name == rule


def test_unallocated_is_contrary() -> None:
    verdict = check_allocation(facts(("8L",), "standard", False, None), POLICY)
    assert not verdict.compliant
    assert verdict.explanation.startswith("not allocated")


def test_breach_goes_to_the_original_team_or_orders() -> None:
    breach = facts(("BRO",), None, False, "Safeguarding", original_team="Safeguarding")
    assert check_allocation(breach, POLICY).compliant
    assert check_allocation(breach, POLICY).expected_teams == ("Safeguarding", "Orders", "CID")
    assert not check_allocation(replace(breach, team="Response"), POLICY).compliant


def test_verdict_for_a_proposed_team() -> None:
    current = facts(("8Q",), "high", True, "Response")
    assert not check_allocation(current, POLICY).compliant
    proposed = verdict_for_team(current, "CID", POLICY)
    assert proposed.compliant
    assert proposed.explanation == "CID complies: High-risk domestic-abuse stalking is allocated to CID"


def test_team_moves_ignore_officer_changes() -> None:
    assert team_moves(["Response", "Response", "CID", "CID", "Safeguarding"]) == 2
    assert team_moves([]) == 0
    assert moves_after(["Response", "CID"], "CID") == 1
    assert moves_after(["Response", "CID"], "Safeguarding") == 2


def test_too_many_moves_uses_the_policy() -> None:
    assert not too_many_moves(["Response", "CID", "Safeguarding"], POLICY)
    assert too_many_moves(["Response", "CID", "Safeguarding", "CID"], POLICY)
    assert not too_many_moves(["Response", "CID", "Safeguarding", "CID"],
                              replace(POLICY, max_team_moves=3))
