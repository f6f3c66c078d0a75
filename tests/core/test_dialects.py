"""Each backend's differences live in its own module, found from a connection by dialect_of."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import uuid
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from core.db import create_engine, for_batch_statements, for_target_batch, int_table, key_list
from core.dialects import dialect_of, postgresql, sqlite
from migration.extract.snapshot import snapshot
from migration.retry import is_transient
from tests.conftest import Databases

ROOT = Path(__file__).resolve().parents[2]
CORE = ("core", "migration", "reconciliation", "audit", "flows", "legacy", "cutover")
COMPARED = re.compile(r"dialect\.name\s*[!=]=|dialect\s*[!=]=")


def test_each_backend_has_its_module(databases: Databases) -> None:
    engine = create_engine(databases.new("any"))
    assert dialect_of(engine) is (postgresql if databases.kind == "postgresql" else sqlite)
    with engine.connect() as conn:
        assert dialect_of(conn) is dialect_of(engine)


def test_key_lists_and_int_tables_select_the_same_rows(databases: Databases) -> None:
    engine = create_engine(databases.new("keys"))
    numbers = sa.Table("numbers", sa.MetaData(), sa.Column("n", sa.Integer, primary_key=True))
    numbers.create(engine)
    with engine.begin() as conn:
        conn.execute(numbers.insert(), [{"n": n} for n in range(1, 11)])
    with engine.connect() as conn:
        listed = conn.execute(sa.select(numbers.c.n).where(key_list(conn, numbers.c.n, [2, 3, 5, 7]))).scalars()
        chosen = int_table(conn, "chosen", {"n": [3, 5, 11]})
        joined = conn.execute(sa.select(numbers.c.n).join(chosen, chosen.c.n == numbers.c.n)).scalars()
        assert sorted(listed) == [2, 3, 5, 7] and sorted(joined) == [3, 5]
        assert conn.execute(sa.select(numbers.c.n).where(key_list(conn, numbers.c.n, []))).all() == []


def test_a_frame_read_keeps_every_value_as_the_driver_reads_it(databases: Databases) -> None:
    engine = create_engine(databases.new("frames"))
    values = sa.Table("vals", sa.MetaData(), sa.Column("n", sa.Integer, primary_key=True), sa.Column("t", sa.Text),
                      sa.Column("ts", sa.DateTime))
    values.create(engine)
    texts = [None, "", "NULL", "\\N", 'a "quoted", value', "two\nlines\r\n", " é 中 😀 ", ",", '"']
    stamps = [None, dt.datetime(2024, 3, 31, 1, 30), dt.datetime(1999, 12, 31, 23, 59, 59, 123456),
              dt.datetime(99, 1, 1), dt.datetime(2020, 2, 29, 0, 0, 0, 1)]
    rows = [{"n": n, "t": texts[n % len(texts)], "ts": stamps[n % len(stamps)]} for n in range(1, 46)]
    with engine.begin() as conn:
        conn.execute(values.insert(), rows)
    schema = pl.Schema([("n", pl.Int64), ("t", pl.String), ("ts", pl.Datetime("us"))])
    with engine.connect() as conn:
        chosen = sa.select(values).where(key_list(conn, values.c.n, list(range(2, 46, 2)))).order_by(values.c.n)
        frame = dialect_of(conn).read_frame(conn, chosen, schema)
        read = [tuple(r) for r in conn.execute(chosen)]
        nothing = dialect_of(conn).read_frame(conn, sa.select(values).where(values.c.n < 0), schema)
    assert frame.schema == schema and frame.rows() == read and len(read) == 22
    assert nothing.is_empty() and nothing.schema == schema


def test_a_key_list_reaches_postgresql_as_a_constant_array(pg_databases: Databases) -> None:
    engine = create_engine(pg_databases.new("keyplan"))
    rows = sa.Table("rows", sa.MetaData(), sa.Column("id", sa.Uuid, primary_key=True), sa.Column("n", sa.Integer))
    rows.create(engine)
    ids = [uuid.uuid5(uuid.NAMESPACE_URL, str(n)) for n in range(2000)]
    with engine.begin() as conn:
        conn.execute(rows.insert(), [{"id": k, "n": n} for n, k in enumerate(ids)])
    with engine.connect() as conn:
        chosen = sa.select(rows.c.id).where(key_list(conn, rows.c.id, [str(k) for k in ids[:500]]),
                                            key_list(conn, rows.c.n, list(range(0, 2000, 2))))
        assert sorted(conn.execute(chosen).scalars()) == sorted(ids[:500:2])
        compiled = chosen.compile(conn)
        plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).scalars())
    # A constant array: parsed once, not a cast of a text evaluated again for every row tested.
    assert "'::uuid[]" in plan and "'::integer[]" in plan and "character varying" not in plan


def test_a_snapshot_does_not_see_a_commit_made_after_its_first_read(databases: Databases) -> None:
    engine = create_engine(databases.new("snap"))
    numbers = sa.Table("numbers", sa.MetaData(), sa.Column("n", sa.Integer, primary_key=True))
    numbers.create(engine)
    with snapshot(engine) as reader:
        assert reader.execute(sa.select(sa.func.count()).select_from(numbers)).scalar() == 0
        with engine.begin() as writer:
            writer.execute(numbers.insert(), [{"n": 1}])
        assert reader.execute(sa.select(sa.func.count()).select_from(numbers)).scalar() == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(numbers)).scalar() == 1


def test_no_module_outside_the_lookups_compares_dialect_names() -> None:
    lookups = {ROOT / "core" / "dialects" / "__init__.py", ROOT / "reconciliation" / "hashing.py"}
    modules = [p for package in CORE for p in (ROOT / package).rglob("*.py")
               if "alembic" not in p.parts and p not in lookups]
    assert len(modules) > 50
    assert not [p.relative_to(ROOT) for p in modules if COMPARED.search(p.read_text())]
    assert COMPARED.search('if conn.dialect.name == "postgresql":')


def test_a_batch_transaction_runs_without_jit_or_parallel_workers_and_compresses_with_lz4(databases: Databases) -> None:
    engine = create_engine(databases.new("settings"))
    with engine.begin() as conn:
        for_batch_statements(conn)
        if databases.kind == "postgresql":
            settings = ("jit", "max_parallel_workers_per_gather", "random_page_cost", "enable_seqscan",
                        "default_toast_compression")
            shown = [conn.exec_driver_sql(f"SHOW {s}").scalar() for s in settings]
            # The server of `make test` is built with lz4; CID's reads keep sequential scans.
            assert shown == ["off", "0", "1.1", "on", "lz4"]
            notes = sa.Table("notes", sa.MetaData(), sa.Column("n", sa.Integer, primary_key=True),
                             sa.Column("t", sa.Text))
            notes.create(conn)
            conn.execute(notes.insert(), [{"n": 1, "t": "a note that says the same " * 400}])
            assert conn.exec_driver_sql("SELECT pg_column_compression(t) FROM notes").scalar() == "lz4"
        assert conn.execute(sa.select(sa.literal(1))).scalar() == 1
    if databases.kind == "postgresql":
        with engine.connect() as conn:  # SET LOCAL: the next transaction has the server's own settings
            assert conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() != "0"


def test_a_target_batch_looks_its_keys_up_in_the_index_where_the_planner_would_read_the_table(
        pg_databases: Databases) -> None:
    engine = create_engine(pg_databases.new("lookups"))
    rows = sa.Table("rows", sa.MetaData(), sa.Column("n", sa.Integer, primary_key=True), sa.Column("t", sa.Text))
    with engine.begin() as conn:
        rows.create(conn)
        conn.exec_driver_sql("INSERT INTO rows SELECT n, repeat('x', 40) FROM generate_series(1, 20000) n")
        conn.exec_driver_sql("ANALYZE rows")
    # A third of the table's keys, as a batch's key lists send them: one array constant.
    keys = "{" + ",".join(str(n) for n in range(1, 20000, 3)) + "}"

    def plan(conn: sa.Connection) -> str:
        explained = conn.exec_driver_sql(f"EXPLAIN SELECT t FROM rows WHERE n = ANY('{keys}'::integer[])")
        return "\n".join(explained.scalars())

    with engine.begin() as conn:
        assert "Seq Scan on rows" in plan(conn)  # the planner alone reads the whole table
    with engine.begin() as conn:
        batch_plan = plan(for_target_batch(conn))
        assert "Seq Scan" not in batch_plan and "rows_pkey" in batch_plan


def test_a_frame_read_is_utf8_whatever_the_client_would_default_to(pg_databases: Databases,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGCLIENTENCODING", "LATIN1")
    engine = create_engine(pg_databases.new("latin"))
    texts = sa.Table("texts", sa.MetaData(), sa.Column("n", sa.Integer, primary_key=True), sa.Column("t", sa.Text))
    texts.create(engine)
    with engine.begin() as conn:
        conn.execute(texts.insert(), [{"n": 1, "t": "Zoë Müller-Ødegård"}])
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW client_encoding").scalar() == "UTF8"
        frame = dialect_of(conn).read_frame(conn, sa.select(texts), pl.Schema([("n", pl.Int64), ("t", pl.String)]))
    assert frame.rows() == [(1, "Zoë Müller-Ødegård")]


def test_a_connection_lost_during_a_frame_read_is_a_fault_the_batch_retries(pg_databases: Databases) -> None:
    engine = create_engine(pg_databases.new("lost"))
    gone = sa.select(sa.func.pg_terminate_backend(sa.func.pg_backend_pid()).label("n"))
    with engine.connect() as conn, pytest.raises(sa.exc.OperationalError) as raised:
        dialect_of(conn).read_frame(conn, gone, pl.Schema([("n", pl.Boolean)]))
    assert is_transient(raised.value)


class _BusyThenFree:
    """A cursor whose first `busy` executions fail as SQLite fails a lock it will not wait for."""

    def __init__(self, busy: int, code: int) -> None:
        self.busy, self.code, self.executed = busy, code, 0

    def execute(self, statement: str) -> None:
        self.executed += 1
        if self.executed <= self.busy:
            exc = sqlite3.OperationalError("database is locked")
            exc.sqlite_errorcode = self.code
            raise exc


def test_switching_a_new_sqlite_file_to_wal_waits_out_an_immediate_busy() -> None:
    from core.dialects.sqlite import _switch_to_wal

    cursor = _BusyThenFree(busy=3, code=sqlite3.SQLITE_BUSY)
    _switch_to_wal(cursor)  # type: ignore[arg-type]
    assert cursor.executed == 4
    other = _BusyThenFree(busy=1, code=sqlite3.SQLITE_IOERR)
    with pytest.raises(sqlite3.OperationalError):
        _switch_to_wal(other)  # type: ignore[arg-type]
    assert other.executed == 1


def test_a_server_that_never_answers_is_an_error_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    from concurrent.futures import ThreadPoolExecutor

    from core.db import DatabaseError

    monkeypatch.setattr(postgresql, "CONNECT_TIMEOUT_S", 2)
    with socket.socket() as silent:  # takes connections into its backlog, answers none
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql+psycopg://mover:s3cret@127.0.0.1:{silent.getsockname()[1]}/atlas"
        pool = ThreadPoolExecutor(1)
        attempt = pool.submit(create_engine, url)
        with pytest.raises(DatabaseError) as caught:
            attempt.result(timeout=30)  # a hang fails here, after 30 s
        pool.shutdown(wait=False)
    assert "cannot connect" in str(caught.value) and "s3cret" not in str(caught.value)
