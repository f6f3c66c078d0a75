"""Merged persons follow CID. Each migrated case's reading of each legacy person on it is kept;
a person row is the reading with the lowest PERSON_ID (the lowest CASE_ID on a tie), with the
addresses of every legacy record that a migrated case still names, as a fresh run gives."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import key_list
from migration.load.digests import forget_digests, record_digests
from migration.load.staging import copy_rows
from migration.target_schema import ADDRESS, APPOINTMENT, CASE_PARTY, CUTOVER_PERSON_SOURCE, PERSON
from migration.transform import TransformResult
from migration.transform.frames import CASE_COLUMN, dicts_of

SOURCE = CUTOVER_PERSON_SOURCE
PERSON_COLUMNS = tuple(c.name for c in PERSON.columns)
READING_COLUMNS = tuple(c for c in PERSON_COLUMNS if c != "legacy_person_id")


def forget_sources(conn: Connection, legacy_case_ids: Collection[int]) -> set[uuid.UUID]:
    """Drop these cases' readings of persons; return the persons they named."""
    if not legacy_case_ids:
        return set()
    where = key_list(conn, SOURCE.c.legacy_case_id, sorted(legacy_case_ids))
    named = set(conn.execute(sa.select(SOURCE.c.person_id).where(where).distinct()).scalars())
    conn.execute(sa.delete(SOURCE).where(where))
    return named


def replace_sources(conn: Connection, result: TransformResult) -> set[uuid.UUID]:
    """Record the readings of the batch's migrated cases in place of those its cases had; return
    the persons named before or now."""
    migrated = {o.legacy_case_id for o in result.outcomes if o.state == "migrated"}
    named = forget_sources(conn, [o.legacy_case_id for o in result.outcomes])
    readings = {(r[CASE_COLUMN], r["legacy_person_id"]): r for r in dicts_of(PERSON.name, result.person_records)
                if r[CASE_COLUMN] in migrated}
    copy_rows(conn, SOURCE, [{"legacy_case_id": case_id, "legacy_person_id": person_id,
                              **{c: r[c] for c in READING_COLUMNS}} for (case_id, person_id), r in readings.items()])
    return named | {r["person_id"] for r in readings.values()}


def refresh_persons(conn: Connection, keys: Collection[uuid.UUID]) -> None:
    """Make each of these persons what the readings say: the lowest PERSON_ID's reading, only
    the addresses of the legacy records read; a person no case names any more goes."""
    if not keys:
        return
    ordered = sorted(keys)
    readings = conn.execute(sa.select(SOURCE).where(key_list(conn, SOURCE.c.person_id, ordered)).order_by(
        SOURCE.c.person_id, SOURCE.c.legacy_person_id, SOURCE.c.legacy_case_id)).mappings().all()
    standing: dict[uuid.UUID, dict[str, Any]] = {}
    records: dict[uuid.UUID, set[int]] = defaultdict(set)
    for r in readings:
        standing.setdefault(r["person_id"], {c: r[c] for c in PERSON_COLUMNS})
        records[r["person_id"]].add(r["legacy_person_id"])
    _set_standing(conn, ordered, standing)
    addresses = conn.execute(sa.select(ADDRESS.c.address_id, ADDRESS.c.person_id, ADDRESS.c.legacy_person_id)
                             .where(key_list(conn, ADDRESS.c.person_id, ordered))).all()
    stale = [a for a, person, legacy in addresses if person in records and legacy not in records[person]]
    _delete_rows(conn, ADDRESS, stale)
    _drop_unnamed(conn, [k for k in ordered if k not in records])


def _set_standing(conn: Connection, keys: Sequence[uuid.UUID], standing: dict[uuid.UUID, dict[str, Any]]) -> None:
    current = {r["person_id"]: dict(r) for r in
               conn.execute(sa.select(PERSON).where(key_list(conn, PERSON.c.person_id, keys))).mappings()}
    changed = []
    for key, row in standing.items():
        if key not in current:
            conn.execute(PERSON.insert().values(**row))
        elif current[key] != row:
            conn.execute(sa.update(PERSON).where(PERSON.c.person_id == key).values(**row))
        else:
            continue
        changed.append(key)
    record_digests(conn, PERSON, changed)


def _drop_unnamed(conn: Connection, keys: Sequence[uuid.UUID]) -> None:
    """Remove the persons among these that no case party refers to, with their addresses."""
    if not keys:
        return
    used = sa.select(CASE_PARTY.c.person_id).where(key_list(conn, CASE_PARTY.c.person_id, keys))
    unused = list(conn.execute(sa.select(PERSON.c.person_id).where(
        key_list(conn, PERSON.c.person_id, keys), PERSON.c.person_id.not_in(used))).scalars())
    if not unused:
        return
    conn.execute(sa.update(APPOINTMENT).where(key_list(conn, APPOINTMENT.c.person_id, unused)).values(person_id=None))
    _delete_rows(conn, ADDRESS, list(conn.execute(sa.select(ADDRESS.c.address_id).where(
        key_list(conn, ADDRESS.c.person_id, unused))).scalars()))
    _delete_rows(conn, PERSON, unused)


def _delete_rows(conn: Connection, table: sa.Table, keys: list[Any]) -> None:
    if keys:
        pk = next(iter(table.primary_key))
        forget_digests(conn, table, keys)
        conn.execute(sa.delete(table).where(key_list(conn, pk, keys)))
