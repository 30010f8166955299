"""The screening prefilter never drops a summary the full reading would
flag: its runs hold exactly the words the full reading finds, the categories
it says may match cover every category the full reading finds, and its gate
lets through every summary whose matches make a crime qualify, on the
hand-written corpus and on generated text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.policy import default_policy
from app.rules.screening import (
    compile_policy,
    needs_facts,
    phrases,
    summaries_may_qualify,
    summary_matches,
    summary_may_qualify,
)
from app.rules.screening.evaluation import read_corpus
from app.rules.screening.language import TOKEN, words_in
from app.rules.screening.rules import _compile

POLICY = default_policy().screening
DATA = Path(__file__).resolve().parent.parent / "data"
FAMILIES = tuple(POLICY.families)


def _corpus() -> list[tuple[str, str]]:
    items = []
    for name in ("screening_corpus.csv", "screening_heldout.csv", "screening_probe.csv",
                 "screening_blind_1.csv", "screening_blind_2.csv"):
        path = DATA / name
        items += [(i.summary, i.family) for i in read_corpus(
            path.read_text(encoding="utf-8"), source=name, families=POLICY.families)]
    return items


CORPUS = _corpus()

# words that lemmatise to policy words, exclusions, negation and number
# classes, clause ends and characters the byte map treats apart
VOCABULARY = [
    "he", "she", "her", "his", "followed", "following", "Following", "the", "incident", "up",
    "waited", "wait", "for", "outside", "house", "again", "not", "no", "never", "watched",
    "watching", "cctv", "tyres", "let", "down", "stalking", "Stalked", "protection", "order",
    "messaged", "message", "sister", "friend", "from", "new", "account", "number", "every",
    "night", "ex", "ex's", "ex-partner", "partner", "former", "card", "gift", "flowers",
    "parking", "park", "near", "check", "phone", "where", "what", "time", "who", "see", "go",
    "is", "May", "may", "if", "but", "and", "63", "0200", "3am", "fourth", "5th", "dozens",
    "messages", "damaged", "car", "track", "tracker", "monitor", "Dispute", "dispute",
    "won't", "doesnt", "o'brien", "’", "café", "naïve", "İstanbul", "–", "—", "-", "--", "'",
    ".", ",", ";", ":", "!", "?", "(", ")", "\n", "...", "“", "”", "\u00a0", "_",
    "o/s", "O/S", "w/e", "b/f's", "and/or", "a/b/c", "/", "x4", "x1", "x2", "24/7",
]
TEXTS = st.lists(st.sampled_from(VOCABULARY), max_size=24).map(" ".join) | st.lists(
    st.sampled_from(VOCABULARY), max_size=16).map("".join)


def _words_of_runs(text: str) -> list[str]:
    matcher = compile_policy(POLICY)
    return [w.lower() for run in matcher.runs(text)
            for w in TOKEN.findall(run.decode("utf-8", "surrogatepass"))]


@settings(max_examples=400, deadline=None)
@given(TEXTS | st.text(max_size=60))
def test_runs_hold_exactly_the_words_of_the_full_reading(text: str) -> None:
    assert _words_of_runs(text) == [w.lower() for w in TOKEN.findall(text)]


@settings(max_examples=400, deadline=None)
@given(TEXTS | st.text(max_size=60))
def test_the_quick_word_finder_finds_what_token_finds(text: str) -> None:
    """Without a slash the shorthand cannot occur, so a plainer pattern reads."""
    assert words_in(text) == TOKEN.findall(text)


def test_runs_hold_the_words_of_every_corpus_summary() -> None:
    for summary, _ in CORPUS:
        assert _words_of_runs(summary) == [w.lower() for w in TOKEN.findall(summary)]


def _check(text: str, family: str) -> None:
    matcher = compile_policy(POLICY)
    found = {m.category for m in matcher.find(text) if m.category in POLICY.behaviours}
    assert found <= matcher.possible_categories(text), text
    qualifies = needs_facts(summary_matches(matcher, text), POLICY, family)
    if qualifies:
        assert summary_may_qualify(matcher, text, family), (text, family)
    # the prefiltered reading gives the same matches as the unfiltered one
    if summary_may_qualify(matcher, text, family):
        assert (summary_matches(matcher, text, prefiltered=True)
                == summary_matches(matcher, text))


@settings(max_examples=600, deadline=None)
@given(TEXTS, st.sampled_from(FAMILIES))
def test_the_gate_never_drops_a_summary_that_qualifies(text: str, family: str) -> None:
    _check(text, family)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_gate_never_drops_a_corpus_summary_that_qualifies(family: str) -> None:
    for summary, _ in CORPUS:
        _check(summary, family)


def test_the_batch_gate_answers_as_the_single_one() -> None:
    """In one pass, after the runs were seen (the remembered path) and on a
    fresh matcher (every run read on first sight)."""
    texts = [s for s, _ in CORPUS] + ["", "he followed her", "following a dispute"]
    families = [FAMILIES[i % len(FAMILIES)] for i in range(len(texts))]
    for matcher in (compile_policy(POLICY), _compile(POLICY)):
        single = [i for i, (t, f) in enumerate(zip(texts, families, strict=True))
                  if summary_may_qualify(matcher, t, f)]
        assert summaries_may_qualify(matcher, texts, families) == single
        assert summaries_may_qualify(matcher, texts, families) == single


def test_the_gate_rules_out_what_cannot_qualify() -> None:
    matcher = compile_policy(POLICY)
    # one behaviour word alone, damage on a criminal damage crime, a behaviour
    # word in an excluded sense: none of them can reach the queue
    assert not summary_may_qualify(matcher, "abusive messages after a row about money",
                                   "harassment")
    assert not summary_may_qualify(matcher, "following a dispute over parking, he shouted",
                                   "harassment")
    assert not summary_may_qualify(matcher, "the car was damaged", "criminal damage")
    assert summary_may_qualify(matcher, "he followed her home again", "harassment")
    assert summary_may_qualify(matcher, "her former partner is stalking her", "harassment")


def test_runs_not_remembered_are_read_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the prefilter's memory every run is read afresh for its text,
    and nothing that qualifies is dropped."""
    monkeypatch.setattr(phrases, "MAX_RUNS", 0)
    matcher = _compile(POLICY)
    texts = [s for s, _ in CORPUS]
    families = [f for _, f in CORPUS]
    kept = set(summaries_may_qualify(matcher, texts, families))
    for index, (text, family) in enumerate(CORPUS):
        if needs_facts(summary_matches(matcher, text), POLICY, family):
            assert index in kept, text
    assert not matcher._seen_runs


def test_past_the_memory_of_label_sets_the_batch_gate_answers_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's answers are kept per set of needed labels; with none kept
    every text is decided afresh from its words' labels."""
    texts = [s for s, _ in CORPUS]
    families = [f for _, f in CORPUS]
    remembered = summaries_may_qualify(_compile(POLICY), texts, families)
    monkeypatch.setattr(phrases, "MAX_LABEL_SETS", 0)
    matcher = _compile(POLICY)
    assert summaries_may_qualify(matcher, texts, families) == remembered
    assert summaries_may_qualify(matcher, texts, families) == remembered
    assert not any(matcher._decisions.values())


def test_the_gate_looks_for_prepositions_and_pronouns() -> None:
    """"find my" needs "my", "=wait for her" needs "for": a summary with
    "found" and one other behaviour is not read in full for them."""
    matcher = compile_policy(POLICY)
    text = "he found the keys after the argument and followed her to the shop"
    assert "monitoring" not in matcher.possible_categories(text)
    assert not summary_may_qualify(matcher, text, "harassment")
    located = "he used find my iphone and followed her to the shop"
    assert "monitoring" in matcher.possible_categories(located)
    assert summary_may_qualify(matcher, located, "harassment")
