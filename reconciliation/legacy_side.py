"""What CID holds, worked out by reconciliation's own queries and its own small readings of the
few fields it needs; it never calls the migration's transform code, so one bug cannot hide itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cutover.db import key_list
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

_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%b-%y", "%Y%m%d")
# Legacy child table -> (target entity, its legacy key column); persons and addresses via parties.
CHILD_ENTITIES: dict[str, tuple[sa.Table, str, str]] = {
    "case_party": (CASE_PERSON, "CASE_PERSON_ID", "CASE_ID"),
    "appointment": (APPOINTMENT, "APPT_ID", "CASE_ID"),
    "case_note": (CASE_NOTE, "NOTE_ID", "CASE_ID"),
    "decision": (DECISION, "DECISION_ID", "CASE_ID"),
    "vulnerability": (CASE_FLAG, "FLAG_ID", "CASE_ID"),
    "resettlement_referral": (UNHCR_REFERRAL, "REFERRAL_ID", "CASE_ID"),
}


def read_date(text: str | None) -> dt.date | None:
    """A CID date string as a date, or None when it is not one (reconciliation's own reading)."""
    for fmt in _FORMATS:
        try:
            return dt.datetime.strptime((text or "").strip().title(), fmt).date()
        except ValueError:
            continue
    return None


def _live(table: sa.Table) -> sa.ColumnElement[bool]:
    return sa.func.coalesce(table.c.DELETED_FLG, "N") != "Y"


def classified_cases(conn: Connection, as_of: dt.date, appeal_window_days: int) -> Iterator[tuple[int, str | None]]:
    """(CASE_ID, None when in flight, else why not) for every CID case in key order, streamed: in
    flight unless deleted, or terminal without a live appeal right (judged on its last live decision)."""
    terminal = {r.STATUS_CD.strip().upper(): (r.DESCR or "").lower()
                for r in conn.execute(sa.select(REF_STATUS).where(REF_STATUS.c.TERMINAL_FLG == "Y"))}
    last = (sa.select(DECISION.c.CASE_ID, sa.func.max(DECISION.c.DECISION_ID).label("last_id"))
            .where(_live(DECISION)).group_by(DECISION.c.CASE_ID).subquery())
    stmt = (sa.select(CASE_HDR.c.CASE_ID, CASE_HDR.c.STATUS_CD, CASE_HDR.c.DELETED_FLG, last.c.last_id,
                      DECISION.c.OUTCOME_CD, DECISION.c.DECISION_DT, DECISION.c.APPEAL_LODGED_FLG)
            .select_from(CASE_HDR.outerjoin(last, last.c.CASE_ID == CASE_HDR.c.CASE_ID)
                         .outerjoin(DECISION, last.c.last_id == DECISION.c.DECISION_ID))
            .order_by(CASE_HDR.c.CASE_ID))
    for r in conn.execute(stmt, execution_options={"yield_per": 20_000}):
        status = (r.STATUS_CD or "").strip().upper()
        decision = None if r.last_id is None else (
            (r.DECISION_DT, r.APPEAL_LODGED_FLG) if r.OUTCOME_CD == "REFUSE" else (None, "X"))
        if r.DELETED_FLG == "Y":
            yield r.CASE_ID, "soft_deleted"
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


def case_persons(conn: Connection, case_ids: Sequence[int]) -> list[tuple[int, int, int]]:
    """(CASE_ID, PERSON_ID, the last CASE_ID of any party naming that person) of the persons these
    cases' parties name, by case then person."""
    other = CASE_PERSON.alias("other")
    last = (sa.select(sa.func.max(other.c.CASE_ID)).where(other.c.PERSON_ID == CASE_PERSON.c.PERSON_ID)
            .scalar_subquery())
    stmt = (sa.select(CASE_PERSON.c.CASE_ID, CASE_PERSON.c.PERSON_ID, last)
            .join(PERSON, PERSON.c.PERSON_ID == CASE_PERSON.c.PERSON_ID)
            .where(key_list(conn, CASE_PERSON.c.CASE_ID, case_ids)).distinct())
    return sorted((int(c), int(p), int(n)) for c, p, n in conn.execute(stmt))


def person_addresses(conn: Connection, person_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(ADDRESS_ID, PERSON_ID) of these persons' addresses."""
    stmt = sa.select(ADDRESS.c.ADDRESS_ID, ADDRESS.c.PERSON_ID).where(key_list(conn, ADDRESS.c.PERSON_ID, person_ids))
    return [(int(a), int(p)) for a, p in conn.execute(stmt)]
