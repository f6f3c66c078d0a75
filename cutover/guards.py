"""Checks of both databases before a command touches either: each refusal is one line, exit 2.

A legacy database is always opened read-only. A target is checked through a read-only engine
first, so a refused target is left exactly as it was found."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError

from core.credentials import parse_url
from core.db import create_engine
from core.dialects.sqlite import check_url as check_sqlite_url
from core.errors import CutoverError
from cutover.hints import command_line
from legacy.schema import CASE_HDR, LEGACY_TABLES
from migration.load.schema import ALEMBIC_DIR
from migration.target_schema import target_metadata

ALEMBIC_TABLE = "alembic_version"
# SQLite keeps its own bookkeeping tables beside any application's.
ENGINE_TABLES = frozenset({"sqlite_sequence", "sqlite_stat1", "sqlite_stat4"})
# CASE_HDR first: a database without it is no CID at all, whatever else it holds.
CID_TABLES = (CASE_HDR, *(t for t in LEGACY_TABLES if t is not CASE_HDR))


class GuardError(CutoverError):
    """A database that this command must not use, named in one line."""


@dataclass(frozen=True)
class Targets:
    """What a target database holds, as far as the guards care."""

    exists: bool
    tables: frozenset[str]
    revision: str | None

    @property
    def has_cutover(self) -> bool:
        """The target holds a recorded plan (a cutover has run into it)."""
        return "cutover_plan" in self.tables

    @property
    def other_tables(self) -> list[str]:
        """Tables of another application: neither the target model's nor the engine's own."""
        return sorted(self.tables - set(target_metadata.tables) - {ALEMBIC_TABLE} - ENGINE_TABLES)


def shipped_revisions() -> frozenset[str]:
    """The Alembic revisions this version of the tool ships (file names start with the id)."""
    return frozenset(p.name.split("_", 1)[0] for p in (ALEMBIC_DIR / "versions").glob("[0-9]*_*.py"))


def same_database(first: str, second: str) -> bool:
    """Whether two URLs name the same database (same SQLite file, or same server and database)."""
    try:
        a, b = parse_url(first), parse_url(second)
    except ArgumentError:
        return False
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return bool(a.database) and bool(b.database) and Path(a.database or "").resolve() == Path(
            b.database or "").resolve()
    return ((a.host or "localhost"), (a.port or 5432), a.database) == ((b.host or "localhost"), (b.port or 5432),
                                                                      b.database)


def open_legacy(url: str) -> Engine:
    """The legacy database, read-only, after checking it is CID (first missing table or column named)."""
    engine = create_engine(url, read_only=True)
    check_legacy(engine)
    return engine


def check_legacy(engine: Engine) -> None:
    """Refuse a legacy database that lacks a CID table or column."""
    inspector = sa.inspect(engine)
    present = {name.upper(): name for name in inspector.get_table_names()}
    for table in CID_TABLES:
        stored = present.get(table.name.upper())
        if stored is None:
            raise GuardError(f"no {table.name}: not a CID database")
        columns = {c["name"].upper() for c in inspector.get_columns(stored)}
        for column in table.columns:
            if column.name.upper() not in columns:
                raise GuardError(f"no {table.name}.{column.name}: not a CID database")


def survey_target(url: str) -> Targets:
    """What the target holds, read through a read-only engine; a SQLite file not there yet holds nothing."""
    try:
        parsed = parse_url(url)
    except ArgumentError:
        parsed = None  # create_engine names the fault
    if parsed is not None and parsed.get_backend_name() == "sqlite":
        check_sqlite_url(parsed)  # before its path is looked at: a URI's path is not the file's
        if not Path(parsed.database or "").is_file():
            return Targets(exists=False, tables=frozenset(), revision=None)
    engine = create_engine(url, read_only=True)
    try:
        return _holdings(engine)
    finally:
        engine.dispose()


def _holdings(engine: Engine) -> Targets:
    tables = frozenset(sa.inspect(engine).get_table_names())
    revision = None
    if ALEMBIC_TABLE in tables:
        with engine.connect() as conn:
            revision = conn.execute(sa.text(f"SELECT version_num FROM {ALEMBIC_TABLE}")).scalar()
    return Targets(exists=True, tables=tables, revision=revision)


def check_target(target: Targets, *, allow_other_tables: bool = True) -> None:
    """Refuse a target that holds CID's tables, another application's (unless allowed), or a
    schema revision this tool does not ship."""
    # Exact names: the target's own `person` and `address` are not CID's PERSON and ADDRESS.
    cid = [t.name for t in CID_TABLES if t.name in target.tables]
    if cid:
        raise GuardError(f"the target holds CID tables ({cid[0]}, ...): it looks like the legacy database; "
                         "give an empty or cutover database as --target")
    if target.revision is not None and target.revision not in shipped_revisions():
        raise GuardError(f"the target schema is at revision {target.revision[:32]!r}, which this version of "
                         f"cutover does not ship (newest: {max(shipped_revisions())}); use the version that "
                         "wrote it")
    if not allow_other_tables:
        other = target.other_tables
        if other:
            raise GuardError(f"the target holds {len(other)} table(s) of another application (first: {other[0]}); "
                             "give an empty database, or add --allow-other-tables to put the cutover beside them")


def guard_write(legacy_url: str | None, target_url: str, *, allow_other_tables: bool = False) -> Targets:
    """Every check of both databases a writing command needs, before it writes anything."""
    if legacy_url is not None and same_database(legacy_url, target_url):
        raise GuardError("--legacy and --target name the same database (the target is the legacy database); "
                         "the cutover never writes into CID")
    if legacy_url is not None:
        open_legacy(legacy_url).dispose()
    target = survey_target(target_url)
    check_target(target, allow_other_tables=allow_other_tables or target.has_cutover)
    return target


def open_target_for_reading(url: str) -> Engine:
    """The target, read-only, after the checks (never created: a mistyped path is an error; a
    schema behind this version's is named, not upgraded)."""
    engine = create_engine(url, read_only=True)
    held = _holdings(engine)
    check_target(held)
    newest = max(shipped_revisions())
    if held.revision is not None and held.revision != newest:
        raise GuardError(f"the target schema is at revision {held.revision}, older than this cutover's {newest}; "
                         f"upgrade it first: {command_line(['init-target'], target=url)}")
    return engine

