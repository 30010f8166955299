"""The synthetic force's summary grammar (seed/grammar.py): the same stream
gives the same words; every group composes for every relationship it can be
recorded with, in words that agree with the facts; hidden stalking reads as
stalking to the screening rules and decoys and ordinary crimes do not."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from app.policy import default_policy
from app.rules.screening.evaluation import LabelledSummary, evaluate
from seed.generator_build import Person
from seed.grammar import Facts, compose, kin_word, load_parts
from tests.services.test_calibration import contradictions

PARTS = load_parts()
DOMESTIC = ("ex_partner", "partner", "family")
ALL = ("ex_partner", "partner", "family", "acquaintance", "stranger", "unknown")
# the relationships each group is recorded with (seed/generator_stories.py)
RELATIONSHIPS = {"coercive": DOMESTIC, "coercive_stalking": DOMESTIC}
NOUNS = {"family": ("brother", "sister", "cousin", "son", "daughter", "uncle"),
         "acquaintance": ("neighbour", "former colleague", "acquaintance", "former friend",
                          "customer")}
STALKING_LIKE = ("hidden", "stalking", "coercive_stalking")
ORDERS = ("Stalking Protection Order", "restraining order", "non-molestation order")


def _facts(rng: random.Random, group: str, index: int) -> Facts:
    relationship = rng.choice(RELATIONSHIPS.get(group, ALL))
    victim = Person(2 * index + 1, "Dana", "Dana Wren", rng.random() < 0.7)
    suspect = None
    if relationship != "unknown" or rng.random() < 0.35:
        female = rng.random() < 0.3
        suspect = Person(2 * index + 2, "Robin", "Robin Ashby" if female else "Robin Cray",
                         female)
    return Facts(victim, suspect, relationship, rng.choice(NOUNS.get(relationship, ("",))))


def _compose(group: str, count: int, seed: int = 5) -> list[tuple[Facts, str]]:
    facts_rng, words = random.Random(seed), random.Random(seed + 1)
    context = "stalking" if group.startswith(STALKING_LIKE) else "ordinary"
    made = []
    for index in range(count):
        facts = _facts(facts_rng, group, index)
        text, _clause = compose(words, PARTS, group, facts, order=facts_rng.choice(ORDERS),
                                context=context)
        made.append((facts, text))
    return made


def test_the_same_stream_gives_the_same_summaries() -> None:
    assert _compose("stalking", 50) == _compose("stalking", 50)
    assert _compose("stalking", 50) != _compose("stalking", 50, seed=6)


@pytest.mark.parametrize("group", sorted(PARTS.clauses))
def test_every_group_composes_in_words_that_fit_the_facts(group: str) -> None:
    for facts, text in _compose(group, 400):
        suspect = facts.suspect
        found = contradictions(facts.relationship, text,
                               suspect.name if suspect else None,
                               suspect.female if suspect else None)
        assert found == [], (facts, text)
        assert text[0].isupper() and text.endswith((".", '."')), text
        if suspect is None:
            assert "Robin" not in text, text  # nobody is named
        else:
            assert suspect.name in text, text


def test_family_words_agree_with_the_suspect() -> None:
    woman, man = Person(1, "Ali", "Ali Moss", True), Person(2, "Ali", "Ali Moss", False)
    assert kin_word(PARTS, "brother", woman) == "sister"
    assert kin_word(PARTS, "daughter", man) == "son"
    assert kin_word(PARTS, "uncle", man) == "uncle"
    assert kin_word(PARTS, "cousin", woman) == "cousin"
    assert kin_word(PARTS, "neighbour", woman) == "neighbour"


def test_each_channel_has_its_own_words() -> None:
    texts = [text for _facts, text in _compose("malicious", 600)]
    by_text = [t for t in texts if re.search(r"\btext\b", t)]
    assert by_text and all("text message" not in t or "a text message" in t for t in by_text)
    assert any("by email" in t for t in texts) and any("on Instagram" in t for t in texts)
    assert not any(re.search(r"on (?:email|text message)\b", t) for t in texts)


def test_a_clause_with_no_verb_is_opened_only_by_shorthand_or_a_label() -> None:
    headlines = {group: [c for c in clauses if c.headline] for group, clauses in PARTS.clauses.items()}
    words = random.Random(3)
    seen = 0
    for group, clauses in headlines.items():
        for index in range(300 if clauses else 0):
            facts = _facts(random.Random(index), group, index)
            text, clause = compose(words, PARTS, group, facts, context=None)
            if clause.headline:
                seen += 1
                first = re.escape(clause.text.split()[0])
                assert not re.search(rf"\bthat {first}\b", text, re.IGNORECASE), text
    assert seen > 500


def test_summaries_vary_in_voice_and_sometimes_quote_the_victim() -> None:
    texts = [text for _facts, text in _compose("stalking", 600)]
    openings = Counter(text.split()[0] for text in texts)
    assert {"IP", "OIC", "Caller"} <= set(openings)
    assert max(openings.values()) < 0.3 * len(texts), openings.most_common(3)
    quoted = [t for t in texts if '"' in t]
    assert 0.1 * len(texts) < len(quoted) < 0.4 * len(texts)
    assert len(set(texts)) == len(texts)


def _flagged_share(groups: tuple[str, ...], count: int) -> float:
    items = [LabelledSummary(f"{group}-{i}", "hidden_stalking", text,
                             family="breach" if group.endswith("breach") else "harassment")
             for group in groups for i, (_f, text) in enumerate(_compose(group, count))]
    result = evaluate(items, default_policy().screening)
    return result.true_positives / len(items)


@pytest.mark.parametrize("group", ["hidden_8L", "hidden_8R", "hidden_58", "hidden_breach"])
def test_hidden_stalking_reads_as_stalking(group: str) -> None:
    assert _flagged_share((group,), 300) == 1.0


def test_decoys_and_ordinary_crimes_mostly_do_not() -> None:
    # a decoy uses a stalking word innocently: the rules are to pass most of them
    assert _flagged_share(("decoy",), 600) < 0.05
    ordinary = ("harassment", "harassment_8M", "malicious", "damage_58A", "damage_58B",
                "damage_58C", "damage_58D", "coercive", "breach")
    assert _flagged_share(ordinary, 200) < 0.02
