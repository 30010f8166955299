"""Crime summaries composed from parts, for the synthetic force.

A summary is who reports it (officer shorthand such as "IP states" or "OIC
update:", or the recorder's plain account), the conduct clause of its group,
and now and then a sentence of the relationship's history, the victim's own
words and a context sentence. The parts live in ``seed/summaries.toml``.

The words are bound to the facts: the suspect is described as the recorded
relationship allows (a stranger is never a former partner, an unknown
suspect has no history), family words and pronouns agree with the suspect,
and each channel has its own phrases ("text messages", "an email"), so no
wording has to be patched afterwards.

Pure: every choice is drawn from the random stream it is given, in a fixed
order, so the same seed gives the same summaries.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from seed.generator_build import Person

SUMMARIES = Path(__file__).resolve().parent / "summaries.toml"
HISTORY_SHARE = 0.22
QUOTE_SHARE = {"stalking": 0.22, "ordinary": 0.1}


@dataclass(frozen=True)
class Clause:
    """One group's conduct clause; ``note`` and ``code`` go to the training key."""

    text: str
    note: str = ""
    code: str = ""
    needs: str = ""  # "named", "acquainted" (named, not a stranger) or "unnamed"
    relationships: tuple[str, ...] = ()  # the only relationships it fits (all when empty)
    headline: bool = False  # no verb of its own: "Window at ... smashed"

    def fits(self, relationship: str, named: bool) -> bool:
        if self.needs == ("unnamed" if named else "named"):
            return False
        if self.needs == "acquainted" and (not named or relationship == "stranger"):
            return False
        return not self.relationships or relationship in self.relationships


@dataclass(frozen=True)
class Reporter:
    text: str
    officer: bool  # officer shorthand (the victim is "IP") rather than a plain account
    victim: bool  # the victim is the one reporting
    only: tuple[str, ...]  # the groups it fits (all when empty)

    def opens(self, clause: Clause) -> bool:
        """Whether this opening reads well before ``clause``: a clause with no
        verb takes only shorthand without "that" ("IP states window ..."), a
        label ("OIC update: ") or nothing."""
        return (not clause.headline or not self.text or self.text.endswith(": ")
                or (self.officer and not self.text.endswith("that ")))


@dataclass(frozen=True)
class Facts:
    """What a summary must agree with: the people and their recorded
    relationship (``noun``: the story's family or acquaintance word)."""

    victim: Person
    suspect: Person | None
    relationship: str
    noun: str = ""


@dataclass(frozen=True)
class Parts:
    clauses: dict[str, tuple[Clause, ...]]
    reporters: dict[tuple[str, bool], tuple[Reporter, ...]]  # by group and headline, weighted
    relatives: tuple[str, ...]
    officer_victim: tuple[str, ...]
    suspect: dict[str, tuple[str, ...]]
    words: dict[str, tuple[str, ...]]
    kin: dict[str, str]  # a family word and the other sex's
    kin_female: frozenset[str]
    channels: dict[str, dict[str, str]]
    time: dict[str, tuple[str, ...]]
    history: dict[str, tuple[str, ...]]
    quote_intro: dict[bool, tuple[str, ...]]  # by officer register
    quotes: dict[str, tuple[str, ...]]
    context: dict[tuple[str, bool], tuple[str, ...]]  # by (kind, suspect named)
    places: tuple[str, ...]
    items: tuple[str, ...]


def _reporters(raw: list[dict[str, Any]], clauses: dict[str, list[Clause]]
               ) -> dict[tuple[str, bool], tuple[Reporter, ...]]:
    """The openings each group's clauses can take (with and without a verb of
    their own), each as often as its weight."""
    weighted = [(Reporter(row["text"], row["register"] == "officer", row.get("victim", False),
                          tuple(row.get("only", ()))), int(row.get("weight", 1)))
                for row in raw]
    return {(group, headline): tuple(
                reporter for reporter, weight in weighted
                if (not reporter.only or group in reporter.only)
                and reporter.opens(Clause("", headline=headline))
                for _ in range(weight))
            for group in clauses for headline in (False, True)}


