"""A batch holding a row the target refuses (a constraint validation cannot see across batches) fails
alone: the case holding it is quarantined by the policy of `load.rejected`, the rest of the batch
and of the wave migrates; a huge note is not a poison."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.db import create_engine
from legacy.schema import CASE_NOTE
from migration.load import ensure_units, upgrade_target
from migration.rules.routing import UNITS
from migration.run import RunConfig
from migration.target_schema import CASE, CUTOVER_CASE, CUTOVER_FINDING
from migration.target_schema import CASE_NOTE as T_NOTE
from migration.transform.keys import key
from tests.conftest import Databases
from tests.helpers import AS_OF, generate, run_all


def _clean_run(databases: Databases) -> tuple[str, dict[int, str]]:
    legacy, target = databases.new("legacy"), databases.new("clean")
    generate(legacy, 240, seed=5)
    run_all(RunConfig(legacy, target, AS_OF, batch_size=40))
    with create_engine(target).connect() as conn:
        migrated = dict(conn.execute(sa.select(CASE.c.legacy_case_id, CASE.c.case_ref)).all())
    return legacy, migrated


@pytest.mark.e2e  # migrates a generated CID whole
def test_a_refused_row_quarantines_its_case_and_the_rest_migrates(databases: Databases) -> None:
    legacy, clean = _clean_run(databases)
    victim = sorted(clean)[len(clean) // 2]
    huge = sorted(clean)[len(clean) // 3]
    with create_engine(legacy).begin() as conn:  # a 2 MB note: split into parts, not a poison
        note_id = conn.execute(sa.select(sa.func.min(CASE_NOTE.c.NOTE_ID)).where(huge == CASE_NOTE.c.CASE_ID)).scalar()
        if note_id is not None:
            conn.execute(sa.update(CASE_NOTE).where(note_id == CASE_NOTE.c.NOTE_ID)
                         .values(NOTE_TEXT="Interview note, translated. " * 75_000))
    target = databases.new("poisoned")
    engine = create_engine(target)
    upgrade_target(engine)
    with engine.begin() as conn:  # another system's case already holds the victim's reference
        ensure_units(conn, UNITS)
        row = {c.name: None for c in CASE.columns} | {
            "case_id": key("case", "stray"), "case_ref": clean[victim], "legacy_ref": "X", "legacy_case_id": 9_999_999,
            "legacy_status_code": "AWDC", "case_type": "asylum", "lifecycle_state": "awaiting_decision",
            "received_on": AS_OF, "owning_unit": next(iter(UNITS)), "routing_rule": "stray", "priority": False,
            "detained": False, "supported": False, "high_harm": False}
        conn.execute(CASE.insert().values(row))

    totals = run_all(RunConfig(legacy, target, AS_OF, batch_size=40))

    with engine.connect() as conn:
        states = dict(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.state)).all())
        refused = conn.execute(sa.select(CUTOVER_FINDING).where(CUTOVER_FINDING.c.rule == "load.rejected")).all()
        migrated = set(conn.execute(sa.select(CASE.c.legacy_case_id)).scalars()) - {9_999_999}
        parts = conn.execute(sa.select(sa.func.count()).select_from(T_NOTE)
                             .join(CASE, CASE.c.case_id == T_NOTE.c.case_id)
                             .where(CASE.c.legacy_case_id == huge)).scalar()
    assert states[victim] == "quarantined"
    assert [(r.legacy_case_id, r.entity, r.action) for r in refused] == [(victim, "case", "quarantine")]
    assert refused[0].field is not None  # the constraint or column is named, never the value
    assert migrated == set(clean) - {victim}
    assert sum(t["migrated"] for t in totals.values()) == len(clean) - 1
    assert parts and parts > 100
