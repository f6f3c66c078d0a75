"""Idempotent writes to the target: upsert that touches only rows that changed, and removal of
a case's rows (dependent rows first) for re-sync, quarantine after migration and rollback."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from migration.load.digests import forget_digests
from migration.target_schema import ADDRESS, APPOINTMENT, BUSINESS_TABLES, CASE, CASE_PARTY, PERSON, UNIT

Row = dict[str, Any]
CHUNK = 5000
# Tables whose rows hang off a case, in the order they are deleted.
CASE_CHILD_TABLES = tuple(t for t in reversed(BUSINESS_TABLES) if "case_id" in t.c and t is not CASE)


def _insert(conn: Connection, table: sa.Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def upsert(conn: Connection, table: sa.Table, rows: Sequence[Row]) -> None:
    """Insert rows or update the ones whose values differ; identical rows are not touched.

    For `person`, the record with the lowest legacy PERSON_ID stands for a merged human."""
    if not rows:
        return
    stmt = _insert(conn, table)
    pk = [c.name for c in table.primary_key]
    cols = [c.name for c in table.columns if c.name not in pk]
    changed = sa.or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in cols))
    if table is PERSON:
        changed = sa.and_(changed, stmt.excluded.legacy_person_id <= table.c.legacy_person_id)
    stmt = stmt.on_conflict_do_update(index_elements=pk, set_={c: stmt.excluded[c] for c in cols}, where=changed)
    names = [c.name for c in table.columns]
    clean = [{n: r.get(n) for n in names} for r in rows]
    for i in range(0, len(clean), CHUNK):
        conn.execute(stmt, clean[i:i + CHUNK])


def ensure_units(conn: Connection, units: dict[str, str]) -> None:
    """Make the unit table hold the routing table's units."""
    upsert(conn, UNIT, [{"unit_code": code, "name": name} for code, name in units.items()])


def parents_first(rows: Sequence[Row]) -> list[Row]:
    """Appointments ordered so that an appointment comes after the one it was rebooked from."""
    pending = list(rows)
    keys = {r["appointment_id"] for r in rows}
    done: set[uuid.UUID] = set()
    ordered: list[Row] = []
    while pending:
        ready = [r for r in pending if r["rebooked_from_id"] is None or r["rebooked_from_id"] in done
                 or r["rebooked_from_id"] not in keys]
        if not ready:  # cannot happen once loops are cut; keep the rest rather than spin
            ready = pending
        ordered.extend(ready)
        done.update(r["appointment_id"] for r in ready)
        ready_ids = {id(r) for r in ready}
        pending = [r for r in pending if id(r) not in ready_ids]
    return ordered


def delete_stale_children(conn: Connection, rows: dict[str, list[Row]], case_keys: Sequence[uuid.UUID],
                          legacy_person_ids: Iterable[int]) -> None:
    """Remove rows of these cases that the new rows no longer hold (removed or deleted in CID)."""
    if not case_keys:
        return
    for table in CASE_CHILD_TABLES:
        pk = next(iter(table.primary_key)).name
        keep = [r[pk] for r in rows.get(table.name, [])]
        if table is APPOINTMENT:
            # Cut links into rows about to go first, so the self-reference never blocks the delete.
            conn.execute(sa.update(APPOINTMENT).where(
                APPOINTMENT.c.case_id.in_(case_keys), APPOINTMENT.c.appointment_id.not_in(keep))
                .values(rebooked_from_id=None))
            conn.execute(sa.update(APPOINTMENT).where(
                APPOINTMENT.c.case_id.in_(case_keys),
                APPOINTMENT.c.rebooked_from_id.in_(
                    sa.select(APPOINTMENT.c.appointment_id).where(
                        APPOINTMENT.c.case_id.in_(case_keys), APPOINTMENT.c.appointment_id.not_in(keep))))
                .values(rebooked_from_id=None))
        _delete(conn, table, table.c.case_id.in_(case_keys), table.c[pk].not_in(keep))
    people = sorted(set(legacy_person_ids))
    if people:
        keep = [r["address_id"] for r in rows.get(ADDRESS.name, [])]
        _delete(conn, ADDRESS, ADDRESS.c.legacy_person_id.in_(people), ADDRESS.c.address_id.not_in(keep))


def _delete(conn: Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    """Delete rows and their recorded digests."""
    forget_digests(conn, table, *where)
    return int(conn.execute(sa.delete(table).where(*where)).rowcount or 0)


def delete_cases(conn: Connection, case_keys: Sequence[uuid.UUID]) -> int:
    """Remove these cases and every row that depends on them; persons (and their addresses) go
    only when no remaining case refers to them. Returns the number of cases removed."""
    if not case_keys:
        return 0
    persons = list(conn.execute(sa.select(CASE_PARTY.c.person_id).where(CASE_PARTY.c.case_id.in_(case_keys))
                                .distinct()).scalars())
    conn.execute(sa.update(APPOINTMENT).where(APPOINTMENT.c.case_id.in_(case_keys)).values(rebooked_from_id=None))
    for table in CASE_CHILD_TABLES:
        _delete(conn, table, table.c.case_id.in_(case_keys))
    removed = _delete(conn, CASE, CASE.c.case_id.in_(case_keys))
    if persons:
        still_used = sa.select(CASE_PARTY.c.person_id).where(CASE_PARTY.c.person_id.in_(persons))
        orphans = list(conn.execute(sa.select(PERSON.c.person_id).where(
            PERSON.c.person_id.in_(persons), PERSON.c.person_id.not_in(still_used))).scalars())
        if orphans:
            conn.execute(sa.update(APPOINTMENT).where(APPOINTMENT.c.person_id.in_(orphans)).values(person_id=None))
            _delete(conn, ADDRESS, ADDRESS.c.person_id.in_(orphans))
            _delete(conn, PERSON, PERSON.c.person_id.in_(orphans))
    return removed

