"""A wave appends its batches' ledger entries as they settle; a fault there leaves them to the wave's end."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.entries import make_body
from audit.ledger import iter_entries
from core.db import create_engine
from flows import cutover_flows
from migration.ledgering import flush, stage
from migration.load import upgrade_target
from migration.run import RunConfig, WaveRun
from migration.target_schema import CUTOVER_LEDGER_PENDING
from tests.helpers import AS_OF


def _appended(engine: sa.Engine) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        return [(b["batch_no"], b["legacy_case_id"]) for b in (json.loads(e.body) for e in iter_entries(conn))]


def test_a_settled_batch_s_entries_are_appended_or_else_left_for_the_wave_s_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = f"sqlite:///{tmp_path / 't.db'}"
    engine = create_engine(target)
    upgrade_target(engine)
    run = WaveRun("rest", uuid.uuid4(), [[1], [2], [3]])
    with engine.begin() as conn:
        for batch_no in (1, 0, 2):
            stage(conn, run.run_id, batch_no, [make_body("exclude", batch_no=batch_no, legacy_case_id=batch_no)])
    cfg = RunConfig(f"sqlite:///{tmp_path / 'l.db'}", target, AS_OF, retry_attempts=1, retry_max_wait=0.01)

    def unreachable(*_: object) -> int:
        raise sa.exc.OperationalError("SELECT 1", {}, OSError("the target went away"))

    with monkeypatch.context() as patched:
        patched.setattr(cutover_flows, "ledger_upto", unreachable)
        cutover_flows.append_settled(cfg, run, 0)  # no raise: the wave goes on
    assert _appended(engine) == []
    cutover_flows.append_settled(cfg, run, 1)
    assert _appended(engine) == [(0, 0), (1, 1)]  # the one left behind comes first, in batch order
    with engine.begin() as conn:
        assert flush(conn, run.run_id) == 1  # the wave's end: the rest
    assert _appended(engine) == [(0, 0), (1, 1), (2, 2)]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(CUTOVER_LEDGER_PENDING)).scalar() == 0
