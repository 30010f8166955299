"""Dip sampling of case files: strata, the draw and the reviewer's own cases.

A sample is drawn per area command and period from the stalking and
harassment cases reported in it, stratified by risk level and classification
family, the same number of files from each stratum (all of a smaller one).
The draw is reproducible: the same candidates, seed and size always give the
same files, whatever order the candidates come in (each stratum is sorted by
crime reference and shuffled by a generator seeded with the seed and the
stratum's name).

A reviewer never reviews their own case: one where they are the officer in
charge, an assessor of its risk, or the supervisor who decided on it (risk
approval, SPO decision, screening flag, DMM decision).

No database and no Textual here.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

UNASSESSED = "unassessed"


@dataclass(frozen=True)
class Candidate:
    """A case that may be drawn, with who worked on it."""

    crime_ref: str
    risk_level: str | None
    family: str  # the classification family counted for the stratum
    team: str | None = None
    officer: str | None = None
    assessors: frozenset[str] = field(default_factory=frozenset)
    deciders: frozenset[str] = field(default_factory=frozenset)

    @property
    def stratum(self) -> str:
        return f"{self.risk_level or UNASSESSED} risk · {self.family}"

    def involved(self) -> frozenset[str]:
        """Everyone who worked on the case, normalised for comparison."""
        names = {self.officer, *self.assessors, *self.deciders}
        return frozenset(_norm(n) for n in names if n and n.strip())


def _norm(name: str) -> str:
    return " ".join(name.casefold().split())


def own_case(candidate: Candidate, reviewer_names: Iterable[str]) -> bool:
    """Whether the reviewer (any of their names: username, display name)
    worked on the case as officer in charge, assessor or deciding supervisor."""
    names = {_norm(n) for n in reviewer_names if n and n.strip()}
    return bool(names & candidate.involved())


@dataclass(frozen=True)
class Drawn:
    candidate: Candidate
    stratum: str


@dataclass(frozen=True)
class Draw:
    files: tuple[Drawn, ...]
    strata: Mapping[str, int]  # stratum -> candidates eligible in it
    excluded_own: tuple[str, ...]  # crime refs left out as the reviewer's own


def draw(candidates: Iterable[Candidate], *, seed: int, per_stratum: int,
         reviewer_names: Sequence[str]) -> Draw:
    """Up to ``per_stratum`` files from each stratum, never the reviewer's own."""
    if per_stratum < 1:
        raise ValueError("per_stratum must be at least 1")
    strata: dict[str, list[Candidate]] = {}
    excluded: list[str] = []
    for candidate in candidates:
        if own_case(candidate, reviewer_names):
            excluded.append(candidate.crime_ref)
            continue
        strata.setdefault(candidate.stratum, []).append(candidate)
    files: list[Drawn] = []
    for name in sorted(strata):
        pool = sorted(strata[name], key=lambda c: c.crime_ref)
        chosen = random.Random(f"{seed}:{name}").sample(pool, min(per_stratum, len(pool)))
        files.extend(Drawn(c, name) for c in sorted(chosen, key=lambda c: c.crime_ref))
    return Draw(tuple(files), {k: len(v) for k, v in sorted(strata.items())},
                tuple(sorted(excluded)))


@dataclass(frozen=True)
class ReviewProblem:
    item: str
    problem: str


def check_review(items: Sequence[str], answers: Mapping[str, bool],
                 notes: Mapping[str, str]) -> list[ReviewProblem]:
    """Every item of the checklist answered, none unknown, a note on every failed item."""
    problems = [ReviewProblem(i, "not answered") for i in items if i not in answers]
    problems += [ReviewProblem(i, "is not an item of the checklist")
                 for i in answers if i not in items]
    problems += [ReviewProblem(i, "is not an item of the checklist")
                 for i in notes if i not in items and i not in answers]
    problems += [ReviewProblem(i, "failed: a note saying what is missing is required")
                 for i in items if answers.get(i) is False and not (notes.get(i) or "").strip()]
    return problems
