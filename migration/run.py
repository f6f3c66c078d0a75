"""A migration run as plain functions: prepare, start a wave, migrate a batch, finish the wave.
`flows/` wires these into Prefect; tests call them directly."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from dataclasses import dataclass, field
from functools import cache

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from audit.entries import make_body
from audit.ledger import append
from audit.provenance import provenance_fields
from core.db import create_engine, for_target_batch
from core.errors import CutoverError
from core.log import get_logger
from migration.batch import Batch, BatchJob
from migration.bookkeeping import Bookkeep, committed_counts, skip_unchanged
from migration.extract import Extract, LegacyReference, read_reference
from migration.extract.snapshot import snapshot
from migration.ledgering import flush
from migration.load import Load, ensure_units, upgrade_target
from migration.load.batch import write_rows
from migration.load.rejects import find_refused, is_refusal, refuse_cases
from migration.plan import Plan, classified, planned_case_ids, record_plan, split_batches
from migration.retry import fault_name, scrubbed, with_retries
from migration.rules import current_rules
from migration.target_schema import CUTOVER_BATCH, CUTOVER_LOCK, CUTOVER_RUN
from migration.transform import Transform
from migration.transform.keys import key

log = get_logger("run")


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs, as plain picklable values (URLs, never engines)."""

    legacy_url: str
    target_url: str
    as_of: dt.date
    batch_size: int = 500
    lanes: int = 2  # a wave is cut into a multiple of this many batches of even sizes (split_batches)
    appeal_window_days: int | None = None  # None: the rules' appeal window
    older_months: int | None = None  # None: the rules' older-case months
    retry_attempts: int = 5
    retry_max_wait: float = 30.0
    report_dir: str = ""  # where `cutover report` writes its pages: runs link to them


@dataclass
class WaveRun:
    """A wave's run: its id, its batches and those already committed (when resuming)."""

    wave: str
    run_id: uuid.UUID
    batches: list[list[int]]
    committed: set[int] = field(default_factory=set)
    resumed: bool = False


@cache
def engine_for(url: str, read_only: bool = False) -> Engine:
    """One engine per URL (and mode) per process; the legacy database is always read read-only."""
    return create_engine(url, read_only=read_only)


def prepare(cfg: RunConfig, *, cross_case: bool = True) -> tuple[LegacyReference, dict[str, int]]:
    """Bring the target schema up, plan (new in-flight cases go to catch-up once a plan exists)
    and read the legacy reference data (its cross-case sets only when `cross_case`: a caller
    whose batches read their own reference spares seconds of aggregates over all of CID on the
    way to the first batch); retried whole on transient faults."""
    upgrade_target(engine_for(cfg.target_url))
    reference, counts, plan = with_retries(lambda: _prepare_once(cfg, cross_case), cfg.retry_attempts,
                                           cfg.retry_max_wait, what="planning")
    log.info("plan: %d in flight, %d excluded, %d newly planned", plan.in_flight, plan.excluded,
             counts["planned"])
    return reference, counts


def _prepare_once(cfg: RunConfig, cross_case: bool) -> tuple[LegacyReference, dict[str, int], Plan]:
    """Classify every CID case from one snapshot of CID and record the plan in one target transaction."""
    plan = Plan(as_of=cfg.as_of)
    with snapshot(engine_for(cfg.legacy_url, read_only=True)) as source, engine_for(cfg.target_url).begin() as conn:
        reference = read_reference(source, cross_case=cross_case)
        ensure_units(conn, dict(current_rules().units))
        frames = classified(source, cfg.as_of, appeal_window_days=cfg.appeal_window_days,
                            older_months=cfg.older_months, reference=reference)
        counts = record_plan(conn, cfg.as_of, plan.counting_frames(frames))
        append(conn, [make_body("plan", as_of=cfg.as_of.isoformat(), counts={
            "in_flight": plan.in_flight, "excluded": plan.excluded, **counts})])
    return reference, counts, plan


def acquire_lock(cfg: RunConfig, holder: str | None = None) -> str:
    """Take the target's run lock; refuse while another live run holds it, however two runs race:
    the insert comes first, so of two runs starting together exactly one gets the row."""
    holder = holder or f"{socket.gethostname()}:{os.getpid()}"
    engine = engine_for(cfg.target_url)
    for _ in range(3):
        try:
            with engine.begin() as conn:
                conn.execute(CUTOVER_LOCK.insert().values(name="run", holder=holder,
                                                          acquired_at=dt.datetime.now(dt.UTC)))
            return holder
        except IntegrityError:
            pass
        with engine.begin() as conn:
            current = conn.execute(sa.select(CUTOVER_LOCK).where(CUTOVER_LOCK.c.name == "run")).mappings().first()
            if current is None:
                continue  # released between our insert and this read: try again
            if current["holder"] == holder:
                return holder
            host, _, pid = current["holder"].partition(":")
            if host != socket.gethostname() or _alive(int(pid or 0)):
                raise CutoverError(_lock_held(current["holder"], current["acquired_at"]))
            conn.execute(sa.delete(CUTOVER_LOCK).where(CUTOVER_LOCK.c.name == "run",
                                                       CUTOVER_LOCK.c.holder == current["holder"]))
    raise CutoverError(_lock_held("another run", "just now"))


