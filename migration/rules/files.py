"""The shape of each rules file (migration/rules/tables/*.toml), checked as it is read.

Every value a file maps a legacy code to must be a member of the target's enumeration, every unit
a route names must be a unit, and every table that is matched first-match-wins must end with a
catch-all, so a rules file that loads is one the migration can run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Literal

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from migration.facts import FACT_NAMES
from migration.rules.nationalities import ICAO_CODES
from migration.target_schema import (
    ADDRESS_KINDS,
    APPOINTMENT_KINDS,
    APPOINTMENT_OUTCOMES,
    CASE_TYPES,
    DECISION_OUTCOMES,
    GENDERS,
    HEALTH_ASSESSMENTS,
    LIFECYCLE_STATES,
    PARTY_ROLES,
    PRIORITY_BANDS,
    RELATIONSHIPS,
    SUBMISSION_CATEGORIES,
    TASK_KINDS,
    VULNERABILITIES,
)

CATCH_UP = "catch_up"
Condition = bool | str | list[str]


def _member_of(values: Iterable[str], what: str) -> Callable[[str], str]:
    allowed = tuple(values)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of the target's {what} ({', '.join(allowed)})")
        return value

    return check


def _target(values: Iterable[str], what: str) -> object:
    return AfterValidator(_member_of(values, what))


LifecycleState = Annotated[str, _target(LIFECYCLE_STATES, "lifecycle states")]
CaseType = Annotated[str, _target(CASE_TYPES, "case types")]
Gender = Annotated[str, _target(GENDERS, "genders")]
PartyRole = Annotated[str, _target(PARTY_ROLES, "party roles")]
Relationship = Annotated[str, _target(RELATIONSHIPS, "relationships")]
AddressKind = Annotated[str, _target(ADDRESS_KINDS, "address kinds")]
AppointmentKind = Annotated[str, _target(APPOINTMENT_KINDS, "appointment kinds")]
AppointmentOutcome = Annotated[str, _target(APPOINTMENT_OUTCOMES, "appointment outcomes")]
DecisionOutcome = Annotated[str, _target(DECISION_OUTCOMES, "decision outcomes")]
Vulnerability = Annotated[str, _target(VULNERABILITIES, "vulnerabilities")]
SubmissionCategory = Annotated[str, _target(SUBMISSION_CATEGORIES, "submission categories")]
HealthAssessment = Annotated[str, _target(HEALTH_ASSESSMENTS, "health assessments")]


def _nationality(code: str) -> str:
    if code not in ICAO_CODES and pycountry.countries.get(alpha_3=code) is None:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-3 code nor one of {', '.join(sorted(ICAO_CODES))}")
    return code


Iso3 = Annotated[str, AfterValidator(_nationality)]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_conditions(table: str, rules: Iterable[tuple[str, dict[str, Condition]]]) -> None:
    listed = list(rules)
    for name, when in listed:
        unknown = sorted(set(when) - FACT_NAMES)
        if unknown:
            raise ValueError(f"{table} {name!r} names no fact {unknown[0]!r} (facts: {', '.join(sorted(FACT_NAMES))})")
    names = [name for name, _ in listed]
    if len(set(names)) != len(names):
        raise ValueError(f"{table}: two rules have the same name")
    if not listed or listed[-1][1]:
        raise ValueError(f"{table}: the last rule must have no condition (`when = {{}}`), so every case matches one")


class DatesFile(_File):
    """dates.toml: the appeal window and the older-case months."""

    appeal_window_days: int = Field(ge=0)
    older_case_months: int = Field(ge=1)


class Cohort(_File):
    """One wave cohort: the wave its cases join when every condition holds."""

    name: str
    wave: str
    when: dict[str, Condition] = Field(default_factory=dict)
    description: str = ""


class WavesFile(_File):
    """waves.toml: the wave order and the cohorts, first match wins."""

    order: list[str] = Field(min_length=1)
    cohorts: list[Cohort] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> WavesFile:
        if CATCH_UP not in self.order:
            raise ValueError(f"order must hold {CATCH_UP!r}, the wave of cases that appear after the plan")
        if len(set(self.order)) != len(self.order):
            raise ValueError("order names a wave twice")
        for cohort in self.cohorts:
            if cohort.wave not in self.order or cohort.wave == CATCH_UP:
                raise ValueError(f"cohort {cohort.name!r}: wave {cohort.wave!r} is not a planned wave of `order`")
        _check_conditions("cohort", ((c.name, c.when) for c in self.cohorts))
        return self


class Route(_File):
    """One routing rule: the unit that owns a case when every condition holds."""

    name: str
    unit: str
    when: dict[str, Condition] = Field(default_factory=dict)


class Priority(_File):
    """One tasking priority band, when every condition holds."""

    name: str
    band: Annotated[str, _target(PRIORITY_BANDS, "priority bands")]
    when: dict[str, Condition] = Field(default_factory=dict)


class RoutingFile(_File):
    """routing.toml: units, the routing table, postcode regions, tasking priority and next tasks."""

    default_task: Annotated[str, _target(TASK_KINDS, "task kinds")]
    units: dict[str, str] = Field(min_length=1)
    nationality_specialisms: dict[str, list[Iso3]]
    postcode_regions: dict[str, list[str]]
    legacy_regions: dict[str, str]
    next_task: dict[LifecycleState, Annotated[str, _target(TASK_KINDS, "task kinds")]]
    routes: list[Route] = Field(min_length=1)
    priorities: list[Priority] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RoutingFile:
        named = {
            **{f"route {r.name!r}": r.unit for r in self.routes},
            **{f"nationality_specialisms.{u}": u for u in self.nationality_specialisms},
            **{f"postcode_regions.{u}": u for u in self.postcode_regions},
            **{f"legacy_regions.{k!r}": u for k, u in self.legacy_regions.items()},
        }
        for where, unit in named.items():
            if unit not in self.units:
                raise ValueError(f"{where}: {unit!r} is not a unit of [units]")
        _only_once("nationality_specialisms", self.nationality_specialisms)
        _only_once("postcode_regions", self.postcode_regions)
        for route in self.routes:
            wanted = route.when.get("nationality_specialism")
            if isinstance(wanted, str) and wanted not in self.nationality_specialisms:
                raise ValueError(f"route {route.name!r}: {wanted!r} is not a list of [nationality_specialisms]")
        _check_conditions("route", ((r.name, r.when) for r in self.routes))
        _check_conditions("priority", ((p.name, p.when) for p in self.priorities))
        return self


def _only_once(table: str, lists: dict[str, list[str]]) -> None:
    seen: dict[str, str] = {}
    for owner, values in lists.items():
        for value in values:
            if value in seen:
                raise ValueError(f"{table}: {value!r} is listed under both {seen[value]} and {owner}")
            seen[value] = owner


class AppealSplit(_File):
    """A status whose lifecycle state depends on an appeal lodged on the last decision."""

    appeal_lodged: LifecycleState
    no_appeal: LifecycleState


class ExcludedReasons(_File):
    """The exclusion reasons no status table names."""

    terminal: str
    soft_deleted: str


class Statuses(_File):
    """Status codes: lifecycle states, retired codes, exclusion reasons, appealable outcomes."""

    appealable_outcomes: list[str]
    lifecycle: dict[str, LifecycleState | AppealSplit]
    retired: dict[str, LifecycleState]
    exclusion_reasons: dict[str, str]
    excluded: ExcludedReasons


class CodesFile(_File):
    """codes.toml: CID's codes to the target's enumerations."""

    statuses: Statuses
    case_types: dict[str, CaseType]
    genders: dict[str, Gender]
    party_roles: dict[str, PartyRole]
    relationships: dict[str, Relationship]
    address_kinds: dict[str, AddressKind]
    appointment_kinds: dict[str, AppointmentKind]
    appointment_outcomes: dict[str, AppointmentOutcome]
    decision_outcomes: dict[str, DecisionOutcome]
    vulnerabilities: dict[str, Vulnerability]
    submission_categories: dict[str, SubmissionCategory]
    health_assessments: dict[str, HealthAssessment]


class NationalitiesFile(_File):
    """nationalities.toml: free text CID accepted to ISO 3166-1 alpha-3 (or ICAO) codes."""

    aliases: dict[str, Iso3]


class PolicyEntry(_File):
    """One defect policy: the action, the defect it answers, a label and what to fix in CID."""

    defect: str | None = None
    action: Literal["repair", "quarantine", "drop", "merge"]
    label: str = Field(min_length=1)
    fix: str = Field(min_length=1)


FILES: dict[str, type[_File]] = {
    "dates": DatesFile, "waves": WavesFile, "routing": RoutingFile, "codes": CodesFile,
    "nationalities": NationalitiesFile,
}
