"""Prefect's local server starts from a kept copy of an empty database in every new home."""

from __future__ import annotations

import pickle
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from flows import environment


class FakeServer:
    """Stands for Prefect's SubprocessASGIServer: builds the database when the home has none."""

    found: list[bool] = []
    checks: list[tuple[bool, bool]] = []  # (migrate, register blocks) in the settings the server starts with

    def __init__(self, port: int) -> None:
        self.port = port

    def start(self) -> None:
        from prefect.settings import PREFECT_API_BLOCKS_REGISTER_ON_START, PREFECT_API_DATABASE_MIGRATE_ON_START

        database = Path(environment.os.environ["PREFECT_HOME"]) / "prefect.db"
        FakeServer.found.append(database.exists())
        FakeServer.checks.append((PREFECT_API_DATABASE_MIGRATE_ON_START.value(),
                                  PREFECT_API_BLOCKS_REGISTER_ON_START.value()))
        with sqlite3.connect(database) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS flow (id INTEGER)")
            conn.execute("INSERT INTO flow VALUES (1)")


def test_a_new_home_starts_from_the_database_the_first_one_built(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import prefect.server.api.server as server

    monkeypatch.setattr(server, "SubprocessASGIServer", FakeServer)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    FakeServer.found, FakeServer.checks = [], []
    for home in ("first", "second", "second"):
        monkeypatch.setenv("PREFECT_HOME", str(tmp_path / home))
        (tmp_path / home).mkdir(exist_ok=True)
        environment._start_local_server(4321)
    assert FakeServer.found == [False, True, True]  # built once, then copied in before the server starts
    # A copy this Prefect version built needs no migration nor block registration; a database the
    # home already held (maybe of an older Prefect) gets both, as a new one does.
    assert FakeServer.checks == [(True, True), (False, False), (True, True)]
    kept = environment._database_template()
    assert kept.parent == tmp_path / "cache" / "cutover"
    with sqlite3.connect(kept) as conn:  # the copy taken right after the first build, not later
        assert conn.execute("SELECT count(*) FROM flow").fetchone() == (1,)
    with sqlite3.connect(tmp_path / "second" / "prefect.db") as conn:
        assert conn.execute("SELECT count(*) FROM flow").fetchone() == (3,)


def test_a_database_set_by_the_user_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL", "postgresql+asyncpg://prefect@db/prefect")
    assert environment._default_database() is None


def _in_each_local_worker(workers: int, work: Callable[..., object]) -> list[object]:
    """What `work` returns in each worker of a new local cluster of `workers` processes."""
    from distributed import Client

    cluster = environment._local_cluster(workers)
    try:
        with Client(cluster) as client:
            return list(client.run(work).values())
    finally:
        cluster.close()


@pytest.mark.e2e
def test_local_workers_run_without_dask_s_statistical_profiler(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", raising=False)
    environment.prepare_prefect_environment(tmp_path)
    # Its sampling thread kept every profile it took: a worker grew with each batch.
    enabled = _in_each_local_worker(1, lambda dask_worker: dask_worker.periodic_callbacks.get("profile") is not None)
    assert enabled == [False]


@pytest.mark.e2e
def test_local_workers_report_to_the_run_s_own_local_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "")  # names no server; restored after the test
    monkeypatch.setattr(environment, "_local_port", None)
    environment.prepare_prefect_environment(tmp_path)
    port = environment.claim_local_server()
    assert port is not None and environment.claim_local_server() == port  # chosen once per process
    # Without the address a worker's first task started a Prefect server of its own.
    seen = _in_each_local_worker(1, lambda: environment.os.environ.get("PREFECT_API_URL"))
    assert seen == [f"http://127.0.0.1:{port}/api"]


def test_a_server_named_by_the_user_is_used_and_none_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "_local_port", None)
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.internal:4200/api")
    monkeypatch.delenv("PREFECT_API_SSL_CERT_FILE", raising=False)
    assert environment.claim_local_server() is None
    assert environment.os.environ["PREFECT_API_URL"] == "http://prefect.internal:4200/api"
    assert "PREFECT_API_SSL_CERT_FILE" not in environment.os.environ  # its TLS is checked as Prefect checks it