def _lock_held(holder: str, since: object) -> str:
    return f"another cutover run ({holder}) holds the target since {since}; wait for it to finish"


def release_lock(cfg: RunConfig, holder: str) -> None:
    """Give the run lock back."""
    with engine_for(cfg.target_url).begin() as conn:
        conn.execute(sa.delete(CUTOVER_LOCK).where(CUTOVER_LOCK.c.name == "run", CUTOVER_LOCK.c.holder == holder))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


def start_wave(cfg: RunConfig, wave: str) -> WaveRun:
    """Resume the wave's unfinished run if there is one (cut into batches the same way), else
    start a new run; retried whole on transient faults."""
    return with_retries(lambda: _start_wave_once(cfg, wave), cfg.retry_attempts, cfg.retry_max_wait,
                        what=f"the start of wave {wave}")


def _start_wave_once(cfg: RunConfig, wave: str) -> WaveRun:
    """Resume or start the wave's run in one target transaction."""
    with engine_for(cfg.target_url).begin() as conn:
        ids = planned_case_ids(conn, wave)
        batches = split_batches(ids, cfg.batch_size, cfg.lanes)
        open_run = conn.execute(sa.select(CUTOVER_RUN).where(
            CUTOVER_RUN.c.wave == wave, CUTOVER_RUN.c.status == "running",
            CUTOVER_RUN.c.batch_size == cfg.batch_size, CUTOVER_RUN.c.lanes == cfg.lanes,
            CUTOVER_RUN.c.as_of == cfg.as_of)
            .order_by(CUTOVER_RUN.c.started_at.desc())).mappings().first()
        if open_run is not None:
            done = set(conn.execute(sa.select(CUTOVER_BATCH.c.batch_no).where(
                CUTOVER_BATCH.c.run_id == open_run["run_id"])).scalars())
            conn.execute(sa.update(CUTOVER_RUN).where(CUTOVER_RUN.c.run_id == open_run["run_id"])
                         .values(attempts=CUTOVER_RUN.c.attempts + 1))
            append(conn, [make_body("run_resumed", run_id=str(open_run["run_id"]), wave=wave,
                                    counts={"batches": len(batches), "committed": len(done),
                                            "attempt": open_run["attempts"] + 1})])
            log.warning("wave %s: resuming interrupted run %s (%d of %d batches committed)", wave,
                        open_run["run_id"], len(done), len(batches))
            return WaveRun(wave, open_run["run_id"], batches, done, resumed=True)
        stale = conn.execute(sa.select(CUTOVER_RUN.c.run_id).where(CUTOVER_RUN.c.wave == wave,
                                                                   CUTOVER_RUN.c.status == "running")).scalars().all()
        for old in stale:
            flush(conn, old)
            append(conn, [make_body("run_finished", run_id=str(old), wave=wave, status="abandoned")])
        conn.execute(sa.update(CUTOVER_RUN).where(CUTOVER_RUN.c.run_id.in_(stale))
                     .values(status="abandoned", finished_at=dt.datetime.now(dt.UTC)))
        # Derived, not random: the same work gives the same ledger, whatever ran the batches.
        runs_so_far = conn.execute(sa.select(sa.func.count()).where(CUTOVER_RUN.c.wave == wave)).scalar() or 0
        run_id = key("run", wave, cfg.as_of.isoformat(), runs_so_far + 1)
        conn.execute(CUTOVER_RUN.insert().values(run_id=run_id, wave=wave, as_of=cfg.as_of, status="running",
                                                 started_at=dt.datetime.now(dt.UTC), batch_size=cfg.batch_size,
                                                 lanes=cfg.lanes))
        append(conn, [make_body("run_started", run_id=str(run_id), wave=wave, as_of=cfg.as_of.isoformat(),
                                **provenance_fields(),
                                counts={"batches": len(batches), "cases": len(ids), "batch_size": cfg.batch_size,
                                        "lanes": cfg.lanes})])
    return WaveRun(wave, run_id, batches)


