"""Measuring the screening rules on a labelled set of summaries.

Each summary is screened from its words alone (its family from the file; no
pair history, S-DASH answers or orders), as an analyst reading the summary
would. A summary is *flagged* when it is a candidate under the policy
(qualifies and reaches ``min_score``). Positives are the summaries labelled
``hidden_stalking``; ``trap`` and ``ordinary`` are negatives.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from app.policy import ScreeningPolicy
from app.rules.screening.rules import (
    CrimeFacts,
    Screening,
    compile_policy,
    screen_crime,
    summary_matches,
)

POSITIVE = "hidden_stalking"
LABELS = (POSITIVE, "trap", "ordinary")
COLUMNS = ("id", "label", "summary")  # required; "family" and "note" are optional


class CorpusError(ValueError):
    """A labelled file cannot be read (names the line and the field)."""


@dataclass(frozen=True)
class LabelledSummary:
    id: str
    label: str
    summary: str
    family: str = "harassment"
    note: str = ""
    line: int = 0


@dataclass(frozen=True)
class Outcome:
    item: LabelledSummary
    flagged: bool
    score: float
    explanations: tuple[str, ...]
    phrases: tuple[str, ...]

    @property
    def positive(self) -> bool:
        return self.item.label == POSITIVE

    @property
    def kind(self) -> str:
        """true positive, false alarm, missed or correctly not flagged."""
        if self.flagged:
            return "found" if self.positive else "false alarm"
        return "missed" if self.positive else "not flagged"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.item.id, "label": self.item.label, "family": self.item.family,
                "outcome": self.kind, "flagged": self.flagged, "score": self.score,
                "explanations": list(self.explanations), "phrases": list(self.phrases),
                "summary": self.item.summary, "line": self.item.line}


@dataclass(frozen=True)
class Evaluation:
    outcomes: tuple[Outcome, ...]

    def _count(self, positive: bool, flagged: bool) -> int:
        return sum(1 for o in self.outcomes if o.positive == positive and o.flagged == flagged)

    @property
    def true_positives(self) -> int:
        return self._count(True, True)

    @property
    def false_positives(self) -> int:
        return self._count(False, True)

    @property
    def false_negatives(self) -> int:
        return self._count(True, False)

    @property
    def true_negatives(self) -> int:
        return self._count(False, False)

    @property
    def recall(self) -> float | None:
        found, positives = self.true_positives, self.true_positives + self.false_negatives
        return round(found / positives, 4) if positives else None

    @property
    def precision(self) -> float | None:
        found, flagged = self.true_positives, self.true_positives + self.false_positives
        return round(found / flagged, 4) if flagged else None

    @property
    def misses(self) -> list[Outcome]:
        """Hidden stalking not flagged, then false alarms, in file order."""
        return ([o for o in self.outcomes if o.positive and not o.flagged]
                + [o for o in self.outcomes if not o.positive and o.flagged])

    def confusion(self) -> list[dict[str, Any]]:
        """Per label: how many were flagged and how many not."""
        rows = []
        for label in LABELS:
            of = [o for o in self.outcomes if o.item.label == label]
            rows.append({"label": label, "total": len(of),
                         "flagged": sum(o.flagged for o in of),
                         "not_flagged": sum(not o.flagged for o in of)})
        return rows

    def as_dict(self) -> dict[str, Any]:
        return {"summaries": len(self.outcomes), "recall": self.recall,
                "precision": self.precision, "true_positives": self.true_positives,
                "false_positives": self.false_positives,
                "false_negatives": self.false_negatives, "true_negatives": self.true_negatives,
                "confusion": self.confusion(), "misses": [o.as_dict() for o in self.misses]}


def read_corpus(text: str, *, source: str = "corpus", families: Iterable[str] = ()
                ) -> list[LabelledSummary]:
    """Parse a labelled CSV (header: id, label, summary; optional family,
    note). Errors name ``source:line: field``."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CorpusError(f"{source}:1: header: missing column(s) {', '.join(missing)} "
                          f"(expected {', '.join(COLUMNS)}, optionally family, note)")
    known = set(families)
    items: list[LabelledSummary] = []
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        ident = (row.get("id") or "").strip()
        label = (row.get("label") or "").strip()
        summary = (row.get("summary") or "").strip()
        family = (row.get("family") or "").strip() or "harassment"
        if not ident:
            raise CorpusError(f"{source}:{line}: id: empty")
        if ident in seen:
            raise CorpusError(f"{source}:{line}: id: {ident!r} appears twice")
        if label not in LABELS:
            raise CorpusError(f"{source}:{line}: label: {label!r} is not one of "
                              f"{', '.join(LABELS)}")
        if not summary:
            raise CorpusError(f"{source}:{line}: summary: empty")
        if known and family not in known:
            raise CorpusError(f"{source}:{line}: family: {family!r} is not screened by the "
                              f"policy ({', '.join(sorted(known))})")
        seen.add(ident)
        items.append(LabelledSummary(ident, label, summary, family,
                                     (row.get("note") or "").strip(), line))
    if not items:
        raise CorpusError(f"{source}: no summaries")
    return items


def evaluate(items: Sequence[LabelledSummary], policy: ScreeningPolicy) -> Evaluation:
    matcher = compile_policy(policy)
    outcomes = []
    for item in items:
        matches = summary_matches(matcher, item.summary)
        result = screen_crime(CrimeFacts(summary=item.summary, family=item.family), policy,
                              matcher, matches=matches) or Screening(score=0.0)
        outcomes.append(Outcome(
            item=item, flagged=result.is_candidate(policy), score=result.score,
            explanations=tuple(f"{h.rule}: {h.explanation}" for h in result.hits),
            phrases=tuple(f"{m.category}: {m.text}" for m in (matcher.find(item.summary)
                                                                if not matches else matches)),
        ))
    return Evaluation(tuple(outcomes))
