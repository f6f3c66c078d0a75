"""Idempotent writes to the target: upsert that touches only rows that changed, and removal of
a case's rows (dependent rows first) for re-sync, quarantine after migration and rollback."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import key_list
from core.dialects import dialect_named
from migration.load.digests import forget_digests
from migration.load.persons import forget_sources, refresh_persons
from migration.load.staging import stage_rows
from migration.target_schema import ADDRESS, APPOINTMENT, BUSINESS_TABLES, CASE, CASE_PARTY, PERSON, UNIT

Row = dict[str, Any]
# Tables whose rows hang off a case, in the order they are deleted.
CASE_CHILD_TABLES = tuple(t for t in reversed(BUSINESS_TABLES) if "case_id" in t.c and t is not CASE)


def upsert(conn: Connection, table: sa.Table, rows: Sequence[Row]) -> None:
    """Insert rows or update the ones whose values differ; identical rows are not touched."""
    if rows:
        merge(conn, table, stage_rows(conn, table, rows))


def ensure_units(conn: Connection, units: dict[str, str]) -> None:
    """Make the unit table hold the routing table's units."""
    upsert(conn, UNIT, [{"unit_code": code, "name": name} for code, name in units.items()])


def merge(conn: Connection, table: sa.Table, stage: sa.Table) -> None:
    """Upsert every staged row in one statement; rows whose values did not change are not touched.

    For `person`, the record with the lowest legacy PERSON_ID stands for a merged human."""
    conn.execute(_merge_statement(conn.dialect.name, table, stage))


@functools.cache
def _merge_statement(dialect: str, table: sa.Table, stage: sa.Table) -> sa.Executable:
    # Built once per table and staging table (each batch runs ten; building one took ~2 ms).
    names = [c.name for c in table.columns]
    pk = [c.name for c in table.primary_key]
    cols = [n for n in names if n not in pk]
    # `WHERE true` keeps SQLite from reading ON CONFLICT as a join clause of the SELECT.
    stmt = dialect_named(dialect).insert(table).from_select(names, sa.select(*(stage.c[n] for n in names))
                                                        .where(sa.true()))
    changed = sa.or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in cols))
    if table is PERSON:
        changed = sa.and_(changed, stmt.excluded.legacy_person_id <= table.c.legacy_person_id)
    upsert: sa.Executable = stmt.on_conflict_do_update(index_elements=pk, set_={c: stmt.excluded[c] for c in cols},
                                                       where=changed)
    return upsert


def held_keys(conn: Connection, table: sa.Table, keys: Sequence[Any]) -> list[Any]:
    """Which of these primary keys the table holds now."""
    if not keys:
        return []
    pk = next(iter(table.primary_key))
    return list(conn.execute(sa.select(pk).where(key_list(conn, pk, keys))).scalars())


def delete_stale_children(conn: Connection, stages: dict[str, sa.Table], rows: Mapping[str, pl.DataFrame],
                          held_cases: Sequence[uuid.UUID]) -> None:
    """Remove rows of the staged cases that the staged rows no longer hold (removed or deleted in
    CID), and addresses of staged persons that CID no longer has. Only cases the target held
    before the batch (`held_cases`) can have such rows: a child row needs its case. Rows are found
    by key arrays, so the target's indexes are used however large it grows (a subquery on a
    staging table, whose size the planner cannot know, would scan the whole table once per batch)."""
    for table in CASE_CHILD_TABLES if held_cases else ():
        pk = next(iter(table.primary_key))
        stale = list(conn.execute(sa.select(pk).where(key_list(conn, table.c.case_id, held_cases),
                                                      pk.not_in(sa.select(stages[table.name].c[pk.name])))).scalars())
        if not stale:
            continue
        if table is APPOINTMENT:
            # Cut links into rows about to go first, so the self-reference never blocks the delete.
            conn.execute(sa.update(APPOINTMENT).where(key_list(conn, APPOINTMENT.c.rebooked_from_id, stale))
                         .values(rebooked_from_id=None))
        _delete(conn, table, key_list(conn, pk, stale))
    people = sorted(set(rows[PERSON.name]["legacy_person_id"].to_list()) | set(rows[ADDRESS.name]["legacy_person_id"]
                                                                             .to_list()))
    if people:
        _delete(conn, ADDRESS, key_list(conn, ADDRESS.c.legacy_person_id, people),
                ADDRESS.c.address_id.not_in(sa.select(stages[ADDRESS.name].c.address_id)))


def _delete(conn: Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    """Delete rows and their recorded digests; the keys are read first (usually there are none,
    and a plain key list keeps the planner off the digest table's full scan)."""
    pk = next(iter(table.primary_key))
    keys = list(conn.execute(sa.select(pk).where(*where)).scalars())
    if not keys:
        return 0
    forget_digests(conn, table, keys)
    return int(conn.execute(sa.delete(table).where(key_list(conn, pk, keys))).rowcount or 0)


def delete_cases(conn: Connection, case_keys: Sequence[uuid.UUID]) -> int:
    """Remove these cases and every row that depends on them; persons (and their addresses) go
    only when no remaining case refers to them. Returns the number of cases removed."""
    # A case the target does not hold has no rows at all (they all need it): one lookup, not 20.
    case_keys = held_keys(conn, CASE, case_keys)
    if not case_keys:
        return 0
    persons = list(conn.execute(sa.select(CASE_PARTY.c.person_id).distinct()
                                .where(key_list(conn, CASE_PARTY.c.case_id, case_keys))).scalars())
    legacy_ids = list(conn.execute(sa.select(CASE.c.legacy_case_id).where(key_list(conn, CASE.c.case_id, case_keys)))
                      .scalars())
    conn.execute(sa.update(APPOINTMENT).where(key_list(conn, APPOINTMENT.c.case_id, case_keys))
                 .values(rebooked_from_id=None))
    for table in CASE_CHILD_TABLES:
        _delete(conn, table, key_list(conn, table.c.case_id, case_keys))
    removed = _delete(conn, CASE, key_list(conn, CASE.c.case_id, case_keys))
    if persons:
        still_used = sa.select(CASE_PARTY.c.person_id).where(key_list(conn, CASE_PARTY.c.person_id, persons))
        orphans = list(conn.execute(sa.select(PERSON.c.person_id).where(
            key_list(conn, PERSON.c.person_id, persons), PERSON.c.person_id.not_in(still_used))).scalars())
        if orphans:
            conn.execute(sa.update(APPOINTMENT).where(key_list(conn, APPOINTMENT.c.person_id, orphans))
                         .values(person_id=None))
            _delete(conn, ADDRESS, key_list(conn, ADDRESS.c.person_id, orphans))
            _delete(conn, PERSON, key_list(conn, PERSON.c.person_id, orphans))
    refresh_persons(conn, forget_sources(conn, legacy_ids))
    return removed

