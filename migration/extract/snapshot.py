"""One consistent view of CID for a batch or a plan: every read in one read-only transaction.

Under READ COMMITTED each statement sees its own snapshot, so an edit committed between a batch's
reads would give rows from before it and a fingerprint from after it. PostgreSQL: one REPEATABLE
READ READ ONLY transaction; SQLite: one read transaction (BEGIN; WAL keeps its snapshot until the
end)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see CID as it was at the first one; rolled back at the end."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin() as trans:
                yield conn
                trans.rollback()
        return
    with engine.connect() as conn:
        # pysqlite begins a transaction only before a write: without this, every SELECT reads
        # whatever is committed when it runs.
        conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()
