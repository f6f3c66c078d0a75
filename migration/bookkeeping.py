"""The bookkeeping stage: the tool's own record of a batch, beside its business rows in the same
transaction (case states, findings, exclusions, the staged ledger bodies, the committed batch)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.db import for_target_batch, key_list
from migration.batch import Batch, BatchJob, Left
from migration.ledgering import batch_bodies, stage
from migration.load.staging import copy_rows
from migration.target_schema import CUTOVER_BATCH, CUTOVER_CASE, CUTOVER_EXCLUSION, CUTOVER_FINDING
from migration.transform import FINDING_FIELDS

# A finding's fields as its table holds them (the case's reference lives with the case).
RECORDED_FINDING_FIELDS = tuple(name for name in FINDING_FIELDS if name != "legacy_ref")


def skip_unchanged(target: Engine, batch: Batch) -> Batch:
    """Drop the cases whose CID rows are those already migrated (same fingerprint) and the
    departures already recorded as excluded; count the unchanged."""
    case_ids = batch.job.case_ids
    with target.connect() as conn:
        records = for_target_batch(conn).execute(
            sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.state, CUTOVER_CASE.c.legacy_fingerprint)
            .where(key_list(conn, CUTOVER_CASE.c.legacy_case_id, case_ids))).all()
    known = {cid: fp for cid, state, fp in records if state == "migrated"}
    already_out = {cid for cid, state, _ in records if state == "excluded"}
    read = batch.legacy.case_ids
    todo = [cid for cid in read if known.get(cid) != batch.legacy.fingerprints.get(cid)]
    return replace(batch, legacy=batch.legacy.only(todo),
                   left={cid: why for cid, why in batch.left.items() if cid not in already_out},
                   unchanged=len(read) - len(todo))


def committed_counts(target: Engine, job: BatchJob) -> dict[str, int] | None:
    """The counts of the batch if it is already committed: a batch that committed but whose worker
    died before saying so is re-run by Dask or Prefect (issue #15442 of Prefect)."""
    with target.connect() as conn:
        done = conn.execute(sa.select(CUTOVER_BATCH).where(CUTOVER_BATCH.c.run_id == job.run_id,
                                                           CUTOVER_BATCH.c.batch_no == job.batch_no)).mappings().first()
    if done is None:
        return None
    return {k: int(done[k]) for k in ("cases", "migrated", "quarantined", "unchanged", "excluded")}


def Bookkeep(conn: Connection, batch: Batch) -> Batch:
    """Record the batch in the caller's transaction: departures as excluded, each processed case's
    state and findings, the batch's ledger bodies (staged for the coordinator) and the batch itself."""
    job, result = batch.job, batch.transformed
    _record_left(conn, job, batch.left)
    processed = [o.legacy_case_id for o in result.outcomes]
    if processed:
        conn.execute(sa.delete(CUTOVER_CASE).where(key_list(conn, CUTOVER_CASE.c.legacy_case_id, processed)))
        conn.execute(sa.delete(CUTOVER_FINDING).where(key_list(conn, CUTOVER_FINDING.c.legacy_case_id, processed)))
        copy_rows(conn, CUTOVER_CASE, [
            {"legacy_case_id": o.legacy_case_id, "legacy_ref": o.legacy_ref, "wave": job.wave, "state": o.state,
             "legacy_fingerprint": o.legacy_fingerprint, "target_fingerprint": o.target_fingerprint,
             "run_id": job.run_id} for o in result.outcomes])
    copy_rows(conn, CUTOVER_FINDING, [
        {name: getattr(f, name) for name in RECORDED_FINDING_FIELDS} | {"wave": job.wave, "run_id": job.run_id}
        for f in result.findings])
    counts = batch.counts()
    stage(conn, job.run_id, job.batch_no, batch_bodies(job.run_id, job.wave, job.batch_no, list(job.case_ids),
                                                       counts, result.outcomes, result.findings, batch.left))
    conn.execute(CUTOVER_BATCH.insert().values(
        run_id=job.run_id, batch_no=job.batch_no, wave=job.wave, first_case_id=min(job.case_ids),
        last_case_id=max(job.case_ids), committed_at=dt.datetime.now(dt.UTC), **counts))
    return batch


def _record_left(conn: Connection, job: BatchJob, left: Left) -> None:
    """Cases that left flight: state `excluded` and the reason, findings cleared."""
    if not left:
        return
    ids = list(left)
    conn.execute(sa.delete(CUTOVER_CASE).where(key_list(conn, CUTOVER_CASE.c.legacy_case_id, ids)))
    conn.execute(sa.delete(CUTOVER_FINDING).where(key_list(conn, CUTOVER_FINDING.c.legacy_case_id, ids)))
    conn.execute(sa.delete(CUTOVER_EXCLUSION).where(key_list(conn, CUTOVER_EXCLUSION.c.legacy_case_id, ids)))
    conn.execute(CUTOVER_CASE.insert(), [
        {"legacy_case_id": cid, "legacy_ref": ref, "wave": job.wave, "state": "excluded", "legacy_fingerprint": "",
         "target_fingerprint": None, "run_id": job.run_id} for cid, (ref, _) in left.items()])
    conn.execute(CUTOVER_EXCLUSION.insert(), [
        {"legacy_case_id": cid, "legacy_ref": ref, "reason": reason, "as_of": job.as_of}
        for cid, (ref, reason) in left.items()])
