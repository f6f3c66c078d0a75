"""Every loaded row still holds what was loaded: hash totals of key ranges computed by the
database on both the live rows (by reconciliation's own SQL, reconciliation/hashing.py) and the
digests recorded at load (a row each for persons, packed buckets of range keys for the other
tables), recursing only into ranges whose totals differ, so the rows read follow the size of the
difference, not of the tables."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration.target_schema import BUSINESS_TABLES, CUTOVER_DIGEST_BUCKET, CUTOVER_ROW_DIGEST
from reconciliation.compare import Discrepancy
from reconciliation.hashing import BUCKET_WIDTH, HEX_DIGITS, PER_ROW_ENTITIES, range_key, target_digests

LEAF_ROWS = 64
FANOUT = 16
BUCKETS = CUTOVER_DIGEST_BUCKET
ROWS = CUTOVER_ROW_DIGEST
Totals = dict[int, tuple[int, int]]
Entries = dict[uuid.UUID, tuple[int, str]]  # row key: range key, field hashes


@dataclass
class IntegrityStats:
    """What the narrowing cost: aggregate queries run and rows read into Python."""

    queries: int = 0
    rows_read: int = 0
    per_entity: dict[str, int] = field(default_factory=dict)


def _unit(table: sa.Table) -> int:
    """How many consecutive range keys one recorded total covers."""
    return 1 if table.name in PER_ROW_ENTITIES else BUCKET_WIDTH


def _recorded_totals(conn: Connection, table: sa.Table, lo: int, hi: int, width: int) -> Totals:
    """Count and hash total per sub-range of [lo, hi] as recorded at load: one grouped query."""
    if table.name in PER_ROW_ENTITIES:
        bucket = ((ROWS.c.range_key - lo) // width).label("bucket")
        query = (sa.select(bucket, sa.func.count(), sa.func.sum(ROWS.c.row_h28))
                 .where(ROWS.c.entity == table.name, ROWS.c.range_key.between(lo, hi)).group_by(bucket))
    else:
        bucket = ((BUCKETS.c.bucket * BUCKET_WIDTH - lo) // width).label("bucket")
        query = (sa.select(bucket, sa.func.sum(BUCKETS.c.row_count), sa.func.sum(BUCKETS.c.total))
                 .where(BUCKETS.c.entity == table.name,
                        BUCKETS.c.bucket.between(lo // BUCKET_WIDTH, hi // BUCKET_WIDTH)).group_by(bucket))
    return {int(b): (int(c), int(t)) for b, c, t in conn.execute(query)}


def _live_totals(conn: Connection, table: sa.Table, lo: int, hi: int, width: int) -> Totals:
    live = target_digests(conn, table, range_key(table).between(lo, hi)).subquery()
    bucket = ((live.c.range_key - lo) // width).label("bucket")
    query = sa.select(bucket, sa.func.count(), sa.func.sum(live.c.row_h28)).group_by(bucket)
    return {int(b): (int(c), int(t)) for b, c, t in conn.execute(query)}


def _recorded_entries(conn: Connection, table: sa.Table, lo: int, hi: int) -> Entries:
    """The digests recorded for the rows of [lo, hi]: rows, or the entries of the packs."""
    if table.name in PER_ROW_ENTITIES:
        rows = conn.execute(sa.select(ROWS.c.row_key, ROWS.c.range_key, ROWS.c.field_hashes).where(
            ROWS.c.entity == table.name, ROWS.c.range_key.between(lo, hi)))
        return {_as_uuid(k): (int(r), f) for k, r, f in rows}
    out: Entries = {}
    packs = conn.execute(sa.select(BUCKETS.c.pack).where(
        BUCKETS.c.entity == table.name, BUCKETS.c.bucket.between(lo // BUCKET_WIDTH, hi // BUCKET_WIDTH)))
    for (pack,) in packs:
        for entry in pack.split(";") if pack else []:
            key_text, row_text, fields = entry.split(",", 2)
            out[uuid.UUID(row_text)] = (int(key_text), fields)
    return out


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _leaf(conn: Connection, table: sa.Table, lo: int, hi: int, stats: IntegrityStats,
          out: list[Discrepancy]) -> None:
    now = {_as_uuid(r.row_key): (int(r.range_key), r.field_hashes)
           for r in conn.execute(target_digests(conn, table, range_key(table).between(lo, hi)))}
    then = _recorded_entries(conn, table, lo, hi)
    stats.rows_read += len(now) + len(then)
    columns = [c.name for c in table.columns]
    for key in sorted(set(now) | set(then), key=str):
        if key not in now:
            out.append(Discrepancy("missing_in_target", table.name, then[key][0], None))
        elif key not in then:
            out.append(Discrepancy("unexpected_in_target", table.name, now[key][0], None))
        elif (a := now[key][1]) != (b := then[key][1]):
            for i, name in enumerate(columns):
                part = slice(i * HEX_DIGITS, (i + 1) * HEX_DIGITS)
                if a[part] != b[part]:
                    out.append(Discrepancy("field_mismatch", table.name, now[key][0], name))


def _narrow(conn: Connection, table: sa.Table, lo: int, hi: int, stats: IntegrityStats,
            out: list[Discrepancy]) -> None:
    """Split [lo, hi] into FANOUT sub-ranges (whole recorded buckets each), compare their totals,
    recurse into those that differ."""
    unit = _unit(table)
    width = max(unit, -(-(hi - lo + 1) // FANOUT // unit) * unit)
    live, recorded = _live_totals(conn, table, lo, hi, width), _recorded_totals(conn, table, lo, hi, width)
    stats.queries += 2
    for bucket in sorted(set(live) | set(recorded)):
        a, b = live.get(bucket, (0, 0)), recorded.get(bucket, (0, 0))
        if a == b:
            continue
        sub_lo, sub_hi = lo + bucket * width, min(hi, lo + (bucket + 1) * width - 1)
        if max(a[0], b[0]) <= LEAF_ROWS or sub_hi - sub_lo < unit:
            _leaf(conn, table, sub_lo, sub_hi, stats, out)
        else:
            _narrow(conn, table, sub_lo, sub_hi, stats, out)


def _bounds(conn: Connection, table: sa.Table) -> tuple[int, int] | None:
    """The range keys of the live rows and of the recorded digests, widened to whole buckets."""
    key = range_key(table)
    live = tuple(conn.execute(sa.select(sa.func.min(key), sa.func.max(key))).one())
    recorded: tuple[Any, ...]
    if table.name in PER_ROW_ENTITIES:
        recorded = tuple(conn.execute(sa.select(sa.func.min(ROWS.c.range_key), sa.func.max(ROWS.c.range_key))
                                .where(ROWS.c.entity == table.name)).one())
    else:
        first, last = conn.execute(sa.select(sa.func.min(BUCKETS.c.bucket), sa.func.max(BUCKETS.c.bucket))
                                   .where(BUCKETS.c.entity == table.name)).one()
        recorded = (None, None) if first is None else (first * BUCKET_WIDTH, (last + 1) * BUCKET_WIDTH - 1)
    lows = [int(b[0]) for b in (live, recorded) if b[0] is not None]
    highs = [int(b[1]) for b in (live, recorded) if b[1] is not None]
    if not lows:
        return None
    unit = _unit(table)
    return min(lows) // unit * unit, (max(highs) // unit + 1) * unit - 1


def check_integrity(conn: Connection, stats: IntegrityStats | None = None) -> list[Discrepancy]:
    """Discrepancies between every business table's rows and the digests recorded when loaded."""
    stats = stats if stats is not None else IntegrityStats()
    out: list[Discrepancy] = []
    for table in BUSINESS_TABLES:
        before = stats.rows_read
        bounds = _bounds(conn, table)
        if bounds:
            _narrow(conn, table, *bounds, stats, out)
        stats.per_entity[table.name] = stats.rows_read - before
    return out
