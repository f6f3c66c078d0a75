"""Each discrepancy named with its case and wave, so a wave's reconciliation is the overall one
restricted to the wave. Only the discrepancies' own keys are looked up (few), CID first, the
target where CID no longer holds the row."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import key_list
from legacy.schema import ADDRESS as L_ADDRESS
from legacy.schema import CASE_PERSON as L_CASE_PERSON
from migration.rules.waves import CATCH_UP
from migration.target_schema import ADDRESS, CASE, CASE_PARTY, CUTOVER_CASE, PERSON
from reconciliation.compare import Discrepancy
from reconciliation.legacy_side import CHILD_ENTITIES
from reconciliation.target_side import CASE_ENTITIES, planned_waves

CASE_KEYED = ("case", "task")
LOOKUP = 10_000  # keys per statement


def _chunks(keys: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), LOOKUP):
        yield ordered[start:start + LOOKUP]


def _pairs(conn: Connection, key: sa.ColumnElement[Any], owner: sa.ColumnElement[Any], keys: Iterable[int],
           joined: sa.FromClause | None = None) -> list[tuple[int, int]]:
    """(key, owner) rows for these keys."""
    out: list[tuple[int, int]] = []
    for chunk in _chunks(keys):
        stmt = sa.select(key, owner).where(key_list(conn, key, chunk))
        if joined is not None:
            stmt = stmt.select_from(joined)
        out.extend((int(k), int(o)) for k, o in conn.execute(stmt) if k is not None and o is not None)
    return out


def _child_cases(legacy: Connection, target: Connection, entity: str, keys: set[int]) -> dict[int, int]:
    """Legacy key of a case's child row -> its CASE_ID, from CID, else from the target."""
    l_table, l_key, l_case = CHILD_ENTITIES[entity]
    found = dict(_pairs(legacy, l_table.c[l_key], l_table.c[l_case], keys))
    t_table, t_key = CASE_ENTITIES[entity]
    rest = keys - set(found)
    if rest:
        joined = t_table.join(CASE, CASE.c.case_id == t_table.c.case_id)
        found.update(_pairs(target, t_table.c[t_key], CASE.c.legacy_case_id, rest, joined))
    return found


def _persons_cases(legacy: Connection, target: Connection, persons: set[int]) -> dict[int, list[int]]:
    """Legacy PERSON_ID -> the CASE_IDs naming the person, from CID, else from the target."""
    naming: dict[int, list[int]] = defaultdict(list)
    for person, case_id in _pairs(legacy, L_CASE_PERSON.c.PERSON_ID, L_CASE_PERSON.c.CASE_ID, persons):
        naming[person].append(case_id)
    rest = persons - set(naming)
    if rest:
        joined = PERSON.join(CASE_PARTY, CASE_PARTY.c.person_id == PERSON.c.person_id).join(
            CASE, CASE.c.case_id == CASE_PARTY.c.case_id)
        for person, case_id in _pairs(target, PERSON.c.legacy_person_id, CASE.c.legacy_case_id, rest, joined):
            naming[person].append(case_id)
    return naming


def _owners(legacy: Connection, target: Connection, persons: set[int]) -> dict[int, int]:
    """Legacy PERSON_ID -> the case that owns the person: the lowest migrated case naming it (as
    the child totals count it), else the lowest naming it."""
    naming = _persons_cases(legacy, target, persons)
    cases = sorted({c for found in naming.values() for c in found})
    migrated: set[int] = set()
    for chunk in _chunks(cases):
        migrated.update(target.execute(sa.select(CUTOVER_CASE.c.legacy_case_id).where(
            key_list(target, CUTOVER_CASE.c.legacy_case_id, chunk), CUTOVER_CASE.c.state == "migrated")).scalars())
    return {person: min([c for c in found if c in migrated] or found) for person, found in naming.items()}


def _address_persons(legacy: Connection, target: Connection, addresses: set[int]) -> dict[int, int]:
    """Legacy ADDRESS_ID -> its PERSON_ID, from CID, else from the target."""
    found = dict(_pairs(legacy, L_ADDRESS.c.ADDRESS_ID, L_ADDRESS.c.PERSON_ID, addresses))
    rest = addresses - set(found)
    if rest:
        found.update(_pairs(target, ADDRESS.c.legacy_address_id, ADDRESS.c.legacy_person_id, rest))
    return found


def attributed(legacy: Connection, target: Connection, found: Sequence[Discrepancy]) -> list[Discrepancy]:
    """The discrepancies, each with its case (where one can be found) and that case's planned wave
    (catch-up when unplanned, as the balance counts it)."""
    keys: dict[str, set[int]] = defaultdict(set)
    for d in found:
        if d.legacy_case_id is None and d.legacy_key is not None:
            keys[d.entity].add(d.legacy_key)
    case_of: dict[tuple[str, int], int] = {}
    for entity, wanted in keys.items():
        if entity in CASE_KEYED:
            case_of.update(((entity, k), k) for k in wanted)
        elif entity in CHILD_ENTITIES:
            case_of.update(((entity, k), c) for k, c in _child_cases(legacy, target, entity, wanted).items())
    addresses = _address_persons(legacy, target, keys.get("address", set()))
    owners = _owners(legacy, target, keys.get("person", set()) | set(addresses.values()))
    case_of.update((("person", p), c) for p, c in owners.items())
    case_of.update((("address", a), owners[p]) for a, p in addresses.items() if p in owners)
    cases = [d.legacy_case_id if d.legacy_case_id is not None else case_of.get((d.entity, d.legacy_key or 0))
             for d in found]
    waves: dict[int, str] = {}
    for chunk in _chunks(c for c in cases if c is not None):
        waves.update(planned_waves(target, chunk))
    out = []
    for d, case_id in zip(found, cases, strict=True):
        wave = d.wave or (None if case_id is None else waves.get(case_id, CATCH_UP))
        out.append(dataclasses.replace(d, legacy_case_id=case_id, wave=wave))
    return out
