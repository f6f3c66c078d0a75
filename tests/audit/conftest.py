"""A small cutover with its ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.keys import load_or_create_key
from audit.ledger import write_checkpoint
from audit.reports import record_report
from core.db import create_engine
from migration.rules.waves import WAVE_ORDER
from migration.run import RunConfig, engine_for, prepare, run_wave_locally
from reconciliation import reconcile
from tests.helpers import AS_OF, generate


@pytest.fixture(scope="session")
def ledger_templates(session_databases, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """make_ledger's result, built once per session per engine."""
    built: dict[str, tuple[str, Ed25519PrivateKey, Path]] = {}

    def template(kind: str) -> tuple[str, Ed25519PrivateKey, Path]:
        if kind not in built:
            legacy, target = session_databases(kind, "tlegacy"), session_databases(kind, "ttarget")
            built[kind] = make_ledger(legacy, target, tmp_path_factory.mktemp(f"ledger-{kind}"))
            engine_for(legacy).dispose()
            engine_for(target).dispose()
        return built[kind]

    return template


@pytest.fixture
def ledgered(databases, ledger_templates, tmp_path: Path):  # type: ignore[no-untyped-def]
    """(target URL, signing key, checkpoints file) after a run, a report and two checkpoints: this
    test's own copy of the target and of the checkpoints file."""
    target, key, checkpoints = ledger_templates(databases.kind)
    copied = tmp_path / checkpoints.name
    shutil.copyfile(checkpoints, copied)
    return databases.copy(target, "target"), key, copied


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


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One data folder (and so one signing key) for every target of a test."""
    folder = tmp_path / "data"
    monkeypatch.setenv("CUTOVER_DATA_DIR", str(folder))
    monkeypatch.delenv("CUTOVER_LOG_ORIGIN", raising=False)
    monkeypatch.delenv("CUTOVER_CHECKPOINTS", raising=False)
    monkeypatch.delenv("CUTOVER_SIGNING_KEY", raising=False)
    return folder
