"""Reading a summary as words: tokens, lemmas, clauses, and the scope of
negation and hedging.

Lemmas come from ``simplemma`` (its English dictionary ships in the wheel),
one look-up per distinct word, cached: "stalked", "stalking" and "stalks"
all read as ``stalk``; "sat" as ``sit``; "tyres" as ``tyre``. Two small
additions that a dictionary of word forms cannot give:

- a gerund the dictionary keeps as a noun reads as its verb when the verb is
  a known word ("following" -> ``follow``, "sitting" -> ``sit``);
- negative contractions read as ``not`` ("won't", "doesnt", "cannot"), and
  numbers as classes: ``#count`` for a count of at least the policy's
  ``count_min`` ("63", "dozens", "eleven"), ``#ordinal`` for the second
  and after ("fourth", "5th"), ``#night`` for a time in the small hours
  ("0200", "3am", "11pm", "midnight"), ``#times`` for an officer's count
  of occasions ("x2", "x4"; "x1" reads as ``one``);
- the officer's shorthand of a letter, a slash and a letter is one word,
  and a few read as what they stand for: "o/s" as ``outside``, "w/e" as
  ``weekend``, "b/f" and "g/f" as ``boyfriend`` and ``girlfriend``.

Negation and hedging are scoped NegEx-style, by clause rather than by a
window of words: a trigger ("not", "no", "never", "if", "might") covers the
words after it up to the end of its clause, a terminator ("but", "because",
"and he") or ``negation_scope`` words, whichever comes first; a breaker
("stop", "only", "leave") ends the scope ("would not stop following her");
a comma ends it only when what follows starts a clause of its own ("not
long after, he followed her"), not in a list ("never followed, watched or
contacted"). A post-trigger ("ruled out")
covers the words before it in its clause.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property

COUNT = "#count"
ORDINAL = "#ordinal"
NIGHT = "#night"
TIMES = "#times"
NOT = "not"
CLASSES = (COUNT, ORDINAL, NIGHT, TIMES)

# Words, keeping inner apostrophes ("won't", "ex's"); hyphens and other
# punctuation separate words ("ex-partner" = ex partner, "follow-up" = follow up),
# but a letter, a slash and a letter standing alone is one word ("o/s", "w/e").
TOKEN = re.compile(r"(?<![^\W_])(?<!/)[^\W\d_]/[^\W\d_](?:['’]s)?(?![^\W_])(?!/)"
                   r"|[^\W_]+(?:['’][^\W_]+)*")
# TOKEN without its shorthand: the same words in a text that holds no slash,
# found about a quarter faster
_PLAIN_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def words_in(text: str) -> list[str]:
    """The words :data:`TOKEN` finds in ``text``."""
    return (TOKEN if "/" in text else _PLAIN_TOKEN).findall(text)


# officers' shorthand read as the word it stands for
SHORTHAND = {"o/s": "outside", "w/e": "weekend", "b/f": "boyfriend", "g/f": "girlfriend"}
_TIMES = re.compile(r"x(\d{1,3})")
# Hard clause ends: sentence punctuation, brackets, new lines, a dash between words.
SENTENCE_END = re.compile(r"[.;:!?()\[\]\n]+|\s[-–—]+\s")
_PUNCTUATION_END = re.compile(r"[.;:!?()\[\]\n]+")
COMMA = re.compile(r",")

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "hundred": 100, "hundreds": 100, "dozen": 12, "dozens": 24,
    "thousand": 1000, "thousands": 1000, "scores": 40,
}
_ORDINAL_WORDS = {
    "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "twentieth",
}
# every word that may carry a number class
NUMBER_WORDS = frozenset(_NUMBER_WORDS) | _ORDINAL_WORDS | {"midnight"}
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)")
_CLOCK = re.compile(r"([01]?\d)(?:[.:]?\d\d)?(am|pm|hrs)?")


def _norm(word: str) -> str:
    return word.lower().replace("’", "'")


@cache
def _simplemma() -> object:
    import simplemma

    return simplemma


def dictionary_lemma(word: str) -> str:
    """The lemma of one lowercase word (no classes, no contractions)."""
    simplemma = _simplemma()
    base = simplemma.lemmatize(word, lang="en").lower()  # type: ignore[attr-defined]
    if base == word and word.endswith("ing") and len(word) > 5:
        stem = word[:-3]
        candidates = [stem, stem + "e"]
        if len(stem) > 2 and stem[-1] == stem[-2]:
            candidates.append(stem[:-1])
        for candidate in candidates:
            if len(candidate) > 2 and simplemma.is_known(candidate, lang="en"):  # type: ignore[attr-defined]
                return candidate
    return base


def word_labels(word: str, count_min: int) -> tuple[str, ...]:
    """Every label a word carries: its lemma, and a number class if any."""
    word = _norm(word)
    if word.endswith("'s"):
        word = word[:-2]
    if not word:
        return ()
    shorthand = SHORTHAND.get(word)
    if shorthand is not None:
        return (shorthand,)
    if word == "cannot" or word.endswith("n't") or (
            word.endswith("nt") and word[:-2] in _CONTRACTED):
        return (NOT,)
    labels: list[str] = []
    if word.isdigit():
        labels.append(word)
        clock = len(word) == 4 and (word[:2] in ("22", "23") or word[:2] <= "05")
        if clock:
            labels.append(NIGHT)
        year = len(word) == 4 and "1900" <= word <= "2099"
        if int(word) >= count_min and len(word) <= 4 and not clock and not year:
            labels.append(COUNT)
        return tuple(labels)
    clock = _CLOCK.fullmatch(word)
    if clock and clock.group(2):
        hour, suffix = int(clock.group(1)), clock.group(2)
        if (suffix == "am" and (hour <= 5 or hour == 12)) or (suffix == "pm" and hour >= 11):
            return (word, NIGHT)
        return (word,)
    times = _TIMES.fullmatch(word)
    if times:
        count = int(times.group(1))
        if count == 1:
            return (word, "one")
        if count >= 2:
            return (word, TIMES, COUNT) if count >= count_min else (word, TIMES)
        return (word,)
    ordinal = _ORDINAL.fullmatch(word)
    if ordinal:
        return (word, ORDINAL) if int(ordinal.group(1)) >= 2 else (word,)
    lemma = dictionary_lemma(word)
    labels.append(lemma)
    if word == "midnight":
        labels.append(NIGHT)
    if word in _ORDINAL_WORDS:
        labels.append(ORDINAL)
    value = _NUMBER_WORDS.get(word)
    if value is not None and value >= count_min:
        labels.append(COUNT)
    return tuple(dict.fromkeys(labels))


# auxiliaries whose contraction without an apostrophe reads as "not" ("doesnt")
_CONTRACTED = frozenset({
    "do", "does", "did", "is", "was", "were", "are", "has", "have", "had", "wo", "ca", "could",
    "would", "should", "must", "need", "ai",
})


def lemma_of(word: str, count_min: int = 3) -> str:
    """The label a policy word stands for: a class name as written
    (``#count``), else the word's first label (``stalked`` -> ``stalk``)."""
    if word.startswith("#"):
        return word
    labels = word_labels(word, count_min)
    return labels[0] if labels else word


@dataclass(frozen=True)
class Scoping:
    """The words and sequences that open, end and break negation scope."""

    negations: tuple[tuple[str, ...], ...]
    hedges: tuple[tuple[str, ...], ...]
    post_negations: tuple[tuple[str, ...], ...]
    terminators: tuple[tuple[str, ...], ...]
    breakers: frozenset[str]
    scope: int
    clause_starters: frozenset[str] = frozenset()

    @property
    def words(self) -> frozenset[str]:
        """Every lemma scoping looks at."""
        found = {w for seq in (*self.negations, *self.hedges, *self.post_negations,
                               *self.terminators) for w in seq}
        return frozenset(found | self.breakers | self.clause_starters | {NOT})

    @cached_property
    def _by_first(self) -> dict[str, list[tuple[str, tuple[str, ...], int]]]:
        """First word -> (kind, sequence, the words allowed between two of
        its words) for every sequence: negations and terminators are
        adjacent words, hedges and post-negations may have two between."""
        index: dict[str, list[tuple[str, tuple[str, ...], int]]] = {}
        for kind, gap in _GAPS.items():
            for seq in getattr(self, kind):
                index.setdefault(seq[0], []).append((kind, seq, gap))
        return index

    def sequence_ends(self, labels: Sequence[tuple[str, ...]]) -> dict[str, dict[int, int]]:
        """Per kind (``negations``, ``hedges``, ``post_negations``,
        ``terminators``): {index of a sequence's last word: index of its
        first word} for each occurrence of the kind's ordered sequences
        among the words' ``labels``, found in one pass over the words."""
        by_first = self._by_first
        found: dict[str, dict[int, int]] = {kind: {} for kind in _GAPS}
        n = len(labels)
        for first, word_labels_ in enumerate(labels):
            for label in word_labels_:
                entries = by_first.get(label)
                if entries is None:
                    continue
                for kind, sequence, gap in entries:
                    at = first
                    for word in sequence[1:]:
                        for j in range(at + 1, min(n, at + 2 + gap)):
                            if word in labels[j]:
                                break
                        else:
                            break  # the next word is not within reach
                        at = j
                    else:
                        found[kind].setdefault(at, first)
        return found


_GAPS = {"negations": 0, "hedges": 2, "post_negations": 2, "terminators": 0}


def negated_words(labels: Sequence[tuple[str, ...]], segments: Sequence[int],
                  scoping: Scoping) -> list[bool]:
    """For each word of one sentence (its labels, and which comma-separated
    part it is in): is it in the scope of a negation or a hedge?"""
    n = len(labels)
    scoped = [False] * n
    if n == 0:
        return scoped
    ends = scoping.sequence_ends(labels)
    triggers = ends["negations"]
    for end, first in ends["hedges"].items():
        triggers.setdefault(end, first)
    for index, word in enumerate(labels):
        if NOT in word:
            triggers.setdefault(index, index)
    posts = ends["post_negations"]
    if not triggers and not posts:
        return scoped
    terminators = set(ends["terminators"].values())
    breakers = scoping.breakers
    for trigger in sorted(triggers):
        count = 0
        j = trigger + 1
        while j < n and count < scoping.scope:
            if j in terminators or (breakers and not breakers.isdisjoint(labels[j])):
                break
            if segments[j] != segments[j - 1] and not scoping.clause_starters.isdisjoint(labels[j]):
                break  # a comma, then a clause of its own
            scoped[j] = True
            j += 1
            count += 1
    for first in posts.values():
        j = first - 1
        count = 0
        while j >= 0 and count < scoping.scope:
            if segments[j] != segments[first] or j + 1 in terminators:
                break
            scoped[j] = True
            j -= 1
            count += 1
    return scoped


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text`` (hard clause boundaries)."""
    spans: list[tuple[int, int]] = []
    begin = 0
    # without a dash only punctuation can end a clause: a pattern that starts
    # with a character class, which the regular expression engine searches fast
    ends = SENTENCE_END if ("-" in text or "–" in text or "—" in text) else _PUNCTUATION_END
    for match in ends.finditer(text):
        if match.start() > begin:
            spans.append((begin, match.start()))
        begin = match.end()
    if begin < len(text):
        spans.append((begin, len(text)))
    return spans
