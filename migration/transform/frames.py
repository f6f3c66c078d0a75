"""The shape of a transformed batch's rows: one Polars frame per target table, with the table's
columns in its order and the legacy CASE_ID of the row's case last (`_case`). Every stage after
the transform reads and writes frames of this shape."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import polars as pl
import sqlalchemy as sa

from migration.target_schema import BUSINESS_TABLES, target_metadata

CASE_COLUMN = "_case"
TABLE_NAMES = tuple(t.name for t in BUSINESS_TABLES)


def polars_type(column: sa.Column[Any]) -> pl.DataType:
    """The Polars type a target column's values travel in (keys as canonical UUID text)."""
    kind = column.type
    if isinstance(kind, sa.Uuid | sa.String | sa.Enum):
        return pl.String()
    if isinstance(kind, sa.Boolean):
        return pl.Boolean()
    if isinstance(kind, sa.DateTime):
        return pl.Datetime("us", "UTC")
    if isinstance(kind, sa.Date):
        return pl.Date()
    if isinstance(kind, sa.Integer):
        return pl.Int64()
    raise TypeError(f"no Polars type for {column.table.name}.{column.name}")


@cache
def frame_schema(table_name: str) -> pl.Schema:
    """The frame schema of a target table: its columns in order, then `_case`."""
    table = target_metadata.tables[table_name]
    return pl.Schema([(c.name, polars_type(c)) for c in table.columns] + [(CASE_COLUMN, pl.Int64())])


@cache
def key_columns(table_name: str) -> tuple[str, ...]:
    """The table's UUID (key) columns, carried as text in frames."""
    return tuple(c.name for c in target_metadata.tables[table_name].columns if isinstance(c.type, sa.Uuid))


def empty_frame(table_name: str) -> pl.DataFrame:
    """A frame of the table's shape with no rows."""
    return pl.DataFrame(schema=frame_schema(table_name))


def frame_of(table_name: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Row dictionaries (UUID keys as uuid.UUID or text) as a frame of the table's shape."""
    schema = frame_schema(table_name)
    keys = set(key_columns(table_name))
    columns: dict[str, list[Any]] = {name: [] for name in schema.names()}
    for row in rows:
        for name in columns:
            value = row.get(name)
            columns[name].append(str(value) if name in keys and isinstance(value, uuid.UUID) else value)
    return pl.DataFrame(columns, schema=schema)


def dicts_of(table_name: str, frame: pl.DataFrame, *, uuids: bool = True) -> list[dict[str, Any]]:
    """A frame's rows as dictionaries; key columns back as uuid.UUID unless `uuids` is False."""
    rows = frame.to_dicts()
    for name in key_columns(table_name) if uuids else ():
        for row in rows:
            if row.get(name) is not None:
                row[name] = uuid.UUID(row[name])
    return rows
