"""The rule tables: every routing, wave and priority rule is reachable and wins where it should."""

from __future__ import annotations

from typing import Any

import pytest

from legacy.defects import INJECTORS
from migration.rules import current_rules
from migration.rules.matching import Rule, first_match
from migration.rules.policies import ACTIONS
from migration.target_schema import LIFECYCLE_STATES, TASK_KINDS

RULES = current_rules()
ROUTES, WAVES, PRIORITY_BANDS = RULES.routes, RULES.waves, RULES.priority_bands

BASE: dict[str, Any] = {
    "case_type": "asylum", "detained": False, "nsa": False, "uasc": False, "high_profile": False,
    "high_harm": False, "supported": False, "older": False, "nationality": "BRA", "gender": "female",
    "nationality_specialism": None, "specialist_nationality": False, "accommodation": "private",
    "postcode_region": None, "legacy_region": None,
}


def facts_for(rule: Rule) -> dict[str, Any]:
    """Facts that satisfy the rule's conditions and nothing earlier in a table."""
    facts = dict(BASE)
    for name, wanted in rule.when.items():
        facts[name] = sorted(wanted)[0] if isinstance(wanted, frozenset) else wanted
    return facts


@pytest.mark.parametrize("rule", ROUTES, ids=[r.name for r in ROUTES])
def test_every_routing_rule_wins_for_its_own_facts(rule: Rule) -> None:
    assert first_match(ROUTES, facts_for(rule)) is rule
    assert rule.outcome in RULES.units


@pytest.mark.parametrize(("changes", "unit", "rule"), [
    ({"detained": True, "high_profile": True, "uasc": True}, "DAC", "detained"),
    ({"high_profile": True, "nsa": True}, "SHEFFIELD", "high_profile"),
    ({"uasc": True, "nationality": "SYR"}, "LIVERPOOL", "uasc_china_syria"),
    ({"uasc": True, "nationality": "AFG"}, "MIDLANDS", "uasc"),
    ({"older": True, "nationality": "AFG", "accommodation": "hotel"}, "GLASGOW", "older_case"),
    ({"accommodation": "initial_accommodation", "nationality_specialism": "MERSEY"}, "LEEDS",
     "initial_accommodation_or_hotel"),
    ({"nationality_specialism": "NSA", "gender": "female", "postcode_region": "REGION_NW"}, "REGION_NW",
     "postcode_region_nw"),
    ({"nationality_specialism": "NSA", "gender": "male"}, "NSA", "nationality_nsa_male"),
    ({"case_type": "resettlement", "detained": True}, "RESETTLEMENT", "resettlement"),
    ({"legacy_region": "REGION_SNI"}, "REGION_SNI", "legacy_region_region_sni"),
    ({}, "NATIONAL_INTAKE", "no_region"),
])
def test_first_match_wins(changes: dict[str, Any], unit: str, rule: str) -> None:
    chosen = first_match(ROUTES, {**BASE, **changes})
    assert (chosen.outcome, chosen.name) == (unit, rule)


@pytest.mark.parametrize("rule", WAVES, ids=[r.name for r in WAVES])
def test_every_wave_rule_wins_for_its_own_facts(rule: Rule) -> None:
    assert first_match(WAVES, facts_for(rule)) is rule
    assert rule.outcome in RULES.wave_order


def test_waves_take_cohorts_in_order() -> None:
    assert first_match(WAVES, {**BASE, "case_type": "resettlement", "detained": True}).outcome == "resettlement"
    assert first_match(WAVES, {**BASE, "uasc": True, "nsa": True}).outcome == "detained_nsa"
    assert first_match(WAVES, {**BASE, "uasc": True, "older": True}).outcome == "uasc"
    assert first_match(WAVES, {**BASE, "older": True, "specialist_nationality": True}).outcome == "older_cases"
    assert first_match(WAVES, {**BASE, "specialist_nationality": True}).outcome == "specialisms"


@pytest.mark.parametrize("rule", PRIORITY_BANDS, ids=[r.name for r in PRIORITY_BANDS])
def test_every_priority_band_is_reachable(rule: Rule) -> None:
    assert first_match(PRIORITY_BANDS, facts_for(rule)) is rule


def test_priority_order_is_high_harm_supported_uasc_older() -> None:
    everything = {**BASE, "high_harm": True, "supported": True, "uasc": True, "older": True}
    assert [first_match(PRIORITY_BANDS, everything).outcome] == ["high_harm"]
    assert first_match(PRIORITY_BANDS, {**everything, "high_harm": False}).outcome == "supported"


def test_every_lifecycle_state_has_a_next_task() -> None:
    assert set(RULES.next_task) == set(LIFECYCLE_STATES)
    assert {*RULES.next_task.values(), RULES.default_task} <= set(TASK_KINDS)


def test_every_injected_defect_is_answered_by_a_policy() -> None:
    answered = {p.defect for p in RULES.policies.values()}
    assert set(INJECTORS) <= answered
    assert all(p.action in ACTIONS and p.fix and p.label for p in RULES.policies.values())
