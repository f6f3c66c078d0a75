"""Benchmark of the load stage on PostgreSQL: a whole migration of a generated CID into a new empty
target (or, with --resync, a re-run after a day of churn on a copy of CID), with the client's CPU
(time.process_time), the wall time and the target server process's CPU summed over every batch's
Load. Run it alternately against two versions of the code (PYTHONPATH) on a shared machine.

Usage: python bench/load_stage.py --legacy URL --admin URL [--batch 4000] [--resync] [--row-checks]
`--legacy` holds a generated CID (`cutover generate`); `--admin` may create and drop databases on
the same cluster (the server's CPU is read from /proc, so the cluster runs on this machine)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

AS_OF = dt.date(2026, 11, 1)
TICK = os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int) -> float:
    """CPU seconds (user and system) of a local server process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main() -> None:
    """Migrate, time every batch's Load, print one line of figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legacy", required=True)
    parser.add_argument("--admin", required=True)
    parser.add_argument("--batch", type=int, default=4000)
    parser.add_argument("--resync", action="store_true", help="time a re-run after churn on a copy of CID")
    parser.add_argument("--row-checks", action="store_true", help="never skip the per-row foreign-key triggers")
    args = parser.parse_args()
    if args.row_checks:
        import core.dialects.postgresql as backend

        backend.may_skip_row_triggers = lambda conn: False  # type: ignore[assignment]
    import migration.run as run
    from migration.rules.waves import WAVE_ORDER

    admin = sa.create_engine(args.admin, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def new_database(template: str | None = None) -> str:
        name = f"bench_load_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        made.append(name)
        return make_url(args.admin).set(database=name).render_as_string(hide_password=False)

    legacy = new_database(make_url(args.legacy).database) if args.resync else args.legacy
    target = new_database()
    totals = {"client": 0.0, "wall": 0.0, "server": 0.0, "batches": 0.0}
    load = run.Load

    def timed_load(conn: Any, batch: Any) -> Any:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        server, client, wall = server_cpu(pid), time.process_time(), time.perf_counter()
        out = load(conn, batch)
        totals["client"] += time.process_time() - client
        totals["wall"] += time.perf_counter() - wall
        totals["server"] += server_cpu(pid) - server
        totals["batches"] += 1
        return out

    run.Load = timed_load  # type: ignore[assignment]

    def migrate() -> None:
        cfg = run.RunConfig(legacy, target, AS_OF, batch_size=args.batch)
        reference, _ = run.prepare(cfg)
        for wave in WAVE_ORDER:
            run.run_wave_locally(cfg, reference, wave)

    try:
        if args.resync:
            from core.db import create_engine
            from legacy.churn import apply_churn

            migrate()
            apply_churn(create_engine(legacy), seed=5, fraction=0.3)
            totals.update(dict.fromkeys(totals, 0.0))
        migrate()
        with sa.create_engine(target).connect() as conn:
            cases = conn.exec_driver_sql('SELECT count(*) FROM "case"').scalar()
        print(f"cases={cases} batches={int(totals['batches'])} load: client_cpu={totals['client']:.2f}s "
              f"server_cpu={totals['server']:.2f}s wall={totals['wall']:.2f}s")
    finally:
        run.engine_for.cache_clear()
        with admin.connect() as conn:
            for name in made:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
