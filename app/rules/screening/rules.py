"""The screening rules (DOMAIN.md §2; rec 23.1): pure functions, no database,
no Textual. Every weight, window and phrase comes from
:class:`app.policy.ScreeningPolicy`.

The rules each take the facts of one crime, the phrases found in its summary
(:mod:`.phrases`) and the policy, and return a :class:`RuleHit` (name,
weight, explanation, evidence) or None. :func:`screen_crime` sums the
weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson

from app.policy import ScreeningPolicy
from app.rules.screening.language import Scoping, lemma_of
from app.rules.screening.phrases import PhraseError, PhraseMatch, PhraseMatcher

COURSE_OF_CONDUCT = "course_of_conduct"
FORMER_PARTNER = "former_partner_repeated_contact"
BEHAVIOUR = "behaviour"
RISK_ANSWERS = "risk_answers"
BREACH_SAME_VICTIM = "breach_same_victim"
ONLINE_CONTACT = "online_contact"
ISOLATED_INCIDENT = "isolated_incident"

RULE_NAMES: tuple[str, ...] = (
    COURSE_OF_CONDUCT, FORMER_PARTNER, BEHAVIOUR, RISK_ANSWERS, BREACH_SAME_VICTIM,
    ONLINE_CONTACT, ISOLATED_INCIDENT,
)

# Short labels for narrow table columns.
SHORT_NAMES: dict[str, str] = {
    COURSE_OF_CONDUCT: "CoC",
    FORMER_PARTNER: "ExP",
    BEHAVIOUR: "Beh",
    RISK_ANSWERS: "SDASH",
    BREACH_SAME_VICTIM: "Brch",
    ONLINE_CONTACT: "Onl",
    ISOLATED_INCIDENT: "Iso",
}

DESCRIPTIONS: dict[str, str] = {
    COURSE_OF_CONDUCT: "two or more crimes for the same victim and suspect within the window",
    FORMER_PARTNER: "former partner with repeated unwanted contact (recorded as stalking "
                    "since April 2020 unless harassment in law only)",
    BEHAVIOUR: "stalking behaviours (PHA 1997 s2A(3)) or FOUR markers in the summary",
    RISK_ANSWERS: "an S-DASH stalking risk assessment was recorded on this crime",
    BREACH_SAME_VICTIM: "the suspect has breached an order protecting this victim",
    ONLINE_CONTACT: "online contact (the online flag or online wording)",
    ISOLATED_INCIDENT: "the summary says the incident was a one-off or not aimed at the "
                       "victim (lowers the score)",
}

ONLINE_CATEGORY = "online"
ISOLATED_CATEGORY = "isolated_incident"
RESERVED_CATEGORIES = (ONLINE_CATEGORY, ISOLATED_CATEGORY)


# --- the policy compiled -----------------------------------------------------

def _sequences(words: Iterable[str], count_min: int) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(lemma_of(w, count_min) for w in text.lower().split())
                 for text in words if text.strip())


def scoping(policy: ScreeningPolicy) -> Scoping:
    """The policy's negation and hedging words, read as lemmas."""
    n = policy.count_min
    return Scoping(
        negations=_sequences(policy.negations, n),
        hedges=_sequences(policy.hedges, n),
        post_negations=_sequences(policy.post_negations, n),
        terminators=_sequences(policy.negation_terminators, n),
        breakers=frozenset(lemma_of(w, n) for w in policy.negation_breakers),
        scope=policy.negation_scope,
        clause_starters=frozenset(lemma_of(w, n) for w in policy.clause_starters),
    )


def summary_decides(policy: ScreeningPolicy) -> bool:
    """Whether a crime can qualify only through its summary (every
    ``candidate_requires`` rule reads the summary): then a run need not
    gather the other facts of crimes whose summary holds no behaviour."""
    return bool(policy.candidate_requires) and set(policy.candidate_requires) <= {BEHAVIOUR}


_COMPILED: dict[int, tuple[ScreeningPolicy, PhraseMatcher]] = {}


