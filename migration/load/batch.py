"""Load one transformed batch in the caller's transaction: business rows, then the tool's record."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import asdict

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration.load.writes import delete_cases, delete_stale_children, parents_first, upsert
from migration.target_schema import APPOINTMENT, BUSINESS_TABLES, CUTOVER_BATCH, CUTOVER_CASE, CUTOVER_FINDING
from migration.transform import TransformResult
from migration.transform.keys import key
from migration.transform.validate import CASE_COLUMN


def load_batch(conn: Connection, result: TransformResult, *, wave: str, run_id: uuid.UUID, batch_no: int,
               case_ids: Sequence[int], unchanged: int) -> None:
    """Write a batch: upsert its business rows, drop rows CID no longer has, remove cases that are
    now quarantined, record case states, findings and the committed batch."""
    migrated = [o.legacy_case_id for o in result.outcomes if o.state == "migrated"]
    quarantined = [o.legacy_case_id for o in result.outcomes if o.state == "quarantined"]
    delete_cases(conn, [key("case", cid) for cid in quarantined])
    for table in BUSINESS_TABLES:
        rows = result.rows.get(table.name, [])
        upsert(conn, table, parents_first(rows) if table is APPOINTMENT else rows)
    legacy_people = {r["legacy_person_id"] for r in result.rows.get("address", [])}
    legacy_people |= {r["legacy_person_id"] for r in result.rows.get("person", [])}
    delete_stale_children(conn, result.rows, [key("case", cid) for cid in migrated], legacy_people)
    processed = [o.legacy_case_id for o in result.outcomes]
    if processed:
        conn.execute(sa.delete(CUTOVER_CASE).where(CUTOVER_CASE.c.legacy_case_id.in_(processed)))
        conn.execute(sa.delete(CUTOVER_FINDING).where(CUTOVER_FINDING.c.legacy_case_id.in_(processed)))
        conn.execute(CUTOVER_CASE.insert(), [
            {"legacy_case_id": o.legacy_case_id, "legacy_ref": o.legacy_ref, "wave": wave, "state": o.state,
             "legacy_fingerprint": o.legacy_fingerprint, "target_fingerprint": o.target_fingerprint,
             "run_id": run_id} for o in result.outcomes])
    if result.findings:
        conn.execute(CUTOVER_FINDING.insert(), [
            {k: v for k, v in asdict(f).items() if k != "legacy_ref"} | {"wave": wave, "run_id": run_id}
            for f in result.findings])
    conn.execute(CUTOVER_BATCH.insert().values(
        run_id=run_id, batch_no=batch_no, wave=wave, first_case_id=min(case_ids), last_case_id=max(case_ids),
        cases=len(case_ids), migrated=len(migrated), quarantined=len(quarantined), unchanged=unchanged,
        committed_at=dt.datetime.now(dt.UTC)))


__all__ = ["CASE_COLUMN", "load_batch"]
