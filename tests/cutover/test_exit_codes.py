"""Database faults as the documented one line: an outage is exit 1 (run again), an unusable one exit 2."""

from __future__ import annotations

import argparse

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from cutover.cli import main
from tests.conftest import Databases


class _LostConnection(Exception):
    """What a driver raises when the server goes away."""


def test_an_outage_after_the_retries_is_exit_1_with_the_resume_hint(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture) -> None:
    def lost(_args: argparse.Namespace) -> int:
        raise OperationalError("SELECT 1", {}, _LostConnection("server closed the connection"),
                               connection_invalidated=True)

    monkeypatch.setattr("cutover.status_commands.status", lost)
    assert main(["status"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("cutover: error: the database went away during `status`")
    assert err.endswith("run the same command again")


def test_a_database_error_names_its_table_and_sqlstate_never_a_value(
        pg_databases: Databases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    url = pg_databases.new("fault")

    def duplicate(_args: argparse.Namespace) -> int:
        engine = sa.create_engine(url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE applicant (ref integer PRIMARY KEY)")
                conn.exec_driver_sql("INSERT INTO applicant VALUES (424242), (424242)")
        finally:
            engine.dispose()
        return 0

    monkeypatch.setattr("cutover.status_commands.status", duplicate)
    assert main(["status"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "cutover: error: database error IntegrityError (SQLSTATE 23505, table applicant) during `status`"
