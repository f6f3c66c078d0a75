"""The load stage: a transformed batch's business rows, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
from sqlalchemy.engine import Connection

from migration.batch import Batch
from migration.load.digests import owner_column, record_digests, record_new_digests
from migration.load.direct import Frames, is_empty, key_of, split_new, uuids, write_new
from migration.load.persons import refresh_persons, replace_sources
from migration.load.staging import stage_frame
from migration.load.writes import delete_cases, delete_stale_children, held_keys, merge
from migration.target_schema import BUSINESS_TABLES, CASE, PERSON
from migration.transform import TransformResult
from migration.transform.frames import TABLE_NAMES, empty_frame
from migration.transform.keys import key


def Load(conn: Connection, batch: Batch) -> Batch:
    """Remove the cases that are now quarantined or no longer in flight, then write the rows of
    the migrated ones: new rows once, by COPY into their tables; rows of cases the target holds
    staged and merged one statement per table, rows CID no longer has dropped."""
    result = batch.transformed
    quarantined = [o.legacy_case_id for o in result.outcomes if o.state == "quarantined"]
    delete_cases(conn, [key("case", cid) for cid in [*quarantined, *batch.left]])
    write_rows(conn, result)
    return batch


def row_frames(rows: Mapping[str, pl.DataFrame]) -> Frames:
    """A transformed batch's rows, one frame per business table (an empty one for a table it lacks)."""
    return {name: rows[name] if name in rows else empty_frame(name) for name in TABLE_NAMES}


def write_rows(conn: Connection, result: TransformResult) -> None:
    """The business rows of the batch's migrated cases: new ones written once, the others staged,
    merged and digested, stale ones gone; the persons they name made what CID's records say now."""
    if not any(o.state == "migrated" for o in result.outcomes):
        return
    frames = row_frames(result.rows)
    held_cases = held_keys(conn, CASE, uuids(conn, frames[CASE.name]["case_id"]))
    held_persons = held_keys(conn, PERSON, uuids(conn, frames[PERSON.name]["person_id"]))
    new, held = split_new(frames, held_cases, held_persons)
    if not write_new(conn, new):
        new, held = {name: f.clear() for name, f in frames.items()}, frames
    # Staging tables only when some row goes through them (a batch of new cases needs none).
    stages = {} if is_empty(held) else {t.name: stage_frame(conn, t, held[t.name]) for t in BUSINESS_TABLES}
    for table in BUSINESS_TABLES:
        pk = key_of(table)
        if not held[table.name].is_empty():
            merge(conn, table, stages[table.name])
            record_digests(conn, table, uuids(conn, held[table.name][pk]), stages, held_cases)
        if not new[table.name].is_empty():
            record_new_digests(conn, table, uuids(conn, new[table.name][owner_column(table)]))
    delete_stale_children(conn, stages, held, held_cases)
    # A person written once is its batch's own: no other case read it, so its row and addresses
    # are already what the readings say.
    refresh_persons(conn, replace_sources(conn, result, written_once=new[PERSON.name]["person_id"]))


__all__ = ["Load", "row_frames", "write_rows"]