def compile_policy(policy: ScreeningPolicy) -> PhraseMatcher:
    """The matcher for a policy's behaviours, online markers and one-off
    wording (cached per policy object: the policy is loaded once and never
    changes)."""
    cached = _COMPILED.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]
    matcher = _compile(policy)
    if len(_COMPILED) > 16:
        _COMPILED.clear()
    _COMPILED[id(policy)] = (policy, matcher)
    return matcher


def core_categories(policy: ScreeningPolicy) -> tuple[str, ...]:
    """Behaviour categories that can make the behaviour rule fire on their own."""
    return tuple(c for c in policy.behaviours if c not in policy.supporting_categories)


def _compile(policy: ScreeningPolicy) -> PhraseMatcher:
    categories: dict[str, Sequence[str]] = dict(policy.behaviours)
    for reserved in RESERVED_CATEGORIES:
        if reserved in categories:
            raise PhraseError(f"screening.behaviours may not have a category named {reserved!r}")
    categories[ONLINE_CATEGORY] = policy.online_markers.phrases
    categories[ISOLATED_CATEGORY] = policy.isolated_incident
    return PhraseMatcher(
        categories, exclusions=policy.exclusions, scoping=scoping(policy),
        span=policy.phrase_span, count_min=policy.count_min,
        prefilter=core_categories(policy) if summary_decides(policy) else None,
        gate=partial(_behaviour_can_count, policy) if summary_decides(policy) else None,
        gate_reads=tuple(policy.behaviours),
    )


# --- the facts of one crime and the rules ------------------------------------
@dataclass(frozen=True)
class CrimeFacts:
    """What the screening rules look at for one crime.

    ``pair_crime_refs``: the other crimes for the same victim and suspect
    reported within the policy window. ``sdash_answers``: the latest S-DASH
    answers recorded on this crime (``YNNY...``), if any. ``breached_orders``:
    orders protecting this victim from this suspect that have been breached."""

    summary: str = ""
    family: str = "harassment"
    relationship: str = "unknown"
    online: bool = False
    stalking_recorded: bool = False
    pair_crime_refs: tuple[str, ...] = ()
    sdash_answers: str | None = None
    breached_orders: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleHit:
    rule: str
    weight: float
    explanation: str
    evidence: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Screening:
    """The outcome for one crime: score, the rules that fired and why."""

    score: float
    hits: tuple[RuleHit, ...] = ()

    @property
    def rules(self) -> list[str]:
        return [hit.rule for hit in self.hits]

    @property
    def evidence(self) -> list[dict[str, Any]]:
        return [item for hit in self.hits for item in hit.evidence]

    def qualifies(self, policy: ScreeningPolicy) -> bool:
        """At least one of the policy's ``candidate_requires`` rules fired
        (any rule when the list is empty); the behaviour rule only with a
        weight of at least ``candidate_min_behaviour``."""
        required = policy.candidate_requires
        if not self.hits:
            return False
        if not required:
            return True
        return any(_counts(hit, policy) for hit in self.hits if hit.rule in required)

    def is_candidate(self, policy: ScreeningPolicy) -> bool:
        """Qualifies and the score reaches ``min_score``."""
        return self.score >= policy.min_score and self.qualifies(policy)


_NOTHING = Screening(score=0.0)


def _counts(hit: RuleHit, policy: ScreeningPolicy) -> bool:
    return hit.rule != BEHAVIOUR or hit.weight >= policy.candidate_min_behaviour

Rule = Callable[[CrimeFacts, Sequence[PhraseMatch], ScreeningPolicy], RuleHit | None]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def course_of_conduct(facts: CrimeFacts, matches: Sequence[PhraseMatch],
                      policy: ScreeningPolicy) -> RuleHit | None:
    """2+ crimes (this one included) for the same victim–suspect pair within the window."""
    crimes = len(facts.pair_crime_refs) + 1
    if crimes < max(2, policy.course_of_conduct_min_crimes):
        return None
    return RuleHit(
        COURSE_OF_CONDUCT, policy.weights[COURSE_OF_CONDUCT],
        f"{crimes} crimes for this victim and suspect within {policy.window_days} days",
        ({"rule": COURSE_OF_CONDUCT, "crime_refs": list(facts.pair_crime_refs)},),
    )


