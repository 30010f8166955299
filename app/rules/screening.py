"""Screening for stalking recorded as something else (DOMAIN.md §2; rec 23.1).

Pure functions: no database, no Textual. Every weight, window and keyword
comes from :class:`app.policy.ScreeningPolicy`.

Phrases (policy ``screening.behaviours``, ``online_markers`` and
``exclusions``) are compiled into one regular expression:

- each phrase matches whole words only, ignoring case; a hyphen joins words,
  so ``follow*`` matches neither "unfollowing" nor "follow-up";
- a trailing ``*`` allows one of ``word_endings`` (``follow*`` = follow,
  follows, followed, following, follower);
- ``*`` alone between words stands for any one word
  (``accessed * account*`` = "accessed her accounts"), ``**`` for one to
  three words (``monitor* ** phone`` = "monitoring Sam Lee's phone");
- an apostrophe also matches the typographic one (``won't`` = "won’t");
- a match inside an exclusion ("follow up", "neighbourhood watch") is ignored;
- a match is ignored when a negating word comes within ``negation_window``
  words before it in the same clause ("did not follow her"), unless a breaker
  word comes between ("would not stop following her").

The rules each take the facts of one crime, the phrases found in its summary
and the policy, and return a :class:`RuleHit` (name, weight, explanation,
evidence) or None. :func:`screen_crime` sums the weights.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.policy import ScreeningPolicy

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
    ISOLATED_INCIDENT: "the summary says the incident was isolated (lowers the score)",
}

ONLINE_CATEGORY = "online"
ISOLATED_CATEGORY = "isolated_incident"
_EXCLUDE_GROUP = "x"
_WORD = r"[\w'’]+"
_START = r"(?<![\w-])"
_END = r"(?![\w-])"
_TOKENS = re.compile(r"[\w'’]+")
_CLAUSE_END = re.compile(r"[.;:!?,()\n]")


class PhraseError(ValueError):
    """A phrase in the policy cannot be compiled (names the phrase)."""


# --- phrase compiler ---------------------------------------------------------

def _literal(text: str) -> str:
    return "".join("['’]" if ch in "'’" else re.escape(ch) for ch in text)


def phrase_parts(phrase: str, endings: Sequence[str]) -> tuple[str, str]:
    """Split ``phrase`` into (literal lowercase prefix, regex for the rest).

    The prefix (the first word's letters up to any apostrophe or ``*``) goes
    into a character trie shared by all phrases, so the combined expression
    only tries the phrases that start with the letters under the cursor."""
    words = phrase.strip().lower().split()
    if not words:
        raise PhraseError("empty phrase in the screening policy")
    if words[0] in ("*", "**"):
        raise PhraseError(f"phrase {phrase!r}: it may not start with a '*' word")
    ending = "(?:" + "|".join(_literal(e) for e in sorted(endings, key=len, reverse=True)) + ")?"
    prefix = ""
    tail = ""
    for index, word in enumerate(words):
        if word == "*":
            tail += r"\s+" + _WORD
            continue
        if word == "**":
            tail += r"(?:\s+" + _WORD + r"){1,3}"
            continue
        star = word.endswith("*")
        stem = word[:-1] if star else word
        if not stem or "*" in stem:
            raise PhraseError(
                f"phrase {phrase!r}: '*' may only end a word or stand alone for one word"
            )
        if index == 0:
            cut = next((i for i, ch in enumerate(stem) if ch in "'’"), len(stem))
            prefix, rest = stem[:cut], stem[cut:]
            tail = _literal(rest) + (ending if star else "")
        else:
            tail += r"\s+" + _literal(stem) + (ending if star else "")
    return prefix, tail


def phrase_regex(phrase: str, endings: Sequence[str]) -> str:
    """The regular expression (lowercase text, whole words) for one phrase."""
    prefix, tail = phrase_parts(phrase, endings)
    return _START + re.escape(prefix) + tail + _END


def _trie_regex(entries: Sequence[tuple[str, str, str | None]]) -> str:
    """One alternation for (prefix, tail, group name) entries, branching on
    the prefix letters. Longer prefixes are tried first, then the tails at a
    node in the order given."""
    trie: dict[str, Any] = {}
    for prefix, tail, group in entries:
        node = trie
        for ch in prefix:
            node = node.setdefault(ch, {})
        node.setdefault("", []).append((tail, group))

    def build(node: dict[str, Any]) -> str:
        options = [re.escape(ch) + build(node[ch]) for ch in sorted(k for k in node if k)]
        for tail, group in node.get("", []):
            options.append(tail + _END + (f"(?P<{group}>)" if group else ""))
        return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"

    return build(trie)


@dataclass(frozen=True)
class PhraseMatch:
    """One phrase found in a text: its category, the phrase from the policy,
    the words matched and their character span."""

    category: str
    phrase: str
    text: str
    start: int
    end: int

    def as_evidence(self, rule: str) -> dict[str, Any]:
        return {"rule": rule, "category": self.category, "phrase": self.phrase,
                "text": self.text, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class _Negation:
    words: frozenset[str]
    window: int
    breakers: frozenset[str]


class PhraseMatcher:
    """Finds the policy's phrases in free text with one compiled expression."""

    def __init__(self, categories: dict[str, Sequence[str]], *, endings: Sequence[str],
                 exclusions: Sequence[str] = (), negations: Iterable[str] = (),
                 negation_window: int = 0, negation_breakers: Iterable[str] = ()) -> None:
        self.categories = {name: tuple(phrases) for name, phrases in categories.items()}
        self._groups: dict[str, tuple[str, str]] = {}
        entries: list[tuple[str, str, str | None]] = []
        for name, phrases in self.categories.items():
            for phrase in phrases:
                group = f"p{len(self._groups)}"
                self._groups[group] = (name, phrase)
                prefix, tail = phrase_parts(phrase, endings)
                entries.append((prefix, tail, group))
        excluded = [(*phrase_parts(p, endings), None) for p in exclusions]
        alternatives = []
        if excluded:
            alternatives.append(f"(?P<{_EXCLUDE_GROUP}>{_trie_regex(excluded)})")
        if entries:
            alternatives.append(_trie_regex(entries))
        body = "|".join(alternatives) if alternatives else "(?!)"
        self.pattern = _START + "(?:" + body + ")"
        try:
            self._regex = re.compile(self.pattern)
        except re.error as exc:  # pragma: no cover - phrase_parts validates
            raise PhraseError(f"screening phrases do not compile: {exc}") from None
        self._negation = _Negation(
            frozenset(_norm(w) for w in negations), negation_window,
            frozenset(_norm(w) for w in negation_breakers),
        )
        # quick test: is there any negating word near the match at all?
        words = sorted(self._negation.words, key=len, reverse=True)
        self._any_negation = re.compile(
            r"(?<![\w'’])(?:" + "|".join(_literal(w) for w in words) + r")(?![\w'’])"
        ) if words else None

    def find(self, text: str) -> list[PhraseMatch]:
        """Every phrase in ``text`` (spans index ``text`` itself)."""
        if not text:
            return []
        lowered = text.lower()
        if len(lowered) != len(text):  # a few Unicode letters change length
            lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
        found: list[PhraseMatch] = []
        for match in self._regex.finditer(lowered):
            group = match.lastgroup
            if group is None or group == _EXCLUDE_GROUP:
                continue
            start, end = match.span()
            if self._negated(lowered, start):
                continue
            category, phrase = self._groups[group]
            found.append(PhraseMatch(category, phrase, text[start:end], start, end))
        return found

    def _negated(self, lowered: str, start: int) -> bool:
        negation = self._negation
        if self._any_negation is None or negation.window <= 0:
            return False
        begin = max(0, start - 20 * negation.window)
        if self._any_negation.search(lowered, begin, start) is None:
            return False
        clause = _CLAUSE_END.search(lowered, begin, start)
        while clause is not None:  # only the words of the same clause count
            begin = clause.end()
            clause = _CLAUSE_END.search(lowered, begin, start)
        before = _TOKENS.findall(lowered, begin, start)
        window = [_norm(w) for w in before[-negation.window:]]
        for index in range(len(window) - 1, -1, -1):
            word = window[index]
            if word in negation.breakers:
                return False
            if word in negation.words:
                return True
        return False


def _norm(word: str) -> str:
    return word.lower().replace("’", "'")


_COMPILED: dict[int, tuple[ScreeningPolicy, PhraseMatcher]] = {}


def compile_policy(policy: ScreeningPolicy) -> PhraseMatcher:
    """The matcher for a policy's behaviours and online markers (cached per
    policy object: the policy is loaded once and never changes)."""
    cached = _COMPILED.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]
    matcher = _compile(policy)
    if len(_COMPILED) > 16:
        _COMPILED.clear()
    _COMPILED[id(policy)] = (policy, matcher)
    return matcher


