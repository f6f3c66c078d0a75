"""SQLite's side of every backend difference: file URLs, pragmas, the hash functions PostgreSQL
has built in, TEMP tables for key lists, and an explicit BEGIN for a read snapshot."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import URL, Connection, Engine

from core.dialects.ints import Ints, int_list
from core.errors import DatabaseError

HAS_ROLES = False
# How long a connection waits for another's lock before SQLITE_BUSY.
BUSY_TIMEOUT_MS = 30_000
insert = sqlite.insert
FIELD_HASH_CHARS = 8


def check_url(url: URL) -> None:
    """Refuse what a SQLite URL may say beyond a file's path: a user, host or options, or a
    `file:` URI, whose path the checks that tell the legacy database from the target would not see."""
    if url.username or url.password or url.host or url.port or url.query or str(url.database or "").startswith("file:"):
        raise DatabaseError("a SQLite URL names a file and nothing else: sqlite:///path/to/file.db")


def prepared_url(url: URL, *, must_exist: bool, read_only: bool) -> URL:
    """A file URL checked (DatabaseError when it must exist and does not), its folder made for a
    writable one, and `mode=ro` for a read-only one (no file or folder created, no journal switch)."""
    check_url(url)
    if url.database in (None, "", ":memory:"):
        return url
    path = Path(str(url.database))
    if (must_exist or read_only) and not path.is_file():
        raise DatabaseError(f"no SQLite database at {path}")
    if read_only:
        return url.set(database=f"file:{quote(str(path.resolve()))}?mode=ro", query={"uri": "true"})
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Created readable by its owner alone (it will hold personal data); SQLite gives its
        # journal and WAL files the database file's mode. No O_EXCL: runs starting together on a
        # new target may both get here.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    return url


def connect_args(*, read_only: bool) -> dict[str, Any]:
    """No driver options: the pragmas are set on each new connection."""
    return {}


def set_up(engine: Engine, *, read_only: bool) -> None:
    """Pragmas and hash functions on each new connection; WAL only for a writable database."""
    sa.event.listen(engine, "connect", _read_pragmas if read_only else _pragmas)


def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    _read_pragmas(dbapi_conn, _record)
    cur = dbapi_conn.cursor()
    _switch_to_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _switch_to_wal(cur: sqlite3.Cursor) -> None:
    """Put the database in WAL mode, waiting as the busy timeout would: of processes opening a new
    database file at once, one switching it can get SQLITE_BUSY at once, the busy handler not
    called (without this wait, a run started beside another on a new target fails to connect)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _read_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    sqlite_functions(dbapi_conn)
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def hash64(text: str | None, seed: int) -> int | None:
    """A signed 64-bit hash of a text under a seed (the stand-in for PostgreSQL's own)."""
    if text is None:
        return None
    digest = hashlib.blake2b(str(text).encode(), digest_size=8, salt=seed.to_bytes(16, "little")).digest()
    return int.from_bytes(digest, "little", signed=True)


def h32(text: str | None) -> int | None:
    """The 32-bit field hash: the first 8 hex digits of the text's md5, as an integer."""
    return None if text is None else int(hashlib.md5(str(text).encode()).hexdigest()[:FIELD_HASH_CHARS], 16)


def sqlite_functions(dbapi_conn: Any) -> None:
    """md5, a text's 32-bit field hash and a 64-bit hash (PostgreSQL has its own)."""
    dbapi_conn.create_function("md5", 1, lambda s: None if s is None else hashlib.md5(str(s).encode()).hexdigest(),
                               deterministic=True)
    dbapi_conn.create_function("cutover_h32", 1, h32, deterministic=True)
    dbapi_conn.create_function("cutover_hash64", 2, hash64, deterministic=True)


def key_list(column: sa.ColumnElement[Any], keys: Sequence[Any]) -> sa.ColumnElement[bool]:
    """`column IN keys`."""
    return column.in_(list(keys))


def uuid_keys(texts: list[str]) -> list[Any]:
    """UUID keys (canonical text) as a key list takes them: UUIDs (SQLite stores their hex)."""
    return [uuid.UUID(t) for t in texts]