def former_partner_repeated_contact(facts: CrimeFacts, matches: Sequence[PhraseMatch],
                                    policy: ScreeningPolicy) -> RuleHit | None:
    """Former partner and (a course of conduct, or unwanted-contact wording)."""
    if facts.relationship != "ex_partner":
        return None
    crimes = len(facts.pair_crime_refs) + 1
    repeated = crimes >= max(2, policy.course_of_conduct_min_crimes)
    contact = [m for m in matches if m.category in policy.former_partner_categories]
    if not repeated and not contact:
        return None
    if repeated:
        why = f"former partner; {crimes} crimes for the pair"
    else:
        why = f"former partner; unwanted contact: {', '.join(m.text for m in contact)}"
    evidence = tuple(m.as_evidence(FORMER_PARTNER) for m in contact)
    return RuleHit(FORMER_PARTNER, policy.weights[FORMER_PARTNER], why, evidence)


def behaviour(facts: CrimeFacts, matches: Sequence[PhraseMatch],
              policy: ScreeningPolicy) -> RuleHit | None:
    """Each behaviour category found scores its weight (``category_weights``,
    else ``weights.behaviour``), up to ``behaviour_cap``. Supporting
    categories (repetition, a former partner, the small hours, a breach)
    count only next to a stalking behaviour: repeated abuse alone is
    harassment. A crime of a family in ``family_categories`` holds that
    category whatever its summary says."""
    found = [m for m in matches if m.category in policy.behaviours]
    categories = _categories(found, facts.family, policy)
    if all(c in policy.supporting_categories for c in categories):
        return None
    weight = min(sum(category_weight(policy, c) for c in categories),
                 policy.weights["behaviour_cap"])
    names = ", ".join(c.replace("_", " ") for c in categories)
    evidence = [m.as_evidence(BEHAVIOUR) for m in found]
    implied = policy.family_categories.get(facts.family)
    if implied and implied not in {m.category for m in found}:
        evidence.append({"rule": BEHAVIOUR, "category": implied,
                         "family": facts.family, "text": f"recorded as {facts.family}"})
    return RuleHit(
        BEHAVIOUR, round(weight, 2), f"{_plural(len(categories), 'behaviour')}: {names}",
        tuple(evidence),
    )


def _categories(found: Sequence[PhraseMatch], family: str, policy: ScreeningPolicy
                ) -> list[str]:
    categories = list(dict.fromkeys(m.category for m in found))
    implied = policy.family_categories.get(family)
    if implied and implied not in categories:
        categories.append(implied)
    return categories


def category_weight(policy: ScreeningPolicy, category: str) -> float:
    return policy.category_weights.get(category, policy.weights[BEHAVIOUR])


def risk_answers(facts: CrimeFacts, matches: Sequence[PhraseMatch],
                 policy: ScreeningPolicy) -> RuleHit | None:
    """An S-DASH (stalking and harassment) assessment on a non-stalking crime;
    more when the visits or loitering questions were answered yes."""
    answers = (facts.sdash_answers or "").strip().upper()
    if not answers:
        return None
    yes = [q for q in policy.risk_visit_questions if 0 < q <= len(answers) and answers[q - 1] == "Y"]
    if yes:
        weight = policy.weights["risk_answers_visits"]
        why = f"S-DASH recorded; question {', '.join(map(str, yes))} answered yes"
    else:
        weight = policy.weights[RISK_ANSWERS]
        why = "S-DASH recorded on a crime not recorded as stalking"
    return RuleHit(RISK_ANSWERS, weight, why,
                   ({"rule": RISK_ANSWERS, "answers": answers, "questions": yes},))


def breach_same_victim(facts: CrimeFacts, matches: Sequence[PhraseMatch],
                       policy: ScreeningPolicy) -> RuleHit | None:
    """The suspect has breached an order that protects this victim."""
    if not facts.breached_orders:
        return None
    return RuleHit(
        BREACH_SAME_VICTIM, policy.weights[BREACH_SAME_VICTIM],
        f"suspect breached {', '.join(facts.breached_orders)} protecting this victim",
        ({"rule": BREACH_SAME_VICTIM, "order_refs": list(facts.breached_orders)},),
    )


