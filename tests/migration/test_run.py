"""A batch is idempotent: re-running a committed batch (a worker died after commit) changes nothing;
an interrupted run resumes with its batches cut as they were."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import create_engine
from migration.plan import record, split_batches
from migration.run import RunConfig, finish_wave, migrate_batch, prepare, start_wave
from migration.target_schema import CUTOVER_RUN
from tests.helpers import AS_OF, dump, generate


def test_a_committed_batch_run_again_changes_nothing(tmp_path: Path) -> None:
    legacy, target = f"sqlite:///{tmp_path / 'l.db'}", f"sqlite:///{tmp_path / 't.db'}"
    generate(legacy, 300, seed=111)
    cfg = RunConfig(legacy, target, AS_OF, batch_size=50)
    reference, _ = prepare(cfg)
    run = start_wave(cfg, "specialisms")
    first = migrate_batch(cfg, reference, "specialisms", run.run_id, 0, run.batches[0])
    before = dump(target)
    again = migrate_batch(cfg, reference, "specialisms", run.run_id, 0, run.batches[0])
    assert again == first and dump(target) == before
    assert finish_wave(cfg, run)["migrated"] == first["migrated"]


def test_a_run_resumes_only_cut_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record, "MIN_SPLIT", 5)  # a small CID whose waves are still shared out
    legacy, target = f"sqlite:///{tmp_path / 'l.db'}", f"sqlite:///{tmp_path / 't.db'}"
    generate(legacy, 300, seed=112)
    cfg = RunConfig(legacy, target, AS_OF, batch_size=50, lanes=3)
    reference, _ = prepare(cfg)
    first = start_wave(cfg, "specialisms")
    assert len(first.batches) % 3 == 0 and len(first.batches) > len(split_batches(sum(first.batches, []), 50))
    done = migrate_batch(cfg, reference, "specialisms", first.run_id, 0, first.batches[0])
    # The process died there; the same settings resume the run, its batch 0 the same cases.
    again = start_wave(cfg, "specialisms")
    assert (again.resumed, again.run_id, again.batches, again.committed) == (True, first.run_id, first.batches, {0})

    # Other lanes cut the wave otherwise: a new run, as for another batch size; so does a run
    # whose lanes are not recorded (NULL). What the interrupted run committed is skipped as unchanged.
    with create_engine(target).begin() as conn:
        conn.execute(sa.update(CUTOVER_RUN).where(CUTOVER_RUN.c.run_id == first.run_id).values(lanes=None))
    for lanes in (3, 1):
        fresh = start_wave(replace(cfg, lanes=lanes), "specialisms")
        assert not fresh.resumed and fresh.run_id != first.run_id and fresh.committed == set()
    assert len(fresh.batches) == len(split_batches(sum(first.batches, []), 50))
    for batch_no, ids in enumerate(fresh.batches):
        migrate_batch(cfg, reference, "specialisms", fresh.run_id, batch_no, ids)
    assert finish_wave(cfg, fresh)["unchanged"] == done["migrated"] > 0
    with create_engine(target).connect() as conn:
        statuses = dict(conn.execute(sa.select(CUTOVER_RUN.c.lanes, CUTOVER_RUN.c.status)).all())
    assert statuses == {None: "abandoned", 3: "abandoned", 1: "completed"}
