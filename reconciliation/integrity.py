"""Every loaded row still holds what was loaded: hash totals of key ranges computed by the
database on both the live rows (by reconciliation's own SQL, reconciliation/hashing.py) and the
digests recorded at load, recursing only into ranges
whose totals differ, so the rows read follow the size of the difference, not of the tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration.target_schema import BUSINESS_TABLES, CUTOVER_ROW_DIGEST
from reconciliation.compare import Discrepancy
from reconciliation.hashing import HEX_DIGITS, RANGE_KEYS, range_key, target_digests

LEAF_ROWS = 64
FANOUT = 16


@dataclass
class IntegrityStats:
    """What the narrowing cost: aggregate queries run and rows read into Python."""

    queries: int = 0
    rows_read: int = 0
    per_entity: dict[str, int] = field(default_factory=dict)


def _bucket_totals(conn: Connection, table: sa.Table, lo: int, hi: int,
                   width: int) -> tuple[dict[int, tuple[int, int]], dict[int, tuple[int, int]]]:
    """Count and hash total per sub-range of [lo, hi], live and recorded: one grouped query each."""
    live = target_digests(conn, table, range_key(table).between(lo, hi)).subquery()
    live_bucket = ((live.c.range_key - lo) // width).label("bucket")
    live_q = sa.select(live_bucket, sa.func.count(), sa.func.sum(live.c.row_h28)).group_by(live_bucket)
    rec = CUTOVER_ROW_DIGEST
    rec_bucket = ((rec.c.range_key - lo) // width).label("bucket")
    rec_q = (sa.select(rec_bucket, sa.func.count(), sa.func.sum(rec.c.row_h28))
             .where(rec.c.entity == table.name, rec.c.range_key.between(lo, hi)).group_by(rec_bucket))
    return ({int(b): (int(c), int(t)) for b, c, t in conn.execute(live_q)},
            {int(b): (int(c), int(t)) for b, c, t in conn.execute(rec_q)})


def _leaf(conn: Connection, table: sa.Table, lo: int, hi: int, stats: IntegrityStats,
          out: list[Discrepancy]) -> None:
    live = target_digests(conn, table, range_key(table).between(lo, hi))
    now = {r.row_key: r for r in conn.execute(live)}
    then = {r.row_key: r for r in conn.execute(sa.select(CUTOVER_ROW_DIGEST).where(
        CUTOVER_ROW_DIGEST.c.entity == table.name, CUTOVER_ROW_DIGEST.c.range_key.between(lo, hi)))}
    stats.rows_read += len(now) + len(then)
    columns = [c.name for c in table.columns]
    for key in sorted(set(now) | set(then), key=str):
        if key not in now:
            out.append(Discrepancy("missing_in_target", table.name, then[key].range_key, None))
        elif key not in then:
            out.append(Discrepancy("unexpected_in_target", table.name, now[key].range_key, None))
        elif (a := now[key].field_hashes) != (b := then[key].field_hashes):
            for i, name in enumerate(columns):
                part = slice(i * HEX_DIGITS, (i + 1) * HEX_DIGITS)
                if a[part] != b[part]:
                    out.append(Discrepancy("field_mismatch", table.name, now[key].range_key, name))


def _narrow(conn: Connection, table: sa.Table, lo: int, hi: int, stats: IntegrityStats,
            out: list[Discrepancy]) -> None:
    """Split [lo, hi] into FANOUT sub-ranges, compare their totals, recurse into those that differ."""
    width = max(1, -(-(hi - lo + 1) // FANOUT))
    live, recorded = _bucket_totals(conn, table, lo, hi, width)
    stats.queries += 2
    for bucket in sorted(set(live) | set(recorded)):
        a, b = live.get(bucket, (0, 0)), recorded.get(bucket, (0, 0))
        if a == b:
            continue
        sub_lo, sub_hi = lo + bucket * width, min(hi, lo + (bucket + 1) * width - 1)
        if max(a[0], b[0]) <= LEAF_ROWS or sub_hi <= sub_lo:
            _leaf(conn, table, sub_lo, sub_hi, stats, out)
        else:
            _narrow(conn, table, sub_lo, sub_hi, stats, out)


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
