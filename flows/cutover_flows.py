"""Prefect wiring: one flow per wave, a task per batch. The work itself is in migration.run."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from migration.extract import Extract, LegacyReference
from migration.run import RunConfig, engine_for, finish_wave, migrate_batch, prepare, start_wave


class WaveFailed(RuntimeError):
    """Some batches of a wave failed after their retries; the committed ones stay committed."""


# Set by the command line to advance its progress display; tasks run in this process's threads.
progress_hook: Callable[[int], None] | None = None


@lru_cache(maxsize=4)
def _reference(cfg: RunConfig, token: str) -> LegacyReference:
    """The run's legacy reference, read once per process (it holds Home Office refs, so it is
    never a task or flow parameter that Prefect would store)."""
    with engine_for(cfg.legacy_url).connect() as conn:
        return Extract.reference(conn)


@task(name="migrate-batch", task_run_name="{wave}-batch-{batch_no}", cache_policy=NO_CACHE,
      persist_result=False, retries=2, retry_delay_seconds=5)
def migrate_batch_task(cfg: RunConfig, token: str, wave: str, run_id: uuid.UUID, batch_no: int,
                       case_ids: list[int]) -> dict[str, int]:
    """One batch, in one target transaction (transient DB faults retried inside with tenacity;
    the task's own retries cover anything else that kills an attempt)."""
    counts = migrate_batch(cfg, _reference(cfg, token), wave, run_id, batch_no, case_ids)
    if progress_hook is not None:
        progress_hook(len(case_ids))
    return counts


@flow(name="cutover-wave", flow_run_name="wave-{wave}", persist_result=False, validate_parameters=False)
def wave_flow(cfg: RunConfig, token: str, wave: str, max_workers: int = 1) -> dict[str, int]:
    """Run or resume one wave: its batches as tasks, then its totals as a Prefect artifact."""
    run = start_wave(cfg, wave)
    todo = [(n, ids) for n, ids in enumerate(run.batches) if n not in run.committed]
    if progress_hook is not None and run.committed:
        progress_hook(sum(len(ids) for n, ids in enumerate(run.batches) if n in run.committed))
    runner: ThreadPoolTaskRunner = ThreadPoolTaskRunner(max_workers=max_workers)
    with runner:
        futures = [runner.submit(migrate_batch_task, parameters={
            "cfg": cfg, "token": token, "wave": wave, "run_id": run.run_id, "batch_no": n, "case_ids": ids})
            for n, ids in todo]
        failures = [f for f in futures if _failed(f)]
    totals = finish_wave(cfg, run, "failed" if failures else "completed")
    create_table_artifact(key=f"wave-{wave.replace('_', '-')}-totals",
                          table=[{"wave": wave, "batches": len(run.batches), **totals,
                                  "failed_batches": len(failures)}],
                          description=f"Totals of wave {wave}")
    if cfg.report_dir:
        page = Path(cfg.report_dir).resolve() / f"wave-{wave}.html"
        create_link_artifact(key=f"wave-{wave.replace('_', '-')}-report", link=page.as_uri(),
                             link_text=f"Reconciliation report of wave {wave}",
                             description="Written by `cutover report`; open it from the machine that ran it.")
    if failures:
        raise WaveFailed(f"wave {wave}: {len(failures)} of {len(todo)} batch(es) failed")
    return totals


def _failed(future) -> bool:  # type: ignore[no-untyped-def]
    try:
        future.result()
    except Exception:
        return True
    return False


@flow(name="cutover", persist_result=False, validate_parameters=False)
def cutover_flow(cfg: RunConfig, waves: Sequence[str], max_workers: int = 1,
                 plan: bool = True) -> dict[str, dict[str, int]]:
    """Plan (unless the caller just did), then run each wave in order as its own sub-flow."""
    if plan:
        prepare(cfg)
    token = uuid.uuid4().hex
    return {wave: wave_flow(cfg, token, wave, max_workers) for wave in waves}
