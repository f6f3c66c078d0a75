"""What the target holds: migrated cases and child rows by legacy key, and the tool's own record
of quarantines, drops, merges, the plan and the runs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import key_list, within
from migration.target_schema import (
    ADDRESS,
    APPOINTMENT,
    CASE,
    CASE_NOTE,
    CASE_PARTY,
    CUTOVER_CASE,
    CUTOVER_FINDING,
    CUTOVER_PLAN,
    CUTOVER_RUN,
    DECISION,
    PERSON,
    RESETTLEMENT_REFERRAL,
    VULNERABILITY,
)

# Target entity -> (table, its legacy key column), for rows that hang off a case.
CASE_ENTITIES: dict[str, tuple[sa.Table, str]] = {
    "case_party": (CASE_PARTY, "legacy_case_person_id"),
    "appointment": (APPOINTMENT, "legacy_appt_id"),
    "case_note": (CASE_NOTE, "legacy_note_id"),
    "decision": (DECISION, "legacy_decision_id"),
    "vulnerability": (VULNERABILITY, "legacy_flag_id"),
    "resettlement_referral": (RESETTLEMENT_REFERRAL, "legacy_referral_id"),
}


def case_records(conn: Connection) -> Iterator[tuple[int, str | None, str | None, bool]]:
    """(legacy CASE_ID, planned wave, recorded state, has a case row) for every case the target
    knows of, in key order, streamed."""
    ids = sa.union(sa.select(CUTOVER_PLAN.c.legacy_case_id), sa.select(CUTOVER_CASE.c.legacy_case_id),
                   sa.select(CASE.c.legacy_case_id)).subquery()
    key = ids.c.legacy_case_id
    stmt = (sa.select(key, CUTOVER_PLAN.c.wave, CUTOVER_CASE.c.state, CASE.c.legacy_case_id.is_not(None))
            .select_from(ids.outerjoin(CUTOVER_PLAN, CUTOVER_PLAN.c.legacy_case_id == key)
                         .outerjoin(CUTOVER_CASE, CUTOVER_CASE.c.legacy_case_id == key)
                         .outerjoin(CASE, CASE.c.legacy_case_id == key))
            .order_by(key))
    for case_id, wave, state, loaded in conn.execute(stmt, execution_options={"yield_per": 20_000}):
        yield int(case_id), wave, state, bool(loaded)


def completed_waves(conn: Connection) -> set[str]:
    """Waves with a completed run."""
    return set(conn.execute(sa.select(CUTOVER_RUN.c.wave).where(CUTOVER_RUN.c.status == "completed")).scalars())


def planned_waves(conn: Connection, case_ids: Sequence[int]) -> dict[int, str]:
    """The planned wave of these cases."""
    if not case_ids:
        return {}
    return dict(conn.execute(sa.select(CUTOVER_PLAN.c.legacy_case_id, CUTOVER_PLAN.c.wave)
                             .where(key_list(conn, CUTOVER_PLAN.c.legacy_case_id, case_ids))).all())


# Target entities not keyed by case: their table, legacy key column and the legacy PERSON_ID
# column they are paged by (CID reads a page's persons, parties and addresses by PERSON_ID ranges).
PERSON_ENTITIES: dict[str, tuple[sa.Table, str, str]] = {
    "person": (PERSON, "legacy_person_id", "legacy_person_id"),
    "address": (ADDRESS, "legacy_address_id", "legacy_person_id"),
}


def present_key_pages(conn: Connection, entity: str,
                      page_size: int) -> Iterator[tuple[int | None, int | None, list[int]]]:
    """(low, high, keys): ranges (low, high] of legacy PERSON_ID (None: open) that together cover
    every value, each with the distinct legacy keys of the target's persons (or addresses) in it,
    about `page_size` rows a range; a person's rows are never split between two ranges."""
    table, column, person = PERSON_ENTITIES[entity]
    low: int | None = None
    while True:
        after = within(table.c[person], low, None)
        high = conn.execute(sa.select(table.c[person]).where(*after).order_by(table.c[person])
                            .offset(page_size - 1).limit(1)).scalar()
        page = sa.select(table.c[column]).where(*within(table.c[person], low, high)).distinct()
        yield low, high, sorted(conn.execute(page).scalars())
        if high is None:
            return
        low = high


def keys_held(conn: Connection, entity: str, keys: Sequence[int]) -> set[int]:
    """Which of these legacy keys the target's persons (or addresses) hold."""
    if not keys:
        return set()
    table, column, _ = PERSON_ENTITIES[entity]
    return set(conn.execute(sa.select(table.c[column]).where(key_list(conn, table.c[column], keys))).scalars())


def person_findings(conn: Connection) -> tuple[dict[str, set[int]], set[int]]:
    """Legacy keys of persons and addresses dropped with a record (by entity), and of records
    merged into another: few, so read once."""
    dropped: dict[str, set[int]] = {entity: set() for entity in PERSON_ENTITIES}
    merged: set[int] = set()
    for key, action, entity in conn.execute(sa.select(
            CUTOVER_FINDING.c.legacy_key, CUTOVER_FINDING.c.action, CUTOVER_FINDING.c.entity).where(
            sa.or_(CUTOVER_FINDING.c.action == "merge",
                   sa.and_(CUTOVER_FINDING.c.action == "drop", CUTOVER_FINDING.c.entity.in_(PERSON_ENTITIES))))):
        (merged if action == "merge" else dropped[entity]).add(key)
    return dropped, merged
