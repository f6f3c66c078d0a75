"""Row and field digests computed by the database itself (a hash of each value's text), recorded
when a row is loaded and recomputed by reconciliation: the same SQL on both occasions, so any
later change to a loaded row shows, down to the field."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cutover.db import key_list
from cutover.sqlhash import NULL_TEXT, field_hash, h28
from migration.load.staging import dialect_insert
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


def field_hashes(conn: Connection, table: sa.Table) -> sa.ColumnElement:
    """The concatenated short hash of every column's text, in column order."""
    parts = [field_hash(conn, sa.func.coalesce(sa.cast(col, sa.Text), NULL_TEXT)) for col in table.columns]
    return functools.reduce(lambda a, b: a.concat(b), parts)


def hashed_rows(conn: Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> sa.Select:
    """SELECT range key, primary key, field hashes, row hash and its integer for a business table's
    rows (those matching `where`)."""
    key_table, key_column = RANGE_KEYS[table.name]
    pk = next(iter(table.primary_key))
    fields = field_hashes(conn, table).label("field_hashes")
    inner = sa.select(key_table.c[key_column].label("range_key"), pk.label("row_key"), fields)
    if key_table is not table:
        inner = inner.join_from(table, key_table, key_table.c.case_id == table.c.case_id)
    sub = inner.where(*where).subquery()
    row_hash = sa.func.md5(sub.c.field_hashes)
    return sa.select(sub.c.range_key, sub.c.row_key, sub.c.field_hashes, row_hash.label("row_hash"),
                     h28(conn, row_hash).label("row_h28"))


def record_digests(conn: Connection, table: sa.Table, keys: Sequence[Any]) -> None:
    """Record (or refresh) the digests of the rows with these primary keys, as the database
    computes them now."""
    if not keys:
        return
    pk = next(iter(table.primary_key))
    rows = hashed_rows(conn, table, key_list(conn, pk, keys)).subquery()
    insert = dialect_insert(conn, CUTOVER_ROW_DIGEST).from_select(
        ["entity", "row_key", "range_key", "field_hashes", "row_hash", "row_h28"],
        sa.select(sa.literal(table.name), rows.c.row_key, rows.c.range_key, rows.c.field_hashes,
                  rows.c.row_hash, rows.c.row_h28).where(sa.true()))
    columns = ("range_key", "field_hashes", "row_hash", "row_h28")
    conn.execute(insert.on_conflict_do_update(index_elements=["entity", "row_key"],
                                              set_={c: insert.excluded[c] for c in columns}))


def forget_digests(conn: Connection, table: sa.Table, keys: Sequence[Any]) -> None:
    """Drop the digests of these rows of `table` (call just before deleting them)."""
    conn.execute(sa.delete(CUTOVER_ROW_DIGEST).where(CUTOVER_ROW_DIGEST.c.entity == table.name,
                                                     key_list(conn, CUTOVER_ROW_DIGEST.c.row_key, keys)))
