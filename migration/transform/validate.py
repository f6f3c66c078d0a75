"""Validate every target entity with a pandera schema derived from the target model (Polars
backend), lazily, so every failure of a batch is found at once; failures become findings that
quarantine the case."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import polars as pl
import pycountry
import sqlalchemy as sa

from migration.rules.nationalities import ICAO_CODES
from migration.target_schema import BUSINESS_TABLES, target_metadata
from migration.transform.frames import CASE_COLUMN, key_columns

NATIONALITY_CODES = frozenset(c.alpha_3 for c in pycountry.countries) | ICAO_CODES

if TYPE_CHECKING:
    import pandera.polars as pa

__all__ = ["CASE_COLUMN", "NATIONALITY_CODES", "VALIDATED_TABLES", "schema_failures", "schema_for", "uuid_columns",
           "warm_up"]


@cache
def extra_checks() -> dict[tuple[str, str], list[pa.Check]]:
    """Checks the column types cannot say, by table and column. (pandera loads on first
    validation, so the commands that never validate start fast and small.)"""
    import pandera.polars as pa

    return {
        ("person", "nationality"): [pa.Check.isin(sorted(NATIONALITY_CODES))],
        ("case", "case_ref"): [pa.Check.str_matches(r"^CID/\d{4}/\d{7}$")],
        ("case_note", "part"): [pa.Check.ge(1)],
        ("resettlement_referral", "family_size"): [pa.Check.ge(1)],
    }


@cache
def schema_for(table_name: str) -> pa.DataFrameSchema:
    """A pandera schema from the target table: nullability, enumerations, text limits, unique keys."""
    import pandera.polars as pa

    table = target_metadata.tables[table_name]
    columns = {}
    for col in table.columns:
        checks: list[pa.Check] = list(extra_checks().get((table_name, col.name), []))
        if isinstance(col.type, sa.Enum):
            checks.append(pa.Check.isin(list(col.type.enums)))
        elif isinstance(col.type, sa.String) and col.type.length:
            checks.append(pa.Check.str_length(max_value=col.type.length))
        unique = bool(col.primary_key or col.unique)
        columns[col.name] = pa.Column(checks=checks, nullable=bool(col.nullable), unique=unique, coerce=False)
    columns[CASE_COLUMN] = pa.Column(pl.Int64, nullable=False)
    return pa.DataFrameSchema(columns, strict=True, name=table_name)


def uuid_columns(table_name: str) -> tuple[str, ...]:
    """The table's UUID (key) columns."""
    return key_columns(table_name)


def warm_up() -> None:
    """Import pandera and build every table's schema now (a Dask worker's start)."""
    for table_name in VALIDATED_TABLES:
        schema_for(table_name)


def schema_failures(table_name: str, frame: pl.DataFrame) -> list[tuple[int, str]]:
    """(legacy case id, column) for every failing value of a frame of the table; empty when all pass."""
    from pandera.errors import SchemaErrors

    if frame.is_empty():
        return []
    try:
        schema_for(table_name).validate(frame, lazy=True)
    except SchemaErrors as exc:
        failures = exc.failure_cases
        if failures["index"].null_count():
            raise  # a whole-table problem (missing column) is a programming error, not bad data
        cases = frame[CASE_COLUMN]
        return [(int(cases[int(index)]), column if isinstance(column, str) else "row")
                for index, column in failures.select("index", "column").iter_rows()]
    return []


VALIDATED_TABLES = tuple(t.name for t in BUSINESS_TABLES)
