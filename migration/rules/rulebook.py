"""The rules in force as the migration reads them: lookup tables built once from the rules files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migration.rules.files import AppealSplit, CodesFile, DatesFile, NationalitiesFile, RoutingFile, WavesFile
from migration.rules.matching import Rule
from migration.rules.policies import Policy


def _condition(value: Any) -> Any:
    return frozenset(value) if isinstance(value, list) else value


def _rules(entries: list[tuple[str, str, Mapping[str, Any], str]]) -> tuple[Rule, ...]:
    return tuple(Rule(name, outcome, {k: _condition(v) for k, v in when.items()}, description)
                 for name, outcome, when, description in entries)


@dataclass(frozen=True)
class Rules:
    """Every table a migration engineer may change, read from the rules files, and their digest."""

    digest: str
    appeal_window_days: int
    older_case_months: int
    wave_order: tuple[str, ...]
    waves: tuple[Rule, ...]
    units: Mapping[str, str]
    routes: tuple[Rule, ...]
    priority_bands: tuple[Rule, ...]
    next_task: Mapping[str, str]
    default_task: str
    specialism_of: Mapping[str, str]  # nationality -> the unit whose specialism it is
    postcode_area_regions: Mapping[str, str]
    legacy_region_units: Mapping[str, str]
    status_lifecycle: Mapping[tuple[str, bool | None], str]
    retired_statuses: Mapping[str, str]
    exclusion_reasons: Mapping[str, str]
    terminal_reason: str
    soft_deleted_reason: str
    appealable_outcomes: frozenset[str]
    case_types: Mapping[str, str]
    genders: Mapping[str, str]
    party_roles: Mapping[str, str]
    relationships: Mapping[str, str]
    address_kinds: Mapping[str, str]
    appointment_kinds: Mapping[str, str]
    appointment_outcomes: Mapping[str | None, str]
    decision_outcomes: Mapping[str, str]
    vulnerabilities: Mapping[str, str]
    submission_categories: Mapping[str, str]
    health_assessments: Mapping[str, str]
    nationality_aliases: Mapping[str, str]
    policies: Mapping[str, Policy]

    def lifecycle_for(self, status: str, appeal_lodged: bool) -> str | None:
        """The lifecycle state of a current status code, or None when the code has no mapping."""
        return self.status_lifecycle.get((status, appeal_lodged)) or self.status_lifecycle.get((status, None))

    def policy(self, rule: str) -> Policy:
        """The policy of a rule; an unknown rule is a programming error, never silently ignored."""
        return self.policies[rule]

    def priority_rank(self, band: Rule) -> int:
        """The rank of a tasking priority band (1 = most urgent)."""
        return self.priority_bands.index(band) + 1


def build_rules(digest: str, dates: DatesFile, waves: WavesFile, routing: RoutingFile, codes: CodesFile,
                nationalities: NationalitiesFile, policies: Mapping[str, Policy]) -> Rules:
    """The lookup tables of validated rules files."""
    lifecycle: dict[tuple[str, bool | None], str] = {}
    for code, state in codes.statuses.lifecycle.items():
        if isinstance(state, AppealSplit):
            lifecycle[(code, True)], lifecycle[(code, False)] = state.appeal_lodged, state.no_appeal
        else:
            lifecycle[(code, None)] = state
    return Rules(
        digest=digest,
        appeal_window_days=dates.appeal_window_days,
        older_case_months=dates.older_case_months,
        wave_order=tuple(waves.order),
        waves=_rules([(c.name, c.wave, c.when, c.description) for c in waves.cohorts]),
        units=dict(routing.units),
        routes=_rules([(r.name, r.unit, r.when, "") for r in routing.routes]),
        priority_bands=_rules([(p.name, p.band, p.when, "") for p in routing.priorities]),
        next_task=dict(routing.next_task),
        default_task=routing.default_task,
        specialism_of={n: unit for unit, ns in routing.nationality_specialisms.items() for n in ns},
        postcode_area_regions={a: unit for unit, areas in routing.postcode_regions.items() for a in areas},
        legacy_region_units=dict(routing.legacy_regions),
        status_lifecycle=lifecycle,
        retired_statuses=dict(codes.statuses.retired),
        exclusion_reasons=dict(codes.statuses.exclusion_reasons),
        terminal_reason=codes.statuses.excluded.terminal,
        soft_deleted_reason=codes.statuses.excluded.soft_deleted,
        appealable_outcomes=frozenset(codes.statuses.appealable_outcomes),
        case_types=dict(codes.case_types),
        genders=dict(codes.genders),
        party_roles=dict(codes.party_roles),
        relationships=dict(codes.relationships),
        address_kinds=dict(codes.address_kinds),
        appointment_kinds=dict(codes.appointment_kinds),
        appointment_outcomes={(code or None): outcome for code, outcome in codes.appointment_outcomes.items()},
        decision_outcomes=dict(codes.decision_outcomes),
        vulnerabilities=dict(codes.vulnerabilities),
        submission_categories=dict(codes.submission_categories),
        health_assessments=dict(codes.health_assessments),
        nationality_aliases=dict(nationalities.aliases),
        policies=dict(policies),
    )
