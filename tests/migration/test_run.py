"""A batch is idempotent: re-running a committed batch (a worker died after commit) changes nothing."""

from __future__ import annotations

from pathlib import Path

from migration.run import RunConfig, finish_wave, migrate_batch, prepare, start_wave
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
