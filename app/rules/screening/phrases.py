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

Speed: most summaries hold no word of any behaviour. :meth:`PhraseMatcher.
might_match` answers with one compiled expression over the lower-cased
text, built from every written form (from the lemma dictionary) of one
anchor word per phrase of the ``prefilter`` categories; only summaries it
passes are split into words, and each distinct word is lemmatised once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from app.rules.screening.language import (
    CLASSES,
    NOT,
    NUMBER_WORDS,
    TOKEN,
    Scoping,
    lemma_of,
    negated_words,
    sentences,
    word_labels,
)

_DIGIT = re.compile(r"\d")
_PLAIN_WORD = re.compile(r"[^\W_]+")  # the prefilter's words: apostrophes split ("ex's")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_START = r"(?<![^\W_])"
_END = r"(?![^\W_])"
_GAP = r"(?:[\W_]+[\w'’]+){0,2}[\W_]+"  # ordered phrases: at most two words between
_GAP_EXCLUSION = r"(?:[\W_]+[\w'’]+){0,2}[\W_]+"  # exclusions: at most two


class PhraseError(ValueError):
    """A phrase in the policy cannot be read (names the phrase)."""


@dataclass(frozen=True)
class Phrase:
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


@dataclass(frozen=True)
class PhraseMatch:
    """One phrase found in a text: its category, the phrase from the policy,
    the words matched (as written) and the character span they cover."""

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


def _trie_regex(words: Iterable[str]) -> str:
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict[str, Any]) -> str:
        options = [re.escape(ch) + build(node[ch]) for ch in sorted(k for k in node if k)]
        if "" in node:
            options.append("")
        if len(options) == 1:
            return options[0]
        return "(?:" + "|".join(options) + ")"

    return build(trie)


def _forms(lemmas: set[str], dictionary: Any) -> dict[str, set[str]]:
    """Written form -> the ``lemmas`` it may stand for: every form the lemma
    dictionary maps to one of them, the lemmas themselves, and their regular
    forms (including the gerunds read as verbs)."""
    forms: dict[str, set[str]] = {}
    for form, lemma in dictionary.items():
        if lemma in lemmas:
            forms.setdefault(form.lower(), set()).add(lemma)
    for lemma in lemmas:
        stem = lemma[:-1] if lemma.endswith("e") else lemma
        for form in (lemma, lemma + "ing", stem + "ing", lemma + lemma[-1] + "ing",
                     lemma + "s", lemma + "es", lemma + "ed", lemma + "d",
                     lemma + lemma[-1] + "ed"):
            forms.setdefault(form, set()).add(lemma)
    return {f: labels for f, labels in forms.items() if TOKEN.fullmatch(f)}


# Words the prefilter takes as present in any summary: too common to rule one out.
_COMMON = frozenset({
    "about", "after", "her", "his", "their", "the", "a", "an", "at", "on", "in", "to", "of",
    "for", "with", "by", "she", "he", "they", "be", "where", "what", "time",
    "out", "up", "down", "into", "from", "me", "you", "him", "them", "it", "is", "not", "no",
    "as", "new", "victim", "suspect", "have", "do", "there", "over", "last",
})


