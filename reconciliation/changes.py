"""Changes in CID since a case migrated, found by comparing fingerprints of the legacy rows taken
at extraction with fresh ones, so a row changed without LAST_UPD_TS moving is found too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration.extract import extract_batch

CHUNK = 1000


def changed_since_migration(conn: Connection, fingerprints: Mapping[int, str]) -> list[int]:
    """CASE_IDs whose legacy rows no longer match the fingerprint recorded when they migrated
    (a case gone from CID counts as changed)."""
    ids = sorted(fingerprints)
    changed: list[int] = []
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        fresh = {c.case_id: c.fingerprint() for c in extract_batch(conn, chunk)}
        changed.extend(cid for cid in chunk if fresh.get(cid) != fingerprints[cid])
    return changed


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
