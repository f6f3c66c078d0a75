"""Extract a batch of cases with all their child rows: one query per table, each read straight
into a Polars frame with CID's own column names, each row with its hash, which the batch's case
fingerprints total."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import key_list
from core.dialects import dialect_of
from legacy.schema import (
    ADDRESS,
    APPOINTMENT,
    CASE_FLAG,
    CASE_HDR,
    CASE_NOTE,
    CASE_PERSON,
    DECISION,
    PERSON,
    UNHCR_REFERRAL,
)
from migration.extract.fingerprint import frame_fingerprints, row_hash

# Child tables keyed by CASE_ID, with their primary key; PERSON and ADDRESS come through parties.
CASE_CHILDREN: tuple[tuple[sa.Table, str], ...] = (
    (CASE_PERSON, "CASE_PERSON_ID"), (APPOINTMENT, "APPT_ID"), (CASE_NOTE, "NOTE_ID"),
    (DECISION, "DECISION_ID"), (CASE_FLAG, "FLAG_ID"), (UNHCR_REFERRAL, "REFERRAL_ID"),
)
# Every table a batch reads, with the key its rows are sorted by.
BATCH_TABLES: tuple[tuple[sa.Table, str], ...] = (
    (CASE_HDR, "CASE_ID"), *CASE_CHILDREN, (PERSON, "PERSON_ID"), (ADDRESS, "ADDRESS_ID"),
)
TABLE_KEYS = {table.name: key for table, key in BATCH_TABLES}


def _polars_type(column: sa.Column[Any]) -> pl.DataType:
    if isinstance(column.type, sa.Integer):
        return pl.Int64()
    if isinstance(column.type, sa.DateTime):
        return pl.Datetime("us")
    return pl.String()


@cache
def legacy_schema(table_name: str) -> pl.Schema:
    """The frame schema of a CID table: its columns in order, integers as Int64, timestamps naive."""
    table = CASE_HDR.metadata.tables[table_name]
    return pl.Schema([(c.name, _polars_type(c)) for c in table.columns])


class UnframeableValue(ValueError):
    """A value the driver reads that its column's frame type cannot hold (SQLite keeps text in an
    INTEGER column if given it). Like a value the driver refuses, it quarantines its case."""


@contextmanager
def framing(table_name: str) -> Iterator[None]:
    """Turn a value its frame cannot hold into UnframeableValue, naming only the table (the
    library's message can quote the value)."""
    try:
        yield
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        raise UnframeableValue(f"a value of {table_name} does not fit its column's type") from None


def legacy_frame(table_name: str, rows: Iterable[Sequence[Any]] = ()) -> pl.DataFrame:
    """Rows of a CID table (tuples in column order) as a frame of its schema."""
    with framing(table_name):
        return pl.DataFrame(list(rows), schema=legacy_schema(table_name), orient="row")


def fits(table_name: str, column: str, values: Sequence[Any]) -> bool:
    """Whether a column's values fit its frame type."""
    try:
        pl.Series(column, values, dtype=legacy_schema(table_name)[column], strict=True)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        return False
    return True


@dataclass(frozen=True)
class LegacyBatch:
    """A batch of cases as CID holds them: a frame per table (cases of the batch only; PERSON and
    ADDRESS: the persons their parties name), and each case's fingerprint."""

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    fingerprints: dict[int, str] = field(default_factory=dict)

    def __getitem__(self, table_name: str) -> pl.DataFrame:
        return self.tables.get(table_name, legacy_frame(table_name))

    @property
    def case_ids(self) -> list[int]:
        """CASE_ID of every case of the batch, in key order."""
        return self["CASE_HDR"]["CASE_ID"].to_list()

    def only(self, case_ids: Collection[int]) -> LegacyBatch:
        """The batch restricted to these cases (and the persons their parties name)."""
        chosen = pl.Series("CASE_ID", sorted(case_ids), dtype=pl.Int64)
        tables = {name: frame.filter(pl.col("CASE_ID").is_in(chosen.implode()))
                  for name, frame in self.tables.items() if "CASE_ID" in frame.columns}
        named = tables["CASE_PERSON"]["PERSON_ID"].drop_nulls().unique().implode() if "CASE_PERSON" in tables \
            else pl.Series([], dtype=pl.Int64).implode()
        for name in ("PERSON", "ADDRESS"):
            if name in self.tables:
                tables[name] = self.tables[name].filter(pl.col("PERSON_ID").is_in(named))
        kept = set(chosen.to_list())
        return LegacyBatch(tables, {cid: fp for cid, fp in self.fingerprints.items() if cid in kept})

    @staticmethod
    def joined(parts: Sequence[LegacyBatch]) -> LegacyBatch:
        """Batches of disjoint cases as one, each table in key order."""
        tables = {}
        for table, key in BATCH_TABLES:
            frames = [p.tables[table.name] for p in parts if table.name in p.tables]
            if frames:
                tables[table.name] = pl.concat(frames).unique(key, keep="first", maintain_order=True).sort(key)
        return LegacyBatch(tables, {cid: fp for p in parts for cid, fp in p.fingerprints.items()})


# Read with each row: its hash (fingerprint.row_hash), totalled into the batch's case fingerprints.
ROW_HASH = "_row_hash"


def _frame(conn: Connection, table: sa.Table, column: str, keys: Sequence[int], order: str) -> pl.DataFrame:
    """The table's rows whose `column` is one of `keys`, sorted by `order`, each with its ROW_HASH."""
    schema = pl.Schema([*legacy_schema(table.name).items(), (ROW_HASH, pl.Int64())])
    if not keys:
        return pl.DataFrame(schema=schema)
    stmt = (sa.select(table, row_hash(conn, table).label(ROW_HASH)).where(key_list(conn, table.c[column], keys))
            .order_by(table.c[order]))
    with framing(table.name):
        return dialect_of(conn).read_frame(conn, stmt, schema)


def extract_batch(conn: Connection, case_ids: Sequence[int]) -> LegacyBatch:
    """Read the cases with these ids and all their rows, in key order (missing ids are skipped)."""
    ids = sorted(case_ids)
    tables = {CASE_HDR.name: _frame(conn, CASE_HDR, "CASE_ID", ids, "CASE_ID")}
    found = tables[CASE_HDR.name]["CASE_ID"].to_list()
    for table, key in CASE_CHILDREN:
        tables[table.name] = _frame(conn, table, "CASE_ID", found, key)
    person_ids = sorted(tables[CASE_PERSON.name]["PERSON_ID"].drop_nulls().unique().to_list())
    tables[PERSON.name] = _frame(conn, PERSON, "PERSON_ID", person_ids, "PERSON_ID")
    # The addresses of every person a party names: a case's fingerprint counts those of a person CID
    # no longer holds, though the batch keeps only the addresses of the persons it read.
    tables[ADDRESS.name] = _frame(conn, ADDRESS, "PERSON_ID", person_ids, "ADDRESS_ID")
    # Fingerprinted from the very rows read: no second read of them, and no edit between the two.
    fingerprints = frame_fingerprints(tables, ROW_HASH)
    found_persons = tables[PERSON.name]["PERSON_ID"].implode()
    tables[ADDRESS.name] = tables[ADDRESS.name].filter(pl.col("PERSON_ID").is_in(found_persons))
    return LegacyBatch({name: frame.drop(ROW_HASH) for name, frame in tables.items()}, fingerprints)
