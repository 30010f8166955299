"""Whether a case is one a policy rule covers (an allocation rule, a referral
route): the one reading of :class:`app.policy.CaseCriteria`."""

from __future__ import annotations

from collections.abc import Set

from app.policy import CaseCriteria


def covers(criteria: CaseCriteria, families: Set[str], risk_level: str | None,
           domestic_abuse: bool) -> bool:
    """The case's classification families meet the rule's (empty: any), its risk
    level is one of the rule's ("unassessed" for none; empty: any), and domestic
    abuse is as the rule asks ("yes", "no" or "any")."""
    if criteria.families and not families & set(criteria.families):
        return False
    if criteria.risk and (risk_level or "unassessed") not in criteria.risk:
        return False
    if criteria.domestic_abuse == "yes" and not domestic_abuse:
        return False
    return not (criteria.domestic_abuse == "no" and domestic_abuse)
