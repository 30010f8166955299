"""The screening rules measured on hand-written labelled summaries
(tests/data/README.md). The files are pinned by their SHA-256, so the labels
cannot move towards the rules; the policy may not copy the corpus."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest

from app.policy import default_policy
from app.rules.screening.evaluation import evaluate, read_corpus
from app.rules.screening.language import TOKEN, lemma_of

DATA = Path(__file__).resolve().parent.parent / "data"
CORPUS = DATA / "screening_corpus.csv"
HELD_OUT = DATA / "screening_heldout.csv"
PROBE = DATA / "screening_probe.csv"
BLIND_1 = DATA / "screening_blind_1.csv"
BLIND_2 = DATA / "screening_blind_2.csv"
PINNED = {
    CORPUS: "d946f05d6083473971ce678a68af12ffb9261dbf8816d2aea778db98379550ce",
    HELD_OUT: "3528215c35649866897fac0ddf03961e93b43b8fd7747fff61bb8f1e4c8e15d1",
    PROBE: "e2d0bdfab103a0b498dae0407d96a9bef32bd4e73a9cd22272e7f3cc0b3c5ec2",
    BLIND_1: "f5eddcc4435d0002e6314394aab20ec010b80a21ef06fe32a9d8ad54ab022aa7",
    BLIND_2: "dd092bc420fed7a9e078a5f94fdcc20427b391e819232cfc08c1aa448b4336cf",
}
POLICY = default_policy().screening


@pytest.mark.parametrize("path", list(PINNED), ids=lambda p: p.name)
def test_the_labelled_files_are_the_committed_ones(path: Path) -> None:
    assert hashlib.sha256(path.read_bytes()).hexdigest() == PINNED[path]


def _items(path: Path):  # type: ignore[no-untyped-def]
    return read_corpus(path.read_text(encoding="utf-8"), source=path.name,
                       families=POLICY.families)


def test_the_corpus_is_large_and_balanced_as_required() -> None:
    items = _items(CORPUS)
    labels = [i.label for i in items]
    assert len(items) >= 300
    assert labels.count("hidden_stalking") >= len(items) / 3
    assert labels.count("trap") >= len(items) / 3
    assert labels.count("ordinary") > 0
    hidden = {i.family for i in items if i.label == "hidden_stalking"}
    assert {"harassment", "malicious communications", "criminal damage", "breach"} <= hidden


def test_recall_and_precision_on_the_corpus() -> None:
    result = evaluate(_items(CORPUS), POLICY)
    misses = [(o.item.id, o.kind) for o in result.misses]
    assert result.recall is not None and result.recall >= 0.9, misses
    assert result.precision is not None and result.precision >= 0.85, misses


@pytest.mark.parametrize("path", [HELD_OUT, PROBE, BLIND_1, BLIND_2], ids=lambda p: p.name)
def test_the_later_sets_hold_the_bar_of_the_corpus(path: Path) -> None:
    """Each set was first read by rules that had not seen it (the figures of
    that reading are in tests/data/README.md); the misses it showed then led
    to wider wording. Each holds the bar the corpus holds, so no later change
    gives back what they taught."""
    result = evaluate(_items(path), POLICY)
    misses = [(o.item.id, o.kind) for o in result.misses]
    assert result.recall is not None and result.recall >= 0.9, misses
    assert result.precision is not None and result.precision >= 0.85, misses


def _policy_phrases() -> list[tuple[str, str]]:
    lists = {f"behaviours.{c}": p for c, p in POLICY.behaviours.items()}
    lists.update({"online_markers": POLICY.online_markers.phrases,
                  "exclusions": POLICY.exclusions, "isolated_incident": POLICY.isolated_incident})
    return [(key, phrase) for key, phrases in lists.items() for phrase in phrases]


def _lemmas(text: str) -> list[str]:
    return [lemma_of(word) for word in TOKEN.findall(text.lower())]


def copied(phrases: list[tuple[str, str]], summaries: list[str]) -> list[tuple[str, str]]:
    """The phrases of four or more words that some summary holds: any reading
    of the phrase (each alternative of each word), as written or as lemmas."""
    written = [" " + " ".join(TOKEN.findall(s.lower())) + " " for s in summaries]
    lemmatised = [" " + " ".join(_lemmas(s)) + " " for s in summaries]
    found = []
    for key, phrase in phrases:
        options = [word.split("|") for word in phrase.lstrip("=").lower().split()]
        if len(options) < 4:
            continue
        for reading in itertools.product(*options):
            words = f" {' '.join(reading)} "
            lemmas = f" {' '.join(lemma_of(w) for w in reading)} "
            if any(words in t for t in written) or any(lemmas in t for t in lemmatised):
                found.append((key, phrase))
                break
    return found


def test_no_policy_phrase_of_four_or_more_words_is_copied_from_the_labelled_files() -> None:
    summaries = [i.summary for path in PINNED for i in _items(path)]
    assert copied(_policy_phrases(), summaries) == []


def test_the_copy_check_catches_a_copied_phrase_in_any_form() -> None:
    summaries = ["IP states she is being stalked by a man from her evening class."]
    assert copied([("k", "by a man from")], summaries) == [("k", "by a man from")]
    assert copied([("k", "=is|was be stalk by")], summaries) == [("k", "=is|was be stalk by")]
    assert copied([("k", "stalked by a woman")], summaries) == []
    assert copied([("k", "stalked by a")], summaries) == []  # three words may be shared