def int_table(conn: Connection, name: str, columns: dict[str, Ints]) -> sa.FromClause:
    """A TEMP table of this connection, indexed on its first column, filled anew on each call
    (SQLite joins a table-valued function by scanning it once per outer row)."""
    table, names = f"cutover_keys_{name}", list(columns)
    conn.exec_driver_sql(f'DROP TABLE IF EXISTS temp."{table}"')
    conn.exec_driver_sql(f'CREATE TEMP TABLE "{table}" ({", ".join(f"{c} INTEGER" for c in names)})')
    rows = list(zip(*(int_list(v) for v in columns.values()), strict=True))
    if rows:
        marks = ", ".join("?" for _ in names)
        conn.exec_driver_sql(f'INSERT INTO temp."{table}" VALUES ({marks})', rows)
    conn.exec_driver_sql(f'CREATE INDEX temp."{table}_first" ON "{table}" ({names[0]})')
    return sa.table(table, *(sa.column(c, sa.BigInteger) for c in names))


def copy_rows(conn: Connection, table: sa.Table, names: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert rows (mappings) into these columns of a table with executemany (missing keys NULL)."""
    conn.execute(table.insert(), [{n: r.get(n) for n in names} for r in rows])


def read_frame(conn: Connection, stmt: sa.Select[Any], schema: pl.Schema) -> pl.DataFrame:
    """The rows of a SELECT as a frame of this schema (its columns in the SELECT's order)."""
    return pl.DataFrame(conn.execute(stmt).fetchall(), schema=schema, orient="row")


def copy_frame(conn: Connection, table: sa.Table, names: Sequence[str], frame: pl.DataFrame) -> None:
    """Insert a frame's columns `names` into those of a table with executemany (UUID text as UUIDs,
    which SQLite stores as SQLAlchemy's Uuid type writes them)."""
    if frame.is_empty():
        return
    uuids = [n for n in names if isinstance(table.c[n].type, sa.Uuid)]
    rows = frame.select(names).to_dicts()
    for row in rows:
        for n in uuids:
            if row[n] is not None:
                row[n] = uuid.UUID(row[n])
    conn.execute(table.insert(), rows)


def savepoint(conn: Connection) -> AbstractContextManager[Any]:
    """A savepoint in the caller's transaction. pysqlite opens a transaction only before a write,
    and a SAVEPOINT outside one would begin (and its release commit) a transaction of its own: the
    transaction is opened first."""
    raw = conn.connection.driver_connection
    if raw is not None and not raw.in_transaction:
        conn.exec_driver_sql("BEGIN")
    return conn.begin_nested()


def may_skip_row_triggers(conn: Connection) -> bool:
    """SQLite checks foreign keys in-process, row by row: nothing to skip."""
    return False


def skip_row_triggers(conn: Connection, skip: bool) -> None:
    """Nothing to skip on SQLite."""


def create_staging(conn: Connection, name: str, target: str) -> None:
    """A temporary table with the columns of `target` and none of its constraints."""
    conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {name} AS SELECT * FROM main.{target} WHERE 0")


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A transaction begun at once: every read sees the database as at the first one."""
    with engine.connect() as conn:
        # pysqlite begins a transaction only before a write: without this, every SELECT reads
        # whatever is committed when it runs.
        conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()


def set_local(conn: Connection, setting: str, value: str) -> None:
    """No planner settings to make on SQLite."""


def settle(engine: Engine) -> None:
    """Fold the write-ahead log into the database file, once a command's writes are done: a copy
    of the file alone (a backup, a file handed on) then holds everything committed."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")  # never waits for a reader


def compress_cheaply(conn: Connection) -> None:
    """SQLite compresses nothing."""


def append_lock(conn: Connection, key: int) -> None:
    """No lock to take: SQLite lets one writer in at a time."""


def field_hash_int(text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The migration's 32-bit field hash: md5's first 32 bits."""
    return sa.func.cutover_h32(text, type_=sa.BigInteger)


def hex8(value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A 32-bit field hash as its 8 hex digits."""
    return sa.func.printf("%08x", value)


def row_hash64(conn: Connection, table: sa.Table, seed: int, null_text: str) -> sa.ColumnElement[Any]:
    """The migration's 64-bit hash of a whole row: every column as `length:text` (NULL as its own
    symbol), so no edit can hide at a boundary, hashed by the function registered on connect."""
    parts: list[sa.ColumnElement[Any]] = []
    for col in table.columns:
        text = sa.cast(col, sa.Text)
        parts.append(sa.func.coalesce(sa.cast(sa.func.length(text), sa.Text).concat(":").concat(text), null_text))
    joined: sa.ColumnElement[str] = sa.cast(parts[0], sa.Text)
    for part in parts[1:]:
        joined = joined.concat("|").concat(sa.cast(part, sa.Text))
    return sa.func.cutover_hash64(joined, seed, type_=sa.BigInteger)
