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
from migration.rules import current_rules


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
    from migration.plan.classify import DECISION_FIELDS, in_flight_columns

    latest = (read["DECISION"].filter(pl.col("DELETED_FLG").fill_null("N") != "Y")
              .unique("CASE_ID", keep="last", maintain_order=True)
              .select("CASE_ID", pl.col("DECISION_ID").cast(pl.String).alias("D_DECISION_ID"),
                      *(pl.col(name).alias(f"D_{name}") for name in DECISION_FIELDS)))
    headers = read["CASE_HDR"].join(latest, on="CASE_ID", how="left", maintain_order="left")
    gone = in_flight_columns(headers, batch.reference, batch.job.as_of, batch.job.appeal_window_days,
                             current_rules()).filter(~pl.col("in_flight"))
    left: Left = {cid: (ref, reason) for cid, ref, reason in gone.select("CASE_ID", "CASE_REF", "reason").rows()}
    found = set(read.case_ids)
    left.update({cid: (None, "missing_in_legacy") for cid in case_ids if cid not in found})
    return left
