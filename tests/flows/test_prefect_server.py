"""A real Prefect server on loopback: a wave runs against it and its flow run, task runs and
artifacts are read back through Prefect's client."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port, generate


@pytest.fixture
def prefect_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-server"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("the Prefect server did not answer on loopback within 120 s")
    yield api
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.mark.e2e
def test_a_wave_shows_in_the_prefect_server_with_its_artifacts(prefect_server: str, tmp_path: Path) -> None:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import Artifact
    from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort

    generate(f"sqlite:///{tmp_path / 'data' / 'legacy.db'}", 600, seed=91)
    env = {**os.environ, "CUTOVER_DATA_DIR": str(tmp_path / "data"), "PREFECT_API_URL": prefect_server,
           "PREFECT_HOME": str(tmp_path / "prefect-client")}
    done = subprocess.run([sys.executable, "-m", "cutover.cli", "run", "--wave", "specialisms", "--as-of",
                           "2026-11-01", "--batch-size", "40", "--quiet"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with SyncPrefectClient(prefect_server) as client:
        every = client.read_flow_runs(limit=50, sort=FlowRunSort.START_TIME_DESC)
        runs = [r for r in every if r.name == "wave-specialisms-as-of-2026-11-01"]
        assert len(runs) == 1, [(r.name, r.state_name) for r in every]
        assert {r.name for r in every} == {"cutover-specialisms-as-of-2026-11-01", runs[0].name}
        assert runs[0].state is not None and runs[0].state.is_completed()
        tasks = client.read_task_runs(limit=200, sort=TaskRunSort.EXPECTED_START_TIME_DESC)
        batches = [t for t in tasks if t.name.startswith("specialisms-batch-")]
        assert len(batches) >= 3 and all(t.state is not None and t.state.is_completed() for t in batches)
        # Prefect 3.8's read_artifacts() sends null filters this server refuses: ask its HTTP client directly
        answer = client._client.post("/artifacts/filter", json={"limit": 100, "offset": 0, "sort": "CREATED_DESC"})
        found = [Artifact.model_validate(a) for a in answer.json()]
        artifacts = {a.key: a for a in found if a.key}
    assert artifacts["wave-specialisms-totals"].type == "table", sorted(artifacts)
    table = str(artifacts["wave-specialisms-totals"].data)
    assert "migrated" in table and "quarantined" in table
    assert "reports/wave-specialisms.html" in str(artifacts["wave-specialisms-report"].data)
