"""Extract a batch of cases with all their child rows: one query per table, not per case."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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
    UNHCR_REFERRAL,
)

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
    _fingerprint: str | None = field(default=None, repr=False, compare=False)

    @property
    def case_id(self) -> int:
        """CASE_ID."""
        return int(self.header["CASE_ID"])

    def fingerprint(self) -> str:
        """SHA-256 of every legacy row of the case in canonical form: changes show even when
        LAST_UPD_TS did not move. Computed once per case (the run and the transform both ask)."""
        if self._fingerprint is None:
            self._fingerprint = self._digest()
        return self._fingerprint

    def _digest(self) -> str:
        body = {
            "h": self.header,
            "c": {k: sorted(v, key=_first_value) for k, v in sorted(self.children.items())},
            "p": [self.persons[k] for k in sorted(self.persons)],
            "a": [sorted(self.addresses[k], key=_first_value) for k in sorted(self.addresses)],
        }
        return hashlib.sha256(json.dumps(body, default=_json_default, sort_keys=True,
                                         separators=(",", ":")).encode()).hexdigest()


def _first_value(row: Row) -> Any:
    return next(iter(row.values()))


def _json_default(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _rows(conn: Connection, table: sa.Table, column: str, keys: Sequence[int], order: str) -> list[Row]:
    if not keys:
        return []
    stmt = sa.select(table).where(table.c[column].in_(keys)).order_by(table.c[order])
    return [dict(r) for r in conn.execute(stmt).mappings()]


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
    return [cases[i] for i in ids if i in cases]
