"""Resilience: re-sync after CID changes, rollback, the run lock, kill -9, a database restart."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import migration.run as run_module
from core.db import create_engine
from core.errors import CutoverError
from legacy.churn import apply_churn
from migration.retry import OutageError
from migration.rollback import rollback_wave
from migration.rules.waves import WAVE_ORDER
from migration.run import RunConfig, acquire_lock, engine_for, prepare, release_lock, run_wave_locally
from migration.target_schema import (
    BUSINESS_TABLES,
    CASE,
    CUTOVER_BATCH,
    CUTOVER_CASE,
    CUTOVER_LEDGER,
    CUTOVER_LOCK,
    CUTOVER_PLAN,
    CUTOVER_RUN,
)
from reconciliation import reconcile
from tests.helpers import AS_OF, dump, generate, run_all

ROOT = Path(__file__).resolve().parents[1]



@pytest.mark.e2e
def test_churn_then_resync_balances_again(databases, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[no-untyped-def]
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 1500, seed=31)
    run_all(RunConfig(legacy, target, AS_OF, batch_size=250))
    day = apply_churn(create_engine(legacy), seed=3, fraction=0.1, manifest=tmp_path / "day.json")
    manifest = json.loads((tmp_path / "day.json").read_text())
    cfg = RunConfig(legacy, target, day.day, batch_size=250)

    from cutover.cli import main

    assert main(["status", "--target", target, "--legacy", legacy, "--format", "json"]) == 0
    waves = json.loads(capsys.readouterr().out)
    assert sum(w["changed_in_cid_since"] or 0 for w in waves) > 0  # cheap view: LAST_UPD_TS moved
    before = reconcile(create_engine(legacy), create_engine(target), day.day)
    assert not before.balanced
    changed = {d.legacy_case_id for d in before.discrepancies if d.kind == "changed_since_migration"}
    with create_engine(target).connect() as conn:
        migrated_refs = dict(conn.execute(sa.select(CASE.c.legacy_ref, CASE.c.legacy_case_id)).all())
    silent = {migrated_refs[r] for r in manifest["defects"]["silent_update"] if r in migrated_refs}
    assert silent and silent <= changed  # rows changed without LAST_UPD_TS moving are found

    totals = run_all(cfg)
    assert totals["catch_up"]["migrated"] + totals["catch_up"]["quarantined"] > 0  # the day's new cases
    after = reconcile(create_engine(legacy), create_engine(target), day.day)
    assert after.balanced, after.discrepancies[:5]
    snapshot = dump(target)
    again = run_all(cfg)
    assert all(w["migrated"] == 0 and w["excluded"] == 0 for w in again.values())
    assert dump(target) == snapshot


@pytest.mark.e2e
def test_rollback_then_rerun_gives_the_same_target(databases) -> None:  # type: ignore[no-untyped-def]
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 1200, seed=32)
    cfg = RunConfig(legacy, target, AS_OF, batch_size=200)
    run_all(cfg)
    before = dump(target)
    engine = create_engine(target)
    with engine.connect() as conn:
        wave_size = conn.execute(sa.select(sa.func.count()).where(CUTOVER_PLAN.c.wave == "specialisms")).scalar()
    with engine.begin() as conn:
        counts = rollback_wave(conn, "specialisms")
    assert counts["cases_removed"] > 0
    mid = reconcile(create_engine(legacy), engine, AS_OF)
    assert mid.balanced and mid.waves["specialisms"]["pending"] == wave_size
    assert mid.waves["specialisms"]["migrated"] == 0 and mid.waves["rest"]["pending"] == 0
    assert len(dump(target)["case"]) == len(before["case"]) - counts["cases_removed"]
    reference, _ = prepare(cfg)
    run_wave_locally(cfg, reference, "specialisms")
    assert dump(target) == before


def test_a_second_writer_is_refused_and_a_dead_ones_lock_is_taken_over(tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    cfg = RunConfig("", target, AS_OF)
    from migration.load import upgrade_target

    upgrade_target(create_engine(target))
    with create_engine(target).begin() as conn:
        conn.execute(CUTOVER_LOCK.insert().values(name="run", holder=f"{socket.gethostname()}:1",
                                                  acquired_at=sa.func.current_timestamp()))
    with pytest.raises(CutoverError, match="another cutover run"):
        acquire_lock(cfg)
    with create_engine(target).begin() as conn:
        conn.execute(sa.update(CUTOVER_LOCK).values(holder=f"{socket.gethostname()}:{2**22 + 12345}"))
    holder = acquire_lock(cfg)  # the holder's process is gone: its lock is stale
    release_lock(cfg, holder)


def _cli(args: list[str], home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "CUTOVER_DATA_DIR": str(home), "PREFECT_HOME": str(home / "prefect")}
    env.pop("PREFECT_API_URL", None)
    return subprocess.Popen([sys.executable, "-m", "cutover.cli", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _committed(target: str, mid_run: bool = False) -> int:
    """Batches committed so far (with mid_run: 0 unless a wave's run is open with a batch committed)."""
    engine = sa.create_engine(target)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(CUTOVER_BATCH.name):
                return 0
            if mid_run and not conn.execute(sa.select(CUTOVER_BATCH.c.run_id).join(
                    CUTOVER_RUN, CUTOVER_RUN.c.run_id == CUTOVER_BATCH.c.run_id).where(
                    CUTOVER_RUN.c.status == "running").limit(1)).first():
                return 0
            return int(conn.execute(sa.select(sa.func.count()).select_from(CUTOVER_BATCH)).scalar() or 0)
    finally:
        engine.dispose()


@pytest.mark.e2e
def test_kill_minus_9_at_random_points_then_rerun_matches_a_clean_run(pg_databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    legacy, target, clean = pg_databases.new("legacy"), pg_databases.new("target"), pg_databases.new("clean")
    generate(legacy, 1500, seed=33)
    run_all(RunConfig(legacy, clean, AS_OF, batch_size=40))
    args = ["run", "--all", "--as-of", AS_OF.isoformat(), "--legacy", legacy, "--target", target,
            "--batch-size", "40", "--quiet"]
    rng = random.Random(33)
    for _ in range(3):
        seen = _committed(target)
        wanted = seen + rng.randint(1, 8)
        proc = _cli(args, tmp_path)
        deadline = time.monotonic() + 300
        # kill while a wave's run is open, so that the next run has something to resume
        while _committed(target, mid_run=True) < wanted and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its Prefect server, at once
        proc.wait()
    final = _cli(args, tmp_path)
    out, err = final.communicate(timeout=900)
    assert final.returncode == 0, err[-3000:]
    assert dump(target) == dump(clean)
    result = reconcile(create_engine(legacy), create_engine(target), AS_OF)
    assert result.balanced
    with create_engine(target).connect() as conn:
        attempts = conn.execute(sa.select(sa.func.max(CUTOVER_RUN.c.attempts))).scalar()
    assert attempts and attempts > 1  # an interrupted run shows as such
    verified = _cli(["audit", "verify", "--target", target], tmp_path)
    out, err = verified.communicate(timeout=300)
    assert verified.returncode == 0, err
    with create_engine(target).connect() as conn:
        kinds = set(conn.execute(sa.select(CUTOVER_LEDGER.c.kind)).scalars())
    assert "run_resumed" in kinds  # ... in the ledger too


@pytest.mark.e2e
def test_a_database_restart_mid_run_is_retried(pg_databases, caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    legacy, target = pg_databases.new("legacy"), pg_databases.new("target")
    generate(legacy, 1500, seed=34)
    cfg = RunConfig(legacy, target, AS_OF, batch_size=25, retry_attempts=10, retry_max_wait=2.0)
    reference, _ = prepare(cfg)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for wave in WAVE_ORDER:
                run_wave_locally(cfg, reference, wave)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    port = str(make_url(os.environ["CUTOVER_TEST_PG_URL"]).port)
    env = {**os.environ, "CUTOVER_PG_PORT": port}
    transform, calls = run_module.Transform, []
    starting: list[threading.Thread] = []

    def transform_then_stop_the_server(batch):  # type: ignore[no-untyped-def]
        # The server goes away between a batch's reading and its writing, five batches in, and
        # comes back a second later: the run is mid-wave whatever the speed of the machine.
        calls.append(batch)
        if len(calls) == 5:
            subprocess.run([str(ROOT / "scripts" / "pg.sh"), "stop"], check=True, env=env, capture_output=True)
            starting.append(threading.Thread(target=lambda: (time.sleep(1.0), subprocess.run(
                [str(ROOT / "scripts" / "pg.sh"), "start"], check=True, env=env, capture_output=True))))
            starting[0].start()
        return transform(batch)

    monkeypatch.setattr(run_module, "Transform", transform_then_stop_the_server)
    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=600)
    for thread in starting:
        thread.join(timeout=120)
    assert len(calls) > 5
    assert not errors, repr(errors[0]) if errors else ""
    retried = [r.getMessage() for r in caplog.records if "transient database fault" in r.getMessage()]
    assert retried, "the restart should have cost at least one retried batch"
    engine_for.cache_clear()
    assert reconcile(create_engine(legacy), create_engine(target), AS_OF).balanced
    with create_engine(target).connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(CASE)).scalar()
    assert BUSINESS_TABLES


@pytest.mark.e2e
def test_a_server_that_stays_away_stops_the_run_and_the_next_run_completes(pg_databases) -> None:  # type: ignore[no-untyped-def]
    legacy, target = pg_databases.new("legacy"), pg_databases.new("target")
    generate(legacy, 300, seed=35)
    cfg = RunConfig(legacy, target, AS_OF, batch_size=50, retry_attempts=2, retry_max_wait=0.2)
    reference, _ = prepare(cfg)
    port = str(make_url(os.environ["CUTOVER_TEST_PG_URL"]).port)
    env = {**os.environ, "CUTOVER_PG_PORT": port}
    subprocess.run([str(ROOT / "scripts" / "pg.sh"), "stop"], check=True, env=env)
    try:
        with pytest.raises(OutageError, match="run the same command again"):
            run_wave_locally(cfg, reference, "specialisms")
    finally:
        subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start"], check=True, env=env, capture_output=True)
    engine_for.cache_clear()
    reference, _ = prepare(cfg)
    for wave in WAVE_ORDER:
        run_wave_locally(cfg, reference, wave)
    assert reconcile(create_engine(legacy), create_engine(target), AS_OF).balanced


@pytest.mark.e2e
def test_a_quarantined_case_fixed_in_cid_migrates_on_the_next_run(databases) -> None:  # type: ignore[no-untyped-def]
    from legacy.schema import CASE_HDR

    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 800, seed=36, scale=3.0)
    cfg = RunConfig(legacy, target, AS_OF, batch_size=200)
    run_all(cfg)
    with create_engine(target).connect() as conn:
        held = conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id).where(
            CUTOVER_CASE.c.state == "quarantined")).scalars().all()
    with create_engine(legacy).connect() as conn:
        unknown = [cid for cid, status in conn.execute(sa.select(CASE_HDR.c.CASE_ID, CASE_HDR.c.STATUS_CD).where(
            CASE_HDR.c.CASE_ID.in_(held))) if status in ("XFER", "HOLD2", "Q99", "TMP")]
    assert unknown
    with create_engine(legacy).begin() as conn:  # an operations lead sets a current status in CID
        conn.execute(sa.update(CASE_HDR).where(CASE_HDR.c.CASE_ID.in_(unknown)).values(STATUS_CD="AWDC"))
    run_all(cfg)
    with create_engine(target).connect() as conn:
        states = dict(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.state).where(
            CUTOVER_CASE.c.legacy_case_id.in_(unknown))).all())
    assert sum(state == "migrated" for state in states.values()) >= len(unknown) // 2
    assert reconcile(create_engine(legacy), create_engine(target), AS_OF).balanced
