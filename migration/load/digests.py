"""Row and field digests computed by the database itself (a hash of each value's text), recorded
when a row is loaded and recomputed by reconciliation: the same SQL on both occasions, so any
later change to a loaded row shows, down to the field."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import key_list
from migration.load.staging import dialect_insert
from migration.sqlhash import NULL_TEXT, field_hash_int, hex8, row_h28
from migration.target_schema import (
    ADDRESS,
    APPOINTMENT,
    CASE,
    CASE_NOTE,
    CASE_PARTY,
    CUTOVER_ROW_DIGEST,
    DECISION,
    PERSON,
    RESETTLEMENT_REFERRAL,
    TASK,
    VULNERABILITY,
)

# Each business table's numeric range key (for narrowing), from its own columns or its case.
RANGE_KEYS: dict[str, tuple[sa.Table, str]] = {
    CASE.name: (CASE, "legacy_case_id"), PERSON.name: (PERSON, "legacy_person_id"),
    CASE_PARTY.name: (CASE_PARTY, "legacy_case_person_id"), ADDRESS.name: (ADDRESS, "legacy_address_id"),
    APPOINTMENT.name: (APPOINTMENT, "legacy_appt_id"), CASE_NOTE.name: (CASE_NOTE, "legacy_note_id"),
    DECISION.name: (DECISION, "legacy_decision_id"), VULNERABILITY.name: (VULNERABILITY, "legacy_flag_id"),
    RESETTLEMENT_REFERRAL.name: (RESETTLEMENT_REFERRAL, "legacy_referral_id"), TASK.name: (CASE, "legacy_case_id"),
}


def hashed_rows(conn: Connection, table: sa.Table, *where: sa.ColumnElement[bool],
                sources: Mapping[str, sa.Table] | None = None) -> sa.Select[Any]:
    """SELECT range key, primary key, field hashes (each column's text hashed, in the table's
    column order) and row total for a business table's rows (those matching `where`),
    read from the table or from `sources` (staging tables by name)."""
    sources = sources or {}
    key_table, key_column = RANGE_KEYS[table.name]
    src, key_src = sources.get(table.name, table), sources.get(key_table.name, key_table)
    pk = next(iter(table.primary_key)).name
    ints = [field_hash_int(conn, sa.func.coalesce(sa.cast(src.c[col.name], sa.Text), NULL_TEXT)).label(f"h{n}")
            for n, col in enumerate(table.columns)]
    inner = sa.select(key_src.c[key_column].label("range_key"), src.c[pk].label("row_key"), *ints)
    if key_table is not table:
        inner = inner.join_from(src, key_src, key_src.c.case_id == src.c.case_id)
    # OFFSET 0: each field is hashed once, though both the hex digits and the total use it.
    sub = inner.where(*where).offset(0).subquery()
    hashes = [sub.c[f"h{n}"] for n in range(len(ints))]
    fields = functools.reduce(lambda a, b: a.concat(b), [hex8(conn, h) for h in hashes])
    return sa.select(sub.c.range_key, sub.c.row_key, fields.label("field_hashes"), row_h28(hashes).label("row_h28"))


def record_digests(conn: Connection, table: sa.Table, keys: Sequence[Any],
                   stages: Mapping[str, sa.Table] | None = None) -> None:
    """Record (or refresh) the digests of the rows with these primary keys, as the database
    computes them now. Given the batch's staging tables, rows are hashed there (no lookups in the
    target): a merge leaves each staged row exactly as staged, except a person that a record with a
    lower PERSON_ID stands for, so persons are always hashed where they stand."""
    if not keys:
        return
    if stages and table is not PERSON:
        conn.execute(_staged_digests(conn, table, stages))
    else:
        where = key_list(conn, next(iter(table.primary_key)), keys)
        conn.execute(_digest_insert(conn, table, hashed_rows(conn, table, where).subquery()))


_STAGED_DIGESTS: dict[tuple[str, sa.Table, sa.Table, sa.Table], sa.Executable] = {}


def _staged_digests(conn: Connection, table: sa.Table, stages: Mapping[str, sa.Table]) -> sa.Executable:
    """The statement recording a table's digests from its staging table, built once per dialect
    and staging table (a batch runs ten of them; building one took ~3 ms)."""
    key = (conn.dialect.name, table, stages[table.name], stages[RANGE_KEYS[table.name][0].name])
    if key not in _STAGED_DIGESTS:
        _STAGED_DIGESTS[key] = _digest_insert(conn, table, hashed_rows(conn, table, sources=stages).subquery())
    return _STAGED_DIGESTS[key]


def _digest_insert(conn: Connection, table: sa.Table, rows: sa.Subquery) -> sa.Executable:
    insert = dialect_insert(conn, CUTOVER_ROW_DIGEST).from_select(
        ["entity", "row_key", "range_key", "field_hashes", "row_h28"],
        sa.select(sa.literal(table.name), rows.c.row_key, rows.c.range_key, rows.c.field_hashes,
                  rows.c.row_h28).where(sa.true()))
    columns = ("range_key", "field_hashes", "row_h28")
    upsert: sa.Executable = insert.on_conflict_do_update(index_elements=["entity", "row_key"],
                                                         set_={c: insert.excluded[c] for c in columns})
    return upsert


def forget_digests(conn: Connection, table: sa.Table, keys: Sequence[Any]) -> None:
    """Drop the digests of these rows of `table` (call just before deleting them)."""
    conn.execute(sa.delete(CUTOVER_ROW_DIGEST).where(CUTOVER_ROW_DIGEST.c.entity == table.name,
                                                     key_list(conn, CUTOVER_ROW_DIGEST.c.row_key, keys)))
