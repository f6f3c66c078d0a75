"""The run lock: of runs started together exactly one gets the target, the others a clear line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from core.errors import CutoverError
from cutover.cli import main
from migration.load.schema import upgrade_target
from migration.run import RunConfig, acquire_lock, engine_for, release_lock
from migration.target_schema import CUTOVER_LOCK
from tests.conftest import AS_OF, Databases
from tests.cutover.snapshots import digest
from tests.helpers import generate

RACERS = 6
# One racing `cutover run` up to its lock: schema, then lock, held (alive when the others look)
# until its standard input closes; all start at one shared moment.
CLAIM = """
import datetime as dt, sys, time
from core.errors import CutoverError
from cutover.run_commands import claim_target
from migration.run import RunConfig
cfg = RunConfig(legacy_url="", target_url=sys.argv[1], as_of=dt.date(2026, 11, 1))
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
try:
    claim_target(cfg)
    print("locked", flush=True)
    sys.stdin.read()  # hold the lock until the test has every racer's answer
except CutoverError as exc:
    print(exc, flush=True)
"""


@pytest.fixture
def live_pids() -> Iterator[list[int]]:
    """Process ids of live processes on this host, one per racing run."""
    sleepers = [subprocess.Popen(["sleep", "120"]) for _ in range(RACERS)]
    yield [p.pid for p in sleepers]
    for p in sleepers:
        p.kill()
        p.wait()


def test_runs_started_together_get_one_lock_and_one_clear_line(databases: Databases, live_pids: list[int]) -> None:
    target = databases.new("atlas")
    upgrade_target(engine_for(target))
    cfg = RunConfig(legacy_url="", target_url=target, as_of=AS_OF)
    start = threading.Barrier(RACERS)
    won: list[str] = []
    refused: list[str] = []

    def race(pid: int) -> None:
        start.wait()
        try:
            won.append(acquire_lock(cfg, holder=f"{socket.gethostname()}:{pid}"))
        except CutoverError as exc:
            refused.append(str(exc))
        except OperationalError as exc:  # only a wait beyond SQLite's busy timeout: a failure here
            refused.append(f"database error {exc.orig!r}")

    threads = [threading.Thread(target=race, args=(pid,)) for pid in live_pids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert len(refused) == RACERS - 1
    assert all(line.startswith("another cutover run (") and line.endswith("; wait for it to finish")
               for line in refused), refused
    release_lock(cfg, won[0])
    with engine_for(target).connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(CUTOVER_LOCK)).scalar() == 0


def test_a_lock_left_by_a_dead_run_is_taken_over(databases: Databases) -> None:
    target = databases.new("atlas")
    upgrade_target(engine_for(target))
    cfg = RunConfig(legacy_url="", target_url=target, as_of=AS_OF)
    dead = subprocess.Popen(["true"])
    dead.wait()
    acquire_lock(cfg, holder=f"{socket.gethostname()}:{dead.pid}")
    holder = acquire_lock(cfg)
    with engine_for(target).connect() as conn:
        assert conn.execute(sa.select(CUTOVER_LOCK.c.holder)).scalars().all() == [holder]
    release_lock(cfg, holder)


def test_a_second_run_is_refused_in_one_line(databases: Databases, live_pids: list[int],
                                             capsys: pytest.CaptureFixture) -> None:
    legacy, target = databases.new("cid"), databases.new("atlas")
    generate(legacy, 30, seed=1)
    upgrade_target(engine_for(target))
    cfg = RunConfig(legacy_url=legacy, target_url=target, as_of=AS_OF)
    holder = acquire_lock(cfg, holder=f"{socket.gethostname()}:{live_pids[0]}")
    before = digest(legacy), digest(target)
    capsys.readouterr()
    code = main(["run", "--all", "--as-of", AS_OF.isoformat(), "--legacy", legacy, "--target", target, "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith(f"cutover: error: another cutover run ({holder}) holds the target since ")
    assert (digest(legacy), digest(target)) == before
    release_lock(cfg, holder)


@pytest.mark.e2e  # three processes race on a new target
def test_runs_starting_together_on_a_new_target_race_to_one_lock(databases: Databases) -> None:
    """Schema creation and lock together: on a new PostgreSQL target the losers of the schema race
    get a catalog unique violation, then find the winner's schema and its lock."""
    target = databases.new("atlas")
    start = time.time() + 6
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    racers = [subprocess.Popen([sys.executable, "-c", CLAIM, target, str(start)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    answers = [p.stdout.readline().strip() for p in racers]  # type: ignore[union-attr]
    errors = [p.communicate(timeout=120)[1] for p in racers]
    assert answers.count("locked") == 1, (answers, errors)
    assert all(a.startswith("another cutover run (") for a in answers if a != "locked"), (answers, errors)
