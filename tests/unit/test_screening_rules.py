"""Screening rules for stalking recorded as something else (pure): reading
summaries as lemmas by clause, negation and hedging scope, each behaviour
family in several phrasings (active, passive, the victim's own words), each
trap family, the prefilter, and the rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import PolicyError
from app.policy import default_policy, policy_from_mapping
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
    risk_answers,
    rule_label,
    scoping,
    score_batch,
    screen_crime,
    summary_matches,
)
from app.rules.screening.language import (
    COUNT,
    NIGHT,
    NOT,
    ORDINAL,
    SHORTHAND,
    TIMES,
    TOKEN,
    word_labels,
)

POLICY = default_policy().screening
MATCHER = compile_policy(POLICY)


def found(text: str) -> list[tuple[str, str]]:
    return [(m.category, m.text) for m in MATCHER.find(text)]


def categories(text: str) -> set[str]:
    return {m.category for m in MATCHER.find(text)}


def one(*phrases: str, **kwargs) -> PhraseMatcher:  # type: ignore[no-untyped-def]
    return PhraseMatcher({"c": phrases}, scoping=scoping(POLICY), **kwargs)


def flagged(summary: str, family: str = "harassment") -> bool:
    result = screen_crime(CrimeFacts(summary=summary, family=family), POLICY, MATCHER,
                          matches=summary_matches(MATCHER, summary))
    return result is not None and result.is_candidate(POLICY)


# --- words and lemmas ----------------------------------------------------------

@pytest.mark.parametrize("word", ["stalk", "stalked", "stalks", "stalking", "Stalking"])
def test_stalk_forms_read_as_one_lemma(word: str) -> None:
    assert word_labels(word, 3)[0] == "stalk"


@pytest.mark.parametrize(("word", "lemma"), [
    ("waited", "wait"), ("waiting", "wait"), ("waits", "wait"), ("sat", "sit"),
    ("sitting", "sit"), ("following", "follow"), ("tyres", "tyre"), ("spied", "spy"),
    ("hung", "hang"), ("ex's", "ex"), ("won't", NOT), ("doesnt", NOT), ("cannot", NOT),
])
def test_word_forms_read_as_their_lemma(word: str, lemma: str) -> None:
    assert word_labels(word, 3)[0] == lemma


@pytest.mark.parametrize(("word", "label"), [
    ("63", COUNT), ("dozens", COUNT), ("eleven", COUNT), ("fourth", ORDINAL), ("5th", ORDINAL),
    ("0200", NIGHT), ("3am", NIGHT), ("11pm", NIGHT), ("midnight", NIGHT),
    ("x2", TIMES), ("x4", TIMES), ("x4", COUNT), ("X10", COUNT), ("x1", "one"),
])
def test_numbers_and_times_carry_their_class(word: str, label: str) -> None:
    assert label in word_labels(word, 3)


@pytest.mark.parametrize(("text", "words", "first_label"), [
    ("attended o/s her address", ["attended", "o/s", "her", "address"], "attend"),
    ("O/S the shop", ["O/S", "the", "shop"], "outside"),
    ("most w/e since May", ["most", "w/e", "since", "May"], "most"),
    ("her b/f's car", ["her", "b/f's", "car"], "her"),
    ("and/or 24/7 a/b/c", ["and", "or", "24", "7", "a", "b", "c"], "and"),
])
def test_an_officers_letter_slash_letter_is_one_word(text: str, words: list[str],
                                                      first_label: str) -> None:
    """"o/s" is one word read as outside; a slash between longer words, digits
    or more than two letters still separates them."""
    assert TOKEN.findall(text) == words
    assert word_labels(words[0], 3)[0] == first_label
    assert [word_labels(w, 3)[0] for w in words if "/" in w] == [
        SHORTHAND.get(w.lower().removesuffix("'s"), w.lower()) for w in words if "/" in w]


@pytest.mark.parametrize("word", ["two", "2", "1st", "2024", "9am", "3pm", "x1", "x0", "ex5"])
def test_small_counts_years_and_daytimes_carry_no_class(word: str) -> None:
    assert not {COUNT, NIGHT, TIMES} & set(word_labels(word, 3))


@pytest.mark.parametrize("text", ["let her tyres down", "her tyres were let down",
                                  "the tyres on her car were let down"])
def test_a_phrase_matches_its_words_in_any_order_within_a_clause(text: str) -> None:
    assert len(one("let down tyre").find(text)) == 1


def test_a_phrase_stays_within_its_clause_and_span() -> None:
    matcher = one("let down tyre")
    assert matcher.find("her tyres were fine. he let her down") == []
    assert matcher.find("he let her down badly and a week later, at the garage, tyres") == []


def test_ordered_phrases_keep_their_order() -> None:
    matcher = one("=one message")
    assert len(matcher.find("he sent one abusive message")) == 1
    assert matcher.find("he messaged her after each one") == []


def test_spans_and_words_of_a_match_index_the_text() -> None:
    text = "Victim said the tyres were LET DOWN again."
    (match,) = one("let down tyre").find(text)
    assert text[match.start:match.end] == "tyres were LET DOWN"
    assert match.words == ("tyres", "LET", "DOWN")


def test_spans_survive_letters_whose_lower_case_is_longer() -> None:
    text = "İstanbul trip; he followed her again"
    matches = summary_matches(MATCHER, text)
    assert [text[m.start:m.end] for m in matches] == ["followed", "again"]


@pytest.mark.parametrize("bad", ["", "#counted message", "wait|", "fo@llow"])
def test_bad_phrases_are_refused_naming_the_phrase(bad: str) -> None:
    with pytest.raises(PhraseError):
        one(bad)


def test_a_bad_phrase_in_a_policy_file_is_an_error_naming_the_key() -> None:
    with pytest.raises(PolicyError, match=r"screening\.behaviours\.following\[0\]"):
        policy_from_mapping({"screening": {"behaviours": {"following": ["fo@llow"]}}})
    with pytest.raises(PolicyError, match="supporting"):
        policy_from_mapping({"screening": {"family_categories": {"breach": "following"}}})


# --- behaviour families: active, passive, the victim's own words ---------------

FAMILIES: dict[str, list[str]] = {
    "named_stalking": ["She says he has been stalking her for months",
                       "The victim has been stalked since the summer",
                       "'I think I have a stalker'"],
    "following": ["He follows her home from the station",
                  "She was followed to her car by the suspect",
                  "'He walks behind me all the way to work'",
                  "'Wherever I go he is there'"],
    "loitering": ["He waited outside her flat until she came back",
                  "A man was seen loitering in the alley behind her house",
                  "'He hangs around by my gate'",
                  "S sat in his vehicle o/s her address x4 in past fortnight",
                  "ANPR puts his van within 200 metres of V's home",
                  "Susp seen hiding behind the garden wall"],
    "turning_up": ["The suspect turned up at her gym",
                   "He has appeared at her office unannounced",
                   "'He just shows up wherever I am'",
                   "'I can't go anywhere without him turning up'"],
    "watching": ["He watches her from the bus shelter",
                 "She was being watched from a parked car",
                 "'He stares at me through the window'",
                 "He keeps walking past her house and looking in the windows"],
    "monitoring": ["He tracked her phone and read her messages",
                   "Her email account was accessed by the suspect",
                   "'He always knows where I go'",
                   "He asked her friend where she works now"],
    "covert_tracking": ["He fitted a tracker to her car",
                        "An AirTag was found taped under her bumper",
                        "'There was spyware on my phone'",
                        "A camera was found hidden in her smoke alarm"],
    "contact_via_others": ["He contacted her sister to find her",
                           "Messages were sent from a new account each week",
                           "'He keeps messaging my friends about me'",
                           "'My brother gets texts asking if I'm okay'",
                           "She had a friend request from another new profile",
                           "He joined the family group chat under a false name"],
    "publishing": ["He posted photos of her address online",
                   "Intimate images of her were published on a forum",
                   "'He set up a page about me'",
                   "Photographs of her house were posted on a forum",
                   "He runs a blog calling her a liar",
                   "He has set up a blog about her",
                   "He sent her new partner screenshots of her messages"],
    "interfering_with_property": ["He slashed her tyres outside work",
                                  "Her car was scratched down one side",
                                  "'Someone keeps going through my bins'"],
    "gifts": ["He left flowers on her doorstep",
              "Parcels were delivered to her work with no name",
              "'He sends me presents I never asked for'"],
    "unwanted_contact": ["He will not stop calling her",
                         "She has been repeatedly contacted despite being told",
                         "'I asked him to leave me alone'",
                         "'He just never stops'"],
    "fixation": ["He is obsessed with her",
                 "She describes him as fixated on her new partner",
                 "'He says he cannot live without me'"],
    "repeated": ["He did it again on Friday", "It happened for the fourth time",
                 "'Every time I go out he is there'",
                 "Attended her address x3 this week", "It has happened most weekends since March",
                 "The latest in a string of incidents"],
    "former_partner": ["Her ex-partner sent the card", "She has separated from the suspect",
                       "'My ex husband did it'", "Since she split from the suspect",
                       "Her ex works at the same depot"],
    "small_hours": ["He knocked on her door at 0230", "She was woken at 3am",
                    "'It was late at night'", "'He was at my window at two in the morning'"],
}


@pytest.mark.parametrize(("family", "text"),
                         [(f, t) for f, texts in FAMILIES.items() for t in texts])
def test_each_behaviour_family_in_three_phrasings(family: str, text: str) -> None:
    assert family in categories(text)


@pytest.mark.parametrize("text", [
    "The victim was sent 63 messages in one night and he waited outside her work",
    "Her tyres were let down for the fourth time; her ex-husband was seen on her drive at 3am",
    "Yet another bunch of flowers was left at her door; he has been seen near her home",
    "Every time she posts online he turns up at the same place",
])
def test_repetition_in_any_wording_makes_one_behaviour_a_candidate(text: str) -> None:
    assert flagged(text)


def test_a_breach_crime_counts_as_conduct_after_a_court_said_stop() -> None:
    summary = "He sent her flowers at work"
    assert not flagged(summary, "harassment")
    assert flagged(summary, "breach")
    hit = behaviour(CrimeFacts(summary=summary, family="breach"),
                    MATCHER.find(summary), POLICY)
    assert hit is not None and hit.explanation == "2 behaviours: gifts, breach of order"
    assert hit.evidence[-1] == {"rule": BEHAVIOUR, "category": "breach_of_order",
                                "family": "breach", "text": "recorded as breach"}


# --- negation and hedging, by clause --------------------------------------------

@pytest.mark.parametrize("text", [
    "She does not feel followed or watched",
    "There has been no further contact",
    "He has never followed her, watched her or waited for her",
    "IP hasn't been followed and doesn't think anyone is watching",
    "No suggestion that he has loitered near her home",
    "She no longer feels watched",
    "Stalking was considered and ruled out",
    "If he turns up again she will call 999",
    "She is worried he might start following her",
    "She is scared he will follow her home one day",
])
def test_negated_and_hedged_behaviours_do_not_count(text: str) -> None:
    assert categories(text) & set(POLICY.behaviours) - set(POLICY.supporting_categories) == set()


@pytest.mark.parametrize(("text", "category"), [
    ("He would not stop following her", "following"),
    ("Not long after, he followed her home", "following"),
    ("She could not sleep. He was waiting outside her house", "loitering"),
    ("She did not answer, but he stood outside her flat", "loitering"),
    ("The suspect denies following her", "following"),
    ("She has had no peace since he started following her", "following"),
    ("The damage was done in May, and he has followed her since", "following"),
])
def test_negation_ends_with_its_clause_a_terminator_or_a_breaker(text: str, category: str) -> None:
    assert category in categories(text)


def test_a_phrase_holding_its_own_negation_matches() -> None:
    assert ("unwanted_contact", "not stop") in found("He will not stop calling her")
    assert ("unwanted_contact", "won't stop") in found("He won't stop calling her")


def test_negation_scope_comes_from_the_policy() -> None:
    narrow = replace(POLICY, negation_scope=1)
    matcher = compile_policy(narrow)
    assert "watching" in {m.category for m in matcher.find("she does not feel that he is watching")}
    assert "watching" not in categories("she does not feel that he is watching")


# --- traps: the words of stalking in another sense ------------------------------

TRAPS: dict[str, list[str]] = {
    "followed up": ["OIC followed up with the victim", "Officer to follow up with CPS",
                    "A follow-up visit was made"],
    "following as a preposition": ["Following the incident he sent one text",
                                   "Following enquiries the suspect was spoken to",
                                   "Following her separation the couple argued"],
    "CCTV and footage": ["Officers watched the CCTV", "The victim watched the doorbell footage",
                         "CCTV was watched by security"],
    "police at work": ["Officers will monitor the address", "Waited for police to arrive",
                       "Neighbourhood watch informed"],
    "parcels and cards": ["He tracked the parcel she returned", "Her bank card was used",
                          "She received a solicitor's letter"],
    "senders, not targets": ["Abusive messages from her sister",
                             "Texts sent by his brother about money",
                             "A message from the victim's friend"],
    "other senses of watch, monitor and follow": [
        "The victim's watch was taken from her car",
        "A computer monitor was broken in the argument",
        "Her ex's new partner keeps following her on Instagram"],
    "records and routes": ["A friend told her to get it on record",
                           "Officer recorded her statement", "She followed the route home"],
    "evidence she kept": ["She has screenshots of the messages",
                          "'I've screenshotted it'", "Both parties have screenshots"],
    "insults and places in passing": ["He called the victim a bad mother in a text",
                                      "He sat at the opposite end of the hall",
                                      "A door-to-door salesman came back"],
}


@pytest.mark.parametrize(("family", "text"),
                         [(f, t) for f, texts in TRAPS.items() for t in texts])
def test_trap_wording_is_no_behaviour(family: str, text: str) -> None:
    core = set(POLICY.behaviours) - set(POLICY.supporting_categories)
    assert not categories(text) & core, family


@pytest.mark.parametrize("text", [
    "Verbal argument between neighbours over a fence. No further contact since.",
    "Single incident: he shouted at her outside the shop and left",
    "Car damaged again in the multi-storey; several other cars damaged the same night",
    "Her car was keyed once; she wants it recorded for the insurance",
    "He swore at her at the handover of the children, as agreed by the court",
    "Youths have been hanging around the shops throwing eggs at windows",
    "Phishing text about a parcel, sent to thousands of numbers",
    "Debt collection agency rang her x3 and sent 3 letters about an old bill",
    "Enforcement agents keep coming to her door about council tax",
    "Both share location on an app by mutual agreement and she is happy for it to continue",
    "Her ex dropped the uniform at her door as arranged; he swore at her",
    "They were together for two years; he damaged her car after the split",
    "Her ex-partner says he is always there for the children",
])
def test_one_off_and_untargeted_incidents_are_not_candidates(text: str) -> None:
    assert not flagged(text)


def test_one_off_wording_is_found_and_lowers_the_score() -> None:
    summary = "He followed her again in a single incident; no other contact."
    hit = isolated_incident(CrimeFacts(), MATCHER.find(summary), POLICY)
    assert hit is not None and hit.weight == -2.0
    assert hit.explanation == "isolated incident: single incident, no other contact"
    result = screen_crime(CrimeFacts(summary=summary), POLICY)
    assert result is not None and result.rules == [BEHAVIOUR, ISOLATED_INCIDENT]
    assert result.score == 1.0 and not result.is_candidate(POLICY)


# --- the prefilter ----------------------------------------------------------------

VOCABULARY = ["he", "she", "her", "followed", "following", "the", "incident", "up", "waited",
              "outside", "house", "again", "not", "no", "watched", "cctv", "tyres", "let",
              "down", "stalking", "protection", "order", "messaged", "sister", "from", "new",
              "account", "every", "night", "ex", "partner", "card", "flowers", ".", ",", "63",
              "messages", "fourth", "time", "at", "3am", "damaged", "car"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY), max_size=18))
def test_the_prefilter_never_hides_a_match(words: list[str]) -> None:
    """Whatever the words, the cheap path finds what the full reading finds
    whenever a stalking behaviour is there, and nothing otherwise."""
    text = " ".join(words)
    full = MATCHER.find(text)
    core = set(POLICY.behaviours) - set(POLICY.supporting_categories)
    if any(m.category in core for m in full):
        assert summary_matches(MATCHER, text) == full
    else:
        assert summary_matches(MATCHER, text) == []


def test_the_prefilter_rules_out_ordinary_summaries() -> None:
    assert not MATCHER.might_match("abusive messages after a row about money")
    assert not MATCHER.might_match("following a dispute over parking the suspect shouted")
    assert MATCHER.might_match("he followed her home")


# --- the rules --------------------------------------------------------------------

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
    summary = "Ex-partner keeps messaging her after being told to stop"
    hit = former_partner_repeated_contact(facts(relationship="ex_partner", summary=summary),
                                          matches(summary), POLICY)
    assert hit is not None
    assert [e["text"] for e in hit.evidence] == ["keeps messaging", "told to stop"]


def test_former_partner_rule_needs_the_relationship_and_repetition() -> None:
    summary = "keeps messaging her"
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
    assert hit.weight == 4.5  # following + repeated + watching
    assert hit.explanation == "3 behaviours: following, repeated, watching"
    assert [e["text"] for e in hit.evidence] == ["followed", "again", "watched"]
    many = ("He followed her, watched her, loitered outside, turned up at work, "
            "slashed her tyres and sent flowers")
    capped = behaviour(facts(), matches(many), POLICY)
    assert capped is not None and capped.weight == 6.0


def test_supporting_categories_count_only_next_to_a_stalking_behaviour() -> None:
    abuse = "offensive remarks on several occasions from her ex at 3am"
    assert behaviour(facts(), matches(abuse), POLICY) is None
    watched = "watching the house from across the road for several nights"
    hit = behaviour(facts(), matches(watched), POLICY)
    assert hit is not None and hit.weight == 3.0
    assert hit.explanation == "2 behaviours: watching, repeated"


def test_one_behaviour_alone_is_not_a_candidate_whatever_else_is_known() -> None:
    result = screen_crime(facts(summary="he watched her", relationship="ex_partner",
                                pair_crime_refs=("A",), sdash_answers="NNNNYNNNNNN"), POLICY)
    assert result is not None and result.score >= POLICY.min_score
    assert BEHAVIOUR in result.rules and not result.is_candidate(POLICY)


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
    flagged_ = online_contact(facts(online=True), [], POLICY)
    assert flagged_ is not None and flagged_.explanation == "online flag"
    worded = online_contact(facts(), matches("messages on Instagram"), POLICY)
    assert worded is not None and worded.explanation == "online: Instagram"
    assert online_contact(facts(), matches("he shouted in the street"), POLICY) is None
    assert online_contact(facts(), matches("he went offline"), POLICY) is None


def test_a_candidate_needs_a_described_course_of_conduct() -> None:
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
    assert result.score == 2.0 + 2.5 + 3.0 + 0.5
    assert result.is_candidate(POLICY)
    assert rule_label(result.rules) == "CoC ExP Beh Onl"


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


def test_reserved_categories_are_refused() -> None:
    assert MATCHER.find("") == []
    bad = replace(POLICY, behaviours={**POLICY.behaviours, "online": ("x",)})
    with pytest.raises(PhraseError, match="online"):
        compile_policy(bad)
    bad = replace(POLICY, behaviours={**POLICY.behaviours, "isolated_incident": ("x",)})
    with pytest.raises(PhraseError, match="isolated_incident"):
        compile_policy(bad)


def test_score_batch_keeps_only_crimes_that_qualify_with_their_evidence() -> None:
    crimes = [
        (1, "He followed her home again", "harassment", "ex_partner", False, ("NC/1",), None, ()),
        (2, "A dispute about parking", "harassment", "stranger", False, (), None, ()),
        (3, "", "malicious communications", "acquaintance", True, ("NC/2",), "NNNNNNNNNNN", ()),
        (4, "He watched her", "harassment", "stranger", False, ("NC/3",), None, ()),
    ]
    scored, candidates = score_batch(crimes, POLICY)
    assert candidates == 1
    (first,) = scored
    assert first[:3] == (1, 7.5, True)
    assert json.loads(first[3]) == [
        "course_of_conduct", "former_partner_repeated_contact", "behaviour"]
    evidence = json.loads(first[4])
    assert {"followed", "repeated"} <= {
        value for item in evidence for key, value in item.items()
        if key in ("text", "category")}


def test_phrases_found_at_the_same_words_come_in_the_same_order_in_every_process() -> None:
    # "share location" and "location sharing" both match "location through a
    # shared": the stored evidence must not depend on the process's string hashing
    code = ("from app.policy import default_policy\n"
            "from app.rules.screening import compile_policy\n"
            "m = compile_policy(default_policy().screening)\n"
            "text = 'She found he had her location through a shared app and texted her 40 times.'\n"
            "print([(x.phrase, x.start, x.end) for x in m.find(text)])\n")
    answers = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
        for seed in range(6)}
    assert len(answers) == 1, answers
    (answer,) = answers
    assert "share location" in answer and "location sharing" in answer
