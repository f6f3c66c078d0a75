"""The plan recorded in the target: a case keeps its wave once planned; later ones go to catch-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration.load.staging import copy_frame, staging_table
from migration.rules.waves import CATCH_UP
from migration.target_schema import CUTOVER_EXCLUSION, CUTOVER_PLAN

# Fewest cases in a batch cut to fill the lanes: each batch is a Prefect task costing ~0.3 CPU-s.
MIN_SPLIT = 250


def record_plan(conn: Connection, as_of: dt.date, classified: Iterable[pl.DataFrame]) -> dict[str, int]:
    """Record newly in-flight cases (catch-up once a plan exists) and the current exclusions, a
    frame at a time as the classified cases (classify.CLASSIFIED_SCHEMA) stream in.

    Returns counts: `planned` newly recorded, `catch_up` of those sent to catch-up."""
    first_plan = conn.execute(sa.select(CUTOVER_PLAN.c.legacy_case_id).limit(1)).first() is None
    # The first plan goes straight in; later ones are staged and only the new cases kept (in SQL:
    # a million recorded keys never come back to Python).
    into = CUTOVER_PLAN if first_plan else staging_table(conn, CUTOVER_PLAN)
    conn.execute(sa.delete(CUTOVER_EXCLUSION))
    # The same stamps on every row (copy_frame writes only a table's columns: no planned_at on exclusions).
    stamps = [pl.lit(as_of).alias("as_of"), pl.lit(dt.datetime.now(dt.UTC)).alias("planned_at")]
    written = 0
    for frame in classified:
        named = frame.rename({"CASE_ID": "legacy_case_id", "CASE_REF": "legacy_ref", "rule": "wave_rule"})
        flying = named["wave"].is_not_null()
        planned = named.filter(flying)
        copy_frame(conn, into, planned.with_columns(stamps))
        copy_frame(conn, CUTOVER_EXCLUSION, named.filter(~flying).with_columns(stamps))
        written += planned.height
    if first_plan:
        return {"planned": written, "catch_up": 0}
    new = sa.select(into.c.legacy_case_id, into.c.legacy_ref, sa.literal(CATCH_UP), sa.literal("appeared_after_plan"),
                    into.c.as_of, into.c.planned_at).where(~sa.exists().where(
                        CUTOVER_PLAN.c.legacy_case_id == into.c.legacy_case_id))
    added = conn.execute(CUTOVER_PLAN.insert().from_select(
        ["legacy_case_id", "legacy_ref", "wave", "wave_rule", "as_of", "planned_at"], new)).rowcount
    return {"planned": added, "catch_up": added}


def planned_case_ids(conn: Connection, wave: str) -> list[int]:
    """The legacy case ids planned into a wave, in key order."""
    stmt = sa.select(CUTOVER_PLAN.c.legacy_case_id).where(CUTOVER_PLAN.c.wave == wave).order_by(
        CUTOVER_PLAN.c.legacy_case_id)
    return list(conn.execute(stmt).scalars())


def split_batches(case_ids: Sequence[int], batch_size: int, lanes: int = 1) -> list[list[int]]:
    """Consecutive key ranges of at most batch_size cases, of even sizes, as many as a multiple of
    `lanes` (the batches that run at once) while that leaves MIN_SPLIT cases or more in each: no
    lane idles through a wave's last batch while another works alone."""
    total = len(case_ids)
    if not total:
        return []
    count = -(-total // batch_size)
    filled = -(-count // lanes) * lanes
    if total // filled >= MIN_SPLIT:
        count = filled
    return [list(case_ids[total * n // count:total * (n + 1) // count]) for n in range(count)]
