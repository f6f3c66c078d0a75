"""The plan recorded in the target: a case keeps its wave once planned; later ones go to catch-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration.load.staging import copy_rows
from migration.plan.build import Plan
from migration.rules.waves import CATCH_UP
from migration.target_schema import CUTOVER_EXCLUSION, CUTOVER_PLAN


def record_plan(conn: Connection, plan: Plan) -> dict[str, int]:
    """Record newly in-flight cases (catch-up once a plan exists) and the current exclusions.

    Returns counts: `planned` newly recorded, `catch_up` of those sent to catch-up."""
    existing = set(conn.execute(sa.select(CUTOVER_PLAN.c.legacy_case_id)).scalars())
    first_plan = not existing
    now = dt.datetime.now(dt.UTC)
    new_rows = (
        {"legacy_case_id": c.case_id, "legacy_ref": c.legacy_ref,
         "wave": c.wave if first_plan else CATCH_UP, "wave_rule": c.rule if first_plan else "appeared_after_plan",
         "as_of": plan.as_of, "planned_at": now}
        for c in plan.cases if c.case_id not in existing
    )
    planned = _copy_in_chunks(conn, CUTOVER_PLAN, new_rows)
    conn.execute(sa.delete(CUTOVER_EXCLUSION))
    _copy_in_chunks(conn, CUTOVER_EXCLUSION, (
        {"legacy_case_id": e.case_id, "legacy_ref": e.legacy_ref, "reason": e.reason, "as_of": plan.as_of}
        for e in plan.excluded))
    return {"planned": planned, "catch_up": 0 if first_plan else planned}


def _copy_in_chunks(conn: Connection, table: sa.Table, rows: Iterable[dict[str, Any]], size: int = 20_000) -> int:
    """Bulk-write rows a chunk at a time (a million plan rows never sit in memory at once)."""
    written, it = 0, iter(rows)
    while chunk := list(islice(it, size)):
        copy_rows(conn, table, chunk)
        written += len(chunk)
    return written


def planned_case_ids(conn: Connection, wave: str) -> list[int]:
    """The legacy case ids planned into a wave, in key order."""
    stmt = sa.select(CUTOVER_PLAN.c.legacy_case_id).where(CUTOVER_PLAN.c.wave == wave).order_by(
        CUTOVER_PLAN.c.legacy_case_id)
    return list(conn.execute(stmt).scalars())


def split_batches(case_ids: Sequence[int], batch_size: int) -> list[list[int]]:
    """Consecutive key ranges of at most batch_size cases."""
    return [list(case_ids[i:i + batch_size]) for i in range(0, len(case_ids), batch_size)]
