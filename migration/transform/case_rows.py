"""Case headers, parties, persons and their addresses: legacy rows in, target rows out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from migration.extract import LegacyCase
from migration.facts import CaseInputs, case_facts
from migration.parsers import clean_text, flag, normalise_postcode, normalise_ref, parse_cid_date, split_name
from migration.target_schema import NAME_MAX
from migration.transform.context import BatchContext, CaseState
from migration.transform.keys import key, normalised_ho_ref, person_key

Row = dict[str, Any]
DATE_PROBLEM_RULES = {"unparseable": "case.received_unparseable", "impossible": "case.received_impossible"}


def clean(ctx: BatchContext, case_id: int, entity: str, field_name: str, value: str | None,
          legacy_key: int | None) -> str | None:
    """Clean free text, recording a repair per kind of damage found."""
    if value is None:
        return None
    text, repairs = clean_text(value)
    for repair in repairs:
        ctx.find(case_id, f"text.{repair}", entity, field_name, legacy_key)
    return text


def case_row(ctx: BatchContext, state: CaseState) -> Row | None:
    """The target case row (without routing, added later); records quarantines it needs."""
    h = state.legacy.header
    cid = state.legacy.case_id
    received = parse_cid_date(h.get("DATE_RCVD"))
    if received.problem:
        ctx.find(cid, DATE_PROBLEM_RULES[received.problem], "case", "received_on", cid)
    elif received.value is None:
        ctx.find(cid, "case.received_missing", "case", "received_on", cid)
    elif received.value > ctx.as_of:
        ctx.find(cid, "case.received_impossible", "case", "received_on", cid)
    state.received = received.value
    raw_type = h.get("CASE_TYPE")
    case_type = ctx.rules.case_types.get((raw_type or "").strip().upper())
    if raw_type is None:
        ctx.find(cid, "case.type_missing", "case", "case_type", cid)
    elif case_type is None:
        ctx.find(cid, "case.type_unknown", "case", "case_type", cid)
    ref = h.get("CASE_REF")
    if ref and normalise_ref(ref) in ctx.reference.colliding_refs:
        ctx.find(cid, "case.reference_collision", "case", "case_ref", cid)
    return {
        "case_id": state.case_key, "case_ref": normalise_ref(ref or ""), "legacy_ref": ref or "",
        "legacy_case_id": cid, "legacy_status_code": (h.get("STATUS_CD") or "").strip().upper(),
        "case_type": case_type, "lifecycle_state": _lifecycle(ctx, state), "received_on": received.value,
        "priority": flag(h.get("PRIORITY_FLG")), "detained": flag(h.get("DETAINED_FLG")),
        "supported": flag(h.get("SUPPORTED_FLG")), "high_harm": flag(h.get("HIGH_HARM_FLG")),
    }


def _lifecycle(ctx: BatchContext, state: CaseState) -> str | None:
    cid = state.legacy.case_id
    status = (state.legacy.header.get("STATUS_CD") or "").strip().upper()
    if not status:
        ctx.find(cid, "case.status_missing", "case", "lifecycle_state", cid)
        return None
    if status not in ctx.reference.statuses:
        ctx.find(cid, "case.status_unknown", "case", "lifecycle_state", cid)
        return None
    if ctx.reference.statuses[status][1] and status in ctx.rules.retired_statuses:
        ctx.find(cid, "case.status_retired", "case", "lifecycle_state", cid)
        return ctx.rules.retired_statuses[status]
    decisions = [d for d in state.legacy.children.get("DECISION", []) if not flag(d.get("DELETED_FLG"))]
    appealed = bool(decisions) and flag(decisions[-1].get("APPEAL_LODGED_FLG"))
    lifecycle = ctx.rules.lifecycle_for(status, appealed)
    if lifecycle is None:
        ctx.find(cid, "case.status_unknown", "case", "lifecycle_state", cid)
    return lifecycle


def party_and_person_rows(ctx: BatchContext, state: CaseState) -> Iterator[tuple[str, Row]]:
    """Parties of the case and their persons and addresses, as (table, row) pairs."""
    legacy: LegacyCase = state.legacy
    cid = legacy.case_id
    mains: list[int] = []
    for party in legacy.children.get("CASE_PERSON", []):
        pkey = party["CASE_PERSON_ID"]
        person = legacy.persons.get(party["PERSON_ID"])
        if flag(party.get("DELETED_FLG")) or (person is not None and flag(person.get("DELETED_FLG"))):
            ctx.find(cid, "row.soft_deleted", "case_party", None, pkey)
            continue
        if person is None:
            ctx.find(cid, "party.orphan", "case_party", "person_id", pkey)
            continue
        role = ctx.rules.party_roles.get((party.get("ROLE_CD") or "").strip().upper())
        if role is None:
            ctx.find(cid, "party.role_unknown", "case_party", "role", pkey)
            continue
        if role == "main_applicant":
            mains.append(person["PERSON_ID"])
        pid = person["PERSON_ID"]
        if pid not in state.person_keys:
            state.person_keys[pid] = person_key(pid, person.get("HO_REF"))
            yield "person", _person_row(ctx, state, person)
            for address in legacy.addresses.get(pid, []):
                row = _address_row(ctx, state, address)
                if row is not None:
                    yield "address", row
        yield "case_party", {
            "case_party_id": key("case_party", pkey), "case_id": state.case_key, "person_id": state.person_keys[pid],
            "role": role,
            "relationship": ctx.rules.relationships.get((party.get("RELATIONSHIP") or "").strip().upper()),
            "legacy_case_person_id": pkey,
        }
    if not mains:
        ctx.find(cid, "party.no_main_applicant", "case_party", "role", cid)
    elif len(set(mains)) > 1:
        ctx.find(cid, "party.two_main_applicants", "case_party", "role", cid)
    else:
        state.main_person_id = mains[0]


def _person_row(ctx: BatchContext, state: CaseState, p: Row) -> Row:
    cid, pid = state.legacy.case_id, p["PERSON_ID"]
    surname = clean(ctx, cid, "person", "surname", p.get("SURNAME"), pid)
    forenames = clean(ctx, cid, "person", "forenames", p.get("FORENAMES"), pid)
    surname, forenames, was_split = split_name(surname, forenames)
    if was_split:
        ctx.find(cid, "person.name_split", "person", "surname", pid)
    if surname is None and forenames is None:
        ctx.find(cid, "person.name_missing", "person", "surname", pid)
    born = parse_cid_date(p.get("DOB"))
    birth, precision = born.value, born.precision
    if born.problem:
        ctx.find(cid, f"person.birth_date_{born.problem}", "person", "birth_date", pid)
    elif birth is not None and (birth > ctx.as_of or (state.received is not None and birth > state.received)):
        ctx.find(cid, "person.birth_date_impossible", "person", "birth_date", pid)
        birth, precision = None, "unknown"
    iso3, how = ctx.nationality.map(p.get("NATIONALITY"))
    if how == "free_text":
        ctx.find(cid, "person.nationality_free_text", "person", "nationality", pid)
    elif how in ("unmappable", "missing"):
        ctx.find(cid, "person.nationality_unmappable", "person", "nationality", pid)
    gender = ctx.rules.genders.get((p.get("GENDER") or "").strip().upper())
    if gender is None:
        ctx.find(cid, "person.gender_unknown", "person", "gender", pid)
    if normalised_ho_ref(p.get("HO_REF")) in ctx.reference.duplicate_ho_refs:
        ctx.find(cid, "person.duplicate_merged", "person", "person_id", pid)
    return {
        "person_id": state.person_keys[pid], "surname": _fit(surname), "forenames": _fit(forenames),
        "birth_date": birth, "birth_date_precision": precision if birth else "unknown", "nationality": iso3,
        "gender": gender or "unspecified", "home_office_ref": normalised_ho_ref(p.get("HO_REF")),
        "port_ref": p.get("PORT_REF"), "language": p.get("LANGUAGE"),
        "interpreter_needed": flag(p.get("INTERPRETER_FLG")), "legacy_person_id": pid,
    }


def _fit(name: str | None) -> str | None:
    return name[:NAME_MAX] if name else name


def _address_row(ctx: BatchContext, state: CaseState, a: Row) -> Row | None:
    cid, aid = state.legacy.case_id, a["ADDRESS_ID"]
    if flag(a.get("DELETED_FLG")):
        ctx.find(cid, "row.soft_deleted", "address", None, aid)
        return None
    kind = ctx.rules.address_kinds.get((a.get("ADDR_TYPE") or "").strip().upper())
    if kind is None:
        ctx.find(cid, "address.kind_unknown", "address", "kind", aid)
        return None
    line1 = clean(ctx, cid, "address", "line1", a.get("LINE1"), aid)
    if not line1:
        ctx.find(cid, "address.line1_missing", "address", "line1", aid)
        return None
    postcode, _area = normalise_postcode(a.get("POSTCODE"))
    if postcode is None and a.get("POSTCODE"):
        ctx.find(cid, "address.postcode_malformed", "address", "postcode", aid)
    dates = {}
    for column, target in (("FROM_DT", "valid_from"), ("TO_DT", "valid_to")):
        parsed = parse_cid_date(a.get(column))
        if parsed.problem:
            ctx.find(cid, "address.date_unparseable", "address", target, aid)
        dates[target] = parsed.value
    return {
        "address_id": key("address", aid), "person_id": state.person_keys[a["PERSON_ID"]], "line1": line1,
        "line2": clean(ctx, cid, "address", "line2", a.get("LINE2"), aid),
        "town": clean(ctx, cid, "address", "town", a.get("TOWN"), aid), "postcode": postcode, **dates,
        "kind": kind, "legacy_address_id": aid, "legacy_person_id": a["PERSON_ID"],
    }


def case_facts_of(ctx: BatchContext, state: CaseState) -> dict[str, Any]:
    """The facts routing and tasking match on, read from the case's legacy rows as the plan reads them."""
    legacy, main_id = state.legacy, state.main_person_id
    main = legacy.persons.get(main_id) if main_id is not None else None
    inputs = CaseInputs(legacy.header, legacy.children.get("CASE_FLAG", []), main,
                        legacy.addresses.get(main_id, []) if main_id is not None and main is not None else [],
                        ctx.reference.unit_regions.get((legacy.header.get("OWNING_UNIT_CD") or "").strip()))
    return case_facts(inputs, ctx.as_of, ctx.rules, ctx.nationality)