@cache
def load_parts(path: Path = SUMMARIES) -> Parts:
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    clauses: dict[str, list[Clause]] = {}
    for row in raw["summary"]:
        clauses.setdefault(row["group"], []).append(Clause(
            row["text"], row.get("note", ""), row.get("code", ""), row.get("needs", ""),
            tuple(row.get("relationships", ())), row.get("headline", False)))
    suspect = dict(raw["suspect"])
    words = suspect.pop("words")
    kin = suspect.pop("kin")  # the male word and the female one
    kin_female = frozenset(other for word, other in kin.items() if other != word)
    kin.update({other: word for word, other in list(kin.items())})
    history = {key: tuple(value) for key, value in raw["history"].items() if key != "acquaintance"}
    history.update({f"acquaintance:{noun}": tuple(value)
                    for noun, value in raw["history"]["acquaintance"].items()})
    context = {(kind, named): tuple(line for line in raw["context"][kind]
                                    if named or ("{s}" not in line and "{S}" not in line))
               for kind in ("stalking", "ordinary") for named in (True, False)}
    return Parts(
        clauses={group: tuple(items) for group, items in clauses.items()},
        reporters=_reporters(raw["reporter"], clauses),
        relatives=tuple(raw["reporting"]["relatives"]),
        officer_victim=tuple(raw["reporting"]["officer_victim"]),
        suspect={key: tuple(value) for key, value in suspect.items()},
        words={key: tuple(value) for key, value in words.items()},
        kin=kin,
        kin_female=kin_female,
        channels=raw["channels"],
        time={key: tuple(value) for key, value in raw["time"].items()},
        history=history,
        quote_intro={False: tuple(raw["quote"]["plain"]), True: tuple(raw["quote"]["officer"])},
        quotes={kind: tuple(raw["quote"][kind]) for kind in ("stalking", "ordinary")},
        context=context,
        places=tuple(raw["words"]["places"]),
        items=tuple(raw["words"]["items"]),
    )


def _pronouns(party: Person | None) -> dict[str, str]:
    """his/her/their, him/her/them, he/she/they, with the verbs that agree."""
    if party is None:
        p, o, s, is_, has, was = "their", "them", "they", "they are", "they have", "they were"
    elif party.female:
        p, o, s, is_, has, was = "her", "her", "she", "she is", "she has", "she was"
    else:
        p, o, s, is_, has, was = "his", "him", "he", "he is", "he has", "he was"
    return {"p": p, "o": o, "s": s, "is": is_, "has": has, "was": was}


def _pick(words: tuple[str, ...], party: Person) -> str:
    """A word fixed for the person (the same in every summary about them)."""
    return words[party.id % len(words)]


def kin_word(parts: Parts, noun: str, suspect: Person) -> str:
    """The family word for the suspect: the recorded one, or its counterpart
    when it names the other sex ("brother" for a woman becomes "sister")."""
    if noun not in parts.kin:
        return noun
    return noun if (noun in parts.kin_female) == suspect.female else parts.kin[noun]


def _suspect_first(rng: random.Random, parts: Parts, facts: Facts, values: dict[str, str],
                   officer: bool, opens: bool) -> str:
    """The suspect at first mention, in words the relationship allows; an
    appositive ("Name, her former partner,") only where it opens the clause."""
    suspect = facts.suspect
    if suspect is None:
        return rng.choice(parts.suspect["unknown"])
    rel = facts.relationship
    key = rel if rel in parts.suspect and rel != "unknown" else "named"
    forms = [form for form in parts.suspect[key] if opens or not form.endswith(",")]
    sex = "female" if suspect.female else "male"
    words = parts.words
    man = words["man_officer" if officer else "man_plain"][1 if suspect.female else 0]
    return rng.choice(forms).format(
        N=suspect.name, vp=values["vp"], vo=values["vo"], man=man, kin=values["kin"],
        ex=_pick(words[f"ex_{sex}"], suspect), partner=_pick(words[f"partner_{sex}"], suspect),
        noun=facts.noun)


