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
from cutover.db import create_engine, key_list
from cutover.errors import CutoverError
from cutover.log import get_logger
from migration.extract import Extract, LegacyCase, LegacyReference
from migration.extract.snapshot import snapshot
from migration.extract.unreadable import Unreadable, read_readable
from migration.ledgering import flush
from migration.load import Load, ensure_units
from migration.load.batch import write_rows
from migration.load.rejects import find_refused, is_refusal
from migration.plan import Plan, classify_cases, is_in_flight, planned_case_ids, record_plan, split_batches
from migration.retry import fault_name, with_retries
from migration.rules import current_rules
from migration.rules.policies import policy
from migration.target_schema import CUTOVER_BATCH, CUTOVER_CASE, CUTOVER_LOCK, CUTOVER_RUN
from migration.transform import TransformResult, transform_batch
from migration.transform.batch import CaseOutcome
from migration.transform.findings import Finding
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


def prepare(cfg: RunConfig) -> tuple[LegacyReference, dict[str, int]]:
    """Bring the target schema up, plan (new in-flight cases go to catch-up once a plan exists)
    and read the legacy reference data; retried whole on transient faults."""
    Load.init_target(engine_for(cfg.target_url))
    reference, counts, plan = with_retries(lambda: _prepare_once(cfg), cfg.retry_attempts, cfg.retry_max_wait,
                                           what="planning")
    log.info("plan: %d in flight, %d excluded, %d newly planned", plan.in_flight, plan.excluded,
             counts["planned"])
    return reference, counts


def _prepare_once(cfg: RunConfig) -> tuple[LegacyReference, dict[str, int], Plan]:
    """Classify every CID case from one snapshot of CID and record the plan in one target transaction."""
    plan = Plan(as_of=cfg.as_of)
    with snapshot(engine_for(cfg.legacy_url, read_only=True)) as source, engine_for(cfg.target_url).begin() as conn:
        reference = Extract.reference(source)
        ensure_units(conn, dict(current_rules().units))
        classified = classify_cases(source, cfg.as_of, appeal_window_days=cfg.appeal_window_days,
                                    older_months=cfg.older_months, reference=reference)
        counts = record_plan(conn, cfg.as_of, plan.counting(classified))
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


@dataclass(frozen=True)
class BatchJob:
    """One batch of a wave's run: which cases, and where its record goes."""

    wave: str
    run_id: uuid.UUID
    batch_no: int
    case_ids: list[int]


@dataclass
class BatchRead:
    """What a batch read from one snapshot of CID: the cases to migrate, those that left flight
    and those holding a value the driver refuses."""

    staying: list[LegacyCase]
    left: dict[int, tuple[str | None, str]]
    unreadable: list[Unreadable]


def migrate_batch(cfg: RunConfig, reference: LegacyReference, wave: str, run_id: uuid.UUID, batch_no: int,
                  case_ids: list[int]) -> dict[str, int]:
    """Extract, transform, validate and load one batch in one target transaction, retried whole on
    transient faults. Cases unchanged in CID since they migrated are not touched. A case holding a
    value the driver cannot read, or rows the target refuses, is quarantined; the rest loads."""
    job = BatchJob(wave, run_id, batch_no, case_ids)
    counts = with_retries(lambda: _migrate_once(cfg, reference, job), cfg.retry_attempts, cfg.retry_max_wait,
                          what=f"batch {batch_no} of wave {wave}")
    log.debug("wave %s batch %d (cases %d-%d): %d migrated, %d quarantined, %d unchanged", wave, batch_no,
              min(case_ids), max(case_ids), counts["migrated"], counts["quarantined"], counts["unchanged"])
    return counts


def _migrate_once(cfg: RunConfig, reference: LegacyReference, job: BatchJob) -> dict[str, int]:
    """One attempt at a batch (the unit that is retried)."""
    done = _committed_counts(cfg, job)
    if done is not None:
        return done
    read = read_batch(cfg, reference, job.case_ids)
    known, already_out = _recorded_states(cfg, job.case_ids)
    left = {cid: why for cid, why in read.left.items() if cid not in already_out}
    todo = [c for c in read.staying if known.get(c.case_id) != c.fingerprint]
    result = transform_batch(todo, reference, cfg.as_of)
    quarantine_unreadable(result, read.unreadable)
    unchanged = len(read.staying) - len(todo)
    try:
        _load(cfg, job, result, unchanged, left)
    except Exception as exc:
        if not is_refusal(exc):
            raise
        log.warning("wave %s batch %d: %s from the target; finding the case(s) that hold the row", job.wave,
                    job.batch_no, fault_name(exc))
        result.refuse(find_refused(engine_for(cfg.target_url), result, write_rows))
        _load(cfg, job, result, unchanged, left)
    return {"cases": len(job.case_ids), "migrated": result.migrated, "quarantined": result.quarantined,
            "unchanged": unchanged, "excluded": len(left)}


