"""What CID holds, worked out by reconciliation's own queries and its own small readings of the
few fields it needs; it never calls the migration's transform code, so one bug cannot hide itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import within
from legacy.schema import (
    ADDRESS,
    APPOINTMENT,
    CASE_FLAG,
    CASE_HDR,
    CASE_NOTE,
    CASE_PERSON,
    DECISION,
    PERSON,
    REF_STATUS,
    UNHCR_REFERRAL,
)
from reconciliation.dates import read_date

# Legacy child table -> (target entity, its legacy key column); persons and addresses via parties.
CHILD_ENTITIES: dict[str, tuple[sa.Table, str, str]] = {
    "case_party": (CASE_PERSON, "CASE_PERSON_ID", "CASE_ID"),
    "appointment": (APPOINTMENT, "APPT_ID", "CASE_ID"),
    "case_note": (CASE_NOTE, "NOTE_ID", "CASE_ID"),
    "decision": (DECISION, "DECISION_ID", "CASE_ID"),
    "vulnerability": (CASE_FLAG, "FLAG_ID", "CASE_ID"),
    "resettlement_referral": (UNHCR_REFERRAL, "REFERRAL_ID", "CASE_ID"),
}


def _live(table: sa.Table) -> sa.ColumnElement[bool]:
    return sa.func.coalesce(table.c.DELETED_FLG, "N") != "Y"


def classified_cases(conn: Connection, as_of: dt.date, appeal_window_days: int) -> Iterator[tuple[int, str | None]]:
    """(CASE_ID, None when in flight, else why not) for every CID case in key order, streamed: in
    flight unless deleted, received after the as-of date, or terminal without a live appeal right
    (judged on its last live decision)."""
    terminal = {r.STATUS_CD.strip().upper(): (r.DESCR or "").lower()
                for r in conn.execute(sa.select(REF_STATUS).where(REF_STATUS.c.TERMINAL_FLG == "Y"))}
    last = (sa.select(DECISION.c.CASE_ID, sa.func.max(DECISION.c.DECISION_ID).label("last_id"))
            .where(_live(DECISION)).group_by(DECISION.c.CASE_ID).subquery())
    stmt = (sa.select(CASE_HDR.c.CASE_ID, CASE_HDR.c.STATUS_CD, CASE_HDR.c.DELETED_FLG, CASE_HDR.c.DATE_RCVD,
                      last.c.last_id, DECISION.c.OUTCOME_CD, DECISION.c.DECISION_DT, DECISION.c.APPEAL_LODGED_FLG)
            .select_from(CASE_HDR.outerjoin(last, last.c.CASE_ID == CASE_HDR.c.CASE_ID)
                         .outerjoin(DECISION, last.c.last_id == DECISION.c.DECISION_ID))
            .order_by(CASE_HDR.c.CASE_ID))
    for r in conn.execute(stmt, execution_options={"yield_per": 20_000}):
        status = (r.STATUS_CD or "").strip().upper()
        decision = None if r.last_id is None else (
            (r.DECISION_DT, r.APPEAL_LODGED_FLG) if r.OUTCOME_CD == "REFUSE" else (None, "X"))
        received = read_date(r.DATE_RCVD)
        if r.DELETED_FLG == "Y":
            yield r.CASE_ID, "soft_deleted"
        elif received is not None and received > as_of:
            yield r.CASE_ID, "received_after_as_of"
        elif status not in terminal or _appeal_open(decision, as_of, appeal_window_days):
            yield r.CASE_ID, None
        else:
            yield r.CASE_ID, terminal[status]


def _appeal_open(decision: tuple[str | None, str | None] | None, as_of: dt.date, window: int) -> bool:
    if decision is None or decision[1] == "X":
        return False
    when, lodged = decision
    if lodged == "Y":
        return True
    day = read_date(when)
    return day is None or (as_of - day).days <= window


# Entities reached through parties: CID table, its key, the PERSON_ID it belongs to.
OWNED_ENTITIES: dict[str, tuple[sa.Table, str, str]] = {
    "person": (PERSON, "PERSON_ID", "PERSON_ID"), "address": (ADDRESS, "ADDRESS_ID", "PERSON_ID"),
}
WAVE_SLOTS = 256  # an owner is CASE_ID * WAVE_SLOTS + wave number: one MIN() gives the lowest case and its wave


def owned_rows(entity: str, migrated: sa.FromClause, low: int | None, high: int | None) -> sa.Select[Any]:
    """SELECT (key, owner) of CID's persons (or addresses) of the persons with PERSON_ID in
    (low, high] (None: open), each owned by the lowest of the `migrated` cases (a table of case_id,
    wave) whose parties name the person, so a person shared by cases counts once; rows no migrated
    case names are left out. Every table is read by PERSON_ID range, through its index."""
    table, key, person = OWNED_ENTITIES[entity]
    lowest = sa.func.min(migrated.c.case_id * WAVE_SLOTS + migrated.c.wave).label("owner")
    naming = CASE_PERSON.join(migrated, migrated.c.case_id == CASE_PERSON.c.CASE_ID).join(
        PERSON, PERSON.c.PERSON_ID == CASE_PERSON.c.PERSON_ID)
    # The range is put on each table: the planner does not carry it across a join.
    owners = (sa.select(CASE_PERSON.c.PERSON_ID.label("person_id"), lowest).select_from(naming)
              .where(*within(CASE_PERSON.c.PERSON_ID, low, high), *within(PERSON.c.PERSON_ID, low, high))
              .group_by(CASE_PERSON.c.PERSON_ID))
    if table is PERSON:
        return owners.with_only_columns(CASE_PERSON.c.PERSON_ID.label("key"), lowest)
    owned = owners.subquery("owner")
    return (sa.select(table.c[key].label("key"), owned.c.owner)
            .join_from(table, owned, owned.c.person_id == table.c[person]).where(*within(table.c[person], low, high)))
