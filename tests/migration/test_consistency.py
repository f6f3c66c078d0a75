"""A fresh run is the oracle: after CID edits committed while a batch reads, a run and one re-run
with no edits leave the target equal, row for row, to a fresh run of the current CID."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from cutover.db import create_engine
from legacy.schema import CASE_HDR, CASE_NOTE, UNHCR_REFERRAL
from migration.plan import planned_case_ids
from migration.run import RunConfig, prepare, run_wave_locally
from migration.rules.waves import WAVE_ORDER
from reconciliation import reconcile
from tests.helpers import AS_OF, dump, generate, run_all


def _waiting_on(admin: sa.Engine, table: str) -> bool:
    """Some session of the cluster waits for a lock on this table."""
    with admin.connect() as conn:
        return bool(conn.execute(sa.text(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = :table AND NOT l.granted"), {"table": table}).scalar())


def _edit_cases(legacy: sa.Engine, case_ids: list[int]) -> None:
    """Edit three cases without moving LAST_UPD_TS: priority flag flipped, a note rewritten, a note added."""
    with legacy.begin() as conn:
        top = conn.execute(sa.select(sa.func.max(CASE_NOTE.c.NOTE_ID))).scalar() or 0
        for n, cid in enumerate(case_ids, start=1):
            flag = conn.execute(sa.select(CASE_HDR.c.PRIORITY_FLG).where(CASE_HDR.c.CASE_ID == cid)).scalar()
            conn.execute(sa.update(CASE_HDR).where(CASE_HDR.c.CASE_ID == cid)
                         .values(PRIORITY_FLG="N" if flag == "Y" else "Y"))
            conn.execute(sa.update(CASE_NOTE).where(CASE_NOTE.c.CASE_ID == cid).values(NOTE_TEXT=f"Rewritten {n}"))
            conn.execute(CASE_NOTE.insert().values(NOTE_ID=top + n, CASE_ID=cid, AUTHOR_CD="CW1", NOTE_TEXT="Added",
                                                   CREATED_TS=sa.func.now(), DELETED_FLG="N"))


def test_edits_committed_while_a_batch_waits_for_a_lock_are_caught_by_the_next_run(pg_databases) -> None:  # type: ignore[no-untyped-def]
    legacy, target, fresh = pg_databases.new("legacy"), pg_databases.new("target"), pg_databases.new("fresh")
    generate(legacy, 400, seed=41)
    cfg = RunConfig(legacy, target, AS_OF, batch_size=1000)
    reference, _ = prepare(cfg)
    with create_engine(target).connect() as conn:
        wave = next(w for w in WAVE_ORDER if len(planned_case_ids(conn, w)) >= 3)
        edited = planned_case_ids(conn, wave)[:3]
    legacy_engine = create_engine(legacy)
    errors: list[BaseException] = []

    def run_the_wave() -> None:
        try:
            run_wave_locally(cfg, reference, wave)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)

    with legacy_engine.connect() as holder:
        holder.begin()
        holder.execute(sa.text(f'LOCK TABLE "{UNHCR_REFERRAL.name}" IN ACCESS EXCLUSIVE MODE'))
        worker = threading.Thread(target=run_the_wave)
        worker.start()
        deadline = time.monotonic() + 120
        while not _waiting_on(legacy_engine, UNHCR_REFERRAL.name):
            assert worker.is_alive() and time.monotonic() < deadline, "the batch never waited for the lock"
            time.sleep(0.05)
        _edit_cases(legacy_engine, edited)  # committed while the batch is between its reads
        holder.rollback()
    worker.join()
    assert not errors, errors

    run_all(cfg)  # the rest of the run
    run_all(cfg)  # one re-run with no edits
    run_all(RunConfig(legacy, fresh, AS_OF, batch_size=1000))
    assert dump(target) == dump(fresh)
    result = reconcile(legacy_engine, create_engine(target), AS_OF)
    assert result.balanced, result.discrepancies[:5]
