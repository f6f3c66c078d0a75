"""The load stage: a transformed batch's business rows, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from migration.batch import Batch
from migration.load.digests import record_digests
from migration.load.persons import refresh_persons, replace_sources
from migration.load.staging import stage_rows
from migration.load.writes import delete_cases, delete_stale_children, held_keys, merge
from migration.target_schema import BUSINESS_TABLES, CASE
from migration.transform import TransformResult
from migration.transform.frames import dicts_of
from migration.transform.keys import key


def Load(conn: Connection, batch: Batch) -> Batch:
    """Remove the cases that are now quarantined or no longer in flight, then write the rows of
    the migrated ones: staged (COPY on PostgreSQL), merged one statement per table, rows CID no
    longer has dropped."""
    result = batch.transformed
    quarantined = [o.legacy_case_id for o in result.outcomes if o.state == "quarantined"]
    delete_cases(conn, [key("case", cid) for cid in [*quarantined, *batch.left]])
    write_rows(conn, result)
    return batch


def write_rows(conn: Connection, result: TransformResult) -> None:
    """The business rows of the batch's migrated cases: staged, merged, digested, stale ones gone;
    the persons they name made what CID's records say now."""
    if not any(o.state == "migrated" for o in result.outcomes):
        return
    rows = {table: dicts_of(table, frame) for table, frame in result.rows.items()}
    held = held_keys(conn, CASE, [r["case_id"] for r in rows.get(CASE.name, [])])
    stages = {table.name: stage_rows(conn, table, rows.get(table.name, [])) for table in BUSINESS_TABLES}
    for table in BUSINESS_TABLES:
        merge(conn, table, stages[table.name])
        pk = next(iter(table.primary_key)).name
        record_digests(conn, table, [r[pk] for r in rows.get(table.name, [])], stages, held)
    delete_stale_children(conn, stages, rows, held)
    refresh_persons(conn, replace_sources(conn, result))


__all__ = ["Load", "write_rows"]
