"""Shared fixtures: database URLs on SQLite and on the real PostgreSQL that `make test` starts.

A PostgreSQL test never skips: without CUTOVER_TEST_PG_URL it fails and says why."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

AS_OF = dt.date(2026, 11, 1)
ENGINES = ("sqlite", "postgresql")


def pg_admin_url() -> str:
    """The test cluster's URL; its absence is a failure, never a skip."""
    url = os.environ.get("CUTOVER_TEST_PG_URL")
    if not url:
        pytest.fail("CUTOVER_TEST_PG_URL is not set: run the suite with `make test`, which starts a throwaway "
                    "PostgreSQL cluster (scripts/pg.sh start prints its URL)", pytrace=False)
    return url


class Databases:
    """Creates throwaway databases on an engine kind and drops them at the end."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind, self.tmp, self.created = kind, tmp, []  # type: ignore[var-annotated]
        self.created: list[str] = []

    def new(self, label: str) -> str:
        """A fresh empty database URL."""
        name = f"t_{label}_{uuid.uuid4().hex[:10]}"
        if self.kind == "sqlite":
            return f"sqlite:///{self.tmp / name}.db"
        admin = make_url(pg_admin_url())
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        self.created.append(name)
        return admin.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop the PostgreSQL databases created here."""
        if not self.created:
            return
        from migration.run import engine_for

        engine_for.cache_clear()
        admin = make_url(pg_admin_url())
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in self.created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@pytest.fixture(params=ENGINES)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Throwaway databases, once on SQLite and once on PostgreSQL."""
    dbs = Databases(request.param, tmp_path)
    yield dbs
    dbs.drop_all()


@pytest.fixture
def pg_databases(tmp_path: Path) -> Iterator[Databases]:
    """Throwaway databases on PostgreSQL only (for what only a server can show: kill -9, restarts)."""
    dbs = Databases("postgresql", tmp_path)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def session_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, str], str]]:
    """Databases that live for the whole session (for expensive shared data)."""
    made: dict[str, Databases] = {}

    def new(kind: str, label: str) -> str:
        if kind not in made:
            made[kind] = Databases(kind, tmp_path_factory.mktemp(kind))
        return made[kind].new(label)

    yield new
    for dbs in made.values():
        dbs.drop_all()
