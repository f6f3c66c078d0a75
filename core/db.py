"""Engines for both sides, with the checks that turn a bad URL into a one-line error."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from core.errors import CutoverError


class DatabaseError(CutoverError):
    """A database cannot be reached or used; the message is safe to print (no row values)."""


def create_engine(url: str, *, must_exist: bool = False, read_only: bool = False) -> Engine:
    """Create an engine for a URL and check it connects; raise DatabaseError in one line if not.
    A read-only engine writes nothing: SQLite opened with `mode=ro` (no file or folder created, no
    journal-mode switch), PostgreSQL sessions with `default_transaction_read_only`."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError("not a database URL (expected dialect+driver://user@host/database)") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if (must_exist or read_only) and not path.is_file():
            raise DatabaseError(f"no SQLite database at {path}")
        if read_only:
            parsed = parsed.set(database=f"file:{quote(str(path.resolve()))}?mode=ro", query={"uri": "true"})
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    # Reconciliation hashes the text of timestamps in SQL: one time zone for every session.
    options = "-c timezone=UTC" + (" -c default_transaction_read_only=on" if read_only else "")
    connect_args = {"options": options} if parsed.get_backend_name() == "postgresql" else {}
    try:
        engine = sa.create_engine(parsed, future=True, pool_pre_ping=True, connect_args=connect_args)
    except (NoSuchModuleError, ArgumentError) as exc:
        raise DatabaseError(f"unsupported database URL: {safe_url(url)}") from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_read_pragmas if read_only else _sqlite_pragmas)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        raise DatabaseError(f"cannot connect to {safe_url(url)}: {_reason(exc)}") from exc
    return engine


def safe_url(url: str) -> str:
    """Render a URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"


def _reason(exc: OperationalError) -> str:
    first = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
    return first[:200]


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    _sqlite_read_pragmas(dbapi_conn, _record)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_read_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    from migration.sqlhash import sqlite_functions

    sqlite_functions(dbapi_conn)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def key_list(conn: Connection, column: sa.ColumnElement[Any], keys: Sequence[Any]) -> sa.ColumnElement[bool]:
    """`column IN keys`, sent as one array parameter on PostgreSQL (a statement with thousands of
    bound values costs more to compile and convert than to run)."""
    if conn.dialect.name == "postgresql" and keys:
        return column == sa.any_(sa.bindparam(None, list(keys), type_=postgresql.ARRAY(column.type)))
    return column.in_(list(keys))


class JoinedInts(str):
    """Integers already written as an array's text, `{1,2,3}`, to send one list many times without
    writing it again (at a million keys each copy is ~8 MiB)."""

    __slots__ = ()


Ints = Iterable[int] | JoinedInts


def within(column: sa.ColumnElement[Any], low: Any, high: Any) -> list[sa.ColumnElement[bool]]:
    """`low < column <= high` as WHERE clauses, each bound left out when None (open)."""
    return [*([column > low] if low is not None else []), *([column <= high] if high is not None else [])]


def joined_ints(values: Ints) -> JoinedInts:
    """These integers as an array's text, written once."""
    return values if isinstance(values, JoinedInts) else JoinedInts("{" + ",".join(map(str, values)) + "}")


def int_table(conn: Connection, name: str, columns: dict[str, Ints]) -> sa.FromClause:
    """A table of integer columns to join with in a single statement. PostgreSQL: arrays sent as
    one text parameter each and unnested side by side (nothing written, so a read-only standby
    serves). SQLite: a TEMP table of this connection, indexed on its first column, filled anew
    on each call (SQLite joins a table-valued function by scanning it once per outer row)."""
    if conn.dialect.name == "postgresql":
        return sa.func.unnest(*(int_array(v) for v in columns.values())).table_valued(
            *(sa.column(c, sa.BigInteger) for c in columns)).render_derived(name=name)
    table, names = f"cutover_keys_{name}", list(columns)
    conn.exec_driver_sql(f'DROP TABLE IF EXISTS temp."{table}"')
    conn.exec_driver_sql(f'CREATE TEMP TABLE "{table}" ({", ".join(f"{c} INTEGER" for c in names)})')
    rows = list(zip(*(_ints(v) for v in columns.values()), strict=True))
    if rows:
        marks = ", ".join("?" for _ in names)
        conn.exec_driver_sql(f'INSERT INTO temp."{table}" VALUES ({marks})', rows)
    conn.exec_driver_sql(f'CREATE INDEX temp."{table}_first" ON "{table}" ({names[0]})')
    return sa.table(table, *(sa.column(c, sa.BigInteger) for c in names))


def _ints(values: Ints) -> list[int]:
    if isinstance(values, JoinedInts):
        return [int(v) for v in values[1:-1].split(",")] if len(values) > 2 else []
    return list(values)


def int_array(values: Ints) -> sa.ColumnElement[Any]:
    """A PostgreSQL bigint[] of these integers, sent as one text literal the server casts: far
    cheaper to send than a list psycopg dumps item by item, but the planner cannot see into it,
    so it suits a set-returning unnest(), never a filter `= ANY()` the planner must size."""
    return sa.cast(sa.bindparam(None, joined_ints(values), type_=sa.Text), postgresql.ARRAY(sa.BigInteger()))
