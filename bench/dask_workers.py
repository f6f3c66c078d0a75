"""Benchmark: `cutover run --all` of one CID into PostgreSQL with the defaults, with the batches on
one and two threads, and on a local Dask cluster of 1, 2 and 4 worker processes: wall seconds and
CPU seconds of the process tree (batch sizes chosen per wave, as by default).

Usage: python bench/dask_workers.py --pg-url URL [--cases 6000]"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN_SETTINGS = ("CUTOVER_BATCH_SIZE", "CUTOVER_LANES", "CUTOVER_THREADS", "CUTOVER_WORKERS", "CUTOVER_DASK_ADDRESS")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu import adopt_orphans, wait_for_tree  # noqa: E402  (bench/cpu.py, beside this file)
from run import fresh_database  # noqa: E402  (bench/run.py, beside this file)


def _database(admin: str, label: str) -> str:
    return fresh_database(admin, label)[1]


def main() -> int:
    """Run the benchmark and print one line per configuration."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", required=True)
    parser.add_argument("--cases", type=int, default=6000)
    args = parser.parse_args()
    adopt_orphans()  # a local Dask cluster's fork server outlives the run: its workers' CPU is counted too
    from tests.helpers import generate

    legacy = _database(args.pg_url, "legacy")
    generate(legacy, args.cases, seed=1, workers=2)
    for label, flags in (("defaults", []), ("1 thread", ["--threads", "1"]), ("2 threads", ["--threads", "2"]),
                         ("1 Dask worker", ["--workers", "1"]), ("2 Dask workers", ["--workers", "2"]),
                         ("4 Dask workers", ["--workers", "4"])):
        target = _database(args.pg_url, "target")
        with tempfile.TemporaryDirectory() as home, tempfile.TemporaryFile("w+") as err:
            env = {**{k: v for k, v in os.environ.items() if k not in RUN_SETTINGS},
                   "CUTOVER_DATA_DIR": home, "PREFECT_HOME": f"{home}/prefect"}
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "cutover.cli", "run", "--all", "--as-of", "2026-11-01",
                                     "--legacy", legacy, "--target", target, "--quiet", *flags],
                                    env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)
            tree = wait_for_tree(proc.pid)
            seconds = tree.ended - start
            if os.waitstatus_to_exitcode(tree.status) != 0:
                err.seek(0)
                print(f"{label}: failed\n{err.read()[-2000:]}")
                return 1
        print(f"{args.cases:,} cases  {label:<15} {seconds:7.1f} s  {tree.cpu_s:7.1f} CPU-s "
              "(including Prefect's start)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
