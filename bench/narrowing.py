"""Benchmark: the cost of narrowing. Load N case rows into a PostgreSQL target with their digests
(packed per bucket of range keys, as a load records them: one part per bucket), change 10 rows,
and count what reconciliation's integrity check reads to find them.

Usage: python bench/narrowing.py --pg-url URL [--rows 1000000]"""

from __future__ import annotations

import argparse
import sys
import time
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core.db import create_engine
from migration.load import ensure_units, upgrade_target
from migration.load.digests import DIGEST_BUCKET_WIDTH, record_digests
from migration.rules.routing import UNITS
from migration.target_schema import CASE, CUTOVER_DIGEST_BUCKET
from reconciliation.integrity import IntegrityStats, check_integrity

FILL = """
INSERT INTO "case" (case_id, case_ref, legacy_ref, legacy_case_id, legacy_status_code, case_type, lifecycle_state,
                    received_on, owning_unit, routing_rule, priority, detained, supported, high_harm)
SELECT md5('case/' || i)::uuid, 'CID/2020/' || lpad(i::text, 7, '0'), 'CID/2020/' || lpad(i::text, 7, '0'), i,
       'AWDC', 'asylum', 'awaiting_decision', DATE '2020-01-01' + (i % 1500), 'LEEDS', 'nationality_leeds',
       i % 7 = 0, false, i % 3 = 0, false
FROM generate_series(1, :n) AS i
"""


def main() -> int:
    """Run the narrowing benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=10)
    args = parser.parse_args()
    admin = make_url(args.pg_url)
    name = f"bench_narrow_{uuid.uuid4().hex[:8]}"
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        engine = create_engine(admin.set(database=name).render_as_string(hide_password=False))
        upgrade_target(engine)
        start = time.perf_counter()
        with engine.begin() as conn:
            ensure_units(conn, UNITS)
            conn.execute(sa.text(FILL), {"n": args.rows})
            load = time.perf_counter() - start
            # Recorded as loads of 4,000 new cases each would record them.
            for first in range(1, args.rows + 1, 4000):
                keys = conn.execute(sa.select(CASE.c.case_id).where(
                    CASE.c.legacy_case_id.between(first, first + 3999))).scalars().all()
                record_digests(conn, CASE, keys, held_cases=[])
            recording = time.perf_counter() - start - load
            conn.exec_driver_sql('ANALYZE "case"; ANALYZE cutover_digest_bucket')
            records = conn.execute(sa.select(sa.func.count()).select_from(CUTOVER_DIGEST_BUCKET)).scalar_one()
        step = args.rows // args.changed
        with engine.begin() as conn:
            conn.execute(sa.update(CASE).where(CASE.c.legacy_case_id.in_(range(1, args.rows, step)))
                         .values(owning_unit="GLASGOW"))
        stats = IntegrityStats()
        start = time.perf_counter()
        with engine.connect() as conn:
            found = check_integrity(conn, stats)
        seconds = time.perf_counter() - start
        print(f"rows in table: {args.rows:,}; rows changed: {args.changed}; found: {len(found)} "
              f"({sorted({(d.entity, d.field) for d in found})})")
        print(f"integrity check: {seconds:.1f} s, {stats.queries} aggregate queries, {stats.rows_read:,} rows read "
              f"into Python ({stats.rows_read / args.rows:.4%} of the table)")
        print(f"digest records: {records:,} (buckets of {DIGEST_BUCKET_WIDTH} range keys); filling the table "
              f"{load:.1f} s, recording its digests {recording:.1f} s")
    finally:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
