"""Benchmark: what recording digests costs a batch at load. Generates a CID of N cases into a
throwaway PostgreSQL database, runs every wave into an empty target in batches of --batch-size
(the plain functions, no Prefect), and times each call of record_digests and forget_digests by
wrapping them where the load stage calls them; then counts the digest records written.

Usage: python bench/digest_cost.py --pg-url URL [--cases 4000] [--batch-size 4000]"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

AS_OF = dt.date(2026, 11, 1)


def _timed(spent: dict[str, float], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - start
            if len(args) > 1 and hasattr(args[1], "name"):
                spent[f"{name} {args[1].name}"] += time.perf_counter() - start
    return wrapper


def _wrap(spent: dict[str, float]) -> None:
    """Time the digest functions in every module of the load stage that calls them."""
    import migration.load.batch as batch
    import migration.load.persons as persons
    import migration.load.writes as writes
    for module in (batch, persons, writes):
        for name in ("record_digests", "forget_digests"):
            if hasattr(module, name):
                setattr(module, name, _timed(spent, name, getattr(module, name)))


def main() -> int:
    """Run the digest-cost benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", required=True)
    parser.add_argument("--cases", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=4000)
    args = parser.parse_args()
    from core.db import create_engine
    from legacy.generate import generate_legacy
    from legacy.generator import GeneratorConfig
    from migration.rules.waves import WAVE_ORDER
    from migration.run import RunConfig, prepare, run_wave_locally
    from migration.target_schema import BUSINESS_TABLES, CUTOVER_BATCH

    admin = make_url(args.pg_url)
    names = {side: f"bench_digest_{side}_{uuid.uuid4().hex[:8]}" for side in ("legacy", "target")}
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        for name in names.values():
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        legacy, target = (admin.set(database=names[s]).render_as_string(hide_password=False)
                          for s in ("legacy", "target"))
        generate_legacy(create_engine(legacy), GeneratorConfig(seed=11, cases=args.cases, as_of=AS_OF), replace=True)
        spent: dict[str, float] = defaultdict(float)
        _wrap(spent)
        cfg = RunConfig(legacy, target, AS_OF, batch_size=args.batch_size)
        start = time.perf_counter()
        reference, _ = prepare(cfg)
        for wave in WAVE_ORDER:
            run_wave_locally(cfg, reference, wave)
        run = time.perf_counter() - start
        with create_engine(target).connect() as conn:
            batches = conn.execute(sa.select(sa.func.count()).select_from(CUTOVER_BATCH)).scalar_one()
            rows = sum(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in BUSINESS_TABLES)
            records = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                       for t in ("cutover_row_digest", "cutover_digest_bucket")
                       if sa.inspect(conn).has_table(t)}
        print({k: round(v, 2) for k, v in spent.items()})
        recorded = spent["record_digests"] + spent["forget_digests"]
        print(f"cases: {args.cases:,}; batches: {batches} (batch size {args.batch_size:,}); business rows: {rows:,}")
        print(f"digest records: {records} ({sum(records.values()) / rows:.3f} per business row)")
        print(f"record_digests {spent['record_digests']:.2f} s, forget_digests {spent['forget_digests']:.2f} s: "
              f"{recorded / batches:.3f} s per batch, {recorded / args.cases * 4000:.2f} s per 4,000 cases "
              f"(whole run {run:.1f} s)")
    finally:
        with admin_engine.connect() as conn:
            for name in names.values():
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
