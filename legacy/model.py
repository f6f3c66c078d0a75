"""One generated legacy case: its rows per table and the defects injected into it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

Row = dict[str, Any]


@dataclass
class GeneratedCase:
    """The rows of one case across the CID tables, plus what was injected into them."""

    case_id: int
    as_of: dt.date
    header: Row
    persons: list[Row] = field(default_factory=list)
    parties: list[Row] = field(default_factory=list)
    addresses: list[Row] = field(default_factory=list)
    appointments: list[Row] = field(default_factory=list)
    notes: list[Row] = field(default_factory=list)
    decisions: list[Row] = field(default_factory=list)
    flags: list[Row] = field(default_factory=list)
    referrals: list[Row] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    # Other cases a defect also touches (duplicate person, reference collision): their refs.
    also_touches: dict[str, list[str]] = field(default_factory=dict)

    def rows_by_table(self) -> dict[str, list[Row]]:
        """The case's rows keyed by legacy table name."""
        return {
            "CASE_HDR": [self.header], "PERSON": self.persons, "CASE_PERSON": self.parties,
            "ADDRESS": self.addresses, "APPOINTMENT": self.appointments, "CASE_NOTE": self.notes,
            "DECISION": self.decisions, "CASE_FLAG": self.flags, "UNHCR_REFERRAL": self.referrals,
        }

    @property
    def main_person(self) -> Row:
        """The person of the first MAIN party (the generator always creates one)."""
        main_ids = [p["PERSON_ID"] for p in self.parties if p["ROLE_CD"] == "MAIN"]
        return next(p for p in self.persons if p["PERSON_ID"] in main_ids)
