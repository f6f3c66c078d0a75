"""What CID holds, worked out by reconciliation's own queries and its own small readings of the
few fields it needs; it never calls the migration's transform code, so one bug cannot hide itself."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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


@dataclass
class LegacySide:
    """In-flight and excluded cases of CID as of a date, and the child rows of given cases."""

    in_flight: dict[int, str | None] = field(default_factory=dict)  # CASE_ID -> CASE_REF
    excluded: dict[int, str] = field(default_factory=dict)  # CASE_ID -> reason
    children: dict[str, dict[int, tuple[int, ...]]] = field(default_factory=dict)  # entity -> CASE_ID -> keys


def in_flight_cases(conn: Connection, as_of: dt.date, appeal_window_days: int) -> LegacySide:
    """Classify every CID case: in flight unless deleted, or terminal without a live appeal right."""
    terminal = {r.STATUS_CD.strip().upper(): (r.DESCR or "").lower()
                for r in conn.execute(sa.select(REF_STATUS).where(REF_STATUS.c.TERMINAL_FLG == "Y"))}
    refused: dict[int, tuple[str | None, str | None]] = {}
    for r in conn.execute(sa.select(DECISION.c.CASE_ID, DECISION.c.OUTCOME_CD, DECISION.c.DECISION_DT,
                                    DECISION.c.APPEAL_LODGED_FLG).where(_live(DECISION))
                          .order_by(DECISION.c.DECISION_ID)):
        refused[r.CASE_ID] = (r.DECISION_DT, r.APPEAL_LODGED_FLG) if r.OUTCOME_CD == "REFUSE" else (None, "X")
    side = LegacySide()
    headers = sa.select(CASE_HDR.c.CASE_ID, CASE_HDR.c.CASE_REF, CASE_HDR.c.STATUS_CD, CASE_HDR.c.DELETED_FLG)
    rows = conn.execute(headers, execution_options={"yield_per": 10000})
    for r in rows:
        status = (r.STATUS_CD or "").strip().upper()
        if r.DELETED_FLG == "Y":
            side.excluded[r.CASE_ID] = "soft_deleted"
        elif status not in terminal or _appeal_open(refused.get(r.CASE_ID), as_of, appeal_window_days):
            side.in_flight[r.CASE_ID] = r.CASE_REF
        else:
            side.excluded[r.CASE_ID] = terminal[status]
    return side


def _appeal_open(decision: tuple[str | None, str | None] | None, as_of: dt.date, window: int) -> bool:
    if decision is None or decision[1] == "X":
        return False
    when, lodged = decision
    if lodged == "Y":
        return True
    day = read_date(when)
    return day is None or (as_of - day).days <= window


def person_keys(conn: Connection, side: LegacySide, case_ids: set[int]) -> None:
    """Fill side.children with the persons and addresses of these cases (reached through parties,
    so counted by key here; the case-keyed entities are totalled by the database). Streamed, and
    kept as tuples: a million cases fit in memory."""
    persons: dict[int, list[int]] = defaultdict(list)
    stmt = (sa.select(CASE_PERSON.c.CASE_ID, CASE_PERSON.c.PERSON_ID)
            .join(PERSON, PERSON.c.PERSON_ID == CASE_PERSON.c.PERSON_ID).distinct())
    for case_id, pid in conn.execute(stmt, execution_options={"yield_per": 20000}):
        if case_id in case_ids:
            persons[case_id].append(pid)
    owner: dict[int, int] = {}
    for case_id in sorted(persons):
        for pid in persons[case_id]:
            owner.setdefault(pid, case_id)
    addresses: dict[int, list[int]] = defaultdict(list)
    stmt = sa.select(ADDRESS.c.ADDRESS_ID, ADDRESS.c.PERSON_ID)
    for aid, pid in conn.execute(stmt, execution_options={"yield_per": 20000}):
        case_id = owner.get(pid)
        if case_id is not None:
            addresses[case_id].append(aid)
    side.children["person"] = {cid: tuple(keys) for cid, keys in persons.items()}
    side.children["address"] = {cid: tuple(keys) for cid, keys in addresses.items()}
