"""Foreign keys of new rows checked per batch: where the role may skip PostgreSQL's per-row
triggers, a row referring to nothing is still refused and its case alone quarantined; the
ledger's append-only triggers fire in that mode too; without the grant, rows are checked one by
one and the log says so once."""

from __future__ import annotations

import logging
import uuid

import polars as pl
import pytest
import sqlalchemy as sa

from audit.entries import make_body
from audit.ledger import append
from core.db import create_engine
from core.dialects import dialect_of
from migration.load.batch import write_rows
from migration.load.foreign_keys import skip_row_checks
from migration.load.rejects import find_refused, refuse_cases
from migration.load.schema import upgrade_target
from migration.target_schema import CASE, CASE_PARTY
from migration.transform.frames import CASE_COLUMN
from migration.transform.keys import key
from tests.conftest import Databases
from tests.migration.test_write_path import _fell_back, _made, _migrated, _write


@pytest.mark.parametrize("which", ["any case", "the case standing for a human another case names"])
def test_a_new_row_referring_to_nothing_quarantines_its_case_alone(databases: Databases, monkeypatch,  # type: ignore[no-untyped-def]
                                                                   which: str) -> None:
    legacy, target, result = _made(databases)
    migrated = sorted(_migrated(result))
    victim = migrated[len(migrated) // 2] if which == "any case" else migrated[0]
    nowhere = key("person", "nowhere")
    result.rows[CASE_PARTY.name] = result.rows[CASE_PARTY.name].with_columns(
        pl.when(pl.col(CASE_COLUMN) == victim).then(pl.lit(str(nowhere))).otherwise(pl.col("person_id"))
        .alias("person_id"))
    fell_back = _fell_back(monkeypatch)

    refused = find_refused(create_engine(target), result, write_rows)

    assert list(refused) == [victim]
    if databases.kind == "postgresql":
        assert refused[victim] == ("case_party", "fk_case_party_person_id_person")
    assert fell_back[0]  # the batch check (or SQLite's own) sent the whole batch to the merge
    refuse_cases(result, refused)
    _write(target, result)
    with create_engine(target).connect() as conn:
        written = set(conn.execute(sa.select(CASE.c.legacy_case_id)).scalars())
    assert written == set(migrated) - {victim}


def test_the_ledger_refuses_change_in_a_replica_session(pg_databases: Databases) -> None:
    engine = create_engine(pg_databases.new("target"))
    upgrade_target(engine)
    with engine.begin() as conn:
        append(conn, [make_body("plan", counts={"cases": 1})])
    for table, column in (("cutover_ledger", "kind"), ("cutover_checkpoint", "root"), ("cutover_log", "origin")):
        for statement in (f"UPDATE {table} SET {column} = 'x'", f"DELETE FROM {table}", f"TRUNCATE {table}"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                conn.exec_driver_sql("INSERT INTO cutover_checkpoint (size, root, note, key_fingerprint, public_key) "
                                     "VALUES (1, 'r', 'n', 'k', 'p')")
                conn.exec_driver_sql(statement)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM cutover_ledger").scalar() == 1


def test_only_a_granted_role_skips_row_checks_and_the_log_says_so_once(pg_databases: Databases,  # type: ignore[no-untyped-def]
                                                                        caplog) -> None:
    loader = f"loader_{uuid.uuid4().hex[:8]}"
    without, granted = (create_engine(pg_databases.new(label)) for label in ("without", "granted"))
    with without.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {loader} NOLOGIN")
    try:
        caplog.set_level(logging.INFO, logger="cutover")
        for _ in range(2):
            with without.begin() as conn:
                conn.exec_driver_sql(f"SET LOCAL ROLE {loader}")
                assert skip_row_checks(conn) is False
                assert conn.exec_driver_sql("SHOW session_replication_role").scalar() == "origin"
        said = [r.getMessage() for r in caplog.records if "session_replication_role" in r.getMessage()]
        assert len(said) == 1 and loader not in said[0]
        with without.begin() as conn:
            conn.exec_driver_sql(f"GRANT SET ON PARAMETER session_replication_role TO {loader}")
        with granted.begin() as conn:
            conn.exec_driver_sql(f"SET LOCAL ROLE {loader}")
            assert dialect_of(conn).may_skip_row_triggers(conn)
            assert skip_row_checks(conn) is True
            assert conn.exec_driver_sql("SHOW session_replication_role").scalar() == "replica"
    finally:
        with without.begin() as conn:
            conn.exec_driver_sql(f"REVOKE SET ON PARAMETER session_replication_role FROM {loader}")
            conn.exec_driver_sql(f"DROP ROLE {loader}")
