"""Every loaded row still holds what was loaded: hash totals of key ranges computed by the
database on both the live rows and the digests recorded at load, recursing only into ranges
whose totals differ, so the rows read follow the size of the difference, not of the tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration.load.digests import FIELD_HASH_CHARS, RANGE_KEYS, hashed_rows
from migration.target_schema import BUSINESS_TABLES, CUTOVER_ROW_DIGEST
from reconciliation.compare import Discrepancy

LEAF_ROWS = 64


@dataclass
class IntegrityStats:
    """What the narrowing cost: aggregate queries run and rows read into Python."""

    queries: int = 0
    rows_read: int = 0
    per_entity: dict[str, int] = field(default_factory=dict)


def _totals(conn: Connection, table: sa.Table, lo: int, hi: int) -> tuple[tuple[int, int], tuple[int, int]]:
    live = hashed_rows(conn, table).subquery()
    live_q = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(live.c.row_h28), 0)).where(
        live.c.range_key.between(lo, hi))
    rec_q = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(CUTOVER_ROW_DIGEST.c.row_h28), 0)).where(
        CUTOVER_ROW_DIGEST.c.entity == table.name, CUTOVER_ROW_DIGEST.c.range_key.between(lo, hi))
    a, b = conn.execute(live_q).one(), conn.execute(rec_q).one()
    return (int(a[0]), int(a[1])), (int(b[0]), int(b[1]))


def _leaf(conn: Connection, table: sa.Table, lo: int, hi: int, stats: IntegrityStats,
          out: list[Discrepancy]) -> None:
    live = hashed_rows(conn, table).subquery()
    now = {r.row_key: r for r in conn.execute(sa.select(live).where(live.c.range_key.between(lo, hi)))}
    then = {r.row_key: r for r in conn.execute(sa.select(CUTOVER_ROW_DIGEST).where(
        CUTOVER_ROW_DIGEST.c.entity == table.name, CUTOVER_ROW_DIGEST.c.range_key.between(lo, hi)))}
    stats.rows_read += len(now) + len(then)
    columns = [c.name for c in table.columns]
    for key in sorted(set(now) | set(then), key=str):
        if key not in now:
            out.append(Discrepancy("missing_in_target", table.name, then[key].range_key, None))
        elif key not in then:
            out.append(Discrepancy("unexpected_in_target", table.name, now[key].range_key, None))
        elif now[key].row_hash != then[key].row_hash:
            a, b = now[key].field_hashes, then[key].field_hashes
            for i, name in enumerate(columns):
                part = slice(i * FIELD_HASH_CHARS, (i + 1) * FIELD_HASH_CHARS)
                if a[part] != b[part]:
                    out.append(Discrepancy("field_mismatch", table.name, now[key].range_key, name))


def _narrow(conn: Connection, table: sa.Table, lo: int, hi: int, stats: IntegrityStats,
            out: list[Discrepancy]) -> None:
    live, recorded = _totals(conn, table, lo, hi)
    stats.queries += 2
    if live == recorded:
        return
    if max(live[0], recorded[0]) <= LEAF_ROWS or hi <= lo:
        _leaf(conn, table, lo, hi, stats, out)
        return
    mid = (lo + hi) // 2
    _narrow(conn, table, lo, mid, stats, out)
    _narrow(conn, table, mid + 1, hi, stats, out)


def check_integrity(conn: Connection, stats: IntegrityStats | None = None) -> list[Discrepancy]:
    """Discrepancies between every business table's rows and the digests recorded when loaded."""
    stats = stats if stats is not None else IntegrityStats()
    out: list[Discrepancy] = []
    for table in BUSINESS_TABLES:
        key_table, key_column = RANGE_KEYS[table.name]
        bounds = [conn.execute(sa.select(sa.func.min(key_table.c[key_column]), sa.func.max(key_table.c[key_column])))
                  .one(), conn.execute(sa.select(sa.func.min(CUTOVER_ROW_DIGEST.c.range_key),
                                                 sa.func.max(CUTOVER_ROW_DIGEST.c.range_key))
                                       .where(CUTOVER_ROW_DIGEST.c.entity == table.name)).one()]
        lows = [b[0] for b in bounds if b[0] is not None]
        highs = [b[1] for b in bounds if b[1] is not None]
        before = stats.rows_read
        if lows:
            _narrow(conn, table, min(lows), max(highs), stats, out)
        stats.per_entity[table.name] = stats.rows_read - before
    return out
