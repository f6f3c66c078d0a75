"""Bulk paths into the target: COPY (psycopg 3) on PostgreSQL, executemany on SQLite, into the
real table or into a per-connection staging table that set-based statements then merge from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.dialects import dialect_of

Row = dict[str, Any]
_staging = sa.MetaData()


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """The connection's dialect's INSERT for a table (the one with ON CONFLICT)."""
    return dialect_of(conn).insert(table)


def copy_rows(conn: Connection, table: sa.Table, rows: Sequence[Row]) -> None:
    """Append rows to a table in bulk, inside the caller's transaction (missing keys are NULL)."""
    if not rows:
        return
    names = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
    dialect_of(conn).copy_rows(conn, table, names, rows)


def copy_frame(conn: Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    """Append a frame's rows to a table in bulk, inside the caller's transaction (the table's
    columns are taken from the frame; other frame columns, such as `_case`, are not written)."""
    names = [c.name for c in table.columns if c.name in frame.columns]
    dialect_of(conn).copy_frame(conn, table, names, frame)


def staging_table(conn: Connection, table: sa.Table) -> sa.Table:
    """An empty temporary table shaped like `table` (no constraints), private to this connection."""
    name = f"_stage_{table.name}"
    stage = _staging.tables.get(name)
    if stage is None:
        stage = sa.Table(name, _staging, *(sa.Column(c.name, c.type) for c in table.columns))
    target = conn.dialect.identifier_preparer.format_table(table)
    dialect_of(conn).create_staging(conn, name, target)
    conn.execute(sa.delete(stage))
    return stage


def stage_rows(conn: Connection, table: sa.Table, rows: Sequence[Row]) -> sa.Table:
    """Put rows (one per primary key: the last wins) into the table's staging table."""
    pk = [c.name for c in table.primary_key]
    unique = list({tuple(r[k] for k in pk): r for r in rows}.values())
    stage = staging_table(conn, table)
    copy_rows(conn, stage, unique)
    return stage


def stage_frame(conn: Connection, table: sa.Table, frame: pl.DataFrame) -> sa.Table:
    """Put a frame's rows (one per primary key: the last wins) into the table's staging table."""
    pk = [c.name for c in table.primary_key]
    stage = staging_table(conn, table)
    copy_frame(conn, stage, frame.unique(subset=pk, keep="last", maintain_order=True))
    return stage
