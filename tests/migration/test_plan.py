"""Planning reads only CID's code tables; a run's plan uses the reference it already read."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from cutover.db import create_engine
from migration.extract.reference import read_reference
from migration.plan import classify_cases
from migration.run import RunConfig, prepare
from migration.target_schema import CUTOVER_PLAN
from tests.helpers import AS_OF, generate


def test_the_plan_needs_only_the_code_tables_and_a_run_records_the_same_plan(tmp_path: Path) -> None:
    legacy, target = f"sqlite:///{tmp_path / 'l.db'}", f"sqlite:///{tmp_path / 't.db'}"
    generate(legacy, 400, seed=5)
    with create_engine(legacy).connect() as conn:
        full, codes = read_reference(conn), read_reference(conn, cross_case=False)
        assert full.duplicate_ho_refs  # the generator shares Home Office refs between persons
        assert (codes.duplicate_ho_refs, codes.colliding_refs) == (frozenset(), frozenset())
        assert (codes.statuses, codes.nationalities, codes.unit_regions) == (
            full.statuses, full.nationalities, full.unit_regions)
        alone = {(c.case_id, getattr(c, "wave", None), getattr(c, "reason", None))
                 for c in classify_cases(conn, AS_OF)}
    prepare(RunConfig(legacy, target, AS_OF))
    with create_engine(target).connect() as conn:
        recorded = set(conn.execute(sa.select(CUTOVER_PLAN.c.legacy_case_id, CUTOVER_PLAN.c.wave)).all())
    assert recorded == {(case_id, wave) for case_id, wave, _ in alone if wave is not None}
    assert len(recorded) < len(alone)  # some cases are excluded, and those are not planned
