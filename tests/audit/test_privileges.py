"""Privilege separation on PostgreSQL: a migrating role that does not own the ledger cannot switch
its triggers off, and init-target warns when the role it runs as could."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from audit.entries import make_body
from audit.ledger import append
from audit.privileges import hand_over_ledger, ledger_guard_warning
from core.db import create_engine
from cutover.cli import main
from migration.load.schema import upgrade_target


def test_the_ledger_owned_by_another_role_holds_against_the_migrating_role(pg_databases, tmp_path,  # type: ignore[no-untyped-def]
                                                                           monkeypatch, capsys) -> None:
    monkeypatch.setenv("CUTOVER_DATA_DIR", str(tmp_path))
    target = pg_databases.new("target")
    assert main(["init-target", "--target", target]) == 0
    assert "can switch the ledger's triggers off" in capsys.readouterr().err  # the test cluster's role is a superuser
    engine = create_engine(target)
    suffix = uuid.uuid4().hex[:8]
    owner, migrator = f"ledger_owner_{suffix}", f"migrator_{suffix}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {owner} NOLOGIN")
        conn.exec_driver_sql(f"CREATE ROLE {migrator} NOLOGIN")
    try:
        with engine.begin() as conn:
            hand_over_ledger(conn, owner, migrator)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SET ROLE {migrator}")
            assert ledger_guard_warning(conn) is None
            append(conn, [make_body("plan", counts={"cases": 1})])  # it may append
        for statement in ("ALTER TABLE cutover_ledger DISABLE TRIGGER USER", "UPDATE cutover_ledger SET kind = 'x'",
                          "DELETE FROM cutover_ledger"):
            with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
                conn.exec_driver_sql(f"SET ROLE {migrator}")
                conn.exec_driver_sql(statement)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SET ROLE {owner}")
            warning = ledger_guard_warning(conn)
        assert warning is not None and "owns cutover_ledger" in warning
    finally:
        engine.dispose()
        with create_engine(target).begin() as conn:
            for role in (owner, migrator):
                conn.exec_driver_sql(f"DROP OWNED BY {role}")
                conn.exec_driver_sql(f"DROP ROLE {role}")


def test_sqlite_has_no_roles_to_warn_about(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'target.db'}")
    upgrade_target(engine)
    with engine.connect() as conn:
        assert ledger_guard_warning(conn) is None
