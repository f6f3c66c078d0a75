"""The benchmark's CPU figures: a local PostgreSQL server's CPU is read from /proc, and the page
table shows CPU per in-flight case, or says the server's was not measured; a database written in
bulk is vacuumed before the next step is timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import pg_admin_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from cpu import postmaster_pid, server_seconds  # noqa: E402  (bench/cpu.py)
from run import _drop, fresh_database  # noqa: E402  (bench/run.py)
from scale import figures_table, settle  # noqa: E402  (bench/scale.py)


def test_a_query_s_work_shows_in_the_local_server_s_cpu() -> None:
    postmaster = postmaster_pid(pg_admin_url())
    assert postmaster is not None, "the test cluster runs on this machine: its postmaster is found"
    before = server_seconds(postmaster)
    engine = sa.create_engine(pg_admin_url())
    with engine.connect() as conn:  # a backend of its own, which exits when the engine is disposed
        conn.exec_driver_sql("SELECT count(*) FROM generate_series(1, 3000000) AS g(n) WHERE mod(n, 7) = 0").scalar()
    engine.dispose()
    assert server_seconds(postmaster) - before > 0.1


# In a process of its own, as the benchmark is: adopting orphans changes the process that does it.
MEASURE_A_COMMAND_THAT_LEAVES_AN_ORPHAN = """
import json, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from cpu import adopt_orphans, wait_for_tree
assert adopt_orphans()
busy = "import time; end = time.process_time() + 0.6\\nwhile time.process_time() < end: pass"
# The command starts a process that burns CPU after the command has ended, as a fork server does.
command = [sys.executable, "-c", "import subprocess, sys; subprocess.Popen([sys.executable, '-c', sys.argv[1]])", busy]
start = time.perf_counter()
tree = wait_for_tree(subprocess.Popen(command).pid)
print(json.dumps({"timed": tree.ended - start, "waited": time.perf_counter() - start, "cpu": tree.cpu_s,
                  "status": tree.status}))
"""


def test_a_step_s_cpu_counts_what_it_left_running_and_its_time_does_not() -> None:
    bench = Path(__file__).resolve().parents[2] / "bench"
    out = subprocess.run([sys.executable, "-c", MEASURE_A_COMMAND_THAT_LEAVES_AN_ORPHAN, str(bench)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    figures = json.loads(out)
    assert figures["status"] == 0
    assert figures["cpu"] >= 0.6  # the orphan's CPU, counted once it was waited for
    assert figures["timed"] < figures["waited"] - 0.3  # the command's end, not the orphan's


def test_a_remote_server_is_not_measured() -> None:
    assert postmaster_pid("postgresql+psycopg://cutover@db.example.org:5432/cutover") is None


def _figures(server_ms: float | None) -> list[dict]:
    steps = [("floor", 2.0), ("migrate", 10.0), ("reconcile", 1.5), ("write", 4.0)]
    figures = [{"cases": 2000, "step": step, "seconds": seconds, "ratio": seconds / 2.0, "peak_mib": 100.0}
               for step, seconds in steps]
    figures[1] |= {"cpu_ms_per_case": 1.234, "server_cpu_ms_per_case": server_ms}
    figures[2]["balanced"] = True
    return figures


def test_the_page_table_gives_cpu_per_in_flight_case() -> None:
    table = figures_table("a machine", _figures(0.456))
    assert "migrate CPU per in-flight case: cutover / database" in table
    assert table.splitlines()[-1].endswith("| 1.23 ms / 0.46 ms |")
    assert "not measured" not in table


def test_the_page_table_says_when_the_server_s_cpu_was_not_measured() -> None:
    table = figures_table("a machine", _figures(None))
    assert "| 1.23 ms / not measured |" in table
    assert table.splitlines()[-1].startswith("The database's CPU was not measured")


def test_a_database_written_in_bulk_is_vacuumed_and_analysed_before_the_next_step() -> None:
    name, url = fresh_database(pg_admin_url(), "settle")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE bulk AS SELECT n FROM generate_series(1, 50000) AS g(n)")
        settle(url)
        with engine.connect() as conn:
            vacuumed, analysed = conn.exec_driver_sql(
                "SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE relname = 'bulk'").one()
        assert vacuumed and analysed
    finally:
        engine.dispose()
        _drop(pg_admin_url(), name)
