"""One write per new row: the rows of cases the target has never held, and of persons it does not
hold, go by COPY straight into their final tables; only the rest goes through staging and a merge."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.dialects import dialect_of
from core.log import get_logger
from migration.load.digests import owner_column
from migration.load.foreign_keys import check_references, skip_row_checks
from migration.load.rejects import is_refusal
from migration.load.staging import copy_frame
from migration.target_schema import BUSINESS_TABLES

Frames = dict[str, pl.DataFrame]
log = get_logger("load")


def uuids(conn: Connection, series: pl.Series) -> list[Any]:
    """A frame's key column (canonical UUID text), each key once, as the dialect's key lists take it."""
    return dialect_of(conn).uuid_keys(series.drop_nulls().unique().to_list())


def split_new(frames: Mapping[str, pl.DataFrame], held_cases: Collection[uuid.UUID],
              held_persons: Collection[uuid.UUID]) -> tuple[Frames, Frames]:
    """(new, held): the rows of cases (persons, for `person` and `address`) the target does not
    hold, and the rows of those it does."""
    cases = pl.Series([str(k) for k in held_cases], dtype=pl.String)
    persons = pl.Series([str(k) for k in held_persons], dtype=pl.String)
    new: Frames = {}
    held: Frames = {}
    for table in BUSINESS_TABLES:
        frame = frames[table.name]
        column = owner_column(table)
        keys = persons if column == "person_id" else cases
        is_held = pl.col(column).is_in(keys.implode())
        new[table.name], held[table.name] = frame.filter(~is_held), frame.filter(is_held)
    return new, held


def write_new(conn: Connection, new: Mapping[str, pl.DataFrame]) -> bool:
    """COPY the new rows into their final tables inside a savepoint, their foreign keys checked
    once for the batch where the role may. False (and nothing written) when the target refuses
    them: a legacy row moved to another case, or a person another lane wrote meanwhile, holds a key
    the target has (or a row is bad: the merge path then names it); the caller merges the batch."""
    try:
        with dialect_of(conn).savepoint(conn):
            checked_per_batch = skip_row_checks(conn)
            for table in BUSINESS_TABLES:
                copy_frame(conn, table, new[table.name])
            if checked_per_batch:
                check_references(conn, new)
    except Exception as exc:
        if not is_refusal(exc):
            raise
        log.debug("the target refused a batch's new rows as written once: the batch is merged")
        return False
    return True


def is_empty(frames: Mapping[str, pl.DataFrame]) -> bool:
    """True when no frame holds a row."""
    return all(f.is_empty() for f in frames.values())


def key_of(table: sa.Table) -> str:
    """The name of a business table's (single-column) primary key."""
    return next(iter(table.primary_key)).name
