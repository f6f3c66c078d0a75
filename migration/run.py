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
from cutover.collector import collector_paused
from cutover.db import create_engine, key_list
from cutover.errors import CutoverError
from cutover.log import get_logger
from migration.extract import Extract, LegacyCase, LegacyReference
from migration.ledgering import flush
from migration.load import Load, ensure_units
from migration.load.batch import write_rows
from migration.load.rejects import find_refused, is_refusal
from migration.plan import Plan, classify_cases, is_in_flight, planned_case_ids, record_plan, split_batches
from migration.retry import with_retries
from migration.rules.routing import UNITS
from migration.target_schema import CUTOVER_BATCH, CUTOVER_CASE, CUTOVER_LOCK, CUTOVER_RUN
from migration.transform import TransformResult, transform_batch
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
    appeal_window_days: int = 14
    older_months: int = 36
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
    and read the legacy reference data."""
    target, legacy = engine_for(cfg.target_url), engine_for(cfg.legacy_url, read_only=True)
    Load.init_target(target)
    plan = Plan(as_of=cfg.as_of)
    with collector_paused(), legacy.connect() as source, target.begin() as conn:
        reference = Extract.reference(source)
        ensure_units(conn, UNITS)
        classified = classify_cases(source, cfg.as_of, appeal_window_days=cfg.appeal_window_days,
                                    older_months=cfg.older_months, reference=reference)
        counts = record_plan(conn, cfg.as_of, plan.counting(classified))
        append(conn, [make_body("plan", as_of=cfg.as_of.isoformat(), counts={
            "in_flight": plan.in_flight, "excluded": plan.excluded, **counts})])
    log.info("plan: %d in flight, %d excluded, %d newly planned", plan.in_flight, plan.excluded,
             counts["planned"])
    return reference, counts


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
    start a new run."""
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
                                counts={"batches": len(batches), "cases": len(ids), "batch_size": cfg.batch_size,
                                        "lanes": cfg.lanes})])
    return WaveRun(wave, run_id, batches)


def migrate_batch(cfg: RunConfig, reference: LegacyReference, wave: str, run_id: uuid.UUID, batch_no: int,
                  case_ids: list[int]) -> dict[str, int]:
    """Extract, transform, validate and load one batch in one target transaction, retried whole on
    transient faults. Cases unchanged in CID since they migrated are not touched. When the target
    refuses a row, the cases holding such rows are found and quarantined, and the rest loads."""

    def work() -> dict[str, int]:
        with engine_for(cfg.target_url).connect() as conn:
            # A batch that committed but whose worker died before saying so is re-run by Dask or
            # Prefect: it is already done (issue #15442 of Prefect).
            done = conn.execute(sa.select(CUTOVER_BATCH).where(CUTOVER_BATCH.c.run_id == run_id,
                                                               CUTOVER_BATCH.c.batch_no == batch_no)).mappings().first()
        if done is not None:
            return {k: int(done[k]) for k in ("cases", "migrated", "quarantined", "unchanged", "excluded")}
        with engine_for(cfg.legacy_url, read_only=True).connect() as conn:
            cases = Extract.batch(conn, case_ids)
        left = left_flight(cases, case_ids, reference, cfg)
        staying = [c for c in cases if c.case_id not in left]
        try:
            return attempt(staying, left, {})
        except Exception as exc:
            if not is_refusal(exc) or last is None:
                raise
            log.warning("wave %s batch %d: %s from the target; finding the case(s) that hold the row", wave,
                        batch_no, type(exc).__name__)
            refused = find_refused(engine_for(cfg.target_url), last, write_rows)
            return attempt(staying, left, refused)

    last: TransformResult | None = None

    def attempt(staying: list[LegacyCase], left: dict[int, tuple[str | None, str]],
                refused: dict[int, tuple[str, str | None]]) -> dict[str, int]:
        nonlocal last
        with engine_for(cfg.target_url).begin() as conn:
            records = conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.state,
                                             CUTOVER_CASE.c.legacy_fingerprint)
                                   .where(key_list(conn, CUTOVER_CASE.c.legacy_case_id, case_ids))).all()
            known = {cid: fp for cid, state, fp in records if state == "migrated"}
            already_out = {cid for cid, state, _ in records if state == "excluded"}
            left = {cid: why for cid, why in left.items() if cid not in already_out}
            todo = [c for c in staying if known.get(c.case_id) != c.fingerprint]
            result = last = transform_batch(todo, reference, cfg.as_of, cfg.older_months)
            result.refuse(refused)
            unchanged = len(staying) - len(todo)
            Load.batch(conn, result, wave=wave, run_id=run_id, batch_no=batch_no, case_ids=case_ids,
                       unchanged=unchanged, left=left, as_of=cfg.as_of)
        return {"cases": len(case_ids), "migrated": result.migrated, "quarantined": result.quarantined,
                "unchanged": unchanged, "excluded": len(left)}

    with collector_paused():
        counts = with_retries(work, cfg.retry_attempts, cfg.retry_max_wait)
    log.debug("wave %s batch %d (cases %d-%d): %d migrated, %d quarantined, %d unchanged", wave, batch_no,
             min(case_ids), max(case_ids), counts["migrated"], counts["quarantined"], counts["unchanged"])
    return counts


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
    """Close the run with its totals (from its committed batches)."""
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
