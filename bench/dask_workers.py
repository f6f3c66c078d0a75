"""Benchmark: `cutover run --all` of one CID into PostgreSQL with the batches on a local Dask
cluster of 1, 2 and 4 worker processes (and on one thread, for reference).

Usage: python bench/dask_workers.py --pg-url URL [--cases 6000]"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import fresh_database  # noqa: E402  (bench/run.py, beside this file)


def _database(admin: str, label: str) -> str:
    return fresh_database(admin, label)[1]


def main() -> int:
    """Run the benchmark and print one line per configuration."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", required=True)
    parser.add_argument("--cases", type=int, default=6000)
    args = parser.parse_args()
    from tests.helpers import generate

    legacy = _database(args.pg_url, "legacy")
    generate(legacy, args.cases, seed=1, workers=2)
    for label, flags in (("1 thread", ["--threads", "1"]), ("1 Dask worker", ["--workers", "1"]),
                         ("2 Dask workers", ["--workers", "2"]), ("4 Dask workers", ["--workers", "4"])):
        target = _database(args.pg_url, "target")
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "CUTOVER_DATA_DIR": home, "PREFECT_HOME": f"{home}/prefect"}
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "cutover.cli", "run", "--all", "--as-of", "2026-11-01",
                                   "--legacy", legacy, "--target", target, "--batch-size", "200", "--quiet", *flags],
                                  env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - start
        if done.returncode != 0:
            print(f"{label}: failed\n{done.stderr[-2000:]}")
            return 1
        print(f"{args.cases:,} cases  {label:<15} {seconds:7.1f} s  (including Prefect's start)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
