"""The pass over the period's cases works a probed fact out only for the cases
its guards allow (app.services.assurance_cases.GUARDS): every part of a case
metric naming the fact, or a fact made from it, must require those guards,
so a case the fact was not worked out for counts in no such part."""

from __future__ import annotations

from app.services.assurance_cases import DERIVED, GUARDS, case_parts, mask_facts


def test_every_part_naming_a_guarded_fact_requires_its_guards() -> None:
    for part in case_parts():
        for name in part:
            for atom in DERIVED.get(name, (name,)):
                assert set(GUARDS.get(atom, ())) <= set(part), (part, atom)


def test_each_fact_has_one_bit_and_guards_are_plain_facts() -> None:
    facts = mask_facts(case_parts())
    assert len(facts) == len(set(facts)) <= 62
    for guards in GUARDS.values():
        assert all(g in facts and g not in GUARDS for g in guards)
