"""The plan recorded in the target: a case keeps its wave once planned; later ones go to catch-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration.load.staging import copy_frame, staging_table
from migration.plan.build import Classified, PlannedCase
from migration.rules.waves import CATCH_UP
from migration.target_schema import CUTOVER_EXCLUSION, CUTOVER_PLAN

CHUNK = 20_000  # rows per bulk write
# Fewest cases in a batch cut to fill the lanes: each batch is a Prefect task costing ~0.3 CPU-s.
MIN_SPLIT = 250


def record_plan(conn: Connection, as_of: dt.date, classified: Iterable[Classified]) -> dict[str, int]:
    """Record newly in-flight cases (catch-up once a plan exists) and the current exclusions, a
    chunk at a time as the classified cases stream in.

    Returns counts: `planned` newly recorded, `catch_up` of those sent to catch-up."""
    first_plan = conn.execute(sa.select(CUTOVER_PLAN.c.legacy_case_id).limit(1)).first() is None
    # The first plan goes straight in; later ones are staged and only the new cases kept (in SQL:
    # a million recorded keys never come back to Python).
    into = CUTOVER_PLAN if first_plan else staging_table(conn, CUTOVER_PLAN)
    conn.execute(sa.delete(CUTOVER_EXCLUSION))
    now = dt.datetime.now(dt.UTC)
    # Column lists written a chunk at a time as frames: no Python object per row on the way out.
    planned: tuple[list[Any], ...] = ([], [], [], [])
    excluded: tuple[list[Any], ...] = ([], [], [])
    written = 0
    for case in classified:
        values: tuple[Any, ...]
        if isinstance(case, PlannedCase):
            values, columns = (case.case_id, case.legacy_ref, case.wave, case.rule), planned
            written += 1
        else:
            values, columns = (case.case_id, case.legacy_ref, case.reason), excluded
        for column, value in zip(columns, values, strict=True):
            column.append(value)
        if len(columns[0]) == CHUNK:
            _write(conn, into if columns is planned else CUTOVER_EXCLUSION, columns, now, as_of)
    _write(conn, into, planned, now, as_of)
    _write(conn, CUTOVER_EXCLUSION, excluded, now, as_of)
    if first_plan:
        return {"planned": written, "catch_up": 0}
    new = sa.select(into.c.legacy_case_id, into.c.legacy_ref, sa.literal(CATCH_UP), sa.literal("appeared_after_plan"),
                    into.c.as_of, into.c.planned_at).where(~sa.exists().where(
                        CUTOVER_PLAN.c.legacy_case_id == into.c.legacy_case_id))
    added = conn.execute(CUTOVER_PLAN.insert().from_select(
        ["legacy_case_id", "legacy_ref", "wave", "wave_rule", "as_of", "planned_at"], new)).rowcount
    return {"planned": added, "catch_up": added}


# The buffered columns of each table, in order; as_of (and planned_at) are the same for every row.
BUFFERED = {CUTOVER_PLAN.name: ("legacy_case_id", "legacy_ref", "wave", "wave_rule"),
            CUTOVER_EXCLUSION.name: ("legacy_case_id", "legacy_ref", "reason")}


def _write(conn: Connection, table: sa.Table, columns: tuple[list[Any], ...], planned_at: dt.datetime,
           as_of: dt.date) -> None:
    """Write the buffered rows of a plan table (or its staging copy) and empty the buffers."""
    if not columns[0]:
        return
    names = BUFFERED[CUTOVER_EXCLUSION.name if table is CUTOVER_EXCLUSION else CUTOVER_PLAN.name]
    frame = pl.DataFrame(dict(zip(names, columns, strict=True)), schema_overrides={"legacy_ref": pl.String()})
    # copy_frame writes only the table's columns: planned_at does not reach the exclusions.
    copy_frame(conn, table, frame.with_columns(pl.lit(as_of).alias("as_of"), pl.lit(planned_at).alias("planned_at")))
    for column in columns:
        column.clear()


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
