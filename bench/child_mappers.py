"""Benchmark: CPU of the child mappers per in-flight case, row-wise (the reference kept in
tests/migration/reference_child_rows.py) against columnar (migration/transform/child_rows.py).

Generates a small CID into a SQLite file, reads its in-flight cases in batches as the driver reads
them, and times each form's mapping alone (reading is left out). Run from the repository root.

Usage: python bench/child_mappers.py [--cases 5000] [--batch-size 500] [--seed 26] [--repeat 5] [--legacy URL]"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.db import create_engine
from legacy.generate import generate_legacy
from legacy.generator import GeneratorConfig
from migration.plan.build import PlannedCase, classify_cases
from migration.rules import current_rules
from migration.transform.child_rows import child_frames, legacy_frame
from tests.migration.test_child_frames import columnar, party_keys, read_batch, row_wise

AS_OF = dt.date(2026, 11, 1)


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """The least CPU and wall seconds of `repeat` runs (the machine is shared: the least is the cost)."""
    runs = []
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        fn()
        runs.append((time.process_time() - cpu, time.perf_counter() - wall))
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> None:
    """Print CPU and wall seconds of each form, and CPU microseconds per in-flight case."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--legacy", help="an existing CID to read instead of generating one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.legacy or f"sqlite:///{Path(tmp) / 'legacy.db'}"
        if not args.legacy:
            generate_legacy(create_engine(url), GeneratorConfig(seed=args.seed, cases=args.cases, as_of=AS_OF),
                            replace=True)
        with create_engine(url).connect() as conn:
            in_flight = [c.case_id for c in classify_cases(conn, AS_OF) if isinstance(c, PlannedCase)]
        rules = current_rules()
        batches = [read_batch(url, in_flight[i:i + args.batch_size])
                   for i in range(0, len(in_flight), args.batch_size)]
        people = [party_keys(tables, rules) for tables in batches]
        framed = [{t: legacy_frame(t, rows) for t, rows in tables.items()} for tables in batches]
        forms: dict[str, Callable[[], Any]] = {
            "row-wise mappers": lambda: [row_wise(t, p, rules) for t, p in zip(batches, people, strict=True)],
            "child_frames from dict rows": lambda: [columnar(t, p, rules)
                                                    for t, p in zip(batches, people, strict=True)],
            "child_frames from frames": lambda: [child_frames(f, _parties(p), AS_OF, rules)
                                                 for f, p in zip(framed, people, strict=True)],
        }
        print(f"{len(in_flight)} in-flight cases of {args.cases}, batches of {args.batch_size}")
        for name, fn in forms.items():
            fn()  # warm: imports, caches, the regex compilations
            cpu, wall = _timed(fn, args.repeat)
            print(f"{name:30s} cpu {cpu:7.3f} s  wall {wall:7.3f} s  {1e6 * cpu / len(in_flight):8.1f} us cpu/case")


def _parties(people: dict[int, dict[int, Any]]) -> Any:
    import polars as pl

    rows = [(cid, str(_case_key(cid)), pid, str(pkey))
            for cid, keys in people.items() for pid, pkey in (keys.items() or [(None, None)])]
    return pl.DataFrame(rows, schema={"CASE_ID": pl.Int64, "case_id": pl.String, "PERSON_ID": pl.Int64,
                                      "person_id": pl.String}, orient="row")


def _case_key(case_id: int) -> Any:
    from migration.transform.keys import key

    return key("case", case_id)


if __name__ == "__main__":
    main()
