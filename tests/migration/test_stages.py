"""Each stage takes a batch and returns one: run by hand in order, they do what `migrate_batch`
does (changes, departures and quarantines included); the load writes business rows only and
the bookkeeping the tool's record."""

from __future__ import annotations

import json

import sqlalchemy as sa

from core.db import create_engine
from legacy.churn import apply_churn
from migration.batch import Batch, BatchJob
from migration.bookkeeping import Bookkeep, skip_unchanged
from migration.extract import Extract
from migration.load import Load
from migration.run import RunConfig, finish_wave, migrate_batch, prepare, start_wave
from migration.target_schema import (
    CASE,
    CUTOVER_BATCH,
    CUTOVER_CASE,
    CUTOVER_EXCLUSION,
    CUTOVER_FINDING,
    CUTOVER_LEDGER_PENDING,
)
from migration.transform import Transform
from migration.transform.keys import key
from tests.helpers import AS_OF, dump, generate

WAVE = "specialisms"
RECORD = (CUTOVER_CASE, CUTOVER_FINDING, CUTOVER_EXCLUSION)


def _counted(url: str) -> tuple[list[tuple[object, ...]], list[object]]:
    """The batch records without their commit time, and the staged ledger bodies in order."""
    with create_engine(url).connect() as conn:
        batches = conn.execute(sa.select(*(c for c in CUTOVER_BATCH.c if c.name != "committed_at"))
                               .order_by(CUTOVER_BATCH.c.batch_no)).all()
        bodies = conn.execute(sa.select(CUTOVER_LEDGER_PENDING.c.body).order_by(
            CUTOVER_LEDGER_PENDING.c.batch_no, CUTOVER_LEDGER_PENDING.c.ord)).scalars().all()
    return [tuple(b) for b in batches], [json.loads(b) for b in bodies]


def test_the_stages_in_order_are_migrate_batch(databases) -> None:  # type: ignore[no-untyped-def]
    legacy = databases.new("legacy")
    generate(legacy, 200, seed=31, scale=3.0)
    by_hand, by_run = databases.new("hand"), databases.new("run")
    configs = [RunConfig(legacy, url, AS_OF, batch_size=500) for url in (by_hand, by_run)]
    reference, _ = prepare(configs[0])
    prepare(configs[1])
    for cfg in configs:  # both targets hold the wave as migrated once
        first = start_wave(cfg, WAVE)
        migrate_batch(cfg, reference, WAVE, first.run_id, 0, first.batches[0])
        finish_wave(cfg, first)
    apply_churn(create_engine(legacy), seed=31, fraction=0.5)  # cases change, some leave flight
    hand_run, run = start_wave(configs[0], WAVE), start_wave(configs[1], WAVE)
    assert hand_run.run_id == run.run_id and hand_run.batches == run.batches
    ids = run.batches[0]
    counts = migrate_batch(configs[1], reference, WAVE, run.run_id, 0, ids)

    empty = Batch(BatchJob(WAVE, hand_run.run_id, 0, ids, AS_OF), reference)
    extracted = Extract(create_engine(legacy), empty)
    assert empty.legacy.case_ids == []
    assert len(extracted.legacy.case_ids) + len(extracted.left) + len(extracted.unreadable) == len(ids)
    assert extracted.left and counts["excluded"] == len(extracted.left)
    transformed = Transform(skip_unchanged(create_engine(by_hand), extracted))
    assert extracted.result is None and transformed.transformed.quarantined > 0
    assert transformed.unchanged > 0 and transformed.transformed.migrated > 0
    target = create_engine(by_hand)
    with target.begin() as conn:
        before = conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.state)).all()
        loaded = Load(conn, transformed)
        assert conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.state)).all() == before
        Bookkeep(conn, loaded)
        held = set(conn.execute(sa.select(CASE.c.case_id)).scalars())
    assert loaded.counts() == counts
    assert held and not held & {key("case", cid) for cid in extracted.left}  # departures left the target
    assert dump(by_hand) == dump(by_run) and dump(by_hand, RECORD) == dump(by_run, RECORD)
    assert _counted(by_hand) == _counted(by_run)


def test_a_migrated_batch_read_again_is_unchanged_but_its_quarantined_cases(databases) -> None:  # type: ignore[no-untyped-def]
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 120, seed=32)
    cfg = RunConfig(legacy, target, AS_OF, batch_size=500)
    reference, _ = prepare(cfg)
    run = start_wave(cfg, WAVE)
    counts = migrate_batch(cfg, reference, WAVE, run.run_id, 0, run.batches[0])
    read = Extract(create_engine(legacy), Batch(BatchJob(WAVE, run.run_id, 1, run.batches[0], AS_OF), reference))
    again = skip_unchanged(create_engine(target), read)
    with create_engine(target).connect() as conn:
        quarantined = set(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id)
                                       .where(CUTOVER_CASE.c.state == "quarantined")).scalars())
    # Only quarantined cases are read again: they hold no business row to compare with.
    assert set(again.legacy.case_ids) == quarantined - {u.case_id for u in read.unreadable}
    assert again.unchanged == counts["migrated"] > 0
    assert again.left == {} and len(read.left) == counts["excluded"]
