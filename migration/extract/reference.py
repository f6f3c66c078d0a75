"""What a run reads once from CID before its batches: code tables and cross-case facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.dialects import dialect_of
from legacy.schema import CASE_HDR, PERSON, REF_NATIONALITY, REF_STATUS, REF_UNIT


@dataclass(frozen=True)
class LegacyReference:
    """CID's code tables and the cross-case sets a batch cannot see on its own (small, picklable)."""

    statuses: dict[str, tuple[bool, bool]]  # STATUS_CD -> (terminal, retired)
    nationalities: dict[str, str | None]  # NAT_CD -> ISO3
    unit_regions: dict[str, str]  # UNIT_CD -> REGION
    duplicate_ho_refs: frozenset[str]  # normalised HO_REF held by more than one PERSON
    colliding_refs: frozenset[str]  # normalised CASE_REF held by more than one case


def _held_twice(conn: Connection, column: sa.ColumnElement[Any], *where: sa.ColumnElement[bool]) -> frozenset[str]:
    """The references of a column that more than one row holds, each read as the batches read it
    (no whitespace of any kind, upper case: a tab or a no-break space inside one counts as nothing)."""
    # Imported here: the transform package imports this module, and columns sits in it.
    from migration.transform.columns import compact_upper

    stmt = sa.select(column.label("ref")).where(column.is_not(None), *where)
    frame = dialect_of(conn).read_frame(conn, stmt, pl.Schema({"ref": pl.String()}))
    # Sorted, a reference held twice follows itself: no hash table over millions of references.
    refs = frame.select(compact_upper(pl.col("ref"))).to_series().sort()
    return frozenset(refs.filter(refs == refs.shift(1)).to_list())


def read_reference(conn: Connection, *, cross_case: bool = True) -> LegacyReference:
    """Read the code tables, and find duplicate Home Office refs and colliding case refs (unless
    `cross_case` is false: planning needs only the code tables, and at 1,000,000 cases reading
    every person's and case's reference takes seconds)."""
    statuses = {
        r.STATUS_CD.strip().upper(): (r.TERMINAL_FLG == "Y", bool((r.RETIRED_DT or "").strip()))
        for r in conn.execute(sa.select(REF_STATUS))
    }
    nationalities = {r.NAT_CD: r.ISO3 for r in conn.execute(sa.select(REF_NATIONALITY))}
    units = {r.UNIT_CD: r.REGION for r in conn.execute(sa.select(REF_UNIT))}
    if not cross_case:
        return LegacyReference(statuses, nationalities, units, frozenset(), frozenset())
    dup = _held_twice(conn, PERSON.c.HO_REF, sa.func.coalesce(PERSON.c.DELETED_FLG, "N") != "Y")
    col = _held_twice(conn, CASE_HDR.c.CASE_REF)
    return LegacyReference(statuses, nationalities, units, dup, col)
