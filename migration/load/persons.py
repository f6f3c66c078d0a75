"""Merged persons follow CID. Each migrated case's reading of each legacy person on it is kept;
a person row is the reading with the lowest PERSON_ID (the lowest CASE_ID on a tie), with the
addresses of every legacy record that a migrated case still names, as a fresh run gives. Each
step is one statement for the whole batch."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import key_list
from migration.load.digests import forget_digests, record_digests
from migration.load.staging import copy_frame, dialect_insert
from migration.target_schema import ADDRESS, APPOINTMENT, CASE_PARTY, CUTOVER_PERSON_SOURCE, PERSON
from migration.transform import TransformResult
from migration.transform.frames import CASE_COLUMN

SOURCE = CUTOVER_PERSON_SOURCE
PERSON_COLUMNS = tuple(c.name for c in PERSON.columns)
READING_COLUMNS = tuple(c for c in PERSON_COLUMNS if c != "legacy_person_id")


def forget_sources(conn: Connection, legacy_case_ids: Collection[int]) -> set[uuid.UUID]:
    """Drop these cases' readings of persons; return the persons they named."""
    if not legacy_case_ids:
        return set()
    where = key_list(conn, SOURCE.c.legacy_case_id, sorted(legacy_case_ids))
    named = set(conn.execute(sa.delete(SOURCE).where(where).returning(SOURCE.c.person_id)).scalars())
    return named


def replace_sources(conn: Connection, result: TransformResult, written_once: pl.Series) -> set[uuid.UUID]:
    """Record the readings of the batch's migrated cases in place of those its cases had; return
    the persons named before or now, but for those `written_once` (keys as text) by this batch."""
    migrated = [o.legacy_case_id for o in result.outcomes if o.state == "migrated"]
    named = forget_sources(conn, [o.legacy_case_id for o in result.outcomes])
    readings = (result.person_records
                .filter(pl.col(CASE_COLUMN).is_in(pl.Series(migrated, dtype=pl.Int64).implode()))
                .unique(subset=[CASE_COLUMN, "legacy_person_id"], keep="last", maintain_order=True)
                .rename({CASE_COLUMN: "legacy_case_id"}))
    copy_frame(conn, SOURCE, readings)
    read = readings["person_id"].unique()
    return named | {uuid.UUID(k) for k in read.filter(~read.is_in(written_once.implode())).to_list()}


def refresh_persons(conn: Connection, keys: Collection[uuid.UUID]) -> None:
    """Make each of these persons what the readings say: the lowest PERSON_ID's reading, only
    the addresses of the legacy records read; a person no case names any more goes."""
    if not keys:
        return
    ordered = sorted(keys)
    changed = list(conn.execute(_standing_upsert(conn, ordered)).scalars())
    record_digests(conn, PERSON, changed)
    read = sa.exists().where(SOURCE.c.person_id == ADDRESS.c.person_id)
    record_read = sa.exists().where(SOURCE.c.person_id == ADDRESS.c.person_id,
                                    SOURCE.c.legacy_person_id == ADDRESS.c.legacy_person_id)
    stale = conn.execute(sa.select(ADDRESS.c.address_id).where(key_list(conn, ADDRESS.c.person_id, ordered), read,
                                                               ~record_read)).scalars()
    _delete_rows(conn, ADDRESS, list(stale))
    unread = conn.execute(sa.select(PERSON.c.person_id).where(
        key_list(conn, PERSON.c.person_id, ordered),
        ~sa.exists().where(SOURCE.c.person_id == PERSON.c.person_id))).scalars()
    _drop_unnamed(conn, list(unread))


def _standing_upsert(conn: Connection, keys: Sequence[uuid.UUID]) -> sa.Executable:
    """Insert or update each person to its standing reading (the lowest PERSON_ID, then CASE_ID),
    returning the persons written; a person already equal to it is not touched."""
    rank = sa.func.row_number().over(partition_by=SOURCE.c.person_id,
                                     order_by=(SOURCE.c.legacy_person_id, SOURCE.c.legacy_case_id))
    ranked = sa.select(*(SOURCE.c[c] for c in PERSON_COLUMNS), rank.label("rank")).where(
        key_list(conn, SOURCE.c.person_id, keys)).subquery()
    stmt = dialect_insert(conn, PERSON).from_select(
        list(PERSON_COLUMNS), sa.select(*(ranked.c[c] for c in PERSON_COLUMNS)).where(ranked.c.rank == 1))
    cols = [c for c in PERSON_COLUMNS if c != "person_id"]
    changed = sa.or_(*(PERSON.c[c].is_distinct_from(stmt.excluded[c]) for c in cols))
    upsert: sa.Executable = stmt.on_conflict_do_update(
        index_elements=["person_id"], set_={c: stmt.excluded[c] for c in cols}, where=changed
    ).returning(PERSON.c.person_id)
    return upsert


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
