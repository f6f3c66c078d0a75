"""PostgreSQL's side of every backend difference: psycopg 3, arrays, COPY, snapshots, locks."""

from __future__ import annotations

import io
import operator
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import polars as pl
import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Connection, Engine

from core.dialects.ints import Ints, joined_ints

HAS_ROLES = True
insert = postgresql.insert


# Seconds to wait for a server to accept a connection (libpq's connect_timeout), unless the URL or
# PGCONNECT_TIMEOUT says otherwise: a server that takes the connection and never answers would hold
# a command forever.
CONNECT_TIMEOUT_S = 15


def prepared_url(url: URL, *, must_exist: bool, read_only: bool) -> URL:
    """The URL with psycopg 3 as its driver when it names none or psycopg2, and a connect timeout."""
    if url.get_driver_name() in ("", "psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    if "connect_timeout" not in url.query and "PGCONNECT_TIMEOUT" not in os.environ:
        url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})
    return url


def connect_args(*, read_only: bool) -> dict[str, Any]:
    """Session options: UTC and ISO dates (reconciliation hashes the text of timestamps in SQL, and
    extraction parses it), text in UTF-8 whatever the database's encoding (COPY's bytes are read
    as UTF-8), read-only if asked."""
    options = "-c timezone=UTC -c datestyle=ISO"
    return {"options": options + (" -c default_transaction_read_only=on" if read_only else ""),
            "client_encoding": "UTF8"}


def set_up(engine: Engine, *, read_only: bool) -> None:
    """Nothing to add to a PostgreSQL engine: the session options carry it all."""


def key_list(column: sa.ColumnElement[Any], keys: Sequence[Any]) -> sa.ColumnElement[bool]:
    """`column IN keys`, sent as one array parameter (a statement with thousands of bound values
    costs more to compile and convert than to run). UUID and integer keys go as the array's text
    (psycopg would dump a list item by item in Python), in a parameter of no declared type: the
    server reads it as the array itself, a constant the planner sizes and hashes. Declared as
    text, it would be a cast evaluated again for every row a filter tests."""
    if not keys:
        return column.in_([])
    if isinstance(column.type, sa.Uuid | sa.Integer):
        text = "{" + ",".join("NULL" if k is None else str(k) for k in keys) + "}"
        array = sa.cast(sa.bindparam(None, text, type_=sa.types.NullType()), postgresql.ARRAY(column.type))
        return column == sa.any_(array)
    return column == sa.any_(sa.bindparam(None, list(keys), type_=postgresql.ARRAY(column.type)))


def uuid_keys(texts: list[str]) -> list[Any]:
    """UUID keys (canonical text) as a key list takes them: the text itself (the server parses it)."""
    return texts


def int_table(conn: Connection, name: str, columns: dict[str, Ints]) -> sa.FromClause:
    """Arrays sent as one text parameter each and unnested side by side (nothing written, so a
    read-only standby serves)."""
    return sa.func.unnest(*(int_array(v) for v in columns.values())).table_valued(
        *(sa.column(c, sa.BigInteger) for c in columns)).render_derived(name=name)


def int_array(values: Ints) -> sa.ColumnElement[Any]:
    """A bigint[] of these integers, sent as one text literal the server casts: far cheaper to
    send than a list psycopg dumps item by item, but the planner cannot see into it, so it suits
    a set-returning unnest(), never a filter `= ANY()` the planner must size."""
    return sa.cast(sa.bindparam(None, joined_ints(values), type_=sa.Text), postgresql.ARRAY(sa.BigInteger()))


