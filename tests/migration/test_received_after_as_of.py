"""A case received after the as-of date did not exist yet on that date: excluded with its own
reason, counted, never a finding; a later as-of date plans it into catch-up."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from core.db import create_engine
from legacy.schema import CASE_HDR
from migration.plan import PlannedCase, build_plan, classify_cases
from migration.plan.build import RECEIVED_AFTER_AS_OF
from migration.rules.waves import CATCH_UP
from migration.run import RunConfig
from migration.target_schema import CUTOVER_CASE, CUTOVER_EXCLUSION, CUTOVER_FINDING, CUTOVER_PLAN
from reconciliation import reconcile
from tests.helpers import AS_OF, generate, run_all

pytestmark = pytest.mark.e2e  # migrates a generated CID whole at two dates


def test_a_case_received_after_the_as_of_date_waits_for_a_later_one(databases) -> None:  # type: ignore[no-untyped-def]
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 200, seed=61)
    legacy_engine = create_engine(legacy)
    later = AS_OF + dt.timedelta(days=10)
    with legacy_engine.connect() as conn:
        before = build_plan(conn, AS_OF)
        # In flight on both dates (an appeal window can close between them).
        both = [c.case_id for c in classify_cases(conn, AS_OF) if isinstance(c, PlannedCase)]
        still = {c.case_id for c in classify_cases(conn, later) if isinstance(c, PlannedCase)}
    late = [cid for cid in both if cid in still][:2]
    run_all(RunConfig(legacy, target, AS_OF))
    received = AS_OF + dt.timedelta(days=5)
    with legacy_engine.begin() as conn:
        conn.execute(sa.update(CASE_HDR).where(CASE_HDR.c.CASE_ID.in_(late)).values(DATE_RCVD=received.isoformat()))

    fresh = databases.new("fresh")
    run_all(RunConfig(legacy, fresh, AS_OF))
    with legacy_engine.connect() as conn:
        plan = build_plan(conn, AS_OF)
    assert plan.reasons[RECEIVED_AFTER_AS_OF] == 2 and plan.in_flight == before.in_flight - 2
    with create_engine(fresh).connect() as conn:
        excluded = dict(conn.execute(sa.select(CUTOVER_EXCLUSION.c.legacy_case_id, CUTOVER_EXCLUSION.c.reason)).all())
        assert {cid: excluded.get(cid) for cid in late} == dict.fromkeys(late, RECEIVED_AFTER_AS_OF)
        for table in (CUTOVER_PLAN, CUTOVER_CASE, CUTOVER_FINDING):
            assert not conn.execute(sa.select(table).where(table.c.legacy_case_id.in_(late))).first()
    balance = reconcile(legacy_engine, create_engine(fresh), AS_OF)
    assert balance.balanced and balance.totals["excluded"] == sum(plan.reasons.values())

    run_all(RunConfig(legacy, fresh, later))
    with create_engine(fresh).connect() as conn:
        waves = dict(conn.execute(sa.select(CUTOVER_PLAN.c.legacy_case_id, CUTOVER_PLAN.c.wave)
                                  .where(CUTOVER_PLAN.c.legacy_case_id.in_(late))).all())
        states = dict(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.state)
                                   .where(CUTOVER_CASE.c.legacy_case_id.in_(late))).all())
        rules = set(conn.execute(sa.select(CUTOVER_FINDING.c.rule).where(
            CUTOVER_FINDING.c.legacy_case_id.in_(late))).scalars())
    assert waves == dict.fromkeys(late, CATCH_UP)
    assert set(states) == set(late) and "case.received_impossible" not in rules

    # A case the staged target planned before its DATE_RCVD moved past the as-of date leaves flight.
    run_all(RunConfig(legacy, target, AS_OF))
    with create_engine(target).connect() as conn:
        staged = dict(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.state)
                                   .where(CUTOVER_CASE.c.legacy_case_id.in_(late))).all())
        reasons = dict(conn.execute(sa.select(CUTOVER_EXCLUSION.c.legacy_case_id, CUTOVER_EXCLUSION.c.reason)
                                    .where(CUTOVER_EXCLUSION.c.legacy_case_id.in_(late))).all())
    assert staged == dict.fromkeys(late, "excluded") and reasons == dict.fromkeys(late, RECEIVED_AFTER_AS_OF)
