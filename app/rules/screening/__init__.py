"""Screening for stalking recorded as something else (DOMAIN.md §2; rec 23.1).

Pure functions: no database, no Textual. :mod:`.language` reads a summary
as lemmas and scopes negation and hedging; :mod:`.phrases` finds the
policy's phrases clause by clause; :mod:`.rules` scores a crime;
:mod:`.evaluation` measures the rules on a labelled corpus.
"""

from app.rules.screening.phrases import Phrase, PhraseError, PhraseMatch, PhraseMatcher
from app.rules.screening.rules import (
    BEHAVIOUR,
    BREACH_SAME_VICTIM,
    COURSE_OF_CONDUCT,
    DESCRIPTIONS,
    FORMER_PARTNER,
    ISOLATED_CATEGORY,
    ISOLATED_INCIDENT,
    ONLINE_CATEGORY,
    ONLINE_CONTACT,
    RISK_ANSWERS,
    RULE_NAMES,
    RULES,
    SHORT_NAMES,
    CrimeFacts,
    PreparedCrime,
    RuleHit,
    ScoredCrime,
    Screening,
    Span,
    behaviour,
    breach_same_victim,
    category_weight,
    compile_policy,
    core_categories,
    course_of_conduct,
    evidence_items,
    former_partner_repeated_contact,
    highlight_spans,
    isolated_incident,
    needs_facts,
    online_contact,
    risk_answers,
    rule_label,
    scoping,
    score_batch,
    screen_crime,
    screenable,
    summaries_may_qualify,
    summary_decides,
    summary_matches,
    summary_may_qualify,
)

__all__ = [
    "BEHAVIOUR", "BREACH_SAME_VICTIM", "COURSE_OF_CONDUCT", "DESCRIPTIONS", "FORMER_PARTNER",
    "ISOLATED_CATEGORY", "ISOLATED_INCIDENT", "ONLINE_CATEGORY", "ONLINE_CONTACT",
    "RISK_ANSWERS", "RULES", "RULE_NAMES", "SHORT_NAMES", "CrimeFacts", "Phrase", "PhraseError",
    "PhraseMatch", "PhraseMatcher", "PreparedCrime", "RuleHit", "ScoredCrime", "Screening",
    "Span", "behaviour", "breach_same_victim", "category_weight", "compile_policy",
    "core_categories", "course_of_conduct", "evidence_items", "former_partner_repeated_contact",
    "highlight_spans", "isolated_incident", "needs_facts", "online_contact", "risk_answers",
    "rule_label", "score_batch", "scoping", "screen_crime", "screenable", "summary_decides",
    "summaries_may_qualify", "summary_matches", "summary_may_qualify",
]
