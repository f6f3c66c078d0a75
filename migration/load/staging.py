"""Bulk paths into the target: COPY (psycopg 3) on PostgreSQL, executemany on SQLite, into the
real table or into a per-connection staging table that set-based statements then merge from."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

Row = dict[str, Any]
_staging = sa.MetaData()


# Each dialect's INSERT (the one with ON CONFLICT), by dialect name.
DIALECT_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """The connection's dialect's INSERT for a table (the one with ON CONFLICT)."""
    return DIALECT_INSERTS[conn.dialect.name](table)


def copy_rows(conn: Connection, table: sa.Table, rows: Sequence[Row]) -> None:
    """Append rows to a table in bulk, inside the caller's transaction (missing keys are NULL)."""
    if not rows:
        return
    names = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), [{n: r.get(n) for n in names} for r in rows])
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
    target = conn.dialect.identifier_preparer.format_table(table)
    # Rows from the mappers hold every column: one C-level pick each; others have gaps (NULL).
    pick = operator.itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    with raw.cursor() as cur, cur.copy(f"COPY {target} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            try:
                values = pick(row)
            except KeyError:
                values = tuple(row.get(n) for n in names)
            copy.write_row(values)


def staging_table(conn: Connection, table: sa.Table) -> sa.Table:
    """An empty temporary table shaped like `table` (no constraints), private to this connection."""
    name = f"_stage_{table.name}"
    stage = _staging.tables.get(name)
    if stage is None:
        stage = sa.Table(name, _staging, *(sa.Column(c.name, c.type) for c in table.columns))
    target = conn.dialect.identifier_preparer.format_table(table)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {name} (LIKE {target}) ON COMMIT DELETE ROWS")
    else:
        conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {name} AS SELECT * FROM main.{target} WHERE 0")
    conn.execute(sa.delete(stage))
    return stage


def stage_rows(conn: Connection, table: sa.Table, rows: Sequence[Row]) -> sa.Table:
    """Put rows (one per primary key: the last wins) into the table's staging table."""
    pk = [c.name for c in table.primary_key]
    unique = list({tuple(r[k] for k in pk): r for r in rows}.values())
    stage = staging_table(conn, table)
    copy_rows(conn, stage, unique)
    return stage
