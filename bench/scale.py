"""Benchmark: the cutover against the floor of a raw copy, on PostgreSQL, at chosen scales.

For each scale it generates a CID (not timed here; bench/run.py times generation), then measures,
each step in a process of its own so that its peak resident memory is its own:
  floor      COPY of every legacy table out of CID and into an empty copy of its schema
  migrate    `cutover run --all` of that CID into an empty target, with the tool's defaults (the
             user's command: no flags, no CUTOVER_* run settings)
  reconcile  `cutover reconcile` of the result
  write      COPY of what `migrate` wrote (the target's business rows and the tool's records:
             digests and case states) into an empty target schema with all its keys,
             foreign keys and indexes: what writing the result costs with no reading of CID, no
             transformation and no validation, the bound under `migrate` on the target's side
and prints seconds, the ratio to the floor and peak memory (the step's processes, not the server's),
and for each step the CPU seconds of its process tree and, when the PostgreSQL server runs on this
machine, of the server's processes; `migrate`'s both per in-flight case.

With --page, the figures table of that Markdown page (between its bench-scale markers) is
replaced by this run's figures: `make bench-scale` keeps docs/benchmarks.md current that way.

Usage: python bench/scale.py --pg-url postgresql+psycopg://cutover@127.0.0.1:54329/cutover --cases 100000
       (or `make bench-scale BENCH_ARGS="--cases 100000 1000000"`)"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from cpu import adopt_orphans, postmaster_pid, server_seconds, wait_for_tree
from run import _drop, _step, fresh_database

AS_OF = "2026-11-01"
# Settings that change how `cutover run` cuts and runs batches: unset, so `migrate` runs with the
# defaults it chooses for the machine, as a user's `cutover run --all` does.
RUN_SETTINGS = ("CUTOVER_BATCH_SIZE", "CUTOVER_LANES", "CUTOVER_THREADS", "CUTOVER_WORKERS", "CUTOVER_DASK_ADDRESS")
# COPY every table of a schema out of one database into an empty copy of it: CID's tables (the
# floor), or the target's business tables, digests and case records as `migrate` left them (the write).
RAW_COPY = r"""
import json, sys, time
from core.db import create_engine
source, dest, which = create_engine(sys.argv[1]), create_engine(sys.argv[2]), sys.argv[3]
if which == "legacy":
    from legacy.schema import legacy_metadata
    legacy_metadata.create_all(dest)
    tables = legacy_metadata.sorted_tables
else:
    from migration.load import upgrade_target
    from migration.target_schema import (BUSINESS_TABLES, CUTOVER_CASE, CUTOVER_DIGEST_BUCKET, CUTOVER_ROW_DIGEST,
                                         UNIT)
    upgrade_target(dest)
    tables = [UNIT, *BUSINESS_TABLES, CUTOVER_ROW_DIGEST, CUTOVER_DIGEST_BUCKET, CUTOVER_CASE]  # parents first
start, rows = time.perf_counter(), 0
with source.connect() as out_conn, dest.begin() as in_conn:
    src, dst = out_conn.connection.driver_connection, in_conn.connection.driver_connection
    quote = dest.dialect.identifier_preparer
    for table in tables:
        name = quote.format_table(table)
        columns = ", ".join(quote.quote(c.name) for c in table.columns)
        with src.cursor() as out_cur, dst.cursor() as in_cur:
            in_cur.execute(f"DELETE FROM {name}")  # rows the schema's set-up may have written (units)
            with out_cur.copy(f"COPY {name} ({columns}) TO STDOUT") as reader, \
                    in_cur.copy(f"COPY {name} ({columns}) FROM STDIN") as writer:
                for block in reader:
                    writer.write(block)
            rows += in_cur.rowcount
