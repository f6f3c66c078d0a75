"""What a run reads once from CID before its batches: code tables and cross-case facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from legacy.schema import CASE_HDR, PERSON, REF_NATIONALITY, REF_STATUS, REF_UNIT


@dataclass(frozen=True)
class LegacyReference:
    """CID's code tables and the cross-case sets a batch cannot see on its own (small, picklable)."""

    statuses: dict[str, tuple[bool, bool]]  # STATUS_CD -> (terminal, retired)
    nationalities: dict[str, str | None]  # NAT_CD -> ISO3
    unit_regions: dict[str, str]  # UNIT_CD -> REGION
    duplicate_ho_refs: frozenset[str]  # normalised HO_REF held by more than one PERSON
    colliding_refs: frozenset[str]  # normalised CASE_REF held by more than one case


def _normalised(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.func.upper(sa.func.replace(sa.func.trim(column), " ", ""))


def read_reference(conn: Connection, *, cross_case: bool = True) -> LegacyReference:
    """Read the code tables, and find duplicate Home Office refs and colliding case refs in SQL
    (unless `cross_case` is false: planning needs only the code tables, and at 1,000,000 cases
    those two aggregates over every person and case take seconds)."""
    statuses = {
        r.STATUS_CD.strip().upper(): (r.TERMINAL_FLG == "Y", bool((r.RETIRED_DT or "").strip()))
        for r in conn.execute(sa.select(REF_STATUS))
    }
    nationalities = {r.NAT_CD: r.ISO3 for r in conn.execute(sa.select(REF_NATIONALITY))}
    units = {r.UNIT_CD: r.REGION for r in conn.execute(sa.select(REF_UNIT))}
    if not cross_case:
        return LegacyReference(statuses, nationalities, units, frozenset(), frozenset())
    ho = _normalised(PERSON.c.HO_REF)
    dup = conn.execute(sa.select(ho).where(PERSON.c.HO_REF.is_not(None),
                                           sa.func.coalesce(PERSON.c.DELETED_FLG, "N") != "Y")
                       .group_by(ho).having(sa.func.count() > 1)).scalars()
    ref = _normalised(CASE_HDR.c.CASE_REF)
    col = conn.execute(sa.select(ref).where(CASE_HDR.c.CASE_REF.is_not(None))
                       .group_by(ref).having(sa.func.count() > 1)).scalars()
    return LegacyReference(statuses, nationalities, units, frozenset(dup), frozenset(col))
