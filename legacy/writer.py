"""Bulk writes into the legacy database: COPY on PostgreSQL, batched executemany elsewhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.dialects import dialect_of
from core.errors import CutoverError
from legacy.refdata import REF_NATIONALITY_ROWS, REF_STATUS_ROWS, REF_UNIT_ROWS
from legacy.schema import LEGACY_TABLES, REF_NATIONALITY, REF_STATUS, REF_UNIT, legacy_metadata


class LegacyNotEmptyError(CutoverError):
    """The legacy database already holds data and --replace was not given."""


def prepare_legacy(engine: Engine, *, replace: bool) -> None:
    """Create the CID tables; refuse to touch a database that holds CID rows unless replacing."""
    existing = set(sa.inspect(engine).get_table_names())
    # By exact name: SQLite's names are case-blind, so a target's `address` would pass for CID's
    # ADDRESS there, and be written into or dropped.
    others = sorted(existing - {t.name for t in LEGACY_TABLES})
    if others:
        raise LegacyNotEmptyError(f"the database holds {len(others)} table(s) that are not CID's (first: {others[0]}); "
                                  "generate writes only into an empty database or a CID it generated")
    ours = {t.name for t in LEGACY_TABLES} & existing
    if ours and not replace:
        with engine.connect() as conn:
            for name in sorted(ours):
                if conn.execute(sa.select(sa.func.count()).select_from(legacy_metadata.tables[name])).scalar():
                    raise LegacyNotEmptyError(
                        f"the legacy database already holds data (table {name}); use --replace to overwrite it"
                    )
    if replace:
        legacy_metadata.drop_all(engine)
    legacy_metadata.create_all(engine)
    with engine.begin() as conn:
        ref_rows = ((REF_STATUS, REF_STATUS_ROWS), (REF_NATIONALITY, REF_NATIONALITY_ROWS), (REF_UNIT, REF_UNIT_ROWS))
        for table, rows in ref_rows:
            conn.execute(sa.delete(table))
            conn.execute(table.insert(), [dict(zip(table.c.keys(), row, strict=True)) for row in rows])


def write_rows(conn: Connection, rows_by_table: Mapping[str, Sequence[Mapping[str, Any]]]) -> int:
    """Write rows per table in one go each; return how many rows were written."""
    written = 0
    for name, rows in rows_by_table.items():
        if not rows:
            continue
        table = legacy_metadata.tables[name]
        dialect_of(conn).copy_rows(conn, table, list(table.c.keys()), rows)
        written += len(rows)
    return written