def test_clients_of_the_run_s_own_server_build_their_tls_context_from_one_certificate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    from prefect.settings import Settings

    monkeypatch.setenv("PREFECT_API_URL", "")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_API_SSL_CERT_FILE", raising=False)
    monkeypatch.setattr(environment, "_local_port", None)
    environment.claim_local_server()
    bundle = Path(environment.os.environ["PREFECT_API_SSL_CERT_FILE"])
    assert bundle.parent == tmp_path and bundle.read_text().count("BEGIN CERTIFICATE") == 1
    assert ssl.create_default_context(cafile=bundle).cert_store_stats()["x509_ca"] == 1
    assert Settings().api.ssl_cert_file == str(bundle)  # what Prefect's clients load, in each new process
    monkeypatch.setattr(environment, "_local_port", None)
    monkeypatch.setenv("PREFECT_API_SSL_CERT_FILE", "/etc/ssl/mine.pem")
    environment.claim_local_server()
    assert environment.os.environ["PREFECT_API_SSL_CERT_FILE"] == "/etc/ssl/mine.pem"  # one the user set stays


def test_flows_on_the_run_s_own_local_server_send_no_heartbeats() -> None:
    from prefect.settings import get_current_settings

    default = get_current_settings().flows.heartbeat_frequency
    assert default is not None  # Prefect's default: a heartbeat every few minutes
    with environment.flow_settings(4321):
        # The local server dies with the run: nothing outlives it to read them, and each flow's
        # end waited up to a second for its heartbeat thread.
        assert get_current_settings().flows.heartbeat_frequency is None
    assert get_current_settings().flows.heartbeat_frequency == default
    with environment.flow_settings(None):  # a lasting server named by the user keeps them
        assert get_current_settings().flows.heartbeat_frequency == default


def test_local_workers_share_the_cores_out_for_polars_threads_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    monkeypatch.setenv("CUTOVER_WORKER_ALLOCATOR", "")
    monkeypatch.setattr(environment.os, "cpu_count", lambda: 8)
    assert environment.worker_environment(2) == {"POLARS_MAX_THREADS": "4"}
    assert environment.worker_environment(3) == {"POLARS_MAX_THREADS": "2"}
    assert environment.worker_environment(16) == {"POLARS_MAX_THREADS": "1"}
    monkeypatch.setenv("POLARS_MAX_THREADS", "3")
    assert environment.worker_environment(2) == {}  # the user's setting reaches the workers as it is


def test_local_workers_add_the_allocator_settings_after_those_of_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLARS_MAX_THREADS", "1")
    monkeypatch.delenv("CUTOVER_WORKER_ALLOCATOR", raising=False)
    monkeypatch.delenv("_RJEM_MALLOC_CONF", raising=False)
    assert environment.worker_environment(2) == {"_RJEM_MALLOC_CONF": "muzzy_decay_ms:-1"}
    # What Polars leaves here once imported, the user's settings after its own: ours come last.
    monkeypatch.setenv("_RJEM_MALLOC_CONF", "dirty_decay_ms:500,muzzy_decay_ms:1000,narenas:1")
    assert environment.worker_environment(2) == {
        "_RJEM_MALLOC_CONF": "dirty_decay_ms:500,muzzy_decay_ms:1000,narenas:1,muzzy_decay_ms:-1"}
    monkeypatch.setenv("CUTOVER_WORKER_ALLOCATOR", "")
    assert environment.worker_environment(2) == {}


