"""Files the tool creates that hold personal data, keys or an auditor's state are its owner's alone."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.checkpoint import Checkpoint
from audit.state import record, state_file
from core.db import create_engine


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new" / "target.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert _mode(path) == 0o600
        wal = path.with_name(path.name + "-wal")
        assert not wal.exists() or _mode(wal) == 0o600
    engine.dispose()


def test_the_auditors_state_is_owner_only(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate().public_key()
    latest = Checkpoint("cutover.local/test", 3, b"\x01" * 32)
    record(tmp_path / "auditor", latest, key)
    assert _mode(state_file(tmp_path / "auditor", latest.origin)) == 0o600
    record(tmp_path / "auditor", Checkpoint("cutover.local/test", 4, b"\x02" * 32), key)  # replaced, still 0600
    assert _mode(state_file(tmp_path / "auditor", latest.origin)) == 0o600
