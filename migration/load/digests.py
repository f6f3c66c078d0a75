"""Row and field digests computed by the database itself (a hash of each value's text), recorded
when rows are loaded and recomputed by reconciliation: the same SQL on both occasions, so any
later change to a loaded row shows, down to the field.

A person's digest is a row of its own (its range key moves with the reading that stands for it).
Every other table's digests are packed per bucket of DIGEST_BUCKET_WIDTH consecutive range keys:
recording a batch locks the buckets its rows fall in and rebuilds each from the rows the bucket
holds now, one INSERT ... SELECT ... GROUP BY per table, so a lane writing into the same bucket
at the same time waits for the other to commit and then sees its rows."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import int_table, key_list
from migration.load.staging import dialect_insert
from migration.sqlhash import NULL_TEXT, field_hash_int, hex8, row_h28, row_h28_of
from migration.target_schema import (
    ADDRESS,
    APPOINTMENT,
    CASE,
    CASE_NOTE,
    CASE_PARTY,
    CUTOVER_DIGEST_BUCKET,
    CUTOVER_ROW_DIGEST,
    DECISION,
    PERSON,
    RESETTLEMENT_REFERRAL,
    TASK,
    VULNERABILITY,
)

DIGEST_BUCKET_WIDTH = 64
BUCKETS = CUTOVER_DIGEST_BUCKET
# Each business table's numeric range key (for narrowing), from its own columns or its case.
RANGE_KEYS: dict[str, tuple[sa.Table, str]] = {
    CASE.name: (CASE, "legacy_case_id"), PERSON.name: (PERSON, "legacy_person_id"),
    CASE_PARTY.name: (CASE_PARTY, "legacy_case_person_id"), ADDRESS.name: (ADDRESS, "legacy_address_id"),
    APPOINTMENT.name: (APPOINTMENT, "legacy_appt_id"), CASE_NOTE.name: (CASE_NOTE, "legacy_note_id"),
    DECISION.name: (DECISION, "legacy_decision_id"), VULNERABILITY.name: (VULNERABILITY, "legacy_flag_id"),
    RESETTLEMENT_REFERRAL.name: (RESETTLEMENT_REFERRAL, "legacy_referral_id"), TASK.name: (CASE, "legacy_case_id"),
}


def hashed_rows(conn: Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """SELECT range key, primary key, field hashes (each column's text hashed, in the table's
    column order) and row total for a business table's rows (those matching `where`)."""
    key_table, key_column = RANGE_KEYS[table.name]
    pk = next(iter(table.primary_key))
    ints = [field_hash_int(conn, sa.func.coalesce(sa.cast(col, sa.Text), NULL_TEXT)).label(f"h{n}")
            for n, col in enumerate(table.columns)]
    inner = sa.select(key_table.c[key_column].label("range_key"), pk.label("row_key"), *ints)
    if key_table is not table:
        inner = inner.join_from(table, key_table, key_table.c.case_id == table.c.case_id)
    # OFFSET 0: each field is hashed once, though both the hex digits and the total use it.
    sub = inner.where(*where).offset(0).subquery()
    hashes = [sub.c[f"h{n}"] for n in range(len(ints))]
    fields = functools.reduce(lambda a, b: a.concat(b), [hex8(conn, h) for h in hashes])
    return sa.select(sub.c.range_key, sub.c.row_key, fields.label("field_hashes"), row_h28(hashes).label("row_h28"))


def record_digests(conn: Connection, table: sa.Table, keys: Sequence[Any],
                   stages: Mapping[str, sa.Table] | None = None) -> None:
    """Record (or refresh) the digests of the rows with these primary keys, as the database
    computes them now: a person's row by row, any other table's by rebuilding the buckets the
    rows fall in. Given the batch's staging tables, the buckets are found there."""
    if not keys:
        return
    if table is PERSON:
        where = key_list(conn, next(iter(table.primary_key)), keys)
        conn.execute(_person_digest_upsert(conn, hashed_rows(conn, table, where).subquery()))
        return
    buckets = _buckets_of(conn, table, keys, stages)
    chosen = _lock_buckets(conn, table, buckets)
    conn.execute(_rebuild(conn, table, chosen))
    conn.execute(sa.delete(BUCKETS).where(BUCKETS.c.entity == table.name, BUCKETS.c.row_count == 0,
                                          key_list(conn, BUCKETS.c.bucket, buckets)))


