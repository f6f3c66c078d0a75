"""The five child tables (appointments, notes, decisions, vulnerabilities, referrals) as frames,
through the row-wise mappers of child_rows.py, one case at a time."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import polars as pl

from migration.rules import Rules
from migration.transform.child_rows import CHILD_MAPPERS
from migration.transform.context import BatchContext, CaseState, LegacyCase
from migration.transform.findings import FINDINGS_SCHEMA
from migration.transform.frames import CASE_COLUMN, frame_of


def child_frames(legacy: Mapping[str, pl.DataFrame], parties: pl.DataFrame, as_of: dt.date,
                 rules: Rules) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The target rows of the five child tables of the cases in `parties` (CASE_ID, case_id,
    PERSON_ID, person_id of each kept party), and the findings about them."""
    states: dict[int, CaseState] = {}
    for case_id, case_key, person_id, person_key in parties.iter_rows():
        state = states.setdefault(case_id, CaseState(LegacyCase(case_id), uuid.UUID(case_key)))
        if person_id is not None:
            state.person_keys[person_id] = uuid.UUID(person_key)
    ctx = BatchContext(as_of, rules)
    frames = {}
    for legacy_table, target, mapper in CHILD_MAPPERS:
        rows_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if legacy_table in legacy:
            for row in legacy[legacy_table].to_dicts():
                rows_of[row["CASE_ID"]].append(row)
        rows = []
        for case_id, state in states.items():
            for row in mapper(ctx, state, rows_of.get(case_id, [])):
                row[CASE_COLUMN] = case_id
                rows.append(row)
        frames[target] = frame_of(target, rows)
    return frames, pl.DataFrame(ctx.found, schema=FINDINGS_SCHEMA, orient="row")