def _compile(policy: ScreeningPolicy) -> PhraseMatcher:
    categories: dict[str, Sequence[str]] = dict(policy.behaviours)
    for reserved in (ONLINE_CATEGORY, ISOLATED_CATEGORY):
        if reserved in categories:
            raise PhraseError(f"screening.behaviours may not have a category named {reserved!r}")
    categories[ONLINE_CATEGORY] = policy.online_markers.phrases
    categories[ISOLATED_CATEGORY] = policy.isolated_incident
    return PhraseMatcher(
        categories, endings=policy.word_endings, exclusions=policy.exclusions,
        negations=policy.negations, negation_window=policy.negation_window,
        negation_breakers=policy.negation_breakers,
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
        (any rule when the list is empty)."""
        required = policy.candidate_requires
        return bool(self.hits) and (not required or any(h.rule in required for h in self.hits))

    def is_candidate(self, policy: ScreeningPolicy) -> bool:
        """Qualifies and the score reaches ``min_score``."""
        return self.score >= policy.min_score and self.qualifies(policy)


_NOTHING = Screening(score=0.0)

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
    """Each behaviour category found scores its weight, up to ``behaviour_cap``.
    Supporting categories (e.g. repetition: "every night") count only next to
    another behaviour: repeated abuse alone is harassment."""
    found = [m for m in matches if m.category in policy.behaviours]
    if all(m.category in policy.supporting_categories for m in found):
        return None
    categories = list(dict.fromkeys(m.category for m in found))
    weight = min(len(categories) * policy.weights[BEHAVIOUR], policy.weights["behaviour_cap"])
    names = ", ".join(c.replace("_", " ") for c in categories)
    return RuleHit(
        BEHAVIOUR, weight, f"{_plural(len(categories), 'behaviour')}: {names}",
        tuple(m.as_evidence(BEHAVIOUR) for m in found),
    )


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
    contact") counts against stalking, which is Repeated: a negative weight."""
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


# (case_id, summary, family, relationship, online, linked refs, S-DASH answers, orders)
PreparedCrime = tuple[int, str, str, str, bool, tuple[str, ...], str | None, tuple[str, ...]]
# (case_id, score, qualifies, rules as JSON, evidence as JSON)
ScoredCrime = tuple[int, float, bool, str, str]


def score_batch(crimes: Sequence[PreparedCrime], policy: ScreeningPolicy,
                matcher: PhraseMatcher | None = None) -> tuple[list[ScoredCrime], int]:
    """Score many screenable crimes at once, for storing: the rules and the
    evidence as JSON text (evidence only for crimes that qualify for the
    queue), and how many are candidates. Plain tuples in and out, so a batch
    can be scored in another process."""
    matcher = matcher or compile_policy(policy)
    rules_json: dict[tuple[str, ...], str] = {(): "[]"}
    out: list[ScoredCrime] = []
    candidates = 0
    for case_id, summary, family, relationship, online, linked, sdash, orders in crimes:
        matches = matcher.find(summary)
        if not (matches or linked or sdash or orders or online):
            out.append((case_id, 0.0, False, "[]", "[]"))  # nothing for any rule
            continue
        facts = CrimeFacts(summary=summary, family=family, relationship=relationship,
                           online=online, pair_crime_refs=linked, sdash_answers=sdash,
                           breached_orders=orders)
        result = screen_crime(facts, policy, matcher, matches=matches)
        if result is None:
            continue
        qualifies = result.qualifies(policy)
        candidates += qualifies and result.score >= policy.min_score
        names = tuple(hit.rule for hit in result.hits)
        names_json = rules_json.get(names)
        if names_json is None:
            names_json = rules_json[names] = json.dumps(list(names))
        evidence = json.dumps(evidence_items(result)) if qualifies else "[]"
        out.append((case_id, result.score, qualifies, names_json, evidence))
    return out, candidates


_WORKER_POLICY: list[tuple[ScreeningPolicy, PhraseMatcher]] = []


def init_worker(policy: ScreeningPolicy) -> None:
    """Process-pool initialiser: compile the policy once per worker."""
    _WORKER_POLICY[:] = [(policy, compile_policy(policy))]


def score_batch_in_worker(crimes: Sequence[PreparedCrime]) -> tuple[list[ScoredCrime], int]:
    policy, matcher = _WORKER_POLICY[0]
    return score_batch(crimes, policy, matcher)


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