def _committed_counts(cfg: RunConfig, job: BatchJob) -> dict[str, int] | None:
    """The counts of the batch if it is already committed: a batch that committed but whose worker
    died before saying so is re-run by Dask or Prefect (issue #15442 of Prefect)."""
    with engine_for(cfg.target_url).connect() as conn:
        done = conn.execute(sa.select(CUTOVER_BATCH).where(CUTOVER_BATCH.c.run_id == job.run_id,
                                                           CUTOVER_BATCH.c.batch_no == job.batch_no)).mappings().first()
    if done is None:
        return None
    return {k: int(done[k]) for k in ("cases", "migrated", "quarantined", "unchanged", "excluded")}


def read_batch(cfg: RunConfig, reference: LegacyReference, case_ids: list[int]) -> BatchRead:
    """Every read of the batch, fingerprints included, in one snapshot of CID, so the fingerprint
    recorded for a case is that of the very rows transformed and loaded."""
    with snapshot(engine_for(cfg.legacy_url, read_only=True)) as conn:
        cases, unreadable = read_readable(conn, case_ids, Extract.batch)
    bad = {u.case_id for u in unreadable}
    left = left_flight(cases, [cid for cid in case_ids if cid not in bad], reference, cfg)
    return BatchRead([c for c in cases if c.case_id not in left], left, unreadable)


def _recorded_states(cfg: RunConfig, case_ids: list[int]) -> tuple[dict[int, str], set[int]]:
    """The target's record of these cases: fingerprints of the migrated ones, ids of the excluded."""
    with engine_for(cfg.target_url).connect() as conn:
        records = conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.state,
                                         CUTOVER_CASE.c.legacy_fingerprint)
                               .where(key_list(conn, CUTOVER_CASE.c.legacy_case_id, case_ids))).all()
    return ({cid: fp for cid, state, fp in records if state == "migrated"},
            {cid for cid, state, _ in records if state == "excluded"})


def _load(cfg: RunConfig, job: BatchJob, result: TransformResult, unchanged: int,
          left: dict[int, tuple[str | None, str]]) -> None:
    """Write the batch in one target transaction."""
    with engine_for(cfg.target_url).begin() as conn:
        Load.batch(conn, result, wave=job.wave, run_id=job.run_id, batch_no=job.batch_no, case_ids=job.case_ids,
                   unchanged=unchanged, left=left, as_of=cfg.as_of)


def quarantine_unreadable(result: TransformResult, unreadable: list[Unreadable]) -> None:
    """Quarantine the cases holding a value the driver refuses, each with a finding naming the
    table, column and row key (rule `read.unreadable_value`)."""
    rule = policy("read.unreadable_value")
    for u in unreadable:
        result.outcomes.append(CaseOutcome(u.case_id, u.legacy_ref, "quarantined", "", None))
        result.findings.append(Finding(u.case_id, u.legacy_ref, "read.unreadable_value", u.table, u.column,
                                       u.legacy_key, rule.defect, rule.action))
        log.warning("case %s: a value in %s.%s cannot be read (%s); quarantined", u.legacy_ref or u.case_id,
                    u.table, u.column, u.fault)


def left_flight(cases: list[LegacyCase], case_ids: list[int], reference: LegacyReference,
                cfg: RunConfig) -> dict[int, tuple[str | None, str]]:
    """Planned cases that are no longer in flight (closed, withdrawn, deleted, or gone from CID):
    CASE_ID -> (CASE_REF, reason). The stated policy: such a case leaves the target and counts as
    excluded; if it comes back into flight, the next run of its wave migrates it again."""
    left: dict[int, tuple[str | None, str]] = {}
    for case in cases:
        decisions = [d for d in case.children.get("DECISION", []) if (d.get("DELETED_FLG") or "N") != "Y"]
        in_flight, reason = is_in_flight(case.header, decisions[-1] if decisions else None, reference, cfg.as_of,
                                         cfg.appeal_window_days)
        if not in_flight:
            left[case.case_id] = (case.header.get("CASE_REF"), reason or "terminal_status")
    found = {c.case_id for c in cases}
    left.update({cid: (None, "missing_in_legacy") for cid in case_ids if cid not in found})
    return left


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


def run_wave_locally(cfg: RunConfig, reference: LegacyReference, wave: str) -> dict[str, int]:
    """Run a whole wave in this process without Prefect (tests, and the flows' building block)."""
    run = start_wave(cfg, wave)
    for batch_no, ids in enumerate(run.batches):
        if batch_no not in run.committed:
            migrate_batch(cfg, reference, wave, run.run_id, batch_no, ids)
    return finish_wave(cfg, run)
