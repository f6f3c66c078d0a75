"""Roll a wave back: its cases and every row that depends on them leave the target in one
transaction; its runs are marked rolled back so the wave can run again. Other waves are untouched."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audit.entries import make_body
from audit.ledger import append
from migration.load import delete_cases
from migration.target_schema import CUTOVER_CASE, CUTOVER_FINDING, CUTOVER_RUN
from migration.transform.keys import key

CHUNK = 5000


def rollback_wave(conn: Connection, wave: str) -> dict[str, int]:
    """Remove the wave's migrated cases (dependent rows first) and its records; return counts."""
    ids = list(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id).where(CUTOVER_CASE.c.wave == wave)).scalars())
    migrated = set(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id).where(
        CUTOVER_CASE.c.wave == wave, CUTOVER_CASE.c.state == "migrated")).scalars())
    removed = 0
    for i in range(0, len(ids), CHUNK):
        chunk = [cid for cid in ids[i:i + CHUNK] if cid in migrated]
        removed += delete_cases(conn, [key("case", cid) for cid in chunk])
        conn.execute(sa.delete(CUTOVER_FINDING).where(CUTOVER_FINDING.c.legacy_case_id.in_(ids[i:i + CHUNK])))
    conn.execute(sa.delete(CUTOVER_CASE).where(CUTOVER_CASE.c.wave == wave))
    runs = conn.execute(sa.update(CUTOVER_RUN).where(CUTOVER_RUN.c.wave == wave,
                                                     CUTOVER_RUN.c.status != "rolled_back")
                        .values(status="rolled_back")).rowcount
    counts = {"cases_removed": removed, "case_records": len(ids), "runs_rolled_back": int(runs or 0)}
    append(conn, [make_body("rollback", wave=wave, counts=counts)])
    return counts
