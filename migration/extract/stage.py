"""The extract stage: a batch's cases read from one snapshot of CID, sorted into those still in
flight, those that left it and those holding a value the driver refuses."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
from sqlalchemy.engine import Engine

from core.db import for_batch_statements
from migration.batch import Batch, Left
from migration.extract.batch import LegacyBatch, extract_batch
from migration.extract.snapshot import snapshot
from migration.extract.unreadable import read_readable


def Extract(legacy: Engine, batch: Batch) -> Batch:
    """Every read of the batch, fingerprints included, in one snapshot of CID, so the fingerprint
    recorded for a case is that of the very rows transformed and loaded."""
    job = batch.job
    with snapshot(legacy) as conn:
        read, unreadable = read_readable(for_batch_statements(conn), job.case_ids, extract_batch)
    bad = {u.case_id for u in unreadable}
    left = left_flight(batch, read, [cid for cid in job.case_ids if cid not in bad])
    return replace(batch, legacy=read.only([c for c in read.case_ids if c not in left]), left=left,
                   unreadable=unreadable)


def left_flight(batch: Batch, read: LegacyBatch, case_ids: list[int]) -> Left:
    """Planned cases that are no longer in flight (closed, withdrawn, deleted, or gone from CID):
    CASE_ID -> (CASE_REF, reason). The stated policy: such a case leaves the target and counts as
    excluded; if it comes back into flight, the next run of its wave migrates it again."""
    # Imported on use: migration.plan imports the load, which imports the transform, which imports this package.
    from migration.plan.build import is_in_flight

    live = read["DECISION"].filter(pl.col("DELETED_FLG").fill_null("N") != "Y")
    latest = {d["CASE_ID"]: d for d in live.unique("CASE_ID", keep="last", maintain_order=True).to_dicts()}
    left: Left = {}
    for header in read["CASE_HDR"].to_dicts():
        in_flight, reason = is_in_flight(header, latest.get(header["CASE_ID"]), batch.reference,
                                         batch.job.as_of, batch.job.appeal_window_days)
        if not in_flight:
            left[header["CASE_ID"]] = (header.get("CASE_REF"), reason or "terminal_status")
    found = set(read.case_ids)
    left.update({cid: (None, "missing_in_legacy") for cid in case_ids if cid not in found})
    return left
