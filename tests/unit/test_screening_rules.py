"""Screening rules for stalking recorded as something else (pure): the phrase
compiler and each rule, with positive and negative examples."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.policy import default_policy
from app.rules.screening import (
    BEHAVIOUR,
    BREACH_SAME_VICTIM,
    COURSE_OF_CONDUCT,
    FORMER_PARTNER,
    ISOLATED_INCIDENT,
    ONLINE_CONTACT,
    RISK_ANSWERS,
    CrimeFacts,
    PhraseError,
    PhraseMatcher,
    behaviour,
    breach_same_victim,
    compile_policy,
    course_of_conduct,
    former_partner_repeated_contact,
    highlight_spans,
    isolated_incident,
    online_contact,
    phrase_regex,
    risk_answers,
    rule_label,
    score_batch,
    screen_crime,
)

POLICY = default_policy().screening
ENDINGS = POLICY.word_endings
MATCHER = compile_policy(POLICY)


def texts(text: str, matcher: PhraseMatcher = MATCHER) -> list[tuple[str, str]]:
    return [(m.category, m.text) for m in matcher.find(text)]


def one(phrase: str, **kwargs) -> PhraseMatcher:  # type: ignore[no-untyped-def]
    return PhraseMatcher({"c": (phrase,)}, endings=ENDINGS, **kwargs)


# --- phrase compiler ---------------------------------------------------------

@pytest.mark.parametrize("word", ["follow", "follows", "followed", "following", "follower",
                                  "followers", "Followed", "FOLLOWING"])
def test_trailing_star_matches_word_forms(word: str) -> None:
    assert texts(f"he {word} her", one("follow*")) == [("c", word)]


@pytest.mark.parametrize("text", ["unfollowing", "unfollowed", "refollow", "follow-up",
                                  "un-followed", "followup_x", "fellow"])
def test_trailing_star_never_matches_inside_another_word(text: str) -> None:
    assert texts(f"she was {text} today", one("follow*")) == []


def test_endings_are_listed_so_a_stem_does_not_swallow_other_words() -> None:
    tracker = one("track*")
    assert texts("tracked, tracking, tracker", tracker) == [
        ("c", "tracked"), ("c", "tracking"), ("c", "tracker")]
    assert texts("wearing a tracksuit", tracker) == []
    assert texts("a cardigan and cards", one("card*")) == [("c", "cards")]


def test_without_star_only_the_exact_word_matches() -> None:
    assert texts("flowers, flowerbed, flower", one("flowers")) == [("c", "flowers")]


def test_star_alone_stands_for_exactly_one_word() -> None:
    matcher = one("accessed * account*")
    assert texts("he accessed her accounts", matcher) == [("c", "accessed her accounts")]
    assert texts("he accessed her email accounts", matcher) == []
    assert texts("he accessed accounts", matcher) == []


def test_double_star_stands_for_one_to_three_words() -> None:
    matcher = one("monitor* ** phone*")
    assert texts("monitoring her phone", matcher) == [("c", "monitoring her phone")]
    assert texts("he monitored Sam O'Neill's phones", matcher) == [
        ("c", "monitored Sam O'Neill's phones")]
    assert texts("monitoring the phone of the victim", matcher) == [("c", "monitoring the phone")]
    assert texts("monitoring phone", matcher) == []
    assert texts("monitor a b c d phone", matcher) == []


def test_words_may_be_separated_by_any_whitespace() -> None:
    assert texts("he turned\n  up again", one("turn* up")) == [("c", "turned\n  up")]


@pytest.mark.parametrize("text", ["he won't stop", "he won’t stop", "HE WON'T STOP"])
def test_apostrophes_match_straight_and_typographic(text: str) -> None:
    assert len(one("won't stop").find(text)) == 1


def test_spans_index_the_original_text() -> None:
    text = "Victim said he FOLLOWED her home."
    (match,) = one("follow*").find(text)
    assert (match.start, match.end) == (15, 23)
    assert text[match.start:match.end] == "FOLLOWED"


def test_spans_survive_letters_whose_lower_case_is_longer() -> None:
    text = "İstanbul trip; he followed her"
    (match,) = one("follow*").find(text)
    assert text[match.start:match.end] == "followed"


@pytest.mark.parametrize("bad", ["", "* follow", "fo*llow", "**"])
def test_bad_phrases_are_refused_naming_the_phrase(bad: str) -> None:
    with pytest.raises(PhraseError):
        phrase_regex(bad, ENDINGS)


def test_phrase_regex_is_whole_word() -> None:
    pattern = re.compile(phrase_regex("hang* around", ENDINGS))
    assert pattern.search("he hangs around the school")
    assert not pattern.search("he changs around")


@given(st.text(alphabet="abcdefollwingun -'’.,", max_size=40))
def test_every_match_is_a_whole_word_starting_with_follow(text: str) -> None:
    for match in one("follow*").find(text):
        assert match.text.lower().startswith("follow")
        before = text[match.start - 1] if match.start else " "
        after = text[match.end] if match.end < len(text) else " "
        assert not (before.isalnum() or before in "-_")
        assert not (after.isalnum() or after in "-_")


# --- exclusions and negation -------------------------------------------------

@pytest.mark.parametrize("text", [
    "the victim watched CCTV footage with officers",
    "he turned up late to collect the children",
    "she received a birthday card from him",
    "officers will follow up with the victim",
    "following the incident the suspect left",
    "following an argument in the pub",
    "the suspect stole his watch",
    "she joined the neighbourhood watch",
    "the bank card was used",
])
def test_police_wording_is_excluded(text: str) -> None:
    assert [c for c, _ in texts(text) if c != "online"] == []


def test_exclusion_only_covers_its_own_words() -> None:
    assert texts("following the incident he followed her home") == [("following", "followed")]


@pytest.mark.parametrize("text", [
    "the suspect did not follow her",
    "he never turned up at the address",
    "there was no unwanted contact",
    "he hasn’t followed her since",
])
def test_negated_phrases_are_ignored(text: str) -> None:
    assert texts(text) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("he would not stop following her", [("unwanted_contact", "would not stop"),
                                         ("following", "following")]),
    ("not long after, he followed her", [("following", "followed")]),
    ("she could not sleep. he followed her", [("following", "followed")]),
])
def test_negation_is_local_and_broken_by_stop(text: str, expected: list) -> None:  # type: ignore[type-arg]
    assert texts(text) == expected


def test_negation_can_be_switched_off_by_policy() -> None:
    matcher = one("follow*", negations=("not",), negation_window=0)
    assert len(matcher.find("did not follow")) == 1


# --- the rules ---------------------------------------------------------------

def facts(**kwargs) -> CrimeFacts:  # type: ignore[no-untyped-def]
    return CrimeFacts(**kwargs)


def matches(summary: str):  # type: ignore[no-untyped-def]
    return MATCHER.find(summary)


def test_course_of_conduct_fires_with_another_crime_for_the_pair() -> None:
    hit = course_of_conduct(facts(pair_crime_refs=("NOR/1/26",)), [], POLICY)
    assert hit is not None
    assert (hit.rule, hit.weight) == (COURSE_OF_CONDUCT, 2.0)
    assert hit.evidence == ({"rule": COURSE_OF_CONDUCT, "crime_refs": ["NOR/1/26"]},)
    assert hit.explanation == "2 crimes for this victim and suspect within 365 days"


def test_course_of_conduct_needs_the_policy_minimum() -> None:
    assert course_of_conduct(facts(), [], POLICY) is None
    stricter = replace(POLICY, course_of_conduct_min_crimes=3)
    assert course_of_conduct(facts(pair_crime_refs=("A",)), [], stricter) is None
    assert course_of_conduct(facts(pair_crime_refs=("A", "B")), [], stricter) is not None


def test_former_partner_with_repeat_crimes() -> None:
    hit = former_partner_repeated_contact(
        facts(relationship="ex_partner", pair_crime_refs=("A",)), [], POLICY)
    assert hit is not None and hit.weight == 2.5
    assert hit.explanation == "former partner; 2 crimes for the pair"


def test_former_partner_with_unwanted_contact_wording() -> None:
    summary = "Ex-partner keeps contacting her after being told to stop"
    hit = former_partner_repeated_contact(facts(relationship="ex_partner", summary=summary),
                                          matches(summary), POLICY)
    assert hit is not None
    assert [e["text"] for e in hit.evidence] == ["keeps contacting", "after being told"]


def test_former_partner_rule_needs_the_relationship_and_repetition() -> None:
    summary = "keeps contacting her"
    assert former_partner_repeated_contact(
        facts(relationship="acquaintance", pair_crime_refs=("A",)), matches(summary), POLICY
    ) is None
    assert former_partner_repeated_contact(
        facts(relationship="ex_partner", summary="one argument at a party"),
        matches("one argument at a party"), POLICY) is None


def test_behaviour_scores_each_category_once_up_to_the_cap() -> None:
    summary = "He followed her, followed her again and watched the house"
    hit = behaviour(facts(), matches(summary), POLICY)
    assert hit is not None
    assert hit.weight == 3.0  # following + watching
    assert hit.explanation == "2 behaviours: following, watching"
    assert [e["text"] for e in hit.evidence] == ["followed", "followed", "watched"]
    many = ("He followed her, watched her, loitered outside, turned up at work, "
            "slashed her tyres and sent flowers")
    capped = behaviour(facts(), matches(many), POLICY)
    assert capped is not None and capped.weight == 4.5


def test_repetition_counts_only_next_to_a_stalking_behaviour() -> None:
    abuse = "offensive remarks on several occasions at the shops"
    assert behaviour(facts(), matches(abuse), POLICY) is None
    watched = "watching the house from across the road for several nights"
    hit = behaviour(facts(), matches(watched), POLICY)
    assert hit is not None and hit.weight == 3.0
    assert hit.explanation == "2 behaviours: watching, repeated"


def test_behaviour_ignores_online_markers_and_plain_text() -> None:
    assert behaviour(facts(), matches("abusive messages on facebook"), POLICY) is None
    assert behaviour(facts(), matches("a dispute about parking"), POLICY) is None


def test_risk_answers_weighs_visits_and_loitering_more() -> None:
    plain = risk_answers(facts(sdash_answers="YNNNNNNNNNN"), [], POLICY)
    assert plain is not None and plain.weight == 1.0
    visits = risk_answers(facts(sdash_answers="NNNYYNNNNNN"), [], POLICY)
    assert visits is not None and visits.weight == 2.0
    assert visits.evidence[0]["questions"] == [4, 5]
    assert risk_answers(facts(), [], POLICY) is None


def test_breach_of_an_order_protecting_the_same_victim() -> None:
    hit = breach_same_victim(facts(breached_orders=("RO/7",)), [], POLICY)
    assert hit is not None and hit.weight == 2.0
    assert hit.evidence == ({"rule": BREACH_SAME_VICTIM, "order_refs": ["RO/7"]},)
    assert breach_same_victim(facts(), [], POLICY) is None


def test_online_contact_from_flag_or_wording() -> None:
    flagged = online_contact(facts(online=True), [], POLICY)
    assert flagged is not None and flagged.explanation == "online flag"
    worded = online_contact(facts(), matches("messages on Instagram"), POLICY)
    assert worded is not None and worded.explanation == "online: Instagram"
    assert online_contact(facts(), matches("he shouted in the street"), POLICY) is None
    assert online_contact(facts(), matches("he went offline"), POLICY) is None


def test_isolated_incident_wording_lowers_the_score() -> None:
    summary = "He watched her leave the pub in a single incident; no other contact."
    hit = isolated_incident(facts(), matches(summary), POLICY)
    assert hit is not None and hit.weight == -2.0
    assert hit.explanation == "isolated incident: single incident, no other contact"
    assert isolated_incident(facts(), matches("he watched her"), POLICY) is None
    result = screen_crime(facts(summary=summary, pair_crime_refs=("A",)), POLICY)
    assert result is not None and result.rules == [COURSE_OF_CONDUCT, BEHAVIOUR, ISOLATED_INCIDENT]
    assert result.score == 1.5 and not result.is_candidate(POLICY)


def test_a_candidate_needs_a_described_behaviour() -> None:
    context_only = screen_crime(facts(relationship="ex_partner", pair_crime_refs=("A",),
                                      sdash_answers="NNNNYNNNNNN", online=True), POLICY)
    assert context_only is not None and context_only.score == 2.0 + 2.5 + 2.0 + 0.5
    assert not context_only.qualifies(POLICY) and not context_only.is_candidate(POLICY)
    anything = replace(POLICY, candidate_requires=())
    assert context_only.qualifies(anything) and context_only.is_candidate(anything)
    described = screen_crime(facts(summary="he keeps turning up", pair_crime_refs=("A",)), POLICY)
    assert described is not None and described.is_candidate(POLICY)


def test_score_is_the_sum_and_lists_the_rules_fired() -> None:
    summary = "Former partner followed her home and sent messages on Instagram"
    result = screen_crime(
        facts(summary=summary, relationship="ex_partner", pair_crime_refs=("NOR/9/25",)), POLICY)
    assert result is not None
    assert result.rules == [COURSE_OF_CONDUCT, FORMER_PARTNER, BEHAVIOUR, ONLINE_CONTACT]
    assert result.score == 2.0 + 2.5 + 1.5 + 0.5
    assert result.is_candidate(POLICY)
    assert rule_label(result.rules) == "CoC ExP Beh Onl"


def test_below_the_minimum_score_is_not_a_candidate() -> None:
    result = screen_crime(facts(summary="messages on facebook"), POLICY)
    assert result is not None and result.score == 0.5
    assert not result.is_candidate(POLICY)
    empty = screen_crime(facts(summary="a dispute about parking"), POLICY)
    assert empty is not None and empty.rules == [] and not empty.is_candidate(POLICY)


def test_crimes_already_stalking_or_not_screened_are_never_candidates() -> None:
    busy = dict(summary="He followed her and watched her", pair_crime_refs=("A",),
                relationship="ex_partner")
    assert screen_crime(facts(stalking_recorded=True, **busy), POLICY) is None
    assert screen_crime(facts(family="stalking", **busy), POLICY) is None
    assert screen_crime(facts(family="burglary", **busy), POLICY) is None


def test_risk_answers_rule_name_in_result() -> None:
    result = screen_crime(facts(sdash_answers="NNNNYNNNNNN", pair_crime_refs=("A",)), POLICY)
    assert result is not None and result.rules == [COURSE_OF_CONDUCT, RISK_ANSWERS]
    assert result.score == 4.0


def test_highlight_spans_merge_overlaps_in_order() -> None:
    evidence = [
        {"rule": BEHAVIOUR, "start": 10, "end": 18, "category": "following"},
        {"rule": FORMER_PARTNER, "start": 2, "end": 5, "category": "unwanted_contact"},
        {"rule": BEHAVIOUR, "start": 15, "end": 20, "category": "watching"},
        {"rule": COURSE_OF_CONDUCT, "crime_refs": ["X"]},
    ]
    spans = highlight_spans(evidence)
    assert [(s.start, s.end) for s in spans] == [(2, 5), (10, 20)]


def test_policy_phrases_all_compile_and_online_is_reserved() -> None:
    assert MATCHER.find("") == []
    bad = replace(POLICY, behaviours={**POLICY.behaviours, "online": ("x",)})
    with pytest.raises(PhraseError, match="online"):
        compile_policy(bad)
    bad = replace(POLICY, behaviours={**POLICY.behaviours, "isolated_incident": ("x",)})
    with pytest.raises(PhraseError, match="isolated_incident"):
        compile_policy(bad)


def test_score_batch_stores_json_and_counts_candidates() -> None:
    crimes = [
        (1, "He followed her home", "harassment", "ex_partner", False, ("NC/1",), None, ()),
        (2, "A dispute about parking", "harassment", "stranger", False, (), None, ()),
        (3, "", "malicious communications", "acquaintance", True, ("NC/2",), "NNNNNNNNNNN", ()),
    ]
    scored, candidates = score_batch(crimes, POLICY)
    assert candidates == 1
    first, second, third = scored
    assert first[:4] == (1, 6.0, True,
                         '["course_of_conduct", "former_partner_repeated_contact", "behaviour"]')
    assert '"text": "followed"' in first[4]
    assert second == (2, 0.0, False, "[]", "[]")
    # scored but unable to reach the queue (no behaviour): no evidence kept
    assert third == (3, 3.5, False, '["course_of_conduct", "risk_answers", "online_contact"]', "[]")