def online_contact(facts: CrimeFacts, matches: Sequence[PhraseMatch],
                   policy: ScreeningPolicy) -> RuleHit | None:
    """The crime is flagged online, or its summary uses online wording."""
    online = [m for m in matches if m.category == ONLINE_CATEGORY]
    if not facts.online and not online:
        return None
    why = "online flag" if facts.online else f"online: {', '.join(m.text for m in online)}"
    evidence = tuple(m.as_evidence(ONLINE_CONTACT) for m in online)
    if facts.online:
        evidence = ({"rule": ONLINE_CONTACT, "flag": True}, *evidence)
    return RuleHit(ONLINE_CONTACT, policy.weights[ONLINE_CONTACT], why, evidence)


def isolated_incident(facts: CrimeFacts, matches: Sequence[PhraseMatch],
                      policy: ScreeningPolicy) -> RuleHit | None:
    """Wording that the incident was a one-off ("single incident", "no other
    contact") or not aimed at the victim ("several cars damaged", "for the
    insurance") counts against stalking, which is Fixated and Repeated: a
    negative weight."""
    found = [m for m in matches if m.category == ISOLATED_CATEGORY]
    if not found:
        return None
    return RuleHit(
        ISOLATED_INCIDENT, policy.weights[ISOLATED_INCIDENT],
        f"isolated incident: {', '.join(m.text for m in found)}",
        tuple(m.as_evidence(ISOLATED_INCIDENT) for m in found),
    )


RULES: tuple[Rule, ...] = (
    course_of_conduct, former_partner_repeated_contact, behaviour, risk_answers,
    breach_same_victim, online_contact, isolated_incident,
)


def screenable(facts: CrimeFacts, policy: ScreeningPolicy) -> bool:
    """Only crimes of the screened families that are not already stalking."""
    return not facts.stalking_recorded and facts.family in policy.families


def screen_crime(facts: CrimeFacts, policy: ScreeningPolicy,
                 matcher: PhraseMatcher | None = None, *,
                 matches: Sequence[PhraseMatch] | None = None) -> Screening | None:
    """Score one crime; None when it is not screened (already stalking, or a
    family the policy does not screen). ``matches``: the phrases already found
    in the summary, if the caller has them."""
    if not screenable(facts, policy):
        return None
    if matches is None:
        matches = (matcher or compile_policy(policy)).find(facts.summary)
    if not (matches or facts.pair_crime_refs or facts.sdash_answers or facts.breached_orders
            or facts.online):
        return _NOTHING  # the common case, kept cheap for runs over millions of crimes
    hits = tuple(hit for rule in RULES if (hit := rule(facts, matches, policy)) is not None)
    return Screening(score=round(sum(hit.weight for hit in hits), 2), hits=hits)


def evidence_items(result: Screening) -> list[dict[str, Any]]:
    """Per rule fired: its weight and explanation, then what it found."""
    items: list[dict[str, Any]] = []
    for hit in result.hits:
        items.append({"rule": hit.rule, "weight": hit.weight, "explanation": hit.explanation})
        items.extend(hit.evidence)
    return items


def summary_matches(matcher: PhraseMatcher, summary: str, *,
                    prefiltered: bool = False) -> list[PhraseMatch]:
    """The phrases of a summary; none, cheaply, when the prefilter rules it
    out (``prefiltered``: :func:`summaries_may_qualify` passed it already)."""
    if not summary:
        return []
    return matcher.find_relevant(summary, prefiltered=prefiltered)


def needs_facts(matches: Sequence[PhraseMatch], policy: ScreeningPolicy,
                family: str = "") -> bool:
    """Whether a crime whose summary holds ``matches`` can qualify, so that
    its other facts (pairs, S-DASH, orders) must be gathered. Always true
    when a ``candidate_requires`` rule does not read the summary."""
    if not summary_decides(policy):
        return True
    if not matches:
        return False
    return _behaviour_counts({m.category for m in matches}, family, policy, category_weight)


