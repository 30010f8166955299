"""Allocation policy: which teams may hold a case, and moves between teams."""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.policy import AllocationPolicy, AllocationRule
from app.rules.case_criteria import covers


@dataclass(frozen=True)
class AllocationFacts:
    """What the policy looks at for one case."""

    families: frozenset[str]  # families of the principal and included classifications
    risk_level: str | None
    domestic_abuse: bool
    team: str | None
    original_team: str | None = None  # for a breach: the team holding the original case


@dataclass(frozen=True)
class AllocationVerdict:
    compliant: bool
    rule: AllocationRule | None
    expected_teams: tuple[str, ...]
    explanation: str


def _matches(rule: AllocationRule, facts: AllocationFacts) -> bool:
    return covers(rule, facts.families, facts.risk_level, facts.domestic_abuse)


def expected_teams(rule: AllocationRule, facts: AllocationFacts) -> tuple[str, ...]:
    teams: list[str] = []
    for team in rule.teams:
        if team == "@original":
            if facts.original_team and facts.original_team not in teams:
                teams.append(facts.original_team)
        elif team not in teams:
            teams.append(team)
    return tuple(teams)


def check_allocation(facts: AllocationFacts, policy: AllocationPolicy) -> AllocationVerdict:
    """The first matching rule decides. An unallocated case is contrary to any rule."""
    for rule in policy.rules:
        if not _matches(rule, facts):
            continue
        teams = expected_teams(rule, facts)
        if facts.team is None:
            return AllocationVerdict(False, rule, teams, f"not allocated; {rule.description}")
        if facts.team in teams:
            return AllocationVerdict(True, rule, teams, f"{facts.team} complies: {rule.description}")
        return AllocationVerdict(
            False, rule, teams,
            f"held by {facts.team}; {rule.description} ({', '.join(teams)})",
        )
    if facts.team is None:
        return AllocationVerdict(False, None, (), "not allocated")
    return AllocationVerdict(True, None, (), "no allocation rule applies")


def team_moves(teams_in_order: list[str]) -> int:
    """How many times the case changed team (officer changes within a team do not count)."""
    moves = 0
    for previous, current in zip(teams_in_order, teams_in_order[1:], strict=False):
        if current != previous:
            moves += 1
    return moves


def too_many_moves(teams_in_order: list[str], policy: AllocationPolicy) -> bool:
    return team_moves(teams_in_order) > policy.max_team_moves


def families_of(codes: list[str] | tuple[str, ...], family_by_code: dict[str, str]) -> frozenset[str]:
    """The families of a case's principal and included classification codes
    (unknown codes are ignored)."""
    return frozenset(family_by_code[code] for code in codes if code in family_by_code)


def verdict_for_team(facts: AllocationFacts, team: str | None,
                     policy: AllocationPolicy) -> AllocationVerdict:
    """The verdict the case would get if it were held by ``team`` (used to show
    the policy check before a reallocation is confirmed)."""
    return check_allocation(replace(facts, team=team), policy)


def moves_after(teams_in_order: list[str], new_team: str) -> int:
    """How many team moves the case will have after moving to ``new_team``."""
    return team_moves([*teams_in_order, new_team])