print(json.dumps({"seconds": time.perf_counter() - start, "rows": rows}))
"""


def _measured(argv: list[str], env: dict[str, str] | None = None, postmaster: int | None = None) -> dict:
    """Run a process to its end: wall seconds, peak resident memory (the largest of any process of
    its tree), CPU seconds of the process tree (orphans it left included) and of the server (None
    when it is not local), its output."""
    environment = {**{k: v for k, v in os.environ.items() if k not in RUN_SETTINGS}, **(env or {})}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        server_before = server_seconds(postmaster) if postmaster else None
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, env=environment)
        tree = wait_for_tree(proc.pid)
        seconds = tree.ended - start
        proc.returncode = os.waitstatus_to_exitcode(tree.status)
        server_cpu = server_seconds(postmaster) - server_before if postmaster and server_before is not None else None
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"bench: {' '.join(argv[:3])} failed:\n{err.read()[-3000:]}")
        return {"seconds": seconds, "peak_mib": tree.peak_kib / 1024, "cpu_s": tree.cpu_s,
                "server_cpu_s": server_cpu, "out": out.read()}


def bench(admin_url: str, cases: int, run_args: list[str], keep: bool, report: Callable[[dict], None]) -> list[dict]:
    """Generate a CID of `cases` cases, then floor, migrate, reconcile and write; report each step's
    figures as soon as it is measured (a step that fails or stalls loses no earlier one)."""
    names: list[str] = []
    figures: list[dict] = []
    postmaster = postmaster_pid(admin_url)

    def add(figure: dict) -> None:
        figure["ratio"] = figure["seconds"] / figures[0]["seconds"] if figures else 1.0
        figures.append(figure)
        report(figure)

    def raw_copy(step: str, source: str, schema: str) -> str:
        name, url = fresh_database(admin_url, step)
        names.append(name)
        copied = _measured([sys.executable, "-c", RAW_COPY, source, url, schema], postmaster=postmaster)
        copied |= json.loads(copied["out"].strip().splitlines()[-1])
        add({"cases": cases, "step": step, **_usage(copied), "rows": copied["rows"]})
        return url

    try:
        legacy_name, legacy = fresh_database(admin_url, "legacy")
        names.append(legacy_name)
        _step("generate", url=legacy, cases=cases, seed=1, workers=2)
        settle(legacy)
        settle(raw_copy("floor", legacy, "legacy"))
        target_name, target = fresh_database(admin_url, "target")
        names.append(target_name)
        with tempfile.TemporaryDirectory(prefix="cutover-bench-") as data_dir:
            env = {"CUTOVER_LEGACY_URL": legacy, "CUTOVER_TARGET_URL": target, "CUTOVER_DATA_DIR": data_dir}
            cutover = str(Path(sys.executable).with_name("cutover"))
            migrate = _measured([cutover, "run", "--all", "--as-of", AS_OF, "--quiet", *run_args], env, postmaster)
            in_flight = _in_flight(target)
            add({"cases": cases, "step": "migrate", **_usage(migrate), "in_flight": in_flight,
                 "cpu_ms_per_case": 1000 * migrate["cpu_s"] / max(in_flight, 1),
                 "server_cpu_ms_per_case": (1000 * migrate["server_cpu_s"] / max(in_flight, 1)
                                            if migrate["server_cpu_s"] is not None else None),
                 "detail": migrate["out"].strip().splitlines()[-1:]})
            rec = _measured([cutover, "reconcile", "--as-of", AS_OF, "--format", "json"], env, postmaster)
            summary = json.loads(rec["out"])
            add({"cases": cases, "step": "reconcile", **_usage(rec), "balanced": summary.get("balanced")})
        raw_copy("write", target, "target")
    finally:
        if not keep:
            for name in names:
                _drop(admin_url, name)
    return figures


def settle(url: str) -> None:
    """VACUUM (ANALYZE) a database just written in bulk, untimed: a long-lived CID is vacuumed and
    its statistics are current, and the floor's scratch copy must not leave the server's
    autovacuum working through it while the next step is timed."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        engine.dispose()


def _usage(measured: dict) -> dict:
    """A step's figures from its measurement: seconds, peak memory, CPU of its tree and the server's."""
    return {key: measured[key] for key in ("seconds", "peak_mib", "cpu_s", "server_cpu_s")}


def _in_flight(target: str) -> int:
    """The in-flight cases of the CID: those the run planned into a wave."""
    from core.db import create_engine
    from migration.target_schema import CUTOVER_PLAN

    engine = create_engine(target)
    with engine.connect() as conn:
        count = int(conn.execute(sa.select(sa.func.count()).select_from(CUTOVER_PLAN)).scalar() or 0)
    engine.dispose()
    return count


def server_settings(admin_url: str) -> str:
    """The PostgreSQL server's version and the settings that move these figures most."""
    from core.db import create_engine

    engine = create_engine(admin_url)
    with engine.connect() as conn:
        shown = {name: conn.exec_driver_sql(f"SHOW {name}").scalar()
                 for name in ("server_version", "shared_buffers", "fsync", "synchronous_commit")}
    engine.dispose()
    return (f"PostgreSQL {shown['server_version']} (shared_buffers {shown['shared_buffers']}, "
            f"fsync {shown['fsync']}, synchronous_commit {shown['synchronous_commit']})")


PAGE_START, PAGE_END = "<!-- bench-scale:start -->", "<!-- bench-scale:end -->"


