"""Engines for both sides, with the checks that turn a bad URL into a one-line error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from core.credentials import parse_url
from core.dialects import BACKENDS, dialect_of
from core.dialects.ints import Ints, JoinedInts, joined_ints
from core.errors import DatabaseError

__all__ = ["DatabaseError", "Ints", "JoinedInts", "create_engine", "int_table", "joined_ints", "key_list",
           "safe_url", "within"]


def create_engine(url: str, *, must_exist: bool = False, read_only: bool = False) -> Engine:
    """Create an engine for a URL and check it connects; raise DatabaseError in one line if not.
    A read-only engine writes nothing: SQLite opened with `mode=ro` (no file or folder created, no
    journal-mode switch), PostgreSQL sessions with `default_transaction_read_only`."""
    try:
        parsed = parse_url(url)
    except ArgumentError:
        raise DatabaseError("not a database URL (expected dialect+driver://user@host/database)") from None
    backend = BACKENDS.get(parsed.get_backend_name())
    connect_args: dict[str, Any] = {}
    if backend is not None:
        parsed = backend.prepared_url(parsed, must_exist=must_exist, read_only=read_only)
        connect_args = backend.connect_args(read_only=read_only)
    try:
        engine = sa.create_engine(parsed, future=True, pool_pre_ping=True, connect_args=connect_args)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise DatabaseError(f"unsupported database URL: {safe_url(url)}") from exc
    if engine.dialect.name in BACKENDS:
        dialect_of(engine).set_up(engine, read_only=read_only)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        raise DatabaseError(f"cannot connect to {safe_url(url)}: {_reason(exc)}") from exc
    return engine


def safe_url(url: str) -> str:
    """Render a URL without its password."""
    try:
        return parse_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"


def _reason(exc: OperationalError) -> str:
    first = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
    return first[:200]


def key_list(conn: Connection, column: sa.ColumnElement[Any], keys: Sequence[Any]) -> sa.ColumnElement[bool]:
    """`column IN keys`, sent as one array parameter on PostgreSQL (a statement with thousands of
    bound values costs more to compile and convert than to run)."""
    return dialect_of(conn).key_list(column, keys)


def for_batch_statements(conn: Connection) -> Connection:
    """Set this transaction up for a batch's statements: look-ups of a few thousand keys and
    writes of a few thousand rows, on several lanes at once. PostgreSQL would compile a statement
    of high estimated cost to machine code (JIT), at more cost than running it, and would spread a
    look-up of thousands of keys over parallel workers that scan the whole table on the cores the
    other lanes use; both are turned off for the transaction. And at its default cost of a random
    page read (4, a disk's), it reads a table of a million rows end to end rather than look its
    thousands of keys up in the index: a random read is costed as on the SSD storage or the
    cache a target runs from (1.1), and an index is used for a batch's keys. Long values (case
    notes, digest packs) are compressed with lz4 where the server has it: pglz, the default, took
    a third of the time of writing case notes."""
    backend = dialect_of(conn)
    backend.set_local(conn, "jit", "off")
    backend.set_local(conn, "max_parallel_workers_per_gather", "0")
    backend.set_local(conn, "random_page_cost", "1.1")
    backend.compress_cheaply(conn)
    return conn


def for_target_batch(conn: Connection) -> Connection:
    """for_batch_statements, for a batch's transaction on the target, with sequential scans off.
    For the ten to twenty thousand keys whose rows a batch's digests read back, PostgreSQL's
    estimates would have it read the growing person, case and task tables end to end, batch after
    batch; every target table is indexed on the keys a batch looks up, so an index serves (a table
    without one, such as a staging table, is still read whole). CID's reads keep the planner's
    choice: a CID is not ours to index."""
    for_batch_statements(conn)
    dialect_of(conn).set_local(conn, "enable_seqscan", "off")
    return conn


def within(column: sa.ColumnElement[Any], low: Any, high: Any) -> list[sa.ColumnElement[bool]]:
    """`low < column <= high` as WHERE clauses, each bound left out when None (open)."""
    return [*([column > low] if low is not None else []), *([column <= high] if high is not None else [])]


def int_table(conn: Connection, name: str, columns: dict[str, Ints]) -> sa.FromClause:
    """A table of integer columns to join with in a single statement: unnested arrays on
    PostgreSQL, an indexed TEMP table on SQLite (core/dialects)."""
    return dialect_of(conn).int_table(conn, name, columns)
