"""Values the driver refuses to read ('infinity' or out-of-range timestamps, text that is not
UTF-8): a batch read that fails is read again in halves down to the single case, and that case's
rows are read one column and one row at a time to name the table, column and row key. Only the
error's class and SQLSTATE are kept: its message can quote the value."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, OperationalError

from legacy.schema import ADDRESS, CASE_HDR, CASE_PERSON, PERSON
from migration.extract.batch import CASE_CHILDREN, LegacyBatch, UnframeableValue, fits
from migration.retry import fault_name, is_transient

Reader = Callable[[Connection, Sequence[int]], LegacyBatch]


@dataclass(frozen=True)
class Unreadable:
    """Where a case holds a value the driver refuses: table, column and row key, never the value."""

    case_id: int
    legacy_ref: str | None
    table: str
    column: str | None
    legacy_key: int | None
    fault: str  # the driver's error class and SQLSTATE


def is_read_fault(exc: BaseException) -> bool:
    """A value the driver cannot turn into a Python value, or its frame cannot hold (not a lost
    connection)."""
    return isinstance(exc, UnframeableValue) or (isinstance(exc, DataError | OperationalError)
                                                 and not is_transient(exc))


def read_readable(conn: Connection, case_ids: Sequence[int], read: Reader) -> tuple[LegacyBatch, list[Unreadable]]:
    """The cases `read` can read, in key order, and where each of the others holds an unreadable
    value (found by halving the batch; all reads on `conn`, so in its snapshot)."""
    ids = sorted(case_ids)
    try:
        return read(conn, ids), []
    except Exception as exc:
        if not is_read_fault(exc) or not ids:
            raise
        if len(ids) == 1:
            return LegacyBatch(), [locate(conn, ids[0], fault_name(exc))]
    middle = len(ids) // 2
    low, low_bad = read_readable(conn, ids[:middle], read)
    high, high_bad = read_readable(conn, ids[middle:], read)
    return LegacyBatch.joined([low, high]), low_bad + high_bad


def _read(conn: Connection, stmt: sa.Select[Any], column: sa.Column[Any]) -> list[sa.Row[Any]] | str:
    """The rows, when the column's values read through the driver fit their frame; else the fault."""
    try:
        rows = list(conn.execute(stmt))
    except Exception as exc:
        if not is_read_fault(exc):
            raise
        return fault_name(exc)
    return rows if fits(column.table.name, column.name, [r[0] for r in rows]) else UnframeableValue.__name__


def _keys(conn: Connection, stmt: sa.Select[Any]) -> list[int]:
    return [k for (k,) in conn.execute(stmt)]


def _rows_of(conn: Connection, case_id: int) -> list[tuple[sa.Table, sa.Column[Any], list[int]]]:
    """Each table the case reads from, its key column and the keys of the case's rows there."""
    found = []
    for table, pk in ((CASE_HDR, "CASE_ID"), *CASE_CHILDREN):
        found.append((table, table.c[pk], _keys(conn, sa.select(table.c[pk]).filter_by(CASE_ID=case_id))))
    persons = sa.select(CASE_PERSON.c.PERSON_ID).filter_by(CASE_ID=case_id)
    found.append((PERSON, PERSON.c.PERSON_ID,
                  _keys(conn, sa.select(PERSON.c.PERSON_ID).where(PERSON.c.PERSON_ID.in_(persons)))))
    found.append((ADDRESS, ADDRESS.c.ADDRESS_ID,
                  _keys(conn, sa.select(ADDRESS.c.ADDRESS_ID).where(ADDRESS.c.PERSON_ID.in_(persons)))))
    return found


def locate(conn: Connection, case_id: int, fault: str) -> Unreadable:
    """Name the table, column and row key of the case's first unreadable value, and the fault the
    driver gives reading it alone (else `fault`, the batch read's)."""
    ref_rows = _read(conn, sa.select(CASE_HDR.c.CASE_REF).filter_by(CASE_ID=case_id), CASE_HDR.c.CASE_REF)
    ref = ref_rows[0][0] if isinstance(ref_rows, list) and ref_rows else None
    for table, pk, keys in _rows_of(conn, case_id):
        for column in table.columns:
            if column is pk or not keys or isinstance(_read(conn, sa.select(column).where(pk.in_(keys)), column), list):
                continue
            for key in keys:
                if isinstance(found := _read(conn, sa.select(column).where(pk == key), column), str):
                    return Unreadable(case_id, ref, table.name, column.name, key, found)
            return Unreadable(case_id, ref, table.name, column.name, None, fault)
    return Unreadable(case_id, ref, CASE_HDR.name, None, case_id, fault)
