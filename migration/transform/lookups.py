"""Column helpers of the transform: CID's codes and flags as expressions, and scalar rules (date
parsing, text repair, nationality) applied once per distinct value and joined back."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from migration.transform import columns


def _col(column: str | pl.Expr) -> pl.Expr:
    return pl.col(column) if isinstance(column, str) else column


def stripped(column: str | pl.Expr) -> pl.Expr:
    """Text without leading and trailing whitespace, as str.strip() gives it."""
    return columns.stripped(_col(column))


def code(column: str | pl.Expr) -> pl.Expr:
    """A CID code as the rules look it up: trimmed, upper case, empty when NULL."""
    return columns.code(_col(column)).fill_null("")


def flag(column: str) -> pl.Expr:
    """CID's Y/N/NULL flags: only 'Y' is true."""
    return columns.flag(pl.col(column))


def lookup(expr: pl.Expr, mapping: Mapping[Any, Any], dtype: pl.DataType | None = None) -> pl.Expr:
    """The mapping's value for each value of the expression, null where it has none."""
    dtype = dtype or pl.String()
    if not mapping:
        return pl.lit(None, dtype=dtype)
    return expr.replace_strict(list(mapping), list(mapping.values()), default=None, return_dtype=dtype)


def per_unique(values: pl.Series, fn: Callable[[Any], Any], dtype: pl.DataType) -> pl.Series:
    """fn of each value, computed once per distinct value (null included) and joined back."""
    distinct = values.unique(maintain_order=True)
    table = pl.DataFrame({"k": distinct, "v": pl.Series([fn(v) for v in distinct.to_list()], dtype=dtype)})
    joined = values.to_frame("k").join(table, on="k", how="left", nulls_equal=True, maintain_order="left")
    return joined["v"].rename(values.name)


def derive(frame: pl.DataFrame, on: Sequence[str], fn: Callable[..., Sequence[Any]],
           schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The frame with the columns of `schema` added: fn(*values of `on`), computed once per
    distinct combination of those values."""
    distinct = frame.select(on).unique(maintain_order=True)
    derived = pl.DataFrame([tuple(fn(*row)) for row in distinct.iter_rows()], schema=dict(schema), orient="row")
    table = pl.concat([distinct, derived], how="horizontal")
    return frame.join(table, on=list(on), how="left", nulls_equal=True, maintain_order="left")


def parsed_dates(frame: pl.DataFrame, column: str, prefix: str) -> pl.DataFrame:
    """The frame with `{prefix}_value`, `{prefix}_precision` and `{prefix}_problem`: the CID date
    string of `column` read by the date rules (columns.cid_date, parsers.parse_cid_date's twin)."""
    parsed = columns.cid_date(pl.col(column))
    return frame.with_columns(parsed.struct.field(part).alias(f"{prefix}_{part}")
                              for part in ("value", "precision", "problem"))


def keys_of(entity: str, values: pl.Series) -> pl.Series:
    """The target keys (canonical text) of a column of legacy keys; null stays null."""
    return values.to_frame().select(columns.key(entity, pl.col(values.name))).to_series().alias(values.name)
