"""The facts about a legacy case that the wave plan, the routing table and the tasking priority
match on: one function, from the same legacy rows whether the plan or the transform asks.

A new fact is a name in FACT_NAMES and a line in `case_facts`; the rules files may then name it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from dateutil.relativedelta import relativedelta

from migration.parsers import clean_text, flag, normalise_postcode, parse_cid_date

if TYPE_CHECKING:
    from migration.rules.rulebook import Rules
    from migration.transform.nationality import NationalityMapper

FACT_NAMES = frozenset({
    "case_type", "detained", "nsa", "uasc", "high_profile", "high_harm", "supported", "older", "nationality",
    "gender", "nationality_specialism", "specialist_nationality", "accommodation", "postcode_region",
    "legacy_region",
})
# The facts drawn from the main applicant's addresses (a reader that asks none may leave them out).
ADDRESS_FACTS = frozenset({"accommodation", "postcode_region"})


@dataclass(frozen=True, slots=True)
class CaseInputs:
    """The legacy rows a case's facts come from."""

    header: Mapping[str, Any]  # CASE_HDR
    flags: Iterable[Mapping[str, Any]]  # its CASE_FLAG rows
    main_person: Mapping[str, Any] | None  # PERSON of its one main applicant, if it has one
    main_addresses: Sequence[Mapping[str, Any]]  # that person's ADDRESS rows, in ADDRESS_ID order
    unit_region: str | None  # REF_UNIT.REGION of its legacy owning unit


@cache  # one as-of date and period for a whole plan or batch
def older_cutoff(as_of: dt.date, months: int) -> dt.date:
    """The date before which a case received counts as older (as_of minus `months` calendar months)."""
    cutoff: dt.date = as_of - relativedelta(months=months)
    return cutoff


def active_flags(flags: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Flag codes raised and not cleared, ignoring soft-deleted rows."""
    return frozenset(
        f["FLAG_CD"] for f in flags
        if not flag(f.get("DELETED_FLG")) and not (f.get("CLEARED_DT") or "").strip() and f.get("FLAG_CD")
    )


def _code(value: str | None) -> str:
    return (value or "").strip().upper()


def _current_address(rows: Sequence[Mapping[str, Any]], rules: Rules) -> tuple[str | None, str | None]:
    """(kind, raw postcode) of the address the case is at: of the addresses the target keeps, the
    last with no end date, else the last one."""
    kept = [a for a in rows if not flag(a.get("DELETED_FLG")) and _code(a.get("ADDR_TYPE")) in rules.address_kinds
            and clean_text(a.get("LINE1") or "")[0]]
    current = [a for a in kept if parse_cid_date(a.get("TO_DT")).value is None] or kept[-1:]
    if not current:
        return None, None
    return rules.address_kinds[_code(current[-1].get("ADDR_TYPE"))], current[-1].get("POSTCODE")


def case_facts(inputs: CaseInputs, as_of: dt.date, rules: Rules, nationality: NationalityMapper) -> dict[str, Any]:
    """The facts the wave, routing and priority tables match on."""
    header = inputs.header
    received = parse_cid_date(header.get("DATE_RCVD")).value
    vulnerable = {rules.vulnerabilities.get(code) for code in active_flags(inputs.flags)}
    main = inputs.main_person or {}
    iso3 = nationality.map(main.get("NATIONALITY"))[0] if inputs.main_person is not None else None
    accommodation, postcode = _current_address(inputs.main_addresses, rules)
    area = normalise_postcode(postcode)[1] if postcode else None
    specialism = rules.specialism_of.get(iso3 or "")
    return {
        "case_type": rules.case_types.get(_code(header.get("CASE_TYPE"))),
        "detained": flag(header.get("DETAINED_FLG")) or "detained" in vulnerable,
        "nsa": "non_suspensive_appeal" in vulnerable,
        "uasc": "uasc" in vulnerable,
        "high_profile": "high_profile" in vulnerable,
        "high_harm": flag(header.get("HIGH_HARM_FLG")),
        "supported": flag(header.get("SUPPORTED_FLG")),
        "older": received is not None and received < older_cutoff(as_of, rules.older_case_months),
        "nationality": iso3,
        "gender": rules.genders.get(_code(main.get("GENDER")), "unspecified"),
        "nationality_specialism": specialism,
        "specialist_nationality": specialism is not None,
        "accommodation": accommodation,
        "postcode_region": rules.postcode_area_regions.get(area or ""),
        "legacy_region": rules.legacy_region_units.get(inputs.unit_region or ""),
    }
