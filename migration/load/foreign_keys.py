"""Foreign keys of new rows checked once per batch, not once per row. Where the role may, the new
rows are written with the per-row foreign-key triggers skipped (session_replication_role replica,
for the write alone); one look-up per foreign key then checks the keys they refer to outside the
batch, locking those rows as the per-row check would. Without the privilege, PostgreSQL checks each
row itself, as it does for every other write."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import key_list
from core.dialects import dialect_of
from core.log import get_logger
from migration.load.rejects import MissingReference
from migration.target_schema import BUSINESS_TABLES

log = get_logger("load")
_told: set[str] = set()


def skip_row_checks(conn: Connection) -> bool:
    """Skip the per-row foreign-key triggers for what this transaction (or savepoint) writes next,
    when the role may; False (once said in the log) when it may not."""
    backend = dialect_of(conn)
    if backend.may_skip_row_triggers(conn):
        backend.skip_row_triggers(conn, True)
        return True
    where = conn.engine.url.render_as_string(hide_password=True)
    if backend.HAS_ROLES and where not in _told:
        _told.add(where)
        log.info("the target role may not set session_replication_role: foreign keys are checked row by row "
                 "(docs/operations.md, grants)")
    return False


def check_references(conn: Connection, new: Mapping[str, pl.DataFrame]) -> None:
    """Fire the row triggers again and check every foreign key of the new rows in one look-up per
    key: a key the batch's own new rows hold needs none; the rows referred to outside the batch are
    locked (FOR KEY SHARE) so no other transaction removes them before this one commits."""
    dialect_of(conn).skip_row_triggers(conn, False)
    for table in BUSINESS_TABLES:
        rows = new[table.name]
        if rows.is_empty():
            continue
        for fk in sorted(table.foreign_keys, key=lambda k: k.parent.name):
            parent, column = fk.column.table, fk.column.name
            wanted = rows.get_column(fk.parent.name).drop_nulls().unique()
            if parent.name in new:
                wanted = wanted.filter(~wanted.is_in(new[parent.name].get_column(column).implode()))
            if wanted.is_empty():
                continue
            keys = wanted.to_list()
            found = conn.execute(sa.select(parent.c[column]).where(key_list(conn, parent.c[column], keys))
                                 .with_for_update(read=True, key_share=True)).scalars()
            if len({str(k) for k in found}) < len(keys):
                raise MissingReference(table.name, str(fk.constraint.name if fk.constraint is not None else fk.name))
