"""Validate every target entity with a pandera schema derived from the target model, lazily, so
every failure of a batch is found at once; failures become findings that quarantine the case."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import pycountry
import sqlalchemy as sa

from migration.rules.nationalities import ICAO_CODES
from migration.target_schema import BUSINESS_TABLES, target_metadata

CASE_COLUMN = "_case"
NATIONALITY_CODES = frozenset(c.alpha_3 for c in pycountry.countries) | ICAO_CODES

if TYPE_CHECKING:
    import pandera.pandas as pa


@cache
def extra_checks() -> dict[tuple[str, str], list[pa.Check]]:
    """Checks the column types cannot say, by table and column. (pandas and pandera load on first
    validation, so the commands that never validate start fast and small.)"""
    import pandera.pandas as pa

    return {
        ("person", "nationality"): [pa.Check.isin(sorted(NATIONALITY_CODES))],
        ("case", "case_ref"): [pa.Check.str_matches(r"^CID/\d{4}/\d{7}$")],
        ("case_note", "part"): [pa.Check.ge(1)],
        ("resettlement_referral", "family_size"): [pa.Check.ge(1)],
    }


@cache
def schema_for(table_name: str) -> pa.DataFrameSchema:
    """A pandera schema from the target table: nullability, enumerations, text limits, unique keys."""
    import pandera.pandas as pa

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
    columns[CASE_COLUMN] = pa.Column(int, nullable=False)
    return pa.DataFrameSchema(columns, strict=True, name=table_name)


@cache
def uuid_columns(table_name: str) -> tuple[str, ...]:
    """The table's UUID (key) columns."""
    return tuple(c.name for c in target_metadata.tables[table_name].columns if isinstance(c.type, sa.Uuid))


def warm_up() -> None:
    """Import pandas and pandera and build every table's schema now (a Dask worker's start)."""
    for table_name in VALIDATED_TABLES:
        schema_for(table_name)


def schema_failures(table_name: str, rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(legacy case id, column) for every failing value of the rows; empty when all pass."""
    import pandas as pd
    from pandera.errors import SchemaErrors

    if not rows:
        return []
    frame = pd.DataFrame.from_records(rows, columns=list(rows[0].keys()))
    frame = frame.astype(object).where(pd.notna(frame), None)
    frame[CASE_COLUMN] = frame[CASE_COLUMN].astype(int)
    for name in uuid_columns(table_name):
        # Key columns are checked for nulls and uniqueness only: as 128-bit integers they hash
        # in C, not through UUID.__hash__ (a third of the validation's time).
        frame[name] = [None if v is None else v.int for v in frame[name]]
    try:
        schema_for(table_name).validate(frame, lazy=True)
    except SchemaErrors as exc:
        failures = []
        for _, failure in exc.failure_cases.iterrows():
            index = failure["index"]
            column = failure["column"] if isinstance(failure["column"], str) else None
            if index is None or pd.isna(index):
                raise  # a whole-table problem (missing column) is a programming error, not bad data
            failures.append((int(frame.at[int(index), CASE_COLUMN]), column or "row"))
        return failures
    return []


VALIDATED_TABLES = tuple(t.name for t in BUSINESS_TABLES)
