"""Rows the target refuses that validation could not foresee (a constraint that spans batches, a
value the database will not take): the cases holding them are found by bisection, each probe in
a transaction that is rolled back, and quarantined by the policy of `load.rejected`; the rest of
the batch loads."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import polars as pl
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, IntegrityError

from core.log import get_logger
from migration.retry import is_transient
from migration.target_schema import ADDRESS, PERSON, target_metadata
from migration.transform import TransformResult
from migration.transform.batch import one_per_key
from migration.transform.frames import CASE_COLUMN


class MissingReference(Exception):
    """A new row refers to a row the target does not hold (found by the batch's foreign-key check)."""

    def __init__(self, table: str, constraint: str) -> None:
        super().__init__(f"a row of {table} refers to a row the target does not hold ({constraint})")
        self.table, self.constraint = table, constraint


# COPY's errors reach here as SQLAlchemy's too (core/dialects/postgresql.py wraps them).
REFUSALS = (IntegrityError, DataError, MissingReference)
INT32 = 2**31 - 1
log = get_logger("load")
# SQLite names the table and column ("UNIQUE constraint failed: case.case_ref"), never the value.
_SQLITE_PLACE = re.compile(r"constraint failed: (\w+)\.(\w+)")


def is_refusal(exc: BaseException) -> bool:
    """A constraint or data error of the target (not a transient fault)."""
    return isinstance(exc, REFUSALS) and not is_transient(exc)


def where_refused(exc: BaseException) -> tuple[str, str | None]:
    """(table, constraint or column) the database names for a refusal; no row value is read."""
    if isinstance(exc, MissingReference):
        return exc.table, exc.constraint
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    if diag is not None and getattr(diag, "table_name", None):
        return diag.table_name, diag.constraint_name or diag.column_name
    found = _SQLITE_PLACE.search(str(orig)) if not isinstance(orig, psycopg.Error) else None
    return (found[1], found[2]) if found else ("case", None)


def unstorable_place(result: TransformResult, case_id: int) -> tuple[str, str] | None:
    """(table, column) of a value of the case no PostgreSQL column of its type stores (a NUL
    character in text, an integer beyond 32 bits in an INTEGER column), when the database named
    no place (COPY errors do not)."""
    for table, frame in result.rows.items():
        columns = target_metadata.tables[table].columns
        for row in frame.filter(pl.col(CASE_COLUMN) == case_id).to_dicts():
            for name, value in row.items():
                if isinstance(value, str) and "\x00" in value:
                    return table, name
                if (isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT32 and name in columns
                        and type(columns[name].type) is sa.Integer):
                    return table, name
    return None


def part_of(result: TransformResult, case_ids: set[int]) -> TransformResult:
    """The rows of these cases as a batch of them alone gives: their readings of persons and
    addresses, and one row per human and per address from those (as the transform keeps), so a
    row another case of the batch stood for is still written."""
    part = result.only(case_ids)
    part.person_records = _of_cases(result.person_records, case_ids)
    part.address_records = _of_cases(result.address_records, case_ids)
    part.rows |= _shared_rows(part, case_ids)
    return part


def refuse_cases(result: TransformResult, refused: dict[int, tuple[str, str | None]]) -> None:
    """Quarantine the refused cases (policy `load.rejected`) and keep, for each human and address
    the rest of the batch names, the row its own readings give (a refused case may have stood for it)."""
    if not refused:
        return
    result.refuse(refused)
    result.rows |= _shared_rows(result, {o.legacy_case_id for o in result.outcomes if o.state == "migrated"})


def _shared_rows(result: TransformResult, case_ids: set[int]) -> dict[str, pl.DataFrame]:
    """One person row per human and one address row per address, from these cases' readings."""
    return {PERSON.name: one_per_key(PERSON.name, _of_cases(result.person_records, case_ids)),
            ADDRESS.name: one_per_key(ADDRESS.name, _of_cases(result.address_records, case_ids))}


def _of_cases(frame: pl.DataFrame, case_ids: set[int]) -> pl.DataFrame:
    return frame.filter(pl.col(CASE_COLUMN).is_in(pl.Series(sorted(case_ids), dtype=pl.Int64).implode()))


def find_refused(engine: Engine, result: TransformResult,
                 write: Callable[[Connection, TransformResult], None]) -> dict[int, tuple[str, str | None]]:
    """CASE_ID -> (table, constraint) for each migrated case of the batch whose rows the target
    refuses, found by halving; when two halves pass alone but fail together, both are held back."""

    def refused(ids: Sequence[int]) -> tuple[str, str | None] | None:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                write(conn, part_of(result, set(ids)))
                return None
            except REFUSALS as exc:
                if is_transient(exc):
                    raise
                return where_refused(exc)
            finally:
                trans.rollback()

    def halve(ids: list[int], why: tuple[str, str | None]) -> dict[int, tuple[str, str | None]]:
        if len(ids) == 1:
            named = why if why[1] is not None else unstorable_place(result, ids[0])
            return {ids[0]: named or why}
        found: dict[int, tuple[str, str | None]] = {}
        middle = len(ids) // 2
        for half in (ids[:middle], ids[middle:]):
            reason = refused(half)
            if reason is not None:
                found |= halve(half, reason)
        return found or dict.fromkeys(ids, why)

    ids = sorted(o.legacy_case_id for o in result.outcomes if o.state == "migrated")
    first = refused(ids)
    bad = halve(ids, first) if first is not None else {}
    log.warning("the target refused the rows of %d case(s); they are quarantined (rule load.rejected)", len(bad))
    return bad