def figures_table(machine: str, figures: list[dict]) -> str:
    """The figures as a Markdown table, a row per scale, with the machine they were measured on."""
    server_cpu = any(f.get("server_cpu_ms_per_case") is not None for f in figures)
    lines = [f"Measured on: {machine}.", "",
             "| cases | floor | migrate | × floor | reconcile | × floor | balanced | write | × floor "
             "| peak memory: migrate / reconcile | migrate CPU per in-flight case: cutover / database |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: | ---: |"]
    for cases in dict.fromkeys(f["cases"] for f in figures):
        step = {f["step"]: f for f in figures if f["cases"] == cases}
        if not {"floor", "migrate", "reconcile", "write"} <= step.keys():
            continue
        balanced = "yes" if step["reconcile"].get("balanced") else "**no**"
        lines.append(
            f"| {cases:,} | {step['floor']['seconds']:.1f} s | {step['migrate']['seconds']:.1f} s "
            f"| {step['migrate']['ratio']:.1f} × | {step['reconcile']['seconds']:.1f} s "
            f"| {step['reconcile']['ratio']:.2f} × | {balanced} | {step['write']['seconds']:.1f} s "
            f"| {step['write']['ratio']:.2f} × "
            f"| {step['migrate']['peak_mib']:.0f} MiB / {step['reconcile']['peak_mib']:.0f} MiB "
            f"| {_per_case(step['migrate'])} |")
    if not server_cpu:
        lines += ["", "The database's CPU was not measured: the PostgreSQL server does not run on this machine "
                  "(or its data folder is not readable here)."]
    return "\n".join(lines)


def _per_case(migrate: dict) -> str:
    """`migrate`'s CPU per in-flight case: the cutover process tree's / the database server's."""
    server = migrate.get("server_cpu_ms_per_case")
    return f"{migrate['cpu_ms_per_case']:.2f} ms / " + (f"{server:.2f} ms" if server is not None else "not measured")


def _figure(value: float | None, width: int, places: int) -> str:
    """A number for the printed table, or a dash where it was not measured."""
    return f"{value:{width}.{places}f}" if value is not None else f"{'-':>{width}}"


def update_page(page: Path, table: str) -> None:
    """Replace the text between the page's bench-scale markers with the table."""
    text = page.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(PAGE_START) + r".*?" + re.escape(PAGE_END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"bench: {page} has no {PAGE_START} ... {PAGE_END} block")
    page.write_text(pattern.sub(lambda _: f"{PAGE_START}\n{table}\n{PAGE_END}", text), encoding="utf-8")


def main() -> int:
    """Run the benchmark at each scale and print a table of figures (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", required=True, help="an admin URL of a PostgreSQL server (databases are created)")
    parser.add_argument("--cases", type=int, nargs="+", default=[100_000], help="scales (default 100000)")
    parser.add_argument("--run-args", default="",
                        help="options of `cutover run` (default none: the defaults it chooses for the machine)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    parser.add_argument("--page", type=Path, help="a Markdown page whose figures table is replaced by this run's")
    args = parser.parse_args()
    if not adopt_orphans():
        print("Processes a step leaves running (a local Dask cluster's fork server and its workers) are not "
              "counted: this system does not let the benchmark adopt them.", flush=True)
    figures: list[dict] = []
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"{server_settings(args.pg_url)}")
    print(machine, flush=True)
    server_cpu = ("measured: the postmaster's and its processes' CPU from /proc" if postmaster_pid(args.pg_url)
                  else "not measured: the PostgreSQL server does not run on this machine (or its data folder is "
                  "not readable here)")
    print(f"The server's CPU is {server_cpu}.", flush=True)
    print(f"{'cases':>10}  {'step':<10} {'seconds':>9} {'x floor':>8} {'peak MiB':>9} {'CPU s':>8} "
          f"{'server CPU s':>13} {'CPU ms/case':>12} {'server ms/case':>15}", flush=True)

    def report(f: dict) -> None:
        figures.append(f)
        print(f"{f['cases']:>10,}  {f['step']:<10} {f['seconds']:9.1f} {f['ratio']:8.2f} {f['peak_mib']:9.0f} "
              f"{f['cpu_s']:8.1f} {_figure(f['server_cpu_s'], 13, 1)} {_figure(f.get('cpu_ms_per_case'), 12, 2)} "
              f"{_figure(f.get('server_cpu_ms_per_case'), 15, 2)}", flush=True)
        if args.json:  # rewritten after every step, so an interrupted run keeps what it measured
            args.json.write_text(json.dumps({"machine": machine, "when": time.strftime("%Y-%m-%d"),
                                             "server_cpu": server_cpu, "figures": figures},
                                            indent=1, default=str) + "\n")

    for cases in args.cases:
        bench(args.pg_url, cases, args.run_args.split(), args.keep, report)
    if args.page:
        update_page(args.page, figures_table(machine, figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
