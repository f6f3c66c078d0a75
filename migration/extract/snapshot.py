"""One consistent view of CID for a batch or a plan: every read in one read-only transaction.

Under READ COMMITTED each statement sees its own snapshot, so an edit committed between a batch's
reads would give rows from before it and a fingerprint from after it. PostgreSQL: one REPEATABLE
READ READ ONLY transaction; SQLite: one read transaction (BEGIN; WAL keeps its snapshot until the
end)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy.engine import Connection, Engine

from core.dialects import dialect_of


def snapshot(engine: Engine) -> AbstractContextManager[Connection]:
    """A connection whose reads all see CID as it was at the first one; rolled back at the end."""
    return dialect_of(engine).snapshot(engine)
