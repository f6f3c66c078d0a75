"""Changes in CID since a case migrated, found by comparing the fingerprints of the legacy rows
taken at extraction with fresh ones (both computed by CID's database with the same SQL), so a row
changed without LAST_UPD_TS moving is found too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration.extract.fingerprint import all_fingerprints


def changed_since_migration(conn: Connection, fingerprints: Mapping[int, str]) -> list[int]:
    """CASE_IDs whose legacy rows no longer match the fingerprint recorded when they migrated
    (a case gone from CID counts as changed): one pass of CID's database over every case."""
    seen: set[int] = set()
    changed: list[int] = []
    for case_id, fresh in all_fingerprints(conn):
        recorded = fingerprints.get(case_id)
        if recorded is not None:
            seen.add(case_id)
            if recorded != fresh:
                changed.append(case_id)
    changed.extend(cid for cid in fingerprints if cid not in seen)
    return sorted(changed)


def touched_since(conn: Connection, since: dt.datetime) -> set[int]:
    """CASE_IDs with any row whose LAST_UPD_TS moved after `since` (cheap, but blind to silent
    updates: `cutover reconcile` finds those by fingerprint)."""
    from legacy.schema import ADDRESS, CASE_PERSON, LEGACY_TABLES

    cases: set[int] = set()
    for table in LEGACY_TABLES:
        if "CASE_ID" in table.c and "LAST_UPD_TS" in table.c:
            cases.update(conn.execute(sa.select(table.c.CASE_ID).where(since < table.c.LAST_UPD_TS)
                                      .distinct()).scalars())
    moved = sa.select(ADDRESS.c.PERSON_ID).where(since < ADDRESS.c.LAST_UPD_TS)
    cases.update(conn.execute(sa.select(CASE_PERSON.c.CASE_ID).where(CASE_PERSON.c.PERSON_ID.in_(moved))
                              .distinct()).scalars())
    cases.discard(None)  # type: ignore[arg-type]
    return cases
