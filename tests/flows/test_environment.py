"""Prefect's local server: started at once in a process of its own, from a kept copy of an empty
database in every new home, gone with the run; the local workers' environment; the read-ahead."""

from __future__ import annotations

import json
import pickle
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from flows import environment, fork_server
from tests.helpers import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local servers started by the test are the fake one, with a cache of their own, and are
    stopped after it."""
    monkeypatch.setattr(environment, "LOCAL_SERVER_MODULE", "tests.flows.fake_local_server")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # where the server's process finds the fake
    before = set(environment._servers)
    yield
    for port in set(environment._servers) - before:
        environment._stop(environment._servers.pop(port))


def test_a_new_home_starts_from_the_database_the_first_one_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 fake_server: None) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    for name in environment.SKIPPED_CHECKS:
        monkeypatch.delenv(name, raising=False)
    for home in ("first", "second", "second"):
        monkeypatch.setenv("PREFECT_HOME", str(tmp_path / home))
        (tmp_path / home).mkdir(exist_ok=True)
        environment.start_local_server(free_port())()
    starts = [json.loads(line) for home in ("first", "second")
              for line in (tmp_path / home / "starts.jsonl").read_text().splitlines()]
    assert [start["found"] for start in starts] == [False, True, True]  # built once, then copied in before the start
    # A copy this Prefect version built needs no migration nor block registration; a database the
    # home already held (maybe of an older Prefect) gets both, as a new one does.
    skipped = {"PREFECT_SERVER_DATABASE_MIGRATE_ON_START": "false", "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false"}
    unset = dict.fromkeys(skipped)
    assert [start["checks"] for start in starts] == [unset, skipped, unset]
    assert {start["parent"] for start in starts} == {environment.os.getpid()}  # each follows this process
    kept = environment._database_template()
    assert kept.parent == tmp_path / "cache" / "cutover"
    with sqlite3.connect(kept) as conn:  # the copy taken right after the first build, not later
        assert conn.execute("SELECT count(*) FROM flow").fetchone() == (1,)
    with sqlite3.connect(tmp_path / "second" / "prefect.db") as conn:
        assert conn.execute("SELECT count(*) FROM flow").fetchone() == (3,)


def test_a_second_start_on_the_port_finds_the_server_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               fake_server: None) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    port = free_port()
    environment.start_local_server(port)()
    # Up once it answers its health check; its API is then asked once, so that a new server's slow
    # first answer is not the run's first flow's.
    assert (tmp_path / "requests.log").read_text().splitlines()[-2:] == ["/api/health", "/api/admin/version"]
    environment.start_local_server(port)()  # one server per port and process: the run after a run reuses it
    assert len((tmp_path / "starts.jsonl").read_text().splitlines()) == 1
    assert environment.start_local_server(None) is environment._nothing  # a server named by the user: none


def test_a_local_server_that_stops_as_it_starts_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    fake_server: None) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.setenv("FAKE_SERVER_EXIT", "3")  # as uvicorn stops when it cannot listen on its port
    port = free_port()
    with pytest.raises(RuntimeError) as raised:
        environment.start_local_server(port)()
    assert str(raised.value) == (f"Prefect's local server on port {port} could not start (exit code 3; "
                                 "its own message is above)")
    assert port not in environment._servers  # a later start starts a new one


def _gone(pid: int) -> bool:
    """Whether the process has ended (an unreaped zombie counts: it runs nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _run_holding_a_local_server(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    """A process that starts the real local server on the port, as a run does, then waits (as the
    `cutover` command does, it does not look for modules in the folder it runs in)."""
    env = {**environment.os.environ, "PREFECT_HOME": str(tmp_path / "prefect"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    return subprocess.Popen([sys.executable, "-P", "-c", (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from flows import environment\n"
        f"environment.prepare_prefect_environment(Path({str(tmp_path)!r}))\n"
        "try:\n"
        f"    environment.start_local_server({port})()\n"
        "except RuntimeError as exc:\n"
        "    print(exc, flush=True)\n"
        "    sys.exit(5)\n"
        f"print(environment._servers[{port}].pid, flush=True)\n"
        "time.sleep(600)\n")], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)


@pytest.mark.e2e
def test_the_local_server_serves_prefect_s_api_and_stops_when_the_run_is_killed(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "flows").mkdir()  # a package of the user's named like ours, where the run is started
    (tmp_path / "flows" / "__init__.py").touch()
    (tmp_path / "flows" / "local_server.py").write_text("raise SystemExit(7)\n")
    run = _run_holding_a_local_server(tmp_path, port)
    try:
        assert run.stdout is not None
        server = int(run.stdout.readline())
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api") as client:
            assert client.get("/health").status_code == 200
            assert client.post("/flows/filter", json={}).json() == []  # Prefect's own API, its store new
    finally:
        run.kill()  # as a run killed outright: nothing of it stops the server
        run.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _gone(server):
        time.sleep(0.2)
    assert _gone(server) and not environment._answers(port)


@pytest.mark.e2e
def test_a_local_server_whose_port_is_taken_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        run = _run_holding_a_local_server(tmp_path, port)
        out, _ = run.communicate(timeout=120)
    assert run.returncode == 5
    assert out.splitlines() == [f"Prefect's local server on port {port} could not start (exit code 3; "
                                "its own message is above)"]


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
    # Its sampling thread keeps every profile it takes: a worker would grow with each batch.
    enabled = _in_each_local_worker(1, lambda dask_worker: dask_worker.periodic_callbacks.get("profile") is not None)
    assert enabled == [False]


@pytest.mark.e2e
def test_local_workers_report_to_the_run_s_own_local_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "")  # names no server; restored after the test
    monkeypatch.setattr(environment, "_local_port", None)
    environment.prepare_prefect_environment(tmp_path)
    port = environment.claim_local_server()
    assert port is not None and environment.claim_local_server() == port  # chosen once per process
    # Without the address a worker's first task would start a Prefect server of its own.
    seen = _in_each_local_worker(1, lambda: environment.os.environ.get("PREFECT_API_URL"))
    assert seen == [f"http://127.0.0.1:{port}/api"]


@pytest.mark.e2e
def test_local_workers_fork_from_one_single_threaded_server_and_see_the_environment_of_their_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    environment.prepare_prefect_environment(tmp_path)

    def parent() -> tuple[int, str, int, bool]:
        ppid = environment.os.getppid()
        return (ppid, Path(f"/proc/{ppid}/cmdline").read_text(), len(list(Path(f"/proc/{ppid}/task").iterdir())),
                "polars" in sys.modules)

    first = _in_each_local_worker(2, parent)
    server = {ppid for ppid, _, _, _ in first}
    assert len(server) == 1 and server != {environment.os.getpid()}  # both forked by one process, not this one
    assert all("forkserver" in cmd for _, cmd, _, _ in first)
    # One thread in the fork server: nothing it loaded (Polars above all) left a lock held in the forks.
    assert all(threads == 1 for _, _, threads, _ in first)
    assert all(loaded for *_, loaded in first)  # the worker's own preload loaded the batch code
    # What the fork server loaded is mapped in it (compiled parts of pydantic, Prefect's, and of
    # SQLAlchemy and psycopg); Polars' is not.
    mapped = Path(f"/proc/{server.pop()}/maps").read_text()
    assert all(f"site-packages/{part}/" in mapped for part in ("pydantic_core", "sqlalchemy", "psycopg_binary"))
    assert "polars" not in mapped
    # The fork server outlives this cluster with the environment of its start; a later cluster's
    # workers still see the environment of theirs, and Prefect's settings read from it.
    monkeypatch.setenv("CUTOVER_PROBE_SET_LATER", "seen")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")

    def seen() -> tuple[str | None, str | None]:
        from prefect.settings import get_current_settings

        return environment.os.environ.get("CUTOVER_PROBE_SET_LATER"), get_current_settings().api.url

    assert _in_each_local_worker(1, seen) == [("seen", "http://127.0.0.1:9/api")]


@pytest.mark.parametrize("shadow", ["sqlalchemy.py", "prefect/__init__.py", "prefect_dask.py", "logging.py",
                                    "anyio/__init__.py"])
def test_a_working_folder_that_would_shadow_a_module_the_fork_server_loads_starts_workers_by_spawn(
        tmp_path: Path, shadow: str) -> None:
    for harmless in ("flows/__init__.py", "migration/__init__.py", "docs/index.md", "data/cid.db", "notes.txt"):
        (tmp_path / harmless).parent.mkdir(exist_ok=True)  # this project's own packages, and no modules
        (tmp_path / harmless).write_text("")
    assert fork_server.worker_start_method(tmp_path) == "forkserver"
    (tmp_path / shadow).parent.mkdir(exist_ok=True)
    (tmp_path / shadow).write_text("raise SystemExit\n")
    assert fork_server.worker_start_method(tmp_path) == "spawn"


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
        # end would wait up to a second for its heartbeat thread.
        assert get_current_settings().flows.heartbeat_frequency is None
    assert get_current_settings().flows.heartbeat_frequency == default
    with environment.flow_settings(None):  # a lasting server named by the user keeps them
        assert get_current_settings().flows.heartbeat_frequency == default


def test_local_workers_share_the_cores_out_for_polars_threads_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    monkeypatch.setenv("CUTOVER_WORKER_ALLOCATOR", "")
    monkeypatch.setattr(environment.os, "cpu_count", lambda: 8)
    local = {environment.LOCAL_WORKER: "1"}
    assert environment.worker_environment(2) == {**local, "POLARS_MAX_THREADS": "4"}
    assert environment.worker_environment(3) == {**local, "POLARS_MAX_THREADS": "2"}
    assert environment.worker_environment(16) == {**local, "POLARS_MAX_THREADS": "1"}
    monkeypatch.setenv("POLARS_MAX_THREADS", "3")
    assert environment.worker_environment(2) == local  # the user's setting reaches the workers as it is


def test_local_workers_add_the_allocator_settings_after_those_of_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLARS_MAX_THREADS", "1")
    monkeypatch.delenv("CUTOVER_WORKER_ALLOCATOR", raising=False)
    monkeypatch.delenv("_RJEM_MALLOC_CONF", raising=False)
    local = {environment.LOCAL_WORKER: "1"}
    assert environment.worker_environment(2) == {**local, "_RJEM_MALLOC_CONF": "muzzy_decay_ms:-1"}
    # What Polars leaves here once imported, the user's settings after its own: ours come last.
    monkeypatch.setenv("_RJEM_MALLOC_CONF", "dirty_decay_ms:500,muzzy_decay_ms:1000,narenas:1")
    assert environment.worker_environment(2) == {
        **local, "_RJEM_MALLOC_CONF": "dirty_decay_ms:500,muzzy_decay_ms:1000,narenas:1,muzzy_decay_ms:-1"}
    monkeypatch.setenv("CUTOVER_WORKER_ALLOCATOR", "")
    assert environment.worker_environment(2) == local


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
    from flows import references
    from migration.extract import read_reference
    from migration.run import RunConfig
    from tests.helpers import AS_OF, generate

    legacy = f"sqlite:///{tmp_path / 'l.db'}"
    generate(legacy, 40, seed=3)
    keep = references.reference_ahead(RunConfig(legacy, f"sqlite:///{tmp_path / 't.db'}", AS_OF), "run-1")
    keep = pickle.loads(pickle.dumps(keep))  # as Dask hands it to a worker
    monkeypatch.setattr(references, "read_reference", None)  # a batch process reads nothing of its own
    keep()
    reference = references.legacy_reference(legacy, "run-1")
    with create_engine(legacy).connect() as conn:
        assert reference == read_reference(conn)  # the cross-case sets the batches need included
    for n in range(references.KEPT_REFERENCES):
        references.keep_reference(f"later-{n}", reference)
    assert "run-1" not in references._REFERENCES  # a long-lived worker keeps only the latest runs'


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
