"""Prefect's environment, set before Prefect is imported: its own home, no telemetry, quiet logs."""

from __future__ import annotations

import atexit
import contextlib
import functools
import http.client
import importlib.metadata
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flows.fork_server import preload_fork_server, worker_start_method


def prepare_prefect_environment(data_dir: Path) -> None:
    """Default PREFECT_HOME under the data folder (one SQLite store per project, no sharing
    across concurrent test runs), analytics off offline, Prefect's console logs at WARNING, and
    time for the local server's first start."""
    os.environ.setdefault("PREFECT_HOME", str((data_dir / "prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
    # Dask's INFO lines (workers joining and leaving) drown the progress; its warnings still show.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    # Dask's statistical profiler samples every worker thread each 10 ms and keeps what it saw:
    # a worker grows ~1 MiB a batch and spends CPU on it (dask/distributed#4091). Off unless asked.
    os.environ.setdefault("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "false")
    # A first start builds Prefect's database (15-20 s on two busy cores); its default of 20 s
    # to wait for the local server fails a cutover on a loaded machine for no reason.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    home = Path(os.environ["PREFECT_HOME"])
    if not home.exists():
        # Prefect's store holds every run's parameters and logs: readable by its owner only.
        home.parent.mkdir(parents=True, exist_ok=True)
        home.mkdir(mode=0o700)


# The port of the local server this process starts, once chosen (it lives until the process ends).
_local_port: int | None = None


def claim_local_server() -> int | None:
    """Unless PREFECT_API_URL names a server, choose the port of Prefect's local server now and
    name it in PREFECT_API_URL, before any Dask worker starts: a worker inherits the address and
    reports to this server. (A worker that knows no server starts a temporary one of its own on
    its first batch: ~5 CPU-seconds each while the first wave waits, and several servers writing
    one SQLite database.)
    Returns the port to start the local server on, or None when a real server is named."""
    global _local_port
    named = os.environ.get("PREFECT_API_URL")
    if named and (_local_port is None or named != _api_url(_local_port)):
        return None
    if _local_port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            _local_port = int(probe.getsockname()[1])
    os.environ["PREFECT_API_URL"] = _api_url(_local_port)
    if "PREFECT_API_SSL_CERT_FILE" not in os.environ:
        os.environ["PREFECT_API_SSL_CERT_FILE"] = str(_unused_ca_file(Path(os.environ["PREFECT_HOME"])))
    return _local_port


def _unused_ca_file(home: Path) -> Path:
    """A CA file of one self-signed certificate, for Prefect's clients of the run's own server.
    That server speaks plain HTTP on the loopback, so no certificate is ever checked; yet each
    Prefect client builds a TLS context from its CA file, by default certifi's ~140 authorities
    (15-60 ms, several times per task run, on every worker). One certificate takes 0.3 ms."""
    path = home / "local-api-unused-ca.pem"
    if not path.exists():
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())  # thrown away: the certificate signs nothing
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cutover local Prefect API (plain HTTP)")])
        now = dt.datetime.now(dt.UTC)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                       .serial_number(x509.random_serial_number()).not_valid_before(now)
                       .not_valid_after(now + dt.timedelta(days=3650))
                       .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                       .sign(key, hashes.SHA256()))
        home.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        partial.replace(path)
    return path


def _api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


@contextlib.contextmanager
def flow_settings(local_server: int | None) -> Iterator[None]:
    """Prefect settings for the run's flows. On the run's own local server, no flow heartbeats:
    they let a lasting server mark a dead run crashed, but this server dies with the run; and each
    flow's end would wait up to a second for its heartbeat thread (Prefect sleeps in whole seconds),
    once per wave and once for the run, on the run's critical path."""
    if local_server is None:
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


class Warmup:
    """Prefect's local server and, when asked, a local Dask cluster, started in threads (the
    server's process at once) so that they come up while the plan is recorded and Prefect loads in
    this process (on two cores they cost ~10 s in sequence).
    `ahead`, when given, is called once here, in a thread of its own, and what it returns is then
    run once in each process that will run batches (each worker of the local cluster, or this
    process): what every batch needs, made once and handed over before the first batch."""

    def __init__(self, local_workers: int | None = None, local_server: int | None = None,
                 ahead: Callable[[], Callable[[], None]] | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="cutover-warmup")
        self._server = self._pool.submit(_serve, local_server)
        made = self._pool.submit(ahead) if ahead is not None else None
        self._cluster = self._pool.submit(_local_cluster, local_workers) if local_workers else None
        self._ahead: Future[None] | None = None
        if made is not None:
            self._ahead = self._pool.submit(_hand_over, made, self._cluster)

    def ready(self) -> str | None:
        """Wait for the server, the cluster and the hand-over; the local cluster's scheduler
        address, if one was asked for."""
        self._server.result()
        address = self._cluster.result().scheduler_address if self._cluster is not None else None
        if self._ahead is not None:
            self._ahead.result()
        return address

    def close(self) -> None:
        """Stop the local cluster (the local server stops when this process exits)."""
        self._pool.shutdown(wait=True)
        if self._cluster is not None and self._cluster.exception() is None:
            self._cluster.result().close()


def _hand_over(made: Future[Callable[[], None]], cluster: Future[Any] | None) -> None:
    """Run what `made` gives in each worker of the cluster, or in this process without one; a
    fault, or no answer within AHEAD_SECONDS, leaves the work to the batches."""
    deadline = time.monotonic() + AHEAD_SECONDS  # one limit for the read and the hand-over together
    with contextlib.suppress(Exception):
        work = made.result(timeout=AHEAD_SECONDS)
        if cluster is None:
            work()
        else:
            run_in_each_worker(cluster.result(), work, max(deadline - time.monotonic(), 1.0))


def start_local_server(port: int | None) -> Callable[[], None]:
    """Start Prefect's temporary local server on this port now, in a process of its own (None:
    PREFECT_API_URL names a server); returns what waits until it answers. A second start on the
    same port in this process finds it running."""
    running = _servers.get(port) if port is not None else None
    if port is None or (running is not None and running.poll() is None):
        return _nothing
    database = _default_database()
    template = _database_template()
    environment = dict(os.environ)
    if database is not None and not database.exists() and template.exists():
        shutil.copyfile(template, database)
        database.chmod(0o600)
        # A copy of the template is a database this Prefect version built: migrated, its block
        # types registered. Its server skips both checks at start (about a CPU-second, on the
        # run's critical path); any other database gets them.
        environment.update(SKIPPED_CHECKS)
    # Started at once: Prefect's own SubprocessASGIServer would first load Prefect's whole server
    # into this process (3 s on two cores beside the planning) and only then start it. `-P`: a
    # folder of the user's named like ours never stands in for it. A session of its own: a Ctrl-C
    # stops the run, whose exit then stops the server, not the server under the run's last reports.
    server = subprocess.Popen([sys.executable, "-P", "-m", LOCAL_SERVER_MODULE, str(port), str(os.getpid())],
                              env=environment, start_new_session=True)
    _servers[port] = server
    atexit.register(_stop, server)
    return functools.partial(_until_up, server, port, database, template)


def _nothing() -> None:
    return None


def _serve(port: int | None) -> None:
    """Start the local server and wait until it answers (a fault is the waiting run's to report)."""
    start_local_server(port)()


def _until_up(server: subprocess.Popen[bytes], port: int, database: Path | None, template: Path) -> None:
    """Wait for the server; then keep a copy of the database it built, if it built one."""
    _wait_until_up(server, port)
    if database is not None and database.exists():
        database.chmod(0o600)
        if not template.exists():
            _keep_copy(database, template)


# The module that serves Prefect's API for a run (`python -m MODULE PORT PARENT_PID`).
LOCAL_SERVER_MODULE = "flows.local_server"

# Prefect's settings that skip what a database built by this Prefect version needs no more.
SKIPPED_CHECKS = {"PREFECT_SERVER_DATABASE_MIGRATE_ON_START": "false",
                  "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
                  # its memo of registered blocks loads every Prefect collection (Dask's included) to hash them
                  "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false"}

# The local servers this process started, by port (each lives until the process ends).
_servers: dict[int, subprocess.Popen[bytes]] = {}


def _wait_until_up(server: subprocess.Popen[bytes], port: int) -> None:
    """Wait until the server answers its health check, for as long as Prefect would wait for its
    own temporary server; a server that stopped or never answered is stopped and a one-line error."""
    limit = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS") or 20)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            _servers.pop(port, None)
            # uvicorn's exit code 3: it could not start (its port taken meanwhile, Prefect's database unusable)
            raise RuntimeError(f"Prefect's local server on port {port} could not start (exit code "
                               f"{server.returncode}; its own message is above)")
        if _answers(port):
            # A new server's first answer on its API takes 0.2-0.4 s: asked here, while the run
            # still waits for its workers, not by the run's first flow.
            _answers(port, "/api/admin/version")
            return
        time.sleep(0.05)
    _stop(server)
    _servers.pop(port, None)
    raise RuntimeError(f"Prefect's local server did not answer within {limit:.0f} s "
                       "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)")


def _answers(port: int, path: str = "/api/health") -> bool:
    """Whether the server on this port answers GET `path`, its health check unless told (plain
    HTTP on the loopback, no proxy)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop a local server as the run ends: asked first, killed if it lingers."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _default_database() -> Path | None:
    """Prefect's own SQLite file, unless its database was set to another one."""
    if os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL") or os.environ.get(
            "PREFECT_SERVER_DATABASE_CONNECTION_URL"):
        return None
    return Path(os.environ["PREFECT_HOME"]) / "prefect.db"


def _database_template() -> Path:
    """Where an empty Prefect database of this Prefect version is kept: Prefect builds one in a new
    home through its ~100 migrations (about 9 s of CPU); every later new home starts from the copy."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cutover"
    return cache / f"prefect-{importlib.metadata.version('prefect')}.db"


def _keep_copy(database: Path, template: Path) -> None:
    """A consistent copy of the just-built database (SQLite's backup API: the server has it open)."""
    template.parent.mkdir(parents=True, exist_ok=True)
    partial = template.with_suffix(f".{os.getpid()}.tmp")
    with contextlib.closing(sqlite3.connect(database)) as source, contextlib.closing(sqlite3.connect(partial)) as copy:
        source.backup(copy)
    partial.chmod(0o600)
    partial.replace(template)


# Set in the workers of the run's own local cluster only (an operator's cluster keeps its workers' ways).
LOCAL_WORKER = "CUTOVER_LOCAL_WORKER"


def worker_environment(workers: int) -> dict[str, str]:
    """What each local worker process sets before it imports Polars: the machine's cores shared
    out among the workers for Polars' own threads unless POLARS_MAX_THREADS is set (the workers
    already keep the cores busy; a pool as large as the machine in each only adds threads that
    wait for work, a tenth more of the transform's CPU on two cores), and the allocator settings
    of CUTOVER_WORKER_ALLOCATOR after those this process has (Polars', once imported here, and the
    user's): by default Polars' allocator keeps the pages a batch freed for the next batch, where
    Polars' own settings hand them back within a second to be faulted in again (at 1,000,000
    cases the workers spend 11 CPU-seconds of system time against 21 with Polars' own settings, for
    a peak of 680 MiB a worker against 555)."""
    from core.settings import Settings

    wanted = {LOCAL_WORKER: "1"}
    if "POLARS_MAX_THREADS" not in os.environ:
        wanted["POLARS_MAX_THREADS"] = str(max(1, (os.cpu_count() or 1) // max(workers, 1)))
    if allocator := Settings().worker_allocator:
        wanted["_RJEM_MALLOC_CONF"] = ",".join(filter(None, (os.environ.get("_RJEM_MALLOC_CONF"), allocator)))
    return wanted


def _local_cluster(workers: int) -> Any:
    import dask
    from distributed import LocalCluster

    # Dask read its DASK_* variables when first imported, maybe before prepare_prefect_environment
    # set them; the nannies hand this process's configuration to the workers they start.
    method = {"distributed": {"worker": {"multiprocessing-method": worker_start_method(Path.cwd())}}}
    with dask.config.set(dask.config.merge(dask.config.config, method, dask.config.collect_env())):
        preload_fork_server()
        # A worker gets this process's environment as it is now (flows.worker_preload then has
        # Prefect read its settings again): a fork server started for an earlier cluster of this
        # process holds the environment of that moment. A variable removed since stays set.
        cluster = LocalCluster(n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None,
                               preload=["flows.worker_preload"],
                               env={**os.environ, **worker_environment(workers)})
    return cluster


def run_in_each_worker(cluster: Any, work: Callable[[], None], limit: float | None = None) -> None:
    """Run `work` once in each worker of the cluster, as a task pinned to it (it runs in the
    worker's thread pool, where batches run: Client.run would block the worker's event loop for as
    long). Best effort: a worker that dies meanwhile (its task then waits for an address that is
    gone) or a slow client costs the run at most `limit` (AHEAD_SECONDS unless given); the batches
    do it themselves."""
    from distributed import Client, wait

    limit = AHEAD_SECONDS if limit is None else limit
    with contextlib.suppress(Exception), Client(cluster, timeout=limit) as client:
        wait([client.submit(_quietly, work, workers=[address], allow_other_workers=False, pure=False)
              for address in client.scheduler_info()["workers"]], timeout=limit)


# The longest the run's start waits for the workers' read-ahead (seconds).
AHEAD_SECONDS = 120


def _quietly(ahead: Callable[[], None]) -> None:
    """Run it; a fault is left for the first batch, which does the same work and reports it."""
    with contextlib.suppress(Exception):
        ahead()
