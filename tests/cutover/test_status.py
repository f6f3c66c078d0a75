"""`cutover status`: changes counted by fingerprint against what was migrated, rows that add up with
the cases excluded since the plan, and an interrupted run shown as such."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.db import create_engine
from cutover.cli import main
from legacy.churn import apply_churn
from migration.run import RunConfig, acquire_lock, release_lock, start_wave
from migration.target_schema import CASE, CUTOVER_LOCK
from tests.conftest import Copier
from tests.helpers import AS_OF, generate, run_all


def _status(capsys: pytest.CaptureFixture[str], legacy: str, target: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["status", "--legacy", legacy, "--target", target, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def _add_up(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        assert r["planned"] == r["migrated"] + r["quarantined"] + r["excluded_since_plan"] + r["pending"], r
        assert r["pending"] >= 0, r


@pytest.mark.e2e  # migrates, churns and re-syncs a generated CID
def test_changes_are_counted_by_fingerprint_and_the_rows_add_up(databases, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 600, seed=41)
    run_all(RunConfig(legacy, target, AS_OF, batch_size=150))

    clean = _status(capsys, legacy, target)
    assert sum(r["migrated"] for r in clean) > 100
    assert [r["changed_in_cid_since"] for r in clean] == [0] * len(clean)  # right after a clean migration
    assert {r["last_run_status"] for r in clean if r["planned"]} == {"completed"}
    _add_up(clean)

    day = apply_churn(create_engine(legacy), seed=7, fraction=0.2, manifest=tmp_path / "day.json")
    churned = _status(capsys, legacy, target)
    with create_engine(target).connect() as conn:
        migrated_refs = set(conn.execute(sa.select(CASE.c.legacy_ref)).scalars())
    silent = set(json.loads((tmp_path / "day.json").read_text())["defects"]["silent_update"]) & migrated_refs
    assert silent  # some migrated cases changed without LAST_UPD_TS moving ...
    assert sum(r["changed_in_cid_since"] for r in churned) >= len(silent)  # ... and they are counted

    run_all(RunConfig(legacy, target, day.day, batch_size=150))  # the re-sync at the day's as-of date
    resynced = _status(capsys, legacy, target)
    assert sum(r["excluded_since_plan"] for r in resynced) > 0  # cases decided or closed that day
    assert [r["changed_in_cid_since"] for r in resynced] == [0] * len(resynced)
    _add_up(resynced)

    capsys.readouterr()
    assert main(["status", "--legacy", legacy, "--target", target]) == 0
    text = capsys.readouterr().out
    assert "excluded" in next(line for line in text.splitlines() if line.startswith("wave "))
    total = next(line for line in text.splitlines() if line.startswith("all waves")).split()
    assert int(total[2].replace(",", "")) == sum(r["planned"] for r in resynced)


def test_a_run_whose_process_is_gone_shows_as_interrupted(migrated_copy: Copier,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    legacy, target = migrated_copy(200, seed=7, batch_size=50)
    cfg = RunConfig(legacy, target, AS_OF, batch_size=50)
    start_wave(cfg, "rest")  # a run of wave rest started, its process then stopped before it finished

    by_wave = {r["wave"]: r for r in _status(capsys, legacy, target)}
    assert by_wave["rest"]["last_run_status"] == "interrupted"
    assert by_wave["rest"]["resume"] == ("cutover run --wave rest --as-of 2026-11-01 --batch-size 50 --lanes 2 "
                                         f"--legacy {legacy} --target {target}")  # whole: pasted, it resumes
    assert by_wave["resettlement"]["last_run_status"] == "completed"

    holder = acquire_lock(cfg)  # a live process holds the lock: the run is running
    try:
        assert {r["wave"]: r for r in _status(capsys, legacy, target)}["rest"]["last_run_status"] == "running"
        with create_engine(target).begin() as conn:  # the lock of a process that has gone
            conn.execute(sa.update(CUTOVER_LOCK).values(holder=f"{socket.gethostname()}:{2**22 + 4321}",
                                                        acquired_at=dt.datetime.now(dt.UTC)))
        assert {r["wave"]: r for r in _status(capsys, legacy, target)}["rest"]["last_run_status"] == "interrupted"
    finally:
        release_lock(cfg, holder)
        with create_engine(target).begin() as conn:
            conn.execute(sa.delete(CUTOVER_LOCK))
    assert holder.endswith(f":{os.getpid()}")

    capsys.readouterr()
    assert main(["status", "--legacy", legacy, "--target", target]) == 0
    text = capsys.readouterr().out
    rest = next(line for line in text.splitlines() if line.startswith("rest "))
    assert rest.endswith("as of 2026-11-01 interrupted")
    assert "to resume it: cutover run --wave rest --as-of 2026-11-01" in text