def forget_digests(conn: Connection, table: sa.Table, keys: Sequence[Any]) -> None:
    """Drop the digests of these rows of `table` (call just before deleting them)."""
    if not keys:
        return
    if table is PERSON:
        conn.execute(sa.delete(CUTOVER_ROW_DIGEST).where(CUTOVER_ROW_DIGEST.c.entity == table.name,
                                                         key_list(conn, CUTOVER_ROW_DIGEST.c.row_key, keys)))
        return
    buckets = _buckets_of(conn, table, keys, None)
    if not buckets:
        return
    gone = {uuid.UUID(str(k)) for k in keys}
    held = conn.execute(sa.select(BUCKETS.c.bucket, BUCKETS.c.pack).where(
        BUCKETS.c.entity == table.name, key_list(conn, BUCKETS.c.bucket, buckets))
        .order_by(BUCKETS.c.bucket).with_for_update()).all()
    for bucket, pack in held:
        kept = [e for e in _entries(pack) if uuid.UUID(e.split(",", 2)[1]) not in gone]
        where = (BUCKETS.c.entity == table.name) & (BUCKETS.c.bucket == bucket)
        if kept:
            total = sum(row_h28_of(e.split(",", 2)[2]) for e in kept)
            conn.execute(sa.update(BUCKETS).where(where).values(row_count=len(kept), total=total, pack=";".join(kept)))
        else:
            conn.execute(sa.delete(BUCKETS).where(where))


def _entries(pack: str) -> Iterable[str]:
    return pack.split(";") if pack else []


def _range_key(table: sa.Table, source: Mapping[str, sa.Table] | None = None) -> sa.ColumnElement[Any]:
    key_table, key_column = RANGE_KEYS[table.name]
    return (source or {}).get(key_table.name, key_table).c[key_column]


def _buckets_of(conn: Connection, table: sa.Table, keys: Sequence[Any],
                stages: Mapping[str, sa.Table] | None) -> list[int]:
    """The buckets these rows fall in, read from the staging tables when given, else the target."""
    key_table = RANGE_KEYS[table.name][0]
    src = (stages or {}).get(table.name, table)
    bucket = (_range_key(table, stages) // DIGEST_BUCKET_WIDTH).label("bucket")
    query = sa.select(bucket).distinct()
    if key_table is not table:
        key_src = (stages or {}).get(key_table.name, key_table)
        query = query.select_from(src.join(key_src, key_src.c.case_id == src.c.case_id))
    if not stages:
        query = query.where(key_list(conn, next(iter(table.primary_key)), keys))
    return sorted(int(b) for b in conn.execute(query).scalars())


def _lock_buckets(conn: Connection, table: sa.Table, buckets: Sequence[int]) -> sa.FromClause:
    """Empty records of these buckets, created or reset, so locked in bucket order (PostgreSQL
    waits here for a lane that holds one to commit), to be rebuilt."""
    chosen = int_table(conn, "digest_buckets", {"bucket": buckets})
    values: dict[str, Any] = {"row_count": 0, "total": 0, "pack": ""}
    insert = dialect_insert(conn, BUCKETS).from_select(
        ["entity", "bucket", *values],
        sa.select(sa.literal(table.name), chosen.c.bucket, *(sa.literal(v) for v in values.values()))
        .where(sa.true()).order_by(chosen.c.bucket))
    conn.execute(insert.on_conflict_do_update(index_elements=["entity", "bucket"], set_=values))
    return chosen


def _rebuild(conn: Connection, table: sa.Table, chosen: sa.FromClause) -> sa.Executable:
    """Each chosen bucket's record, worked out from the rows of the table that fall in it."""
    width = DIGEST_BUCKET_WIDTH
    key = _range_key(table)
    rows = hashed_rows(conn, table, key.between(chosen.c.bucket * width, chosen.c.bucket * width + (width - 1)))
    sub = rows.subquery()
    entry = (sa.cast(sub.c.range_key, sa.Text).concat(",").concat(sa.cast(sub.c.row_key, sa.Text))
             .concat(",").concat(sub.c.field_hashes))
    bucket = (sub.c.range_key // width).label("bucket")
    grouped = sa.select(sa.literal(table.name), bucket, sa.func.count(), sa.func.sum(sub.c.row_h28),
                        sa.func.aggregate_strings(entry, ";")).group_by(bucket)
    insert = dialect_insert(conn, BUCKETS).from_select(["entity", "bucket", "row_count", "total", "pack"], grouped)
    columns = ("row_count", "total", "pack")
    upsert: sa.Executable = insert.on_conflict_do_update(index_elements=["entity", "bucket"],
                                                         set_={c: insert.excluded[c] for c in columns})
    return upsert


def _person_digest_upsert(conn: Connection, rows: sa.Subquery) -> sa.Executable:
    insert = dialect_insert(conn, CUTOVER_ROW_DIGEST).from_select(
        ["entity", "row_key", "range_key", "field_hashes", "row_h28"],
        sa.select(sa.literal(PERSON.name), rows.c.row_key, rows.c.range_key, rows.c.field_hashes,
                  rows.c.row_h28).where(sa.true()))
    columns = ("range_key", "field_hashes", "row_h28")
    upsert: sa.Executable = insert.on_conflict_do_update(index_elements=["entity", "row_key"],
                                                         set_={c: insert.excluded[c] for c in columns})
    return upsert
