"""A small cutover with its ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.keys import load_or_create_key
from audit.ledger import write_checkpoint
from audit.reports import record_report
from cutover.db import create_engine
from migration.rules.waves import WAVE_ORDER
from migration.run import RunConfig, prepare, run_wave_locally
from reconciliation import reconcile
from tests.helpers import AS_OF, generate


@pytest.fixture
def ledgered(databases, tmp_path: Path):  # type: ignore[no-untyped-def]
    """(target URL, signing key, checkpoints file) after a run, a report and two checkpoints."""
    return make_ledger(databases.new("legacy"), databases.new("target"), tmp_path)


def make_ledger(legacy: str, target: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run a small cutover with two checkpoints and a recorded report."""
    generate(legacy, 150, seed=41)
    cfg = RunConfig(legacy, target, AS_OF, batch_size=40)
    reference, _ = prepare(cfg)
    key = load_or_create_key(tmp_path / "key.pem")
    checkpoints = tmp_path / "checkpoints.jsonl"
    engine = create_engine(target)
    for wave in WAVE_ORDER[:3]:
        run_wave_locally(cfg, reference, wave)
    with engine.begin() as conn:
        write_checkpoint(conn, key, None, checkpoints)
    for wave in WAVE_ORDER[3:]:
        run_wave_locally(cfg, reference, wave)
    report = reconcile(create_engine(legacy), engine, AS_OF)
    with engine.begin() as conn:
        record_report(conn, "reconciliation-all.json", {"as_of": AS_OF.isoformat(), **report.as_dict()})
        write_checkpoint(conn, key, None, checkpoints)
    return target, key, checkpoints