class PhraseMatcher:
    """Finds the policy's phrases in free text, clause by clause."""

    def __init__(self, categories: dict[str, Sequence[str]], *,
                 exclusions: Sequence[str] = (), scoping: Scoping | None = None,
                 span: int = 6, count_min: int = 3,
                 prefilter: Iterable[str] | None = None) -> None:
        self.span = span
        self.count_min = count_min
        self.scoping = scoping
        self.phrases = [parse_phrase(name, text, count_min)
                        for name, texts in categories.items() for text in texts]
        self.exclusions = [parse_phrase("exclusion", text, count_min) for text in exclusions]
        self._by_label: dict[str, list[Phrase]] = {}
        for phrase in self.phrases:
            for label in phrase.words[0]:
                self._by_label.setdefault(label, []).append(phrase)
        self._exclusion_first: dict[str, list[Phrase]] = {}
        for phrase in self.exclusions:
            for label in phrase.words[0]:
                self._exclusion_first.setdefault(label, []).append(phrase)
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
        self._pre_forms: frozenset[str] | None = None
        self._form_labels: dict[str, frozenset[str]] = {}
        self._digit_labels: frozenset[str] = frozenset()
        self._pre_by_label: dict[str, list[tuple[tuple[frozenset[str], ...], Phrase]]] = {}
        self._confirm: dict[int, re.Pattern[str] | None | bool] = {}
        self._verdicts: dict[tuple[frozenset[str], bool], bool | tuple[Phrase, ...]] = {}
        self._plain = _PLAIN_WORD
        self._lemma_forms = {}
        self._dictionary_cache: Any = None

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

    def words(self, text: str, start: int, end: int
              ) -> tuple[list[tuple[str, ...]], list[int]]:
        """The labels of each word of one sentence, and which comma-separated
        part of it each word is in. A capitalised "May" after the first word
        is the month: it carries no label."""
        sentence = text[start:end]
        parts = sentence.split(",") if "," in sentence else (sentence,)
        cache = self._cache
        labels: list[tuple[str, ...]] = []
        segments: list[int] = []
        month = "May" in sentence
        for segment, part in enumerate(parts):
            words = TOKEN.findall(part)
            for word in words:
                found = cache.get(word)
                if found is None:
                    found = self.labels(word)
                if month and word == "May" and labels:
                    found = ()
                labels.append(found)
            segments.extend([segment] * len(words))
        return labels, segments

    # --- the prefilter -----------------------------------------------------------
    def might_match(self, lowered: str) -> bool:
        """False when no phrase of the prefilter categories can match the
        lower-cased text: for some word of each phrase, no written form of it
        occurs in the text (common words are taken as present). A set
        intersection of the text's words with every form of those words."""
        if self._prefilter_categories is None:
            return True
        if self._pre_forms is None:
            self._compile_prefilter()
        hits = self._pre_forms.intersection(self._plain.findall(lowered))  # type: ignore[union-attr]
        digits = bool(self._digit_labels) and _DIGIT.search(lowered) is not None
        if not hits and not digits:
            return False
        key = (hits, digits)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = self._verdict(hits, digits)
        if isinstance(verdict, bool):
            return verdict
        return any(self._confirmed(phrase, lowered) for phrase in verdict)

    def _verdict(self, hits: Iterable[str], digits: bool) -> bool | tuple[Phrase, ...]:
        """For the uncommon words found in a text: True when some phrase has
        all of them, False when none, else the phrases that have all of them
        but need their order (or their exclusions) checked in the text."""
        found: set[str] = set()
        for form in hits:
            found |= self._form_labels[form]
        if digits:
            found |= self._digit_labels
        to_confirm: list[Phrase] = []
        for label in found:
            for words_needed, phrase in self._pre_by_label.get(label, ()):
                if all(not w.isdisjoint(found) for w in words_needed):
                    if self._confirm_regex_for(phrase) is None:
                        return True
                    to_confirm.append(phrase)
        return tuple(dict.fromkeys(to_confirm)) if to_confirm else False

    def _confirm_regex_for(self, phrase: Phrase) -> re.Pattern[str] | None:
        confirm = self._confirm.get(id(phrase), False)
        if confirm is False:
            confirm = self._confirm[id(phrase)] = self._confirm_regex(phrase)
        return confirm  # type: ignore[return-value]

    def _confirmed(self, phrase: Phrase, lowered: str) -> bool:
        """For an ordered phrase, or a one-word phrase that exclusions start
        with: whether its words occur in order (or the word occurs outside
        those exclusions) anywhere in the text. Other phrases: True."""
        confirm = self._confirm_regex_for(phrase)
        return confirm is None or confirm.search(lowered) is not None

    def _confirm_regex(self, phrase: Phrase) -> re.Pattern[str] | None:
        if any(label.startswith("#") for word in phrase.words for label in word):
            return None
        if phrase.ordered:
            return re.compile(_START + _GAP.join(self._word_regex(w) for w in phrase.words)
                              + _END)
        if len(phrase.words) != 1:
            return None
        continuations = []
        for ex in self.exclusions:
            if len(ex.words) > 1 and not ex.words[0].isdisjoint(phrase.words[0]):
                gap = r"[\W_]+" if ex.ordered else _GAP_EXCLUSION
                continuations.append(gap + gap.join(self._word_regex(w) for w in ex.words[1:]))
        if not continuations:
            return None
        return re.compile(_START + self._word_regex(phrase.words[0]) + _END
                          + "(?!" + "|".join(continuations) + _END + ")")

    def _word_regex(self, word: frozenset[str]) -> str:
        forms = set().union(*(self._lemma_forms.get(label, {label}) for label in word))
        return "(?:" + _trie_regex(sorted(forms)) + ")(?:['’]s)?"

    def find_relevant(self, text: str) -> list[PhraseMatch]:
        """The phrases of ``text`` when a phrase of a prefilter category
        matches in it, else none (then nothing else needs reading)."""
        if self._prefilter_categories is None:
            return self.find(text)
        lowered = text.lower()
        if len(lowered) != len(text):  # a letter whose lower case is longer
            found = self.find(text)
            categories = self._prefilter_categories
            return found if any(m.category in categories for m in found) else []
        if not self.might_match(lowered):
            return []
        found = self.find(text)
        categories = self._prefilter_categories
        return found if any(m.category in categories for m in found) else []

    def _compile_prefilter(self) -> None:
        """One expression for every written form of every uncommon word of
        the prefilter categories' phrases, and each phrase's uncommon words."""
        wanted: list[tuple[tuple[frozenset[str], ...], Phrase]] = []
        lemmas: set[str] = set()
        for phrase in self.phrases:
            if phrase.category not in (self._prefilter_categories or ()):
                continue
            words = tuple(w for w in phrase.words if w.isdisjoint(_COMMON))
            if not words:
                words = phrase.words  # only common words: look for them all the same
            wanted.append((words, phrase))
            lemmas |= {label for w in words for label in w if not label.startswith("#")}
        every = {label for phrase in (*self.phrases, *self.exclusions) for w in phrase.words
                 for label in w if not label.startswith("#")}
        all_forms = _forms(every, self._dictionary())
        self._lemma_forms: dict[str, set[str]] = {}
        for form, of in all_forms.items():
            for lemma in of:
                self._lemma_forms.setdefault(lemma, set()).add(form)
        by_form = {form: of & lemmas for form, of in all_forms.items() if not of.isdisjoint(lemmas)}
        classes = {label for w, _ in wanted for word in w for label in word
                   if label.startswith("#")}
        for word in NUMBER_WORDS:
            by_form.setdefault(word, set()).update(classes)
        self._form_labels = {form: frozenset(labels) for form, labels in by_form.items()}
        self._digit_labels = frozenset(classes)
        self._pre_by_label = {}
        for words, phrase in wanted:
            for label in words[0]:
                self._pre_by_label.setdefault(label, []).append((words, phrase))
        self._pre_forms = frozenset(by_form)
        # ASCII words are found faster; any other letter in a form needs the full class
        self._plain = _ASCII_WORD if all(f.isascii() for f in by_form) else _PLAIN_WORD

    def _dictionary(self) -> Any:
        if self._dictionary_cache is None:
            # the dictionary simplemma.lemmatize itself uses: loaded once per process
            from simplemma.strategies import DEFAULT_DICTIONARY_FACTORY

            self._dictionary_cache = DEFAULT_DICTIONARY_FACTORY.get_dictionary("en")
        return self._dictionary_cache

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
        labels, segments = self.words(text, start, end)
        key = (tuple(labels), tuple(segments))
        placed = self._sentences.get(key)
        if placed is None:
            placed = self._place_all(labels, segments)
            if len(self._sentences) < 200_000:
                self._sentences[key] = placed
        if not placed:
            return []
        spans = [m.span() for m in TOKEN.finditer(text, start, end)]
        found: list[PhraseMatch] = []
        for phrase, used in placed:
            first, last = spans[used[0]], spans[used[-1]]
            found.append(PhraseMatch(
                phrase.category, phrase.text, text[first[0]:last[1]], first[0], last[1],
                tuple(text[spans[i][0]:spans[i][1]] for i in used),
            ))
        return found

    def _place_all(self, labels: list[tuple[str, ...]], segments: list[int]
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
        for label in present:
            for phrase in self._by_label.get(label, ()):
                if phrase not in candidates and all(
                        not word.isdisjoint(present) for word in phrase.words[1:]):
                    candidates[phrase] = None
        if not candidates:
            return ()
        scoped = (negated_words(labels, segments, self.scoping)
                  if self.scoping is not None else [False] * len(labels))
        excluded = self._excluded(labels, positions)
        found: list[tuple[Phrase, tuple[int, ...]]] = []
        for phrase in candidates:
            anchors = sorted({i for label in phrase.words[0] for i in positions.get(label, ())})
            for index in anchors:
                used = self._place(phrase, labels, index, excluded, scoped)
                if used is not None:
                    found.append((phrase, tuple(sorted(used))))
                    break
        found.sort(key=lambda item: (item[1][0], item[1][-1]))
        return tuple(found)

    def _excluded(self, labels: list[tuple[str, ...]], positions: dict[str, list[int]]
                  ) -> set[int]:
        covered: set[int] = set()
        if not self._exclusion_first:
            return covered
        n = len(labels)
        starts = sorted({(i, label) for label in positions if label in self._exclusion_first
                         for i in positions[label]})
        for index, label in starts:
            for phrase in self._exclusion_first[label]:
                at = index
                used = [index]
                reach = 2 if phrase.ordered else 4  # "=": adjacent words
                for word in phrase.words[1:]:
                    nxt = next((j for j in range(at + 1, min(n, at + reach))
                                if not word.isdisjoint(labels[j])), None)
                    if nxt is None:
                        break
                    used.append(nxt)
                    at = nxt
                else:
                    covered.update(used)
        return covered

    def _place(self, phrase: Phrase, labels: list[tuple[str, ...]], anchor: int,
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
