"""Load on re-sync: rows CID no longer has leave the target with their digests; new cases cost no
stale-row lookups, yet a case the target already holds is cleaned."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from core.db import create_engine
from legacy.schema import ADDRESS as LEGACY_ADDRESS
from legacy.schema import CASE_NOTE as LEGACY_NOTE
from migration.run import RunConfig
from migration.target_schema import ADDRESS, CASE, CASE_NOTE
from reconciliation import reconcile
from tests.helpers import AS_OF, recorded_digests, run_all


@pytest.mark.e2e  # migrates and re-syncs a generated CID
def test_rows_gone_from_cid_leave_the_target_on_resync(migrated_copy) -> None:  # type: ignore[no-untyped-def]
    legacy, target = migrated_copy(300, seed=61, batch_size=100)
    with create_engine(target).connect() as conn:
        migrated = set(conn.execute(sa.select(CASE.c.legacy_case_id)).scalars())
        note_id, case_id = conn.execute(sa.select(CASE_NOTE.c.legacy_note_id, CASE.c.legacy_case_id)
                                        .join(CASE, CASE.c.case_id == CASE_NOTE.c.case_id)
                                        .order_by(CASE_NOTE.c.legacy_note_id)).first()  # type: ignore[misc]
        address_id = conn.execute(sa.select(sa.func.min(ADDRESS.c.legacy_address_id))).scalar_one()
    assert case_id in migrated
    later = dt.datetime(2026, 11, 2, 9, 0)
    with create_engine(legacy).begin() as conn:
        conn.execute(sa.update(LEGACY_NOTE).where(LEGACY_NOTE.c.NOTE_ID.in_([note_id]))
                     .values(DELETED_FLG="Y", LAST_UPD_TS=later))
        conn.execute(sa.delete(LEGACY_ADDRESS).where(LEGACY_ADDRESS.c.ADDRESS_ID.in_([address_id])))

    run_all(RunConfig(legacy, target, AS_OF, batch_size=100))

    with create_engine(target).connect() as conn:
        notes = set(conn.execute(sa.select(CASE_NOTE.c.legacy_note_id)).scalars())
        addresses = set(conn.execute(sa.select(ADDRESS.c.legacy_address_id)).scalars())
        recorded = {t.name: recorded_digests(conn, t.name) for t in (CASE_NOTE, ADDRESS)}
        rows = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in (CASE_NOTE, ADDRESS)}
    assert note_id not in notes and address_id not in addresses
    assert {name: len(digests) for name, digests in recorded.items()} == rows
    assert note_id not in {r for _, r, _ in recorded[CASE_NOTE.name]}
    assert address_id not in {r for _, r, _ in recorded[ADDRESS.name]}
    assert reconcile(create_engine(legacy), create_engine(target), AS_OF).balanced
