"""Small helpers the tests share: generating a legacy database and dumping tables."""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from core.db import create_engine
from legacy.generate import GenerateResult, generate_legacy
from legacy.generator import DEFAULT_DEFECT_RATES, GeneratorConfig
from migration.rules.waves import WAVE_ORDER
from migration.run import RunConfig, prepare, run_wave_locally
from migration.target_schema import BUSINESS_TABLES, CUTOVER_BATCH

AS_OF = dt.date(2026, 11, 1)


def generate(url: str, cases: int, seed: int = 11, manifest: Path | None = None, scale: float = 1.0,
             workers: int = 1) -> GenerateResult:
    """Generate a legacy database at a URL."""
    rates = {k: min(1.0, v * scale) for k, v in DEFAULT_DEFECT_RATES.items()}
    config = GeneratorConfig(seed=seed, cases=cases, as_of=AS_OF, defect_rates=rates)
    return generate_legacy(create_engine(url), config, replace=True, manifest=manifest, workers=workers)


def dump(url: str, tables: tuple[sa.Table, ...] = BUSINESS_TABLES) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the given tables, sorted, with values made comparable across engines."""
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        for table in tables:
            rows = conn.execute(sa.select(table)).all()
            out[table.name] = sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def run_all(cfg: RunConfig) -> dict[str, dict[str, int]]:
    """Plan and run every wave through the plain functions (no Prefect)."""
    reference, _ = prepare(cfg)
    return {wave: run_wave_locally(cfg, reference, wave) for wave in WAVE_ORDER}


def committed_batches(target: str) -> int:
    """How many batches a target has committed so far (0 before its schema exists), read from a
    connection of its own while a run goes on elsewhere."""
    engine = sa.create_engine(target)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(CUTOVER_BATCH.name):
                return 0
            return int(conn.execute(sa.select(sa.func.count()).select_from(CUTOVER_BATCH)).scalar() or 0)
    finally:
        engine.dispose()


def recorded_digests(conn: sa.Connection, entity: str) -> set[tuple[str, int, str]]:
    """(row key, range key, field hashes) of every digest recorded for a business table, read
    from the person rows or unpacked from the buckets."""
    from migration.target_schema import CUTOVER_DIGEST_BUCKET, CUTOVER_ROW_DIGEST

    rows, buckets = CUTOVER_ROW_DIGEST, CUTOVER_DIGEST_BUCKET
    query = sa.select(rows.c.row_key, rows.c.range_key, rows.c.field_hashes).where(rows.c.entity == entity)
    out = {(str(k), int(r), f) for k, r, f in conn.execute(query)}
    for (pack,) in conn.execute(sa.select(buckets.c.pack).where(buckets.c.entity == entity)):
        for entry in pack.split(";") if pack else []:
            range_key, row_key, fields = entry.split(",", 2)
            out.add((str(uuid.UUID(row_key)), int(range_key), fields))
    return out


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