@contextmanager
def _as_sqlalchemy_raises(statement: str) -> Iterator[None]:
    """psycopg's own errors from a COPY, raised as SQLAlchemy raises them for the statements it
    runs, so that retries and refusals read every fault alike."""
    try:
        yield
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def copy_rows(conn: Connection, table: sa.Table, names: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """COPY rows (mappings) into these columns of a table, inside the caller's transaction."""
    raw = conn.connection.driver_connection
    assert raw is not None
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
    target = conn.dialect.identifier_preparer.format_table(table)
    # Rows from the mappers hold every column: one C-level pick each; others have gaps (NULL).
    pick = operator.itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    statement = f"COPY {target} ({quoted}) FROM STDIN"
    with _as_sqlalchemy_raises(statement), raw.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            try:
                values = pick(row)
            except KeyError:
                values = tuple(row.get(n) for n in names)
            copy.write_row(values)


def read_frame(conn: Connection, stmt: sa.Select[Any], schema: pl.Schema) -> pl.DataFrame:
    """The rows of a SELECT as a frame of this schema (its columns in the SELECT's order), read by
    COPY as CSV that Polars parses: no Python object per value. In PostgreSQL's CSV an empty
    string is quoted and NULL is an unquoted empty field, which Polars reads the same way."""
    raw = conn.connection.driver_connection
    assert raw is not None
    compiled = stmt.compile(dialect=conn.dialect)
    data = bytearray()
    statement = f"COPY ({compiled}) TO STDOUT (FORMAT csv)"
    with _as_sqlalchemy_raises(statement), raw.cursor() as cur, cur.copy(statement, compiled.params) as copy:
        for chunk in copy:
            data += chunk
    if not data:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(bytes(data), has_header=False, new_columns=list(schema.names()), schema=schema)


def copy_frame(conn: Connection, table: sa.Table, names: Sequence[str], frame: pl.DataFrame) -> None:
    """COPY a frame's columns `names` into those of a table as CSV written by Polars (no Python per
    row): every text value quoted, so an empty string stays distinct from NULL (an unquoted empty
    field) and a text such as `\\N` or `NULL` stays text."""
    if frame.is_empty():
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
    target = conn.dialect.identifier_preparer.format_table(table)
    # Written as UTF-8 bytes: as a Python str, the CSV of a batch's notes takes three times as
    # long to make, and the driver encodes it back to bytes.
    data = io.BytesIO()
    frame.select(names).write_csv(data, include_header=False, quote_style="non_numeric", null_value="")
    statement = f"COPY {target} ({quoted}) FROM STDIN (FORMAT csv, NULL '')"
    with _as_sqlalchemy_raises(statement), raw.cursor() as cur, cur.copy(statement) as copy:
        copy.write(data.getvalue())


def savepoint(conn: Connection) -> AbstractContextManager[Any]:
    """A savepoint in the caller's transaction: an error inside rolls back to it alone."""
    return conn.begin_nested()


# Per database (URL without password): whether the connected role may set session_replication_role.
_REPLICA_ALLOWED: dict[str, bool] = {}


def may_skip_row_triggers(conn: Connection) -> bool:
    """Whether the role may set session_replication_role (a superuser, or, on PostgreSQL 15 and
    later, a role granted SET on that parameter); asked once per database and process."""
    where = conn.engine.url.render_as_string(hide_password=True)
    if where not in _REPLICA_ALLOWED:
        superuser, version = conn.exec_driver_sql(
            "SELECT rolsuper, current_setting('server_version_num')::int FROM pg_roles "
            "WHERE rolname = current_user").one()
        allowed = bool(superuser) or (version >= 150000 and bool(conn.exec_driver_sql(
            "SELECT has_parameter_privilege('session_replication_role', 'SET')").scalar()))
        _REPLICA_ALLOWED[where] = allowed
    return _REPLICA_ALLOWED[where]


def skip_row_triggers(conn: Connection, skip: bool) -> None:
    """Skip (or fire again) the row triggers left at ENABLE, foreign-key checks included, for the
    rest of the transaction or savepoint: session_replication_role replica (or origin)."""
    conn.exec_driver_sql(f"SET LOCAL session_replication_role = {'replica' if skip else 'origin'}")


def create_staging(conn: Connection, name: str, target: str) -> None:
    """A temporary table shaped like `target`, emptied at each commit."""
    conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {name} (LIKE {target}) ON COMMIT DELETE ROWS")


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only REPEATABLE READ transaction: every read sees the database as at the first one."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin() as trans:
            yield conn
            trans.rollback()


def set_local(conn: Connection, setting: str, value: str) -> None:
    """A planner or session setting for the rest of this transaction."""
    conn.exec_driver_sql(f"SET LOCAL {setting} = {value}")


_LZ4: dict[str, bool] = {}


def settle(engine: Engine) -> None:
    """Nothing: the server holds what was committed."""


def compress_cheaply(conn: Connection) -> None:
    """Compress long values written in the rest of this transaction (case notes, digest packs)
    with lz4 rather than PostgreSQL's default pglz, when the server was built with it: a tenth of
    pglz's CPU for the same values, and a column given a method of its own keeps it."""
    where = conn.engine.url.render_as_string(hide_password=True)
    if where not in _LZ4:
        _LZ4[where] = bool(conn.exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'").scalar())
    if _LZ4[where]:
        set_local(conn, "default_toast_compression", "lz4")


def append_lock(conn: Connection, key: int) -> None:
    """An advisory lock until the transaction ends, not LOCK TABLE: a role that may only insert
    (the table owned by another role) cannot take a table lock that keeps other appenders out."""
    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def field_hash_int(text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The migration's 32-bit field hash: the low 32 bits of hashtextextended (the hash PostgreSQL's
    hash partitioning relies on, so stable across upgrades): an eighth of md5's cost per field."""
    return sa.func.hashtextextended(text, 0).op("&")(sa.literal(0xFFFFFFFF, sa.BigInteger))


def hex8(value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A 32-bit field hash as its 8 hex digits."""
    return sa.func.lpad(sa.func.to_hex(value), 8, "0")


def row_hash64(conn: Connection, table: sa.Table, seed: int, null_text: str) -> sa.ColumnElement[Any]:
    """The migration's 64-bit hash of a whole row: the row itself hashed with each column type's own
    hash (hash_record_extended, PostgreSQL 14+: a third of the cost of md5 over the row's text)."""
    row: sa.ColumnElement[Any] = sa.literal_column(conn.dialect.identifier_preparer.format_table(table))
    return sa.func.hash_record_extended(row, seed, type_=sa.BigInteger)
