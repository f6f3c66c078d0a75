"""A fresh run is the oracle: after CID edits committed while a batch reads, a run and one re-run
with no edits leave the target equal, row for row, to a fresh run of the current CID."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

import migration.extract.batch as extract_batch
from core.db import create_engine
from legacy.churn import apply_churn
from legacy.schema import CASE_HDR, CASE_NOTE, UNHCR_REFERRAL
from migration.plan import planned_case_ids
from migration.rules.waves import WAVE_ORDER
from migration.run import RunConfig, prepare, run_wave_locally
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
            flag = conn.execute(sa.select(CASE_HDR.c.PRIORITY_FLG).filter_by(CASE_ID=cid)).scalar()
            conn.execute(sa.update(CASE_HDR).filter_by(CASE_ID=cid)
                         .values(PRIORITY_FLG="N" if flag == "Y" else "Y"))
            conn.execute(sa.update(CASE_NOTE).filter_by(CASE_ID=cid).values(NOTE_TEXT=f"Rewritten {n}"))
            conn.execute(CASE_NOTE.insert().values(NOTE_ID=top + n, CASE_ID=cid, AUTHOR_CD="CW1", NOTE_TEXT="Added",
                                                   CREATED_TS=sa.func.now(), DELETED_FLG="N"))


@pytest.mark.e2e
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


CHURN_DAYS = 4


@pytest.mark.e2e
def test_a_fresh_run_is_the_oracle_after_churn_committed_during_a_run(databases, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    legacy, target, fresh = databases.new("legacy"), databases.new("target"), databases.new("fresh")
    generate(legacy, 1500, seed=43)
    as_of = AS_OF + dt.timedelta(days=30)  # the churned days' new cases are received by then
    cfg = RunConfig(legacy, target, as_of, batch_size=2000)
    legacy_engine = create_engine(legacy)
    real_frame = extract_batch._frame
    days: list[dt.date] = []

    def churn_between_headers_and_the_rest(conn, table, *args, **kwargs):  # type: ignore[no-untyped-def]
        # A day of caseworking commits (on its own connection) after the batch read its case
        # headers and before it reads their rows: the widest window an edit can hit.
        if table.name == "CASE_PERSON" and len(days) < CHURN_DAYS:
            days.append(apply_churn(legacy_engine, seed=100 + len(days), fraction=0.05).day)
        return real_frame(conn, table, *args, **kwargs)

    monkeypatch.setattr(extract_batch, "_frame", churn_between_headers_and_the_rest)
    run_all(cfg)
    monkeypatch.undo()
    assert len(days) == CHURN_DAYS and max(days) <= as_of

    again = run_all(cfg)  # one re-run with no edits
    assert sum(w["migrated"] + w["excluded"] for w in again.values()) > 0  # the churn was caught here
    run_all(RunConfig(legacy, fresh, as_of, batch_size=2000))
    staged, oracle = dump(target), dump(fresh)
    assert staged == oracle
    result = reconcile(legacy_engine, create_engine(target), as_of)
    assert result.balanced, result.discrepancies[:5]
    settled = run_all(cfg)
    assert all(w["migrated"] == 0 and w["excluded"] == 0 for w in settled.values())
    assert dump(target) == oracle
    with capsys.disabled():
        print(f"\n[{databases.kind}] churn days committed during the run: {len(days)}, re-runs needed: 1, "
              f"rows compared: {sum(len(rows) for rows in staged.values())}")