def migrate_batch(cfg: RunConfig, reference: LegacyReference, wave: str, run_id: uuid.UUID, batch_no: int,
                  case_ids: list[int]) -> dict[str, int]:
    """Extract, transform, validate and load one batch in one target transaction, retried whole on
    transient faults. Cases unchanged in CID since they migrated are not touched. A case holding a
    value the driver cannot read, or rows the target refuses, is quarantined; the rest loads."""
    job = BatchJob(wave, run_id, batch_no, case_ids, cfg.as_of, cfg.appeal_window_days)
    what = f"batch {batch_no} of wave {wave}"
    try:
        counts = with_retries(lambda: _migrate_once(cfg, Batch(job, reference)), cfg.retry_attempts,
                              cfg.retry_max_wait, what=what)
    except Exception as exc:
        # Raised from None: a driver's message (which can quote a value) never travels on to the
        # log, the console or Prefect's store with the exception.
        raise scrubbed(exc, what) from None
    log.debug("wave %s batch %d (cases %d-%d): %d migrated, %d quarantined, %d unchanged", wave, batch_no,
              min(case_ids), max(case_ids), counts["migrated"], counts["quarantined"], counts["unchanged"])
    return counts


def _migrate_once(cfg: RunConfig, batch: Batch) -> dict[str, int]:
    """One attempt at a batch (the unit that is retried): the stages in order, the load and the
    bookkeeping in one target transaction; rows the target refuses are found and quarantined, and
    that transaction runs again without them."""
    target = engine_for(cfg.target_url)
    done = committed_counts(target, batch.job)
    if done is not None:
        return done
    batch = Extract(engine_for(cfg.legacy_url, read_only=True), batch)
    batch = skip_unchanged(target, batch)
    batch = Transform(batch)
    try:
        batch = _load_and_record(target, batch)
    except Exception as exc:
        if not is_refusal(exc):
            raise
        log.warning("wave %s batch %d: %s from the target; finding the case(s) that hold the row", batch.job.wave,
                    batch.job.batch_no, fault_name(exc))
        refuse_cases(batch.transformed, find_refused(target, batch.transformed, write_rows))
        batch = _load_and_record(target, batch)
    return batch.counts()


def _load_and_record(target: Engine, batch: Batch) -> Batch:
    """The business rows and the tool's record of the batch, in one target transaction."""
    with target.begin() as conn:
        batch = Load(for_target_batch(conn), batch)
        return Bookkeep(conn, batch)


def finish_wave(cfg: RunConfig, run: WaveRun, status: str = "completed") -> dict[str, int]:
    """Close the run with its totals (from its committed batches) and checkpoint the ledger;
    retried whole on transient faults."""
    return with_retries(lambda: _finish_wave_once(cfg, run, status), cfg.retry_attempts, cfg.retry_max_wait,
                        what=f"the end of wave {run.wave}")


def _finish_wave_once(cfg: RunConfig, run: WaveRun, status: str) -> dict[str, int]:
    """Close the run in one target transaction."""
    counted = ("migrated", "quarantined", "unchanged", "excluded")
    with engine_for(cfg.target_url).begin() as conn:
        row = conn.execute(sa.select(*(sa.func.coalesce(sa.func.sum(CUTOVER_BATCH.c[c]), 0) for c in counted))
                           .where(CUTOVER_BATCH.c.run_id == run.run_id)).one()
        totals = {c: int(v) for c, v in zip(counted, row, strict=True)}
        conn.execute(sa.update(CUTOVER_RUN).where(CUTOVER_RUN.c.run_id == run.run_id).values(
            status=status, finished_at=dt.datetime.now(dt.UTC), **totals))
        flush(conn, run.run_id)
        append(conn, [make_body("run_finished", run_id=str(run.run_id), wave=run.wave, status=status,
                                counts=totals)])
    return totals


def ledger_upto(cfg: RunConfig, run: WaveRun, batch_no: int) -> int:
    """Append to the ledger, in batch order, what the run's batches up to `batch_no` staged (each
    of them has ended), while the later ones run: the wave's end then has only the rest to append,
    not the whole wave's entries while every lane waits; retried whole on transient faults."""
    def once() -> int:
        with engine_for(cfg.target_url).begin() as conn:
            return flush(conn, run.run_id, upto=batch_no)

    return with_retries(once, cfg.retry_attempts, cfg.retry_max_wait, what=f"the ledger of wave {run.wave}")


def run_wave_locally(cfg: RunConfig, reference: LegacyReference, wave: str) -> dict[str, int]:
    """Run a whole wave in this process without Prefect (tests, and the flows' building block)."""
    run = start_wave(cfg, wave)
    for batch_no, ids in enumerate(run.batches):
        if batch_no not in run.committed:
            migrate_batch(cfg, reference, wave, run.run_id, batch_no, ids)
    return finish_wave(cfg, run)
