"""Benchmark: generate a CID into PostgreSQL at chosen scales; time, rows, peak memory.

Usage: python bench/run.py --pg-url postgresql+psycopg://cutover@127.0.0.1:54329/cutover --cases 100000 1000000
Each step runs in a process of its own, so its peak resident memory is its own (children included)."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

STEP = r"""
import json, resource, sys, time
step, args = sys.argv[1], json.loads(sys.argv[2])
start = time.perf_counter()
if step == "generate":
    import datetime as dt
    from core.db import create_engine
    from legacy.generate import generate_legacy
    from legacy.generator import GeneratorConfig
    result = generate_legacy(create_engine(args["url"]), GeneratorConfig(seed=args["seed"], cases=args["cases"],
                             as_of=dt.date(2026, 11, 1)), replace=True, workers=args["workers"])
    out = {"rows": sum(result.rows.values())}
seconds = time.perf_counter() - start
peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024, **out}))
"""


def _step(step: str, **args: object) -> dict:
    done = subprocess.run([sys.executable, "-c", STEP, step, json.dumps(args)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: step {step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fresh_database(admin_url: str, label: str) -> tuple[str, str]:
    """A new empty database on the server: (its name, its URL)."""
    admin = make_url(admin_url)
    name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return name, admin.set(database=name).render_as_string(hide_password=False)


def _drop(admin_url: str, name: str) -> None:
    engine = sa.create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def main() -> int:
    """Run the benchmark and print a table of figures (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", required=True, help="an admin URL of a PostgreSQL server (databases are created)")
    parser.add_argument("--cases", type=int, nargs="+", default=[100_000], help="scales (default 100000)")
    parser.add_argument("--workers", type=int, default=2, help="generator processes (default 2)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    args = parser.parse_args()
    figures = []
    for cases in args.cases:
        name, url = fresh_database(args.pg_url, "legacy")
        try:
            gen = _step("generate", url=url, cases=cases, seed=1, workers=args.workers)
        finally:
            if not args.keep:
                _drop(args.pg_url, name)
        figures.append({"cases": cases, "step": "generate", **gen,
                        "cases_per_second": cases / gen["seconds"]})
        f = figures[-1]
        print(f"{cases:>10,} cases  generate  {f['seconds']:8.1f} s  {f['rows']:>12,} rows  "
              f"{f['cases_per_second']:9,.0f} cases/s  peak {f['peak_mib']:7.0f} MiB", flush=True)
    machine = f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}"
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "when": time.strftime("%Y-%m-%d"),
                                         "figures": figures}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