def _behaviour_counts(found: Iterable[str], family: str, policy: ScreeningPolicy,
                      weight_of: Callable[[ScreeningPolicy, str], float]) -> bool:
    """Whether behaviour categories ``found`` in a summary of a crime of
    ``family`` make the behaviour rule count for the queue."""
    categories = {c for c in found if c in policy.behaviours}
    implied = policy.family_categories.get(family)
    if implied:
        categories.add(implied)
    if categories <= set(policy.supporting_categories):
        return False
    weight = min(sum(weight_of(policy, c) for c in categories),
                 policy.weights["behaviour_cap"])
    return weight >= policy.candidate_min_behaviour


def _behaviour_can_count(policy: ScreeningPolicy, possible: frozenset[str], family: str) -> bool:
    """The prefilter's gate: whether a summary in which at most the
    categories ``possible`` can match could make the behaviour rule count.
    The test of :func:`needs_facts` with negative weights taken as nought,
    so it holds for every subset of ``possible`` the full reading finds."""
    return _behaviour_counts(possible, family, policy,
                             lambda p, c: max(0.0, category_weight(p, c)))


def summary_may_qualify(matcher: PhraseMatcher, summary: str, family: str = "") -> bool:
    """False only when no reading of the summary can make the crime qualify
    through it (then :func:`needs_facts` is false for its matches): decided
    from the words it holds, without reading it clause by clause."""
    return matcher.may_qualify(summary or "", family)


def summaries_may_qualify(matcher: PhraseMatcher, summaries: Sequence[str | None],
                          families: Sequence[str]) -> list[int]:
    """The indexes of the summaries (each with its crime's family) for which
    :func:`summary_may_qualify` holds, in one pass."""
    return matcher.which_may_qualify(summaries, families)


def _to_json(value: list[Any]) -> str:
    """Rules or evidence as JSON text (plain lists and dicts built here)."""
    return orjson.dumps(value).decode()


# (case_id, summary, family, relationship, online, linked refs, S-DASH answers, orders)
PreparedCrime = tuple[int, str, str, str, bool, tuple[str, ...], str | None, tuple[str, ...]]
# (case_id, score, qualifies, rules as JSON, evidence as JSON)
ScoredCrime = tuple[int, float, bool, str, str]


def score_batch(crimes: Sequence[PreparedCrime], policy: ScreeningPolicy,
                matcher: PhraseMatcher | None = None, *,
                matches: dict[int, Sequence[PhraseMatch]] | None = None,
                ) -> tuple[list[ScoredCrime], int]:
    """Score many screenable crimes, for storing: the crimes that qualify for
    the queue (a ``candidate_requires`` rule fired), with their rules and
    evidence as JSON text, and how many are candidates (the score also
    reaches ``min_score``). Crimes that do not qualify are left out: they
    have nothing to show. ``matches``: phrases already found per crime."""
    matcher = matcher or compile_policy(policy)
    rules_json: dict[tuple[str, ...], str] = {}
    out: list[ScoredCrime] = []
    candidates = 0
    for case_id, summary, family, relationship, online, linked, sdash, orders in crimes:
        found = matches.get(case_id) if matches is not None else None
        if found is None:
            found = summary_matches(matcher, summary)
        facts = CrimeFacts(summary=summary, family=family, relationship=relationship,
                           online=online, pair_crime_refs=linked, sdash_answers=sdash,
                           breached_orders=orders)
        result = screen_crime(facts, policy, matcher, matches=found)
        if result is None or not result.qualifies(policy):
            continue
        candidates += result.score >= policy.min_score
        names = tuple(hit.rule for hit in result.hits)
        names_json = rules_json.get(names)
        if names_json is None:
            names_json = rules_json[names] = _to_json(list(names))
        out.append((case_id, result.score, True, names_json, _to_json(evidence_items(result))))
    return out, candidates


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str = field(default="")


def highlight_spans(evidence: Iterable[dict[str, Any]]) -> list[Span]:
    """Character spans of the matched phrases, merged and in order, for highlighting."""
    spans = sorted(
        (int(e["start"]), int(e["end"]), str(e.get("category", "")))
        for e in evidence if "start" in e and "end" in e
    )
    merged: list[Span] = []
    for start, end, label in spans:
        if merged and start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, end), last.label)
        else:
            merged.append(Span(start, end, label))
    return merged


def rule_label(names: Iterable[str]) -> str:
    return " ".join(SHORT_NAMES.get(name, name) for name in names)
