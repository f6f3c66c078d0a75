"""Benchmark: the workers' CPU per in-flight case in the extract and the transform stages, on a
generated CID (SQLite file, kept between runs), batch by batch as a run cuts them.

Usage: python bench/transform_cpu.py --cid /tmp/cid.db --cases 5000 [--batch 1000] [--profile]
       python bench/transform_cpu.py --url postgresql+psycopg://... --cases 5000 (generated when empty)"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from core.db import create_engine
from legacy.generate import generate_legacy
from legacy.generator import GeneratorConfig
from legacy.schema import CASE_HDR
from migration.batch import Batch, BatchJob
from migration.extract import Extract, read_reference
from migration.plan.build import PlannedCase, classify_cases
from migration.transform import Transform

AS_OF = dt.date(2026, 11, 1)


def main() -> None:
    """Generate the CID if absent, then time Extract and Transform over every in-flight case."""
    parser = argparse.ArgumentParser(description=__doc__)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--cid", type=Path, help="a SQLite file")
    where.add_argument("--url", help="a database URL")
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="print the transform's top functions")
    args = parser.parse_args()
    engine = create_engine(args.url or f"sqlite:///{args.cid}")
    if not sa.inspect(engine).has_table(CASE_HDR.name):
        generate_legacy(engine, GeneratorConfig(seed=7, cases=args.cases, as_of=AS_OF), replace=True)
    with engine.connect() as conn:
        reference = read_reference(conn)
        planned = [c.case_id for c in classify_cases(conn, AS_OF) if isinstance(c, PlannedCase)]
    batches = [planned[i:i + args.batch] for i in range(0, len(planned), args.batch)]
    extract_cpu = transform_cpu = 0.0
    profile = cProfile.Profile() if args.profile else None
    Transform(Extract(engine, Batch(BatchJob("w", uuid.uuid4(), 0, batches[0][:50], AS_OF), reference)))  # warm up
    for n, ids in enumerate(batches):
        start = time.process_time()
        batch = Extract(engine, Batch(BatchJob("w", uuid.uuid4(), n, ids, AS_OF), reference))
        extract_cpu += time.process_time() - start
        start = time.process_time()
        if profile is not None:
            profile.enable()
        Transform(batch)
        if profile is not None:
            profile.disable()
        transform_cpu += time.process_time() - start
    per_case = 1000 / len(planned)
    print(f"{len(planned):,} in-flight cases in {len(batches)} batches: extract {extract_cpu * per_case:.3f} ms "
          f"CPU per case, transform {transform_cpu * per_case:.3f} ms CPU per case")
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
