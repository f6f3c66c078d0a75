"""Outages at a run's boundaries (plan recording, start and end of a wave) are retried like
batches; one that outlasts the retries ends in a single OutageError that says to run again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from migration.retry import OutageError
from migration.run import RunConfig, engine_for, prepare, start_wave
from reconciliation import reconcile
from tests.helpers import AS_OF, dump, generate, run_all

# Statements of the run's boundaries, by the words that mark them (lower case).
BOUNDARIES = {
    "plan": ("insert into cutover_plan",),
    "start_wave": ("insert into cutover_run",),
    "finish_wave": ("update cutover_run", "status"),
}


@contextmanager
def outage(url: str, times: int | None) -> Iterator[dict[str, int]]:
    """Each boundary statement on the target fails as a lost connection would, `times` times
    each (None: every time); yields how often each failed."""
    engine = engine_for(url)
    failed = dict.fromkeys(BOUNDARIES, 0)

    def lose_connection(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        text = " ".join(statement.lower().replace('"', "").split())
        for name, words in BOUNDARIES.items():
            if all(w in text for w in words) and (times is None or failed[name] < times):
                failed[name] += 1
                raise sa.exc.OperationalError(statement, None, ConnectionError("server closed the connection"),
                                              connection_invalidated=True)

    sa.event.listen(engine, "before_cursor_execute", lose_connection)
    try:
        yield failed
    finally:
        sa.event.remove(engine, "before_cursor_execute", lose_connection)


@pytest.mark.e2e  # three whole runs of a generated CID
def test_a_brief_outage_at_each_boundary_is_retried_and_changes_nothing(databases) -> None:  # type: ignore[no-untyped-def]
    legacy, target, fresh = databases.new("legacy"), databases.new("target"), databases.new("fresh")
    generate(legacy, 150, seed=71)
    cfg = RunConfig(legacy, target, AS_OF, retry_max_wait=0.01)
    run_all(cfg)  # so that the plan's second recording goes through its staged path too
    with outage(target, times=1) as failed:
        run_all(cfg)
    assert all(n == 1 for n in failed.values()), failed
    run_all(replace(cfg, target_url=fresh))
    assert dump(target) == dump(fresh)
    assert reconcile(engine_for(legacy), engine_for(target), AS_OF).balanced


def test_an_outage_that_outlasts_the_retries_is_one_line_saying_run_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    legacy, target = f"sqlite:///{tmp_path / 'legacy.db'}", f"sqlite:///{tmp_path / 'target.db'}"
    generate(legacy, 60, seed=72)
    cfg = RunConfig(legacy, target, AS_OF, retry_attempts=3, retry_max_wait=0.01)
    with outage(target, times=None) as failed, pytest.raises(OutageError) as raised:
        prepare(cfg)
    assert failed["plan"] == 3
    message = str(raised.value)
    assert "\n" not in message and "run the same command again" in message
    assert "server closed" not in message and raised.value.__cause__ is None
    prepare(cfg)
    with outage(target, times=None), pytest.raises(OutageError, match="start of wave"):
        start_wave(cfg, "rest")


def test_a_brief_outage_at_the_checkpoint_is_retried(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from core.settings import load_settings
    from cutover.audit_commands import write_checkpoint
    from cutover.cli import main
    from migration.target_schema import CUTOVER_CHECKPOINT

    monkeypatch.setenv("CUTOVER_DATA_DIR", str(tmp_path / "data"))
    legacy, target = f"sqlite:///{tmp_path / 'legacy.db'}", f"sqlite:///{tmp_path / 'target.db'}"
    generate(legacy, 60, seed=73)
    run_all(RunConfig(legacy, target, AS_OF))
    engine = engine_for(target)
    failed = {"checkpoint": 0}

    def lose_connection(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "insert into cutover_checkpoint" in " ".join(statement.lower().replace('"', "").split()) \
                and failed["checkpoint"] == 0:
            failed["checkpoint"] += 1
            raise sa.exc.OperationalError(statement, None, ConnectionError("server closed the connection"),
                                          connection_invalidated=True)

    sa.event.listen(engine, "before_cursor_execute", lose_connection)
    try:
        write_checkpoint(load_settings(target_url=target, retry_max_wait_seconds=0.01), engine)
    finally:
        sa.event.remove(engine, "before_cursor_execute", lose_connection)
    assert failed["checkpoint"] == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(CUTOVER_CHECKPOINT)).scalar() == 1
    assert main(["audit", "verify", "--target", target, "--quiet"]) == 0  # every entry covered, once
