"""Extract a batch of cases with all their child rows: one query per table, not per case."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import key_list
from legacy.schema import (
    ADDRESS,
    APPOINTMENT,
    CASE_FLAG,
    CASE_HDR,
    CASE_NOTE,
    CASE_PERSON,
    DECISION,
    PERSON,
    UNHCR_REFERRAL,
)
from migration.extract.fingerprint import case_fingerprints

Row = dict[str, Any]
# Child tables keyed by CASE_ID, with their primary key; PERSON and ADDRESS come through parties.
CASE_CHILDREN: tuple[tuple[sa.Table, str], ...] = (
    (CASE_PERSON, "CASE_PERSON_ID"), (APPOINTMENT, "APPT_ID"), (CASE_NOTE, "NOTE_ID"),
    (DECISION, "DECISION_ID"), (CASE_FLAG, "FLAG_ID"), (UNHCR_REFERRAL, "REFERRAL_ID"),
)


@dataclass
class LegacyCase:
    """One case as CID holds it: header and child rows, persons and their addresses."""

    header: Row
    children: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    persons: dict[int, Row] = field(default_factory=dict)
    addresses: dict[int, list[Row]] = field(default_factory=lambda: defaultdict(list))
    fingerprint: str = ""  # computed by CID's database (migration/extract/fingerprint.py)

    @property
    def case_id(self) -> int:
        """CASE_ID."""
        return int(self.header["CASE_ID"])


def _rows(conn: Connection, table: sa.Table, column: str, keys: Sequence[int], order: str) -> list[Row]:
    if not keys:
        return []
    stmt = sa.select(table).where(key_list(conn, table.c[column], keys)).order_by(table.c[order])
    result = conn.execute(stmt)
    names = list(result.keys())
    return [dict(zip(names, row, strict=True)) for row in result]


def extract_batch(conn: Connection, case_ids: Sequence[int]) -> list[LegacyCase]:
    """Read the cases with these ids and all their rows, in key order (missing ids are skipped)."""
    ids = sorted(case_ids)
    cases = {r["CASE_ID"]: LegacyCase(r) for r in _rows(conn, CASE_HDR, "CASE_ID", ids, "CASE_ID")}
    person_ids: set[int] = set()
    for table, key in CASE_CHILDREN:
        for row in _rows(conn, table, "CASE_ID", ids, key):
            case = cases.get(row["CASE_ID"])
            if case is not None:
                case.children[table.name].append(row)
                if table is CASE_PERSON and row["PERSON_ID"] is not None:
                    person_ids.add(row["PERSON_ID"])
    persons = {r["PERSON_ID"]: r for r in _rows(conn, PERSON, "PERSON_ID", sorted(person_ids), "PERSON_ID")}
    addresses: dict[int, list[Row]] = defaultdict(list)
    for row in _rows(conn, ADDRESS, "PERSON_ID", sorted(persons), "ADDRESS_ID"):
        addresses[row["PERSON_ID"]].append(row)
    for case in cases.values():
        for party in case.children.get(CASE_PERSON.name, []):
            pid = party["PERSON_ID"]
            if pid in persons:
                case.persons[pid] = persons[pid]
                case.addresses[pid] = addresses.get(pid, [])
    for case_id, fingerprint in case_fingerprints(conn, sorted(cases), sorted(person_ids)).items():
        cases[case_id].fingerprint = fingerprint
    return [cases[i] for i in ids if i in cases]
