"""Row and field digests computed by the database itself (a hash of each value's text), recorded
when rows are loaded and recomputed by reconciliation: the same SQL on both occasions, so any
later change to a loaded row shows, down to the field.

A person's digest is a row of its own (its range key moves with the reading that stands for it).
Every other table's digests are packed per bucket of DIGEST_BUCKET_WIDTH consecutive range keys:
each call adds one part per bucket its rows fall in (one INSERT ... SELECT ... GROUP BY), holding
the part's row count, hash total and each row's `range_key,row_key,field_hashes`. Parts are only
ever added by the lane that writes them, so lanes writing new rows into one bucket never wait for
each other. A row recorded before (re-sync, a person's address read again, a row about to be
deleted) first leaves the part that holds it, under the bucket's head record, which lanes lock in
bucket order."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
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

DIGEST_BUCKET_WIDTH = 256
HEAD = uuid.UUID(int=0)  # the part that holds no rows: what lanes lock to change a bucket's parts
BUCKETS = CUTOVER_DIGEST_BUCKET
# Each business table's numeric range key (for narrowing), from its own columns or its case.
RANGE_KEYS: dict[str, tuple[sa.Table, str]] = {
    CASE.name: (CASE, "legacy_case_id"), PERSON.name: (PERSON, "legacy_person_id"),
    CASE_PARTY.name: (CASE_PARTY, "legacy_case_person_id"), ADDRESS.name: (ADDRESS, "legacy_address_id"),
    APPOINTMENT.name: (APPOINTMENT, "legacy_appt_id"), CASE_NOTE.name: (CASE_NOTE, "legacy_note_id"),
    DECISION.name: (DECISION, "legacy_decision_id"), VULNERABILITY.name: (VULNERABILITY, "legacy_flag_id"),
    RESETTLEMENT_REFERRAL.name: (RESETTLEMENT_REFERRAL, "legacy_referral_id"), TASK.name: (CASE, "legacy_case_id"),
}
Stages = Mapping[str, sa.Table]
# Tables whose range key the target indexes: earlier digests of their rows are looked for by counts.
INDEXED_RANGE = frozenset({CASE.name, TASK.name, ADDRESS.name})


def hashed_rows(conn: Connection, table: sa.Table, *where: sa.ColumnElement[bool],
                sources: Stages | None = None) -> sa.Select[Any]:
    """SELECT range key, primary key, field hashes (each column's text hashed, in the table's
    column order) and row total for a business table's rows (those matching `where`),
    read from the table or from `sources` (staging tables by name)."""
    src, key_src = _sources(table, sources)
    pk = next(iter(table.primary_key)).name
    ints = [field_hash_int(conn, sa.func.coalesce(sa.cast(src.c[col.name], sa.Text), NULL_TEXT)).label(f"h{n}")
            for n, col in enumerate(table.columns)]
    inner = sa.select(key_src.c[RANGE_KEYS[table.name][1]].label("range_key"), src.c[pk].label("row_key"), *ints)
    if key_src is not src:
        inner = inner.join_from(src, key_src, key_src.c.case_id == src.c.case_id)
    # OFFSET 0: each field is hashed once, though both the hex digits and the total use it.
    sub = inner.where(*where).offset(0).subquery()
    hashes = [sub.c[f"h{n}"] for n in range(len(ints))]
    fields = functools.reduce(lambda a, b: a.concat(b), [hex8(conn, h) for h in hashes])
    return sa.select(sub.c.range_key, sub.c.row_key, fields.label("field_hashes"), row_h28(hashes).label("row_h28"))


def record_digests(conn: Connection, table: sa.Table, keys: Sequence[Any], stages: Stages | None = None,
                   held_cases: Sequence[Any] | None = None) -> None:
    """Record (or refresh) the digests of the rows with these primary keys, as the database
    computes them now. Given the batch's staging tables (whose rows the merge left as staged),
    rows are hashed there, with no lookups in the target; a person, whose row a record with a
    lower PERSON_ID can stand for, is always hashed where it stands. `held_cases`, the batch's
    cases the target held before it (None: not known), spares looking for earlier digests of
    rows that hang off cases the target never held."""
    if not keys:
        return
    if table is PERSON:
        chosen = key_list(conn, next(iter(table.primary_key)), keys)
        conn.execute(_person_digests(conn, hashed_rows(conn, table, chosen).subquery(), replace=True))
        return
    staged = stages if stages and table.name in stages else None
    where: list[sa.ColumnElement[bool]] = [] if staged else [key_list(conn, next(iter(table.primary_key)), keys)]
    case_bound = held_cases is not None and "case_id" in table.c
    if case_bound and not held_cases:
        recorded_before = []  # a row hangs off its case: no case held before, no row recorded before
    elif table.name in INDEXED_RANGE:
        recorded_before = _buckets_recording_some_of(conn, table, where, staged)
    elif case_bound:
        src = _sources(table, staged)[0]
        recorded_before = _buckets_of(conn, table, [*where, key_list(conn, src.c.case_id, held_cases or [])], staged)
    else:
        recorded_before = _buckets_of(conn, table, where, staged)
    if recorded_before:
        _drop_entries(conn, table, recorded_before, keys)
    conn.execute(_insert_parts(table, hashed_rows(conn, table, *where, sources=staged).subquery()))


def record_new_digests(conn: Connection, table: sa.Table, owners: Sequence[Any]) -> None:
    """Record the digests of the rows this transaction wrote for cases (persons, for `person` and
    `address`) the target never held, found by those owners' keys: every row hanging off such an
    owner is new, so no earlier digest is looked for, and finding the rows by owner reads a few
    index entries per case where their own keys would cost one look-up per row."""
    if not owners:
        return
    chosen = key_list(conn, table.c[owner_column(table)], owners)
    if table is PERSON:
        conn.execute(_person_digests(conn, hashed_rows(conn, table, chosen).subquery(), replace=False))
        return
    conn.execute(_insert_parts(table, hashed_rows(conn, table, chosen).subquery()))


def owner_column(table: sa.Table) -> str:
    """The column holding the key of what a business row hangs off: its person for `person` and
    `address`, its case for every other table."""
    return "person_id" if table in (PERSON, ADDRESS) else "case_id"


def forget_digests(conn: Connection, table: sa.Table, keys: Sequence[Any]) -> None:
    """Drop the digests of these rows of `table` (call just before deleting them)."""
    if not keys:
        return
    if table is PERSON:
        conn.execute(sa.delete(CUTOVER_ROW_DIGEST).where(CUTOVER_ROW_DIGEST.c.entity == table.name,
                                                         key_list(conn, CUTOVER_ROW_DIGEST.c.row_key, keys)))
        return
    buckets = _buckets_of(conn, table, [key_list(conn, next(iter(table.primary_key)), keys)], None)
    if buckets:
        _drop_entries(conn, table, buckets, keys)


def _buckets_of(conn: Connection, table: sa.Table, where: Sequence[sa.ColumnElement[bool]],
                staged: Stages | None) -> list[int]:
    """The buckets these rows fall in."""
    src, key_src = _sources(table, staged)
    bucket = key_src.c[RANGE_KEYS[table.name][1]] // DIGEST_BUCKET_WIDTH
    query = sa.select(bucket).distinct().select_from(_joined(src, key_src)).where(*where)
    return sorted(int(b) for b in conn.execute(query).scalars())


def _sources(table: sa.Table, stages: Stages | None) -> tuple[sa.Table, sa.Table]:
    """The table's rows and the rows its range key is read from (its case's, for a task)."""
    key_table = RANGE_KEYS[table.name][0]
    src = (stages or {}).get(table.name, table)
    return src, (src if key_table is table else (stages or {}).get(key_table.name, key_table))


def _joined(src: sa.Table, key_src: sa.Table) -> sa.FromClause:
    return src if key_src is src else src.join(key_src, key_src.c.case_id == src.c.case_id)


def _buckets_recording_some_of(conn: Connection, table: sa.Table, where: Sequence[sa.ColumnElement[bool]],
                               staged: Stages | None) -> list[int]:
    """The buckets whose recorded rows may include some of these rows: those where the target's
    rows (these included) outnumber the rows recorded plus these (counted by the index on the
    range key). One statement, one snapshot: a lane's rows and parts not yet committed are in
    neither count."""
    width = DIGEST_BUCKET_WIDTH
    src, key_src = _sources(table, staged)
    bucket = (key_src.c[RANGE_KEYS[table.name][1]] // width).label("bucket")
    mine = (sa.select(bucket, sa.func.count().label("n")).select_from(_joined(src, key_src)).where(*where)
            .group_by(bucket).subquery())
    live_src, live_key = _sources(table, None)
    live_range = live_key.c[RANGE_KEYS[table.name][1]]
    held = (sa.select(sa.func.count()).select_from(_joined(live_src, live_key))
            .where(live_range.between(mine.c.bucket * width, mine.c.bucket * width + (width - 1))).scalar_subquery())
    recorded = (sa.select(sa.func.coalesce(sa.func.sum(BUCKETS.c.row_count), 0))
                .where(BUCKETS.c.entity == table.name, BUCKETS.c.bucket == mine.c.bucket).scalar_subquery())
    query = sa.select(mine.c.bucket).where(held != recorded + mine.c.n).order_by(mine.c.bucket)
    return [int(b) for b in conn.execute(query).scalars()]


def _drop_entries(conn: Connection, table: sa.Table, buckets: Sequence[int], keys: Sequence[Any]) -> None:
    """Take these rows out of the parts of these buckets: lock each bucket's head (created if
    need be) in bucket order, then rewrite the parts that hold any of them."""
    chosen = int_table(conn, "digest_buckets", {"bucket": buckets})
    head = dialect_insert(conn, BUCKETS).from_select(
        ["entity", "bucket", "part", "row_count", "total", "pack"],
        sa.select(sa.literal(table.name), chosen.c.bucket, sa.literal(HEAD, sa.Uuid), sa.literal(0),
                  sa.literal(0), sa.literal("")).where(sa.true()).order_by(chosen.c.bucket))
    conn.execute(head.on_conflict_do_update(index_elements=["entity", "bucket", "part"], set_={"row_count": 0}))
    gone = {uuid.UUID(str(k)) for k in keys}
    parts = conn.execute(sa.select(BUCKETS.c.bucket, BUCKETS.c.part, BUCKETS.c.pack).where(
        BUCKETS.c.entity == table.name, key_list(conn, BUCKETS.c.bucket, buckets), BUCKETS.c.part != HEAD)
        .order_by(BUCKETS.c.bucket, BUCKETS.c.part).with_for_update()).all()
    for bucket, part, pack in parts:
        entries = pack.split(";") if pack else []
        kept = [e for e in entries if uuid.UUID(e.split(",", 2)[1]) not in gone]
        if len(kept) == len(entries):
            continue
        where = (BUCKETS.c.entity == table.name) & (BUCKETS.c.bucket == bucket) & (BUCKETS.c.part == part)
        if kept:
            total = sum(row_h28_of(e.split(",", 2)[2]) for e in kept)
            conn.execute(sa.update(BUCKETS).where(where).values(row_count=len(kept), total=total, pack=";".join(kept)))
        else:
            conn.execute(sa.delete(BUCKETS).where(where))


def _insert_parts(table: sa.Table, rows: sa.Subquery) -> sa.Executable:
    """One new part per bucket these rows fall in."""
    entry = (sa.cast(rows.c.range_key, sa.Text).concat(",").concat(sa.cast(rows.c.row_key, sa.Text))
             .concat(",").concat(rows.c.field_hashes))
    bucket = (rows.c.range_key // DIGEST_BUCKET_WIDTH).label("bucket")
    grouped = sa.select(sa.literal(table.name), bucket, sa.literal(uuid.uuid4(), sa.Uuid), sa.func.count(),
                        sa.func.sum(rows.c.row_h28), sa.func.aggregate_strings(entry, ";")).group_by(bucket)
    return BUCKETS.insert().from_select(["entity", "bucket", "part", "row_count", "total", "pack"], grouped)


def _person_digests(conn: Connection, rows: sa.Subquery, *, replace: bool) -> sa.Executable:
    """The persons' digest records: inserted, or with `replace` put in place of those recorded
    (an upsert costs half as much again as the insert of a person the target never held)."""
    insert = dialect_insert(conn, CUTOVER_ROW_DIGEST).from_select(
        ["entity", "row_key", "range_key", "field_hashes", "row_h28"],
        sa.select(sa.literal(PERSON.name), rows.c.row_key, rows.c.range_key, rows.c.field_hashes,
                  rows.c.row_h28).where(sa.true()))
    if not replace:
        inserted: sa.Executable = insert
        return inserted
    columns = ("range_key", "field_hashes", "row_h28")
    upsert: sa.Executable = insert.on_conflict_do_update(index_elements=["entity", "row_key"],
                                                         set_={c: insert.excluded[c] for c in columns})
    return upsert