@pytest.mark.e2e
def test_each_local_worker_s_polars_pool_is_its_share_and_its_allocator_keeps_freed_pages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import polars  # as the run's own process has: Polars has put its allocator settings here

    monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    monkeypatch.delenv("CUTOVER_WORKER_ALLOCATOR", raising=False)
    assert "muzzy_decay_ms" in environment.os.environ["_RJEM_MALLOC_CONF"] and polars.thread_pool_size()
    environment.prepare_prefect_environment(tmp_path)
    seen = _in_each_local_worker(2, lambda: (__import__("polars").thread_pool_size(),
                                             environment.os.environ.get("_RJEM_MALLOC_CONF")))
    # Polars puts its own allocator settings first and those it was given after them: the last one counts.
    assert [(pool, dict(o.split(":") for o in conf.split(","))["muzzy_decay_ms"]) for pool, conf in seen] == [
        (max(1, (environment.os.cpu_count() or 1) // 2), "-1")] * 2


@pytest.mark.e2e
def test_what_batches_need_is_read_ahead_once_in_each_local_worker(tmp_path: Path) -> None:
    from distributed import Client

    environment.prepare_prefect_environment(tmp_path)

    def note_process() -> None:
        (tmp_path / str(environment.os.getpid())).touch()

    cluster = environment._local_cluster(2)
    try:
        environment.run_in_each_worker(cluster, note_process)
        with Client(cluster) as client:
            workers = set(client.run(environment.os.getpid).values())
    finally:
        cluster.close()
    assert len(workers) == 2 and {int(p.name) for p in tmp_path.iterdir() if p.name.isdigit()} == workers


def test_a_read_ahead_that_fails_is_left_to_the_first_batch() -> None:
    def unreachable() -> None:
        raise OSError("the database is down")

    environment._quietly(unreachable)  # no raise: the batch meets the fault and reports it


def test_the_reference_read_ahead_is_the_one_the_batches_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.db import create_engine
    from flows import cutover_flows
    from migration.extract import read_reference
    from migration.run import RunConfig
    from tests.helpers import AS_OF, generate

    legacy = f"sqlite:///{tmp_path / 'l.db'}"
    generate(legacy, 40, seed=3)
    keep = cutover_flows.reference_ahead(RunConfig(legacy, f"sqlite:///{tmp_path / 't.db'}", AS_OF), "run-1")
    keep = pickle.loads(pickle.dumps(keep))  # as Dask hands it to a worker
    monkeypatch.setattr(cutover_flows, "read_reference", None)  # a batch process reads nothing of its own
    keep()
    reference = cutover_flows._reference(legacy, "run-1")
    with create_engine(legacy).connect() as conn:
        assert reference == read_reference(conn)  # the cross-case sets the batches need included
    for n in range(cutover_flows.KEPT_REFERENCES):
        cutover_flows.keep_reference(f"later-{n}", reference)
    assert "run-1" not in cutover_flows._REFERENCES  # a long-lived worker keeps only the latest runs'


def test_a_run_s_start_hands_over_what_it_made_ahead_once_or_leaves_it_to_the_batches() -> None:
    made: list[str] = []
    warmup = environment.Warmup(ahead=lambda: lambda: made.append("kept"))
    assert warmup.ready() is None and made == ["kept"]  # threads: kept in this very process
    warmup.close()

    def unreachable() -> Callable[[], None]:
        raise OSError("the database is down")

    warmup = environment.Warmup(ahead=unreachable)
    assert warmup.ready() is None  # the run goes on; its batches read the reference themselves
    warmup.close()


@pytest.mark.e2e
def test_a_read_ahead_that_does_not_end_holds_the_run_s_start_no_longer_than_its_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    environment.prepare_prefect_environment(tmp_path)
    monkeypatch.setattr(environment, "AHEAD_SECONDS", 1)
    started = time.monotonic()
    cluster = environment._local_cluster(1)
    environment.run_in_each_worker(cluster, lambda: time.sleep(90))  # a worker stuck, or gone
    waited = time.monotonic() - started
    try:
        assert len(cluster.workers) == 1  # the run gets its cluster
    finally:
        cluster.close()
    assert waited < 45  # its start and the limit, not the read-ahead's 90 s
