"""Batches on a Dask cluster (prefect-dask): a scheduler and two workers as separate processes on
loopback; the result equals a local run's, even when a worker is killed mid-wave."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import create_engine
from migration.run import RunConfig
from migration.target_schema import CUTOVER_LEDGER
from reconciliation import reconcile
from tests.helpers import AS_OF, committed_batches, dump, free_port, generate, run_all

BIN = Path(sys.executable).parent


def _spawn(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN / "dask"), *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture
def dask_cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A scheduler and two single-threaded workers (no nanny: a killed worker stays dead)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_spawn("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", cwd=tmp_path)]
    time.sleep(2)
    workers = [_spawn("worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
                      cwd=tmp_path) for _ in range(2)]
    procs += workers
    from distributed import Client

    deadline = time.monotonic() + 60
    with Client(address, timeout=30) as client:
        while len(client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(client.scheduler_info()["workers"]) == 2, "the Dask workers did not join"
    yield address, workers
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def _run(tmp_path: Path, legacy: str, target: str, address: str) -> subprocess.Popen[str]:
    """`cutover run --all` on the cluster, cut as the local run is (a wave left to choose takes its
    lanes from the workers alive when it starts, which a killed worker changes)."""
    env = {**os.environ, "CUTOVER_DATA_DIR": str(tmp_path / "data"), "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    return subprocess.Popen([sys.executable, "-m", "cutover.cli", "run", "--all", "--as-of", AS_OF.isoformat(),
                             "--legacy", legacy, "--target", target, "--batch-size", "60", "--lanes", "2",
                             "--dask-address", address,
                             "--quiet"], cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _ledger(target: str) -> list[dict]:
    with create_engine(target).connect() as conn:
        return [json.loads(b) for b in conn.execute(sa.select(CUTOVER_LEDGER.c.body).order_by(
            CUTOVER_LEDGER.c.seq)).scalars()]


@pytest.mark.e2e
@pytest.mark.parametrize("kill_a_worker", [False, True], ids=["two-workers", "a-worker-killed-mid-wave"])
def test_a_cutover_on_dask_equals_a_local_run(pg_databases, dask_cluster, tmp_path: Path,  # type: ignore[no-untyped-def]
                                              kill_a_worker: bool) -> None:
    address, workers = dask_cluster
    legacy, local, on_dask = pg_databases.new("legacy"), pg_databases.new("local"), pg_databases.new("dask")
    generate(legacy, 1500, seed=101)
    run_all(RunConfig(legacy, local, AS_OF, batch_size=60))
    run = _run(tmp_path, legacy, on_dask, address)
    deadline = time.monotonic() + 300
    while committed_batches(on_dask) < 6 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if kill_a_worker:
        workers[0].kill()  # mid-wave: its batch is retried on the other worker, never half-loaded
    out, err = run.communicate(timeout=900)
    assert run.returncode == 0, err[-3000:]
    assert (workers[0].poll() is not None) == kill_a_worker and workers[1].poll() is None
    assert dump(on_dask) == dump(local)
    # one ordered ledger, appended by the coordinator in batch order: the same tree as the local run's
    assert [b for b in _ledger(on_dask) if b["kind"] != "run_resumed"] == _ledger(local)
    assert reconcile(create_engine(legacy), create_engine(on_dask), AS_OF).balanced
