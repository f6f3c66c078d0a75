"""No database password is stored anywhere: not in Prefect's store, the data folder or the
target's cutover_* tables; and Prefect's flow runs are named for their waves and as-of date."""

from __future__ import annotations

import sqlite3
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.conftest import Databases, pg_admin_url
from tests.flows.test_cli_flows import cutover
from tests.helpers import generate


class PasswordRun:
    """A whole cutover on PostgreSQL as a role with a password given in both URLs on the command line."""

    def __init__(self, home: Path, password: str, target_url: str) -> None:
        self.home, self.password, self.target_url = home, password, target_url


@pytest.fixture(scope="module")
def password_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PasswordRun]:
    home = tmp_path_factory.mktemp("secrets")
    dbs = Databases("postgresql", home)
    password = f"pw-{uuid.uuid4().hex}"
    role = f"t_role_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(make_url(pg_admin_url()), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    try:
        urls = []
        for label in ("legacy", "target"):
            url = make_url(dbs.new(label))
            with admin.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{url.database}" OWNER TO {role}')
            urls.append(url.set(username=role, password=password).render_as_string(hide_password=False))
        legacy, target = urls
        generate(legacy, 300, seed=24)
        result = cutover(home, "run", "--all", "--as-of", "2026-11-01", "--batch-size", "100",
                         "--legacy", legacy, "--target", target)
        assert result.returncode == 0, result.stderr[-2000:]
        assert password not in result.stdout + result.stderr
        yield PasswordRun(home, password, target)
    finally:
        dbs.drop_all()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()


@pytest.mark.e2e
def test_the_password_is_in_no_file_of_prefect_or_the_data_folder(password_run: PasswordRun) -> None:
    secret = password_run.password.encode()
    searched = [p for folder in ("prefect", "data") for p in (password_run.home / folder).rglob("*") if p.is_file()]
    assert any(p.name == "prefect.db" for p in searched)  # Prefect's store is among them
    holding = [str(p) for p in searched if secret in p.read_bytes()]
    assert holding == []
    with sqlite3.connect(password_run.home / "prefect" / "prefect.db") as conn:
        params = [row[0] for row in conn.execute("SELECT parameters FROM flow_run")]
    assert params and all("***" in p for p in params)  # the URLs are there, masked


@pytest.mark.e2e
def test_the_password_is_in_no_cutover_table_of_the_target(password_run: PasswordRun) -> None:
    engine = sa.create_engine(password_run.target_url)
    try:
        with engine.connect() as conn:
            tables = [t for t in sa.inspect(conn).get_table_names() if t.startswith("cutover_")]
            assert "cutover_run" in tables and "cutover_ledger" in tables
            for table in tables:
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                    assert password_run.password not in repr(tuple(row)), table
    finally:
        engine.dispose()


@pytest.mark.e2e
def test_prefect_s_store_is_readable_by_its_owner_only(password_run: PasswordRun) -> None:
    home = password_run.home / "prefect"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "prefect.db").stat().st_mode) == 0o600


@pytest.mark.e2e
def test_flow_runs_are_named_by_wave_and_as_of_date(password_run: PasswordRun) -> None:
    from migration.rules.waves import WAVE_ORDER

    with sqlite3.connect(password_run.home / "prefect" / "prefect.db") as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM flow_run")}
    assert names == {"cutover-all-waves-as-of-2026-11-01",
                     *(f"wave-{wave}-as-of-2026-11-01" for wave in WAVE_ORDER)}
