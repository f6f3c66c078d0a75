"""Load one transformed batch in the caller's transaction: business rows, then the tool's record."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cutover.db import key_list
from migration.ledgering import batch_bodies, stage
from migration.load.digests import record_digests
from migration.load.persons import refresh_persons, replace_sources
from migration.load.staging import copy_rows, stage_rows
from migration.load.writes import delete_cases, delete_stale_children, held_keys, merge
from migration.target_schema import (
    BUSINESS_TABLES,
    CASE,
    CUTOVER_BATCH,
    CUTOVER_CASE,
    CUTOVER_EXCLUSION,
    CUTOVER_FINDING,
)
from migration.transform import TransformResult
from migration.transform.keys import key
from migration.transform.validate import CASE_COLUMN


def load_batch(conn: Connection, result: TransformResult, *, wave: str, run_id: uuid.UUID, batch_no: int,
               case_ids: Sequence[int], unchanged: int, left: Mapping[int, tuple[str | None, str]] | None = None,
               as_of: dt.date | None = None) -> None:
    """Write a batch: stage its business rows (COPY on PostgreSQL) and merge them one statement
    per table, drop rows CID no longer has, remove cases that are now quarantined or no longer in
    flight, record case states, findings and the committed batch."""
    left = left or {}
    migrated = [o.legacy_case_id for o in result.outcomes if o.state == "migrated"]
    quarantined = [o.legacy_case_id for o in result.outcomes if o.state == "quarantined"]
    delete_cases(conn, [key("case", cid) for cid in [*quarantined, *left]])
    _record_left(conn, left, wave, run_id, as_of)
    write_rows(conn, result)
    processed = [o.legacy_case_id for o in result.outcomes]
    if processed:
        conn.execute(sa.delete(CUTOVER_CASE).where(key_list(conn, CUTOVER_CASE.c.legacy_case_id, processed)))
        conn.execute(sa.delete(CUTOVER_FINDING).where(key_list(conn, CUTOVER_FINDING.c.legacy_case_id, processed)))
        copy_rows(conn, CUTOVER_CASE, [
            {"legacy_case_id": o.legacy_case_id, "legacy_ref": o.legacy_ref, "wave": wave, "state": o.state,
             "legacy_fingerprint": o.legacy_fingerprint, "target_fingerprint": o.target_fingerprint,
             "run_id": run_id} for o in result.outcomes])
    copy_rows(conn, CUTOVER_FINDING, [
        {k: v for k, v in asdict(f).items() if k != "legacy_ref"} | {"wave": wave, "run_id": run_id}
        for f in result.findings])
    counts = {"cases": len(case_ids), "migrated": len(migrated), "quarantined": len(quarantined),
              "unchanged": unchanged, "excluded": len(left)}
    stage(conn, run_id, batch_no, batch_bodies(run_id, wave, batch_no, list(case_ids), counts, result.outcomes,
                                               result.findings, left))
    conn.execute(CUTOVER_BATCH.insert().values(
        run_id=run_id, batch_no=batch_no, wave=wave, first_case_id=min(case_ids), last_case_id=max(case_ids),
        cases=len(case_ids), migrated=len(migrated), quarantined=len(quarantined), unchanged=unchanged,
        excluded=len(left), committed_at=dt.datetime.now(dt.UTC)))


def write_rows(conn: Connection, result: TransformResult) -> None:
    """The business rows of the batch's migrated cases: staged, merged, digested, stale ones gone;
    the persons they name made what CID's records say now."""
    if not any(o.state == "migrated" for o in result.outcomes):
        return
    held = held_keys(conn, CASE, [r["case_id"] for r in result.rows.get(CASE.name, [])])
    stages = {table.name: stage_rows(conn, table, result.rows.get(table.name, [])) for table in BUSINESS_TABLES}
    for table in BUSINESS_TABLES:
        merge(conn, table, stages[table.name])
        pk = next(iter(table.primary_key)).name
        record_digests(conn, table, [r[pk] for r in result.rows.get(table.name, [])], stages)
    delete_stale_children(conn, stages, result.rows, held)
    refresh_persons(conn, replace_sources(conn, result))


def _record_left(conn: Connection, left: Mapping[int, tuple[str | None, str]], wave: str, run_id: uuid.UUID,
                 as_of: dt.date | None) -> None:
    """Cases that left flight: state `excluded` and the reason, findings cleared."""
    if not left:
        return
    ids = list(left)
    conn.execute(sa.delete(CUTOVER_CASE).where(key_list(conn, CUTOVER_CASE.c.legacy_case_id, ids)))
    conn.execute(sa.delete(CUTOVER_FINDING).where(key_list(conn, CUTOVER_FINDING.c.legacy_case_id, ids)))
    conn.execute(sa.delete(CUTOVER_EXCLUSION).where(key_list(conn, CUTOVER_EXCLUSION.c.legacy_case_id, ids)))
    conn.execute(CUTOVER_CASE.insert(), [
        {"legacy_case_id": cid, "legacy_ref": ref, "wave": wave, "state": "excluded", "legacy_fingerprint": "",
         "target_fingerprint": None, "run_id": run_id} for cid, (ref, _) in left.items()])
    conn.execute(CUTOVER_EXCLUSION.insert(), [
        {"legacy_case_id": cid, "legacy_ref": ref, "reason": reason, "as_of": as_of or dt.date.today()}
        for cid, (ref, reason) in left.items()])


__all__ = ["CASE_COLUMN", "load_batch", "write_rows"]