def _history_key(facts: Facts) -> str:
    if facts.suspect is None:
        return "unknown"
    if facts.relationship == "acquaintance":
        return f"acquaintance:{facts.noun}"
    return facts.relationship if facts.relationship in ("ex_partner", "partner", "family",
                                                        "stranger") else "named"


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:]


def compose(rng: random.Random, parts: Parts, group: str, facts: Facts, *,
            order: str = "order", context: str | None = None) -> tuple[str, Clause]:
    """A summary of ``group``'s conduct about ``facts``; ``context`` ("stalking"
    or "ordinary") adds what may follow the clause. Returns the text and the
    clause it was written from."""
    named = facts.suspect is not None
    clause = rng.choice([c for c in parts.clauses[group] if c.fits(facts.relationship, named)])
    reporter = rng.choice(parts.reporters[group, clause.headline])
    officer = reporter.officer
    victim, suspect = facts.victim, facts.suspect
    vic, sus = _pronouns(victim), _pronouns(suspect)
    ref = rng.choice(parts.officer_victim) if officer else victim.name
    kin = kin_word(parts, facts.noun, suspect) if suspect is not None else ""
    channel = parts.channels[rng.choice(tuple(parts.channels))]
    values = {
        "v": victim.first, "vp": vic["p"], "vo": vic["o"], "vs": vic["s"],
        "sp": sus["p"], "so": sus["o"], "ss": sus["s"],
        "ss_is": sus["is"], "ss_has": sus["has"], "ss_was": sus["was"],
        "s": suspect.first if suspect is not None else "the suspect",
        "place": rng.choice(parts.places).format(vp=vic["p"]),
        "item": rng.choice(parts.items), "order": order,
        "lately": rng.choice(parts.time["lately"]), "when": rng.choice(parts.time["when"]),
        "ago": rng.choice(parts.time["ago"]), "years": rng.choice(parts.time["years"]),
        "kin": kin,
        # whoever else reports is not the suspect ("her brother" reporting her brother)
        "relative": rng.choice([word for word in parts.relatives if word != kin]),
        **channel,
    }
    if reporter.victim:
        values.update(V=vic["s"], Vo=vic["o"], Vp=vic["p"])
    else:
        values.update(V=ref, Vo=ref, Vp=f"{ref}'s")
    values["S"] = _suspect_first(rng, parts, facts, values, officer,
                                 opens=clause.text.startswith("{S}"))
    body = clause.text.format(**values)
    opening = reporter.text.format(V=ref, v=victim.first, relative=values["relative"])
    if opening and not opening.endswith(": ") and not clause.text.startswith("{"):
        body = body[0].lower() + body[1:]  # "IP states in breach of ..."
    sentences = [_sentence(opening + body)]
    if context is not None:
        sentences.extend(_after(rng, parts, facts, values, ref, officer, context))
    return " ".join(sentences), clause


def _after(rng: random.Random, parts: Parts, facts: Facts, values: dict[str, str], ref: str,
           officer: bool, kind: str) -> list[str]:
    """What may follow the clause: history, the victim's words, context."""
    suspect = facts.suspect
    again = dict(values, V=ref, Vp=f"{ref}'s",
                 S=suspect.name if suspect is not None else "the suspect")
    after: list[str] = []
    history = parts.history.get(_history_key(facts), ())
    if history and rng.random() < HISTORY_SHARE:
        after.append(rng.choice(history).format(**again))
    if rng.random() < QUOTE_SHARE[kind]:
        intro = rng.choice(parts.quote_intro[officer]).format(**again)
        words = rng.choice(parts.quotes[kind]).format(**again)
        after.append(f'{intro}"{words}"')
    extra = rng.choice(parts.context[kind, suspect is not None])
    if extra:
        after.insert(rng.randrange(len(after) + 1), extra.format(**again))
    return [_sentence(text) for text in after]
