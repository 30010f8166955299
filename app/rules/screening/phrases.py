"""Finding the policy's phrases in a summary, by lemma, within a clause.

A phrase is a few words from the policy (``screening.behaviours``,
``online_markers``, ``isolated_incident``):

- each word is read as its lemma, so the policy writes ``stalk`` or
  ``stalked`` alike and either matches "stalked", "stalks", "stalking";
- a phrase matches when all its words occur in one clause, in any order,
  within ``phrase_span`` words of each other: ``let down tyre`` matches
  "let her tyres down" and "the tyres were let down";
- ``a|b`` offers alternatives for one word (``leave|left note``);
- a phrase starting ``=`` is ordered: its words in that order, at most two
  words between each (``=one message`` matches "one abusive message" but not
  "message her after each one");
- ``#count`` stands for a count of at least ``count_min`` ("63", "dozens"),
  ``#ordinal`` for the second and after ("fourth", "5th"), ``#night`` for a
  time in the small hours ("0200", "3am", "midnight");
- a word in the scope of a negation or a hedge (see :mod:`.language`) does
  not count ("does not feel followed or watched", "if he turns up"),
  unless the phrase itself holds the negation (``not stop``);
- exclusions (``screening.exclusions``) are ordered: each word within two
  words after the one before (an exclusion starting ``=``: the next word);
  the words they cover count for no phrase ("followed up with the victim",
  "watched the CCTV", "following the incident", "=his watch").

Speed: most summaries hold no word of any behaviour. The prefilter
(:meth:`PhraseMatcher.possible_categories`) splits a summary into runs of
letters, digits and apostrophes with one byte translation, and answers which
categories could match from the runs it holds: each distinct run is read
once, through the same tokens and lemmas as :meth:`PhraseMatcher.find`, and
remembered, so the prefilter can never miss a written form the full reading
would match. ``gate`` then rules out summaries whose possible categories
cannot make a crime qualify; only the rest are read clause by clause.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any, NamedTuple

from app.rules.screening.language import (
    CLASSES,
    NOT,
    TOKEN,
    Scoping,
    lemma_of,
    negated_words,
    sentences,
    word_labels,
    words_in,
)


class PhraseError(ValueError):
    """A phrase in the policy cannot be read (names the phrase)."""


@dataclass(frozen=True, eq=False)
class Phrase:
    """One phrase of the policy, told apart from the others by identity: each
    is parsed once per matcher (duplicates dropped), and a hash of its
    frozensets at every look-up was a tenth of the reading of a sentence."""

    category: str
    text: str  # as the policy writes it
    words: tuple[frozenset[str], ...]  # the labels each word may carry
    ordered: bool = False  # "=...": in this order, at most two words between


def parse_phrase(category: str, text: str, count_min: int) -> Phrase:
    body = text.strip().lower()
    ordered = body.startswith("=")
    parts = body.lstrip("=").split()
    if not parts:
        raise PhraseError(f"empty phrase in screening category {category!r}")
    words: list[frozenset[str]] = []
    for part in parts:
        options = part.split("|")
        if not all(options):
            raise PhraseError(f"phrase {text!r}: empty alternative in {part!r}")
        labels = set()
        for option in options:
            if option.startswith("#"):
                if option not in CLASSES:
                    raise PhraseError(f"phrase {text!r}: {option!r} is not one of "
                                      f"{', '.join(CLASSES)}")
                labels.add(option)
            elif not TOKEN.fullmatch(option):
                raise PhraseError(f"phrase {text!r}: {option!r} is not a word")
            else:
                labels.add(lemma_of(option, count_min))
        words.append(frozenset(labels))
    return Phrase(category, text, tuple(words), ordered)


class PhraseMatch(NamedTuple):
    """One phrase found in a text: its category, the phrase from the policy,
    the words matched (as written) and the character span they cover. (A
    named tuple: a full reading makes one for every phrase it finds, and a
    frozen dataclass took three times as long to make.)"""

    category: str
    phrase: str
    text: str
    start: int
    end: int
    words: tuple[str, ...] = ()

    def as_evidence(self, rule: str) -> dict[str, Any]:
        return {"rule": rule, "category": self.category, "phrase": self.phrase,
                "text": self.text, "words": list(self.words), "start": self.start,
                "end": self.end}


def _run_table() -> bytes:
    """The prefilter's byte map: ASCII letters and digits lower-cased,
    apostrophes, hyphens and slashes kept, the hard clause ends of
    :data:`~app.rules.screening.language.SENTENCE_END` read as a full stop,
    every other ASCII character a space; bytes from 128 up (the UTF-8 of
    other letters and punctuation) kept as they are."""
    table = bytearray(range(256))
    for code in range(128):
        char = chr(code)
        if char.isalnum():
            table[code] = ord(char.lower())
        elif char in ".;:!?()[]\n":
            table[code] = ord(".")
        elif char not in "'-/":
            table[code] = ord(" ")
    return bytes(table)


_RUN_TABLE = _run_table()
MAX_RUNS = 1_000_000  # distinct runs remembered by the prefilter (then read each time)
MAX_LABEL_SETS = 1_000_000  # distinct sets of needed labels whose answer is remembered
_WINDOW = 10  # runs from a word that an exclusion starting at it is followed over

# Words the prefilter takes as present in any summary: too common to rule one
# out. A phrase is looked for by its other words (by all of its words when
# every one of them is common). Prepositions and the other pronouns are looked
# for: "find my" is not "found", "=wait for her" not "waited" (a quarter fewer
# summaries read in full), and with the gate's answers kept per set of runs a
# word more per summary costs nothing.
_COMMON = frozenset({
    "her", "his", "their", "the", "a", "an", "she", "he", "they", "victim", "suspect",
})


# What the prefilter knows of a run: the labels of its words that a phrase
# cannot match without; the labels of its one plain word (None: no word,
# several words, or "may"); whether it holds a word at all; and for a plain
# word, whether a clause ends before it (1) or after it (2).
RunInfo = tuple[frozenset[str], tuple[str, ...] | None, bool, int]


class _Reading:
    """The prefilter's reading of one text: its runs, those read afresh for
    it, the categories sure to be possible and the phrases to confirm in the
    text for the others."""

    __slots__ = ("_words", "new", "pending", "runs", "sure", "text")

    def __init__(self, text: str | None, runs: list[bytes], new: dict[bytes, RunInfo],
                 sure: frozenset[str], pending: tuple[Phrase, ...]) -> None:
        self.text = text
        self.runs = runs
        self.new = new  # runs of this text read afresh and not remembered (rarely any)
        self.sure = sure
        self.pending = pending
        self._words: list[bytes] | None = None

    def words(self, empty: set[bytes]) -> list[bytes]:
        """The runs that hold words (a lone clause end or hyphen left out)."""
        if self._words is None:
            new = self.new
            if empty.isdisjoint(self.runs) and not new:
                self._words = self.runs
            else:
                self._words = [run for run in self.runs
                               if run not in empty and (run not in new or new[run][2])]
        return self._words


# (the categories sure to be possible, the phrases to confirm for others,
# the categories possible if all of them are confirmed)
Verdict = tuple[frozenset[str], tuple[Phrase, ...], frozenset[str]]
_NO_VERDICT: Verdict = (frozenset(), (), frozenset())


def _category_answer(entries: Sequence[tuple[tuple[int, ...], Phrase, bool]], part: int
                     ) -> bool | tuple[Phrase, ...]:
    """For one category's phrases (each as its needed words' bits, and
    whether it is to be confirmed) and the bits of a text that it needs:
    True when a phrase that needs no confirming has every word, else the
    phrases to confirm that have (none: the category cannot match)."""
    pending: list[Phrase] = []
    for words, phrase, confirm in entries:
        for word in words:
            if not part & word:
                break
        else:
            if not confirm:
                return True
            pending.append(phrase)
    return tuple(pending)


def _without_wider(found: list[tuple[Phrase, tuple[int, ...]]]
                   ) -> list[tuple[Phrase, tuple[int, ...]]]:
    """The phrases found in a sentence less each one whose words stretch over
    another of its category's: "her to the gym and waited outside" adds
    nothing to "waited outside" for the reader (the category stays found)."""
    if len({phrase.category for phrase, _used in found}) == len(found):
        return found  # no two of one category

    def wider(item: tuple[Phrase, tuple[int, ...]]) -> bool:
        phrase, used = item
        first, last = used[0], used[-1]
        return any(other.category == phrase.category and first <= inner[0]
                   and inner[-1] <= last and (inner[0], inner[-1]) != (first, last)
                   for other, inner in found)

    return [item for item in found if not wider(item)]


class PhraseMatcher:
    """Finds the policy's phrases in free text, clause by clause."""

    def __init__(self, categories: dict[str, Sequence[str]], *,
                 exclusions: Sequence[str] = (), scoping: Scoping | None = None,
                 span: int = 6, count_min: int = 3,
                 prefilter: Iterable[str] | None = None,
                 gate: Callable[[frozenset[str], str], bool] | None = None,
                 gate_reads: Iterable[str] | None = None) -> None:
        self.span = span
        self.count_min = count_min
        self.scoping = scoping
        self.phrases = [parse_phrase(name, text, count_min) for name, text in dict.fromkeys(
            (name, text) for name, texts in categories.items() for text in texts)]
        self.exclusions = [parse_phrase("exclusion", text, count_min)
                           for text in dict.fromkeys(exclusions)]
        # each phrase by the labels of its first word, with its other words
        self._by_label: dict[str, list[tuple[Phrase, tuple[frozenset[str], ...]]]] = {}
        for phrase in self.phrases:
            for label in phrase.words[0]:
                self._by_label.setdefault(label, []).append((phrase, phrase.words[1:]))
        self._exclusion_first: dict[str, list[Phrase]] = {}
        for phrase in self.exclusions:
            for label in phrase.words[0]:
                self._exclusion_first.setdefault(label, []).append(phrase)
        # the labels of one-word exclusions (they cover every place of their
        # word), and the others by each label of their last word: a sentence
        # follows only those whose last word it holds
        self._excluded_alone = frozenset(
            label for phrase in self.exclusions if len(phrase.words) == 1
            for label in phrase.words[0])
        self._exclusion_last: dict[str, list[Phrase]] = {}
        for phrase in self.exclusions:
            if len(phrase.words) > 1:
                for label in phrase.words[-1]:
                    self._exclusion_last.setdefault(label, []).append(phrase)
        relevant = {label for p in (*self.phrases, *self.exclusions) for w in p.words for label in w}
        if scoping is not None:
            relevant |= scoping.words
        self._relevant = frozenset(relevant)
        triggers = {NOT}
        if scoping is not None:
            triggers |= {w for seq in (*scoping.negations, *scoping.hedges) for w in seq}
        self._holds_negation = {
            id(p): any(not triggers.isdisjoint(word) for word in p.words) for p in self.phrases}
        self._cache: dict[str, tuple[str, ...]] = {}
        self._sentences: dict[Any, tuple[tuple[Phrase, tuple[int, ...]], ...]] = {}
        self._prefilter_categories = None if prefilter is None else frozenset(prefilter)
        self._gate = gate
        self._gates: dict[tuple[frozenset[str], str], bool] = {}
        self._gate_tests: dict[str, Callable[[frozenset[str]], bool]] = {}
        # the prefilter: for each phrase, the words it cannot match without
        # (its uncommon words, or all of them when every one is common), and
        # whether its words must be confirmed in the text: an ordered phrase,
        # or one word that exclusions start with ("follow": "following incident")
        reads = (frozenset(gate_reads) if gate_reads is not None
                 else frozenset(p.category for p in self.phrases))
        if self._prefilter_categories is not None:
            reads |= self._prefilter_categories
        self._read_phrases = [p for p in self.phrases if p.category in reads]
        self._confirm = {
            id(p): p.ordered or (len(p.words) == 1 and any(
                not ex.words[0].isdisjoint(p.words[0]) for ex in self.exclusions))
            for p in self._read_phrases}
        needed: set[str] = set()
        required_of: dict[int, tuple[frozenset[str], ...]] = {}
        for phrase in self._read_phrases:
            required = tuple(w for w in phrase.words if w.isdisjoint(_COMMON)) or phrase.words
            needed.update(label for word in required for label in word)
            required_of[id(phrase)] = required
        self._needed = frozenset(needed)
        # each needed label is a bit: a set of them is an int, a text's the or
        # of its runs'; a needed word is the bits of its alternatives
        self._label_bit = {label: 1 << i for i, label in enumerate(sorted(needed))}
        # per category read: the bits its phrases need, each phrase as its
        # needed words' bits (and whether it is to be confirmed), and what a
        # set of those bits gives, kept: True (a phrase that needs no
        # confirming has all its words), else the phrases to confirm
        by_category: dict[str, list[tuple[tuple[int, ...], Phrase, bool]]] = {}
        for phrase in self._read_phrases:
            words = tuple(self._bits(word) for word in required_of[id(phrase)])
            by_category.setdefault(phrase.category, []).append(
                (words, phrase, self._confirm[id(phrase)]))
        self._categories: list[tuple[str, int, tuple[tuple[tuple[int, ...], Phrase, bool], ...],
                                     dict[int, bool | tuple[Phrase, ...]]]] = [
            (category, reduce(or_, [w for words, _, _ in entries for w in words], 0),
             tuple(entries), {})
            for category, entries in by_category.items()]
        self._seen_runs: set[bytes] = set()
        self._runs: dict[bytes, RunInfo] = {}
        self._empty_runs: set[bytes] = set()  # runs holding no word (clause ends)
        self._wild_runs: set[bytes] = set()  # runs of several words, or "may"
        # for each word of a phrase to confirm: the runs with a word carrying it
        self._word_runs: dict[frozenset[str], set[bytes]] = {
            word: set() for p in self._read_phrases if self._confirm[id(p)] for word in p.words}
        # the needed labels of a text (as bits) -> its verdict
        self._possible: dict[int, Verdict] = {}
        # family -> the needed labels of a text (as bits) -> the gate's
        # answer, or the verdict whose phrases are to be confirmed in the text
        self._decisions: dict[str, dict[int, bool | Verdict]] = {}
        self._label_sets = 0
        # every remembered run: the bits of its needed labels (0: none)
        self._run_bits: dict[bytes, int] = {}
        # a plain word followed by its window of runs: whether an exclusion covers it
        self._excluded_windows: dict[tuple[bytes, ...], bool] = {}
        self._last: _Reading | None = None

    # --- words -------------------------------------------------------------------
    def labels(self, word: str) -> tuple[str, ...]:
        """The labels of one written word that any phrase or scoping rule
        looks at (cached per distinct word)."""
        found = self._cache.get(word)
        if found is None:
            found = tuple(label for label in word_labels(word, self.count_min)
                          if label in self._relevant)
            if len(self._cache) < 500_000:
                self._cache[word] = found
        return found

    def _sentence_words(self, text: str, start: int, end: int
                        ) -> tuple[list[str], tuple[tuple[str, ...], ...], tuple[int, ...]]:
        """The words of one sentence as written, the labels of each, and
        which comma-separated part of it each word is in. A capitalised
        "May" after the first word is the month: it carries no label."""
        sentence = text[start:end]
        if "," in sentence:
            words: list[str] = []
            parts: list[int] = []
            for segment, part in enumerate(sentence.split(",")):
                found = words_in(part)
                words += found
                parts += [segment] * len(found)
            segments = tuple(parts)
        else:
            words = words_in(sentence)
            segments = (0,) * len(words)
        labels: tuple[tuple[str, ...] | None, ...] = tuple(map(self._cache.get, words))
        if None in labels:  # words not seen before
            labels = tuple([self.labels(word) if found is None else found
                            for word, found in zip(words, labels, strict=True)])
        if "May" in sentence:
            labels = tuple([() if word == "May" and index else found
                            for index, (word, found) in enumerate(zip(words, labels,
                                                                      strict=True))])
        return words, labels, segments  # type: ignore[return-value]

    # --- the prefilter -----------------------------------------------------------
    def runs(self, text: str) -> list[bytes]:
        """The text's runs: what lies between spaces once ASCII letters are
        lower-cased and other ASCII characters but apostrophes, hyphens and
        clause ends (read as ``.``) are spaces. One C pass
        (``bytes.translate``) and a split. A run holds exactly the words
        :data:`TOKEN` finds in it, and no word of the text spans two runs."""
        return text.encode("utf-8", "surrogatepass").translate(_RUN_TABLE).split()

    def _read_run(self, run: bytes) -> tuple[RunInfo, frozenset[str]]:
        """What the prefilter knows of one run (see :data:`RunInfo`), and
        every label of its words. "may" is not a plain word: :meth:`find`
        reads it by its capital."""
        text = run.decode("utf-8", "surrogatepass")
        words = words_in(text)
        found: set[str] = set()
        for word in words:
            found.update(self.labels(word))
        plain = None
        bounds = 0
        if len(words) == 1 and words[0].lower() != "may":
            plain = self.labels(words[0])
            before, _, after = text.partition(words[0])
            bounds = ("." in before) | (("." in after) << 1)
        return (frozenset(found & self._needed), plain, bool(words), bounds), frozenset(found)

    def _reading(self, text: str, runs: list[bytes] | None = None) -> _Reading:
        """The prefilter's reading of one text (the last one is kept: the
        gate, then the prefilter categories, ask about the same summary)."""
        last = self._last
        if last is not None and last.text is text:
            return last
        if runs is None:
            runs = self.runs(text)
        new: dict[bytes, RunInfo] = {}
        bits = 0
        if not self._seen_runs.issuperset(runs):
            new, bits = self._read_new(runs)
        known = self._run_bits.get
        bits = reduce(or_, [known(run, 0) for run in runs], bits)
        verdict = self._verdict(bits) if bits else _NO_VERDICT
        reading = _Reading(text, runs, new, verdict[0], verdict[1])
        self._last = reading
        return reading

    def _bits(self, labels: Iterable[str]) -> int:
        """A set of needed labels as bits (other labels left out)."""
        bit = self._label_bit
        return reduce(or_, [bit[label] for label in labels if label in bit], 0)

    def _read_new(self, runs: list[bytes]) -> tuple[dict[bytes, RunInfo], int]:
        """Read the runs not seen before (remembered while there is room):
        those that could not be remembered, and the bits of the needed
        labels of all."""
        seen = self._seen_runs
        new: dict[bytes, RunInfo] = {}
        bits = 0
        for run in set(runs).difference(seen):
            info, every = self._read_run(run)
            needed, plain, holds_words, _ = info
            run_bits = self._bits(needed)
            bits |= run_bits
            if len(seen) >= MAX_RUNS:
                new[run] = info  # not remembered: read again each time it is met
                continue
            seen.add(run)
            self._runs[run] = info
            self._run_bits[run] = run_bits
            if not holds_words:
                self._empty_runs.add(run)
            elif plain is None:
                self._wild_runs.add(run)
            for word, where in self._word_runs.items():
                if not word.isdisjoint(every):
                    where.add(run)
        return new, bits

    def _passes(self, text: str, test: Callable[[frozenset[str]], bool],
                runs: list[bytes] | None = None) -> bool:
        """``test`` of the categories that can match in ``text`` (see
        :meth:`possible_categories`), for a test that holds for every
        superset of a set it holds for: phrases are confirmed in the text
        only while the answer depends on them."""
        return self._passes_reading(self._reading(text, runs), test)

    def _passes_reading(self, reading: _Reading, test: Callable[[frozenset[str]], bool]
                        ) -> bool:
        """:meth:`_passes` for a text already read by the prefilter."""
        if not reading.pending:
            return test(reading.sure)
        if not test(reading.sure | {p.category for p in reading.pending}):
            return False
        if test(reading.sure):
            return True
        found = set(reading.sure)
        for phrase in reading.pending:
            if phrase.category not in found and self._confirmed(phrase, reading):
                found.add(phrase.category)
                if test(frozenset(found)):
                    return True
        return False

    def possible_categories(self, text: str) -> frozenset[str]:
        """The categories with a phrase that can match in ``text``: every
        uncommon word of the phrase (all its words, when every one is common)
        is in the text, an ordered phrase has them in order, and a one-word
        phrase that exclusions start with occurs outside them. A superset of
        the categories :meth:`find` finds: each distinct run is read once,
        by the same tokens and lemmas as :meth:`find`, and remembered, so no
        written form is missed; afterwards a summary costs a byte
        translation and two set operations."""
        reading = self._reading(text)
        found = set(reading.sure)
        for phrase in reading.pending:
            if phrase.category not in found and self._confirmed(phrase, reading):
                found.add(phrase.category)
        return frozenset(found)

    def _verdict(self, bits: int) -> Verdict:
        """The verdict for a text whose needed labels are ``bits`` (kept)."""
        verdict = self._possible.get(bits)
        if verdict is None:
            verdict = self._categories_with(bits)
            if len(self._possible) < 200_000:
                self._possible[bits] = verdict
        return verdict

    def _categories_with(self, bits: int) -> Verdict:
        """For the needed labels of a text (as bits): the categories of the
        phrases that have all their needed words, less those whose words
        must be confirmed in the text, and those phrases. Each category is
        decided by the bits its phrases need, and that answer is kept: texts
        differ in their labels far more than in the few a category needs."""
        sure: list[str] = []
        pending: list[Phrase] = []
        for category, needs, entries, answers in self._categories:
            part = bits & needs
            if not part:
                continue
            answer = answers.get(part)
            if answer is None:
                answer = _category_answer(entries, part)
                if len(answers) < 100_000:
                    answers[part] = answer
            if answer is True:
                sure.append(category)
            elif answer:
                pending += answer
        found = frozenset(sure)
        if not pending:
            return found, (), found
        return found, tuple(pending), found.union([p.category for p in pending])

    def _confirmed(self, phrase: Phrase, reading: _Reading) -> bool:
        """Whether ``phrase`` may match in the text: True unless its runs
        prove it cannot. A run that is not one plain word (several words,
        "may", or one read afresh for this text) proves nothing: a phrase
        touching one is taken as there, and an exclusion is followed only
        over plain words, where runs and :meth:`find`'s words are the same."""
        if phrase.ordered:
            return self._in_order(phrase, reading)
        runs, loose, wild = reading.runs, reading.new, self._wild_runs
        where = self._word_runs[phrase.words[0]]  # the one word, which exclusions start with
        anchors = ([i for i, run in enumerate(runs) if run in where or run in loose] if loose
                   else [i for i, run in enumerate(runs) if run in where])
        excluded = self._excluded_windows
        for at in anchors:
            run = runs[at]
            if run in loose or run in wild:
                return True
            window = tuple(runs[at:at + _WINDOW])  # all an exclusion can reach
            verdict = excluded.get(window)
            if verdict is None:
                verdict = self._excluded_at(at, runs)
                if len(excluded) < 200_000:
                    excluded[window] = verdict
            if not verdict:
                return True
        return False

    def _excluded_at(self, index: int, runs: Sequence[bytes]) -> bool:
        """Whether an exclusion starting at the plain word ``index`` covers
        it, as :meth:`_excluded` would find (followed over plain words of the
        same clause only)."""
        known = self._runs
        n = len(runs)
        anchor = known[runs[index]]
        # the plain words after it in its clause that an exclusion may reach
        after: list[tuple[str, ...] | None] = []
        if not anchor[3] & 2:
            for j in range(index + 1, min(n, index + _WINDOW)):
                info = known.get(runs[j])
                if info is None or info[1] is None or info[3] & 1:
                    break
                after.append(info[1])
                if info[3] & 2:
                    break
        following = {label for labels in after[:3] if labels for label in labels}
        for label in anchor[1] or ():
            for exclusion in self._exclusion_first.get(label, ()):
                if len(exclusion.words) == 1:
                    return True
                if exclusion.words[1].isdisjoint(following):
                    continue  # its second word is not within reach
                at = -1  # index in after
                reach = 2 if exclusion.ordered else 4
                for word in exclusion.words[1:]:
                    nxt = next((j for j in range(at + 1, min(len(after), at + reach))
                                if not word.isdisjoint(after[j] or ())), None)
                    if nxt is None:
                        break
                    at = nxt
                else:
                    return True
        return False

    def _in_order(self, phrase: Phrase, reading: _Reading) -> bool:
        """Whether the words of an ordered phrase may occur in order in the
        runs, at most two words between each. Runs holding no word are
        passed over; a run of several words (or "may", or one read afresh)
        may hold several of the phrase's words, one after another: never
        too few."""
        words = reading.words(self._empty_runs)
        loose, wild, word_runs = reading.new, self._wild_runs, self._word_runs
        reach: list[int] | None = None
        for word in phrase.words:
            where = word_runs[word]
            here = ([i for i, run in enumerate(words) if run in where or run in loose] if loose
                    else [i for i, run in enumerate(words) if run in where])
            if reach is not None:
                here = [i for i in here if any(
                    j < i <= j + 3 or (j == i and (words[i] in wild or words[i] in loose))
                    for j in reach)]
            if not here:
                return False
            reach = here
        return True

    def might_match(self, text: str) -> bool:
        """False when no phrase of the prefilter categories can match the text."""
        categories = self._prefilter_categories
        if categories is None:
            return True
        return self._passes(text, lambda found: not categories.isdisjoint(found))

    def may_qualify(self, text: str, family: str, runs: list[bytes] | None = None) -> bool:
        """False when the categories that can match in the text cannot pass
        the gate (no gate: True). The gate is asked once per set of
        categories and family."""
        if self._gate is None:
            return True
        return self._passes(text, self._gate_test(family), runs)

    def _gate_test(self, family: str) -> Callable[[frozenset[str]], bool]:
        """The gate for ``family`` as a test of categories, each set of
        categories asked once."""
        test = self._gate_tests.get(family)
        if test is None:
            gate, verdicts = self._gate, self._gates
            assert gate is not None

            def test(categories: frozenset[str]) -> bool:
                key = (categories, family)
                verdict = verdicts.get(key)
                if verdict is None:
                    verdict = verdicts[key] = gate(categories, family)
                return verdict

            self._gate_tests[family] = test
        return test

    def which_may_qualify(self, texts: Sequence[str | None], families: Sequence[str]
                          ) -> list[int]:
        """The indexes of ``texts`` (with the family of each) that
        :meth:`may_qualify`: the same answers, in one loop, for runs over
        millions of summaries. A text whose runs were all seen before and
        need no phrase confirmed costs a byte translation, a split, one
        C-level pass over its runs and one look-up."""
        if self._gate is None:
            return list(range(len(texts)))
        table = _RUN_TABLE
        bits_of = self._run_bits.__getitem__  # KeyError: a run not seen before
        by_family = self._decisions
        kept: list[int] = []
        family_now: str | None = None
        decisions: dict[int, bool | Verdict] = {}
        for index, (text, family) in enumerate(zip(texts, families, strict=True)):
            runs = (text or "").encode("utf-8", "surrogatepass").translate(table).split()
            if family is not family_now:
                family_now = family
                decisions = by_family.setdefault(family, {})
            try:
                # the needed labels of the text: its runs' bits, or'ed
                key = reduce(or_, map(bits_of, runs), 0)
            except KeyError:  # runs not seen before: read them
                if self.may_qualify(text or "", family, runs):
                    kept.append(index)
                continue
            decision = decisions.get(key)
            if decision is None:
                decision = self._decision(key, family)
                if self._label_sets < MAX_LABEL_SETS:
                    decisions[key] = decision
                    self._label_sets += 1
            if decision is True:
                kept.append(index)
            elif decision is not False:  # phrases to confirm in the text
                reading = _Reading(text, runs, {}, decision[0], decision[1])
                if self._passes_reading(reading, self._gate_test(family)):
                    kept.append(index)
        return kept

    def _decision(self, bits: int, family: str) -> bool | Verdict:
        """The gate's answer for a text whose runs hold the needed labels
        ``bits``: True or False, or (when it depends on phrases to confirm in
        the text) the prefilter's verdict, whose phrases are then confirmed."""
        verdict = self._categories_with(bits) if bits else _NO_VERDICT
        sure, pending, upper = verdict
        passes = self._gate_test(family)  # asked once per set of categories
        if passes(sure):
            return True
        if not pending or not passes(upper):
            return False
        return verdict

    def find_relevant(self, text: str, *, prefiltered: bool = False) -> list[PhraseMatch]:
        """The phrases of ``text`` when a phrase of a prefilter category
        matches in it, else none (then nothing else needs reading).
        ``prefiltered``: the caller has asked :meth:`may_qualify` already, so
        the prefilter is not asked again (the answer is the same: it only
        saves reading texts in which no prefilter category can match)."""
        if self._prefilter_categories is None:
            return self.find(text)
        if not prefiltered and not self.might_match(text):
            return []
        found = self.find(text)
        categories = self._prefilter_categories
        return found if any(m.category in categories for m in found) else []

    # --- finding -----------------------------------------------------------------
    def find(self, text: str) -> list[PhraseMatch]:
        """Every phrase in ``text`` (spans index ``text`` itself), in order."""
        if not text:
            return []
        found: list[PhraseMatch] = []
        for start, end in sentences(text):
            found.extend(self._find_in_sentence(text, start, end))
        return found

    def _find_in_sentence(self, text: str, start: int, end: int) -> list[PhraseMatch]:
        written, labels, segments = self._sentence_words(text, start, end)
        key = (labels, segments)
        placed = self._sentences.get(key)
        if placed is None:
            placed = self._place_all(labels, segments)
            if len(self._sentences) < 200_000:
                self._sentences[key] = placed
        if not placed:
            return []
        # where each word up to the last one used starts: the text between two
        # words holds no letter or digit, so each is found where the one
        # before ends
        last_used = max(used[-1] for _, used in placed)
        starts: list[int] = []
        at = start
        find = text.find
        for word in written[:last_used + 1]:
            at = find(word, at)
            starts.append(at)
            at += len(word)
        found: list[PhraseMatch] = []
        for phrase, used in placed:
            first, last = starts[used[0]], starts[used[-1]] + len(written[used[-1]])
            found.append(PhraseMatch(
                phrase.category, phrase.text, text[first:last], first, last,
                tuple([written[i] for i in used]),
            ))
        return found

    def _place_all(self, labels: Sequence[tuple[str, ...]], segments: Sequence[int]
                   ) -> tuple[tuple[Phrase, tuple[int, ...]], ...]:
        """Each phrase found in one sentence (given as its words' labels and
        comma parts), with the indexes of the words it used, in order. The
        result depends on nothing else, so it is kept per sentence shape."""
        positions: dict[str, list[int]] = {}
        for index, word in enumerate(labels):
            for label in word:
                positions.setdefault(label, []).append(index)
        if not positions:
            return ()
        present = set(positions)
        candidates: dict[Phrase, None] = {}
        by_label = self._by_label
        for label in positions:  # in the order of the words: ties sort the same every run
            for phrase, rest in by_label.get(label, ()):
                if phrase in candidates:
                    continue
                for word in rest:
                    if word.isdisjoint(present):
                        break
                else:
                    candidates[phrase] = None
        if not candidates:
            return ()
        scoped = (negated_words(labels, segments, self.scoping)
                  if self.scoping is not None else [False] * len(labels))
        excluded = self._excluded(labels, positions, present)
        found: list[tuple[Phrase, tuple[int, ...]]] = []
        for phrase in candidates:
            anchors = sorted({i for label in phrase.words[0] for i in positions.get(label, ())})
            for index in anchors:
                used = self._place(phrase, labels, index, excluded, scoped)
                if used is not None:
                    found.append((phrase, tuple(sorted(used))))
                    break
        found.sort(key=lambda item: (item[1][0], item[1][-1]))
        if len(found) > 1:
            found = _without_wider(found)
        return tuple(found)

    def _excluded(self, labels: Sequence[tuple[str, ...]], positions: dict[str, list[int]],
                  present: set[str]) -> set[int]:
        """The indexes of the words an exclusion covers: each of its words
        within reach after the one before (an exclusion whose words are not
        all in the sentence is not followed)."""
        covered: set[int] = set()
        if not self._exclusion_first:
            return covered
        for label in self._excluded_alone.intersection(positions):
            covered.update(positions[label])
        # the others, met through their last word, when the sentence holds them all
        viable: dict[Phrase, None] = {}
        last = self._exclusion_last
        for label in positions:
            for phrase in last.get(label, ()):
                if phrase not in viable and not any(
                        word.isdisjoint(present) for word in phrase.words[:-1]):
                    viable[phrase] = None
        n = len(labels)
        for phrase in viable:
            rest = phrase.words[1:]
            reach = 2 if phrase.ordered else 4  # "=": adjacent words
            starts = sorted({i for label in phrase.words[0] for i in positions.get(label, ())})
            for index in starts:
                at = index
                used = [index]
                for word in rest:
                    for j in range(at + 1, min(n, at + reach)):
                        if not word.isdisjoint(labels[j]):
                            break
                    else:
                        break  # no word within reach
                    used.append(j)
                    at = j
                else:
                    covered.update(used)
        return covered

    def _place(self, phrase: Phrase, labels: Sequence[tuple[str, ...]], anchor: int,
               excluded: set[int], scoped: Sequence[bool]) -> list[int] | None:
        """Indexes of the words of ``phrase`` with its first word at
        ``anchor``, or None when it does not match there."""
        negation = self._holds_negation[id(phrase)]
        n = len(labels)

        def usable(i: int, word: frozenset[str]) -> bool:
            if i in excluded or word.isdisjoint(labels[i]):
                return False
            return negation or not scoped[i]

        if not usable(anchor, phrase.words[0]):
            return None
        used = [anchor]
        if phrase.ordered:
            at = anchor
            for word in phrase.words[1:]:
                nxt = next((i for i in range(at + 1, min(n, at + 4)) if usable(i, word)), None)
                if nxt is None:
                    return None
                used.append(nxt)
                at = nxt
            return used
        low, high = anchor, anchor
        span = self.span
        for word in phrase.words[1:]:
            best = None
            for distance in range(1, span + 1):
                for i in (anchor - distance, anchor + distance):
                    if (0 <= i < n and i not in used
                            and max(high, i) - min(low, i) <= span and usable(i, word)):
                        best = i
                        break
                if best is not None:
                    break
            if best is None:
                return None
            used.append(best)
            low, high = min(low, best), max(high, best)
        return used
