"""Shared fixtures: database URLs on SQLite and on the real PostgreSQL that `make test` starts.

A PostgreSQL test never skips: without CUTOVER_TEST_PG_URL it fails and says why."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

AS_OF = dt.date(2026, 11, 1)
ENGINES = ("sqlite", "postgresql")
# `copy(cases, seed, batch_size)` -> (legacy URL, target URL) of a fresh copy of a migrated template.
Copier = Callable[..., tuple[str, str]]


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

    def copy(self, url: str, label: str) -> str:
        """A fresh database holding what the database at `url` holds (a template a test may change)."""
        name = f"t_{label}_{uuid.uuid4().hex[:10]}"
        if self.kind == "sqlite":
            path = self.tmp / f"{name}.db"
            # The backup API, not a file copy: it carries what the write-ahead log still holds.
            with contextlib.closing(sqlite3.connect(make_url(url).database or "")) as source, \
                    contextlib.closing(sqlite3.connect(path)) as dest:
                source.backup(dest)
            return f"sqlite:///{path}"
        admin = make_url(pg_admin_url())
        template = make_url(url).database
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            # PostgreSQL copies a template only while nobody else is connected to it.
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": template})
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
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


@pytest.fixture(autouse=True, scope="session")
def own_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Defaults under a data folder of the session's own (inherited by the commands tests start):
    what a demo left in the working copy's data/ never reaches a test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUTOVER_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        yield


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


@pytest.fixture(scope="session")
def migrated_templates(session_databases: Callable[[str, str], str]) -> Callable[..., tuple[str, str]]:
    """Small CIDs migrated whole, built once per session per engine and recipe: (legacy, target)."""
    from core.db import create_engine
    from migration.run import RunConfig, engine_for
    from reconciliation import reconcile
    from tests.helpers import generate, run_all

    built: dict[tuple[str, int, int, int], tuple[str, str]] = {}

    def template(kind: str, cases: int, seed: int, batch_size: int) -> tuple[str, str]:
        recipe = (kind, cases, seed, batch_size)
        if recipe not in built:
            legacy, target = session_databases(kind, "tlegacy"), session_databases(kind, "ttarget")
            generate(legacy, cases, seed=seed)
            run_all(RunConfig(legacy, target, AS_OF, batch_size=batch_size))
            source, dest = create_engine(legacy), create_engine(target)
            assert reconcile(source, dest, AS_OF).balanced
            for engine in (source, dest, engine_for(legacy), engine_for(target)):
                engine.dispose()
            built[recipe] = legacy, target
        return built[recipe]

    return template


def _copier(databases: Databases, templates: Copier) -> Copier:
    """A Copier onto the engine of `databases`."""

    def copy(cases: int, seed: int, batch_size: int) -> tuple[str, str]:
        legacy, target = templates(databases.kind, cases, seed, batch_size)
        return databases.copy(legacy, "legacy"), databases.copy(target, "target")

    return copy


@pytest.fixture
def migrated_copy(databases: Databases, migrated_templates: Copier) -> Copier:
    """A test's own copy of a small migrated CID and its target, on this test's engine:
    `migrated_copy(cases, seed, batch_size)` -> (legacy URL, target URL)."""
    return _copier(databases, migrated_templates)


@pytest.fixture
def sqlite_migrated_copy(tmp_path: Path, migrated_templates: Copier) -> Copier:
    """As `migrated_copy`, on SQLite only (for what needs no server)."""
    return _copier(Databases("sqlite", tmp_path), migrated_templates)
