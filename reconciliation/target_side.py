"""What the target holds: migrated cases and child rows by legacy key, and the tool's own record
of quarantines, drops, merges, the plan and the runs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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


@dataclass
class TargetSide:
    """The target's view of the cutover, keyed by legacy ids."""

    migrated: set[int] = field(default_factory=set)
    states: dict[int, str] = field(default_factory=dict)
    plan: dict[int, str] = field(default_factory=dict)
    completed_waves: set[str] = field(default_factory=set)
    persons: set[int] = field(default_factory=set)  # legacy PERSON_IDs standing in the target
    addresses: set[int] = field(default_factory=set)  # legacy ADDRESS_IDs in the target
    dropped: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))  # entity -> legacy keys
    merged: set[int] = field(default_factory=set)  # legacy PERSON_IDs folded into another record


def read_target(conn: Connection) -> TargetSide:
    """Read the target's cases, child keys and the tool's records."""
    side = TargetSide()
    side.migrated = set(conn.execute(sa.select(CASE.c.legacy_case_id)).scalars())
    side.states = dict(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.state)).all())
    side.plan = dict(conn.execute(sa.select(CUTOVER_PLAN.c.legacy_case_id, CUTOVER_PLAN.c.wave)).all())
    side.completed_waves = set(conn.execute(sa.select(CUTOVER_RUN.c.wave).where(
        CUTOVER_RUN.c.status == "completed")).scalars())
    side.persons = set(conn.execute(sa.select(PERSON.c.legacy_person_id)).scalars())
    side.addresses = set(conn.execute(sa.select(ADDRESS.c.legacy_address_id)).scalars())
    for entity, key, action in conn.execute(sa.select(CUTOVER_FINDING.c.entity, CUTOVER_FINDING.c.legacy_key,
                                                      CUTOVER_FINDING.c.action)
                                            .where(CUTOVER_FINDING.c.action.in_(("drop", "merge")))):
        if action == "drop":
            side.dropped[entity].add(key)
        else:
            side.merged.add(key)
    return side
