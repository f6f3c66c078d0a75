"""Prefect wiring: one flow per wave, a task per batch. The work itself is in migration.run."""

from __future__ import annotations

import uuid
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from core.credentials import resolved_config
from core.log import get_logger
from flows.batch_cut import Cut, cut_wave
from flows.references import legacy_reference
from migration.retry import fault_name
from migration.rules.waves import WAVE_ORDER
from migration.run import (
    RunConfig,
    WaveRun,
    finish_wave,
    ledger_upto,
    migrate_batch,
    prepare,
    start_wave,
)

log = get_logger("flows")


class WaveFailed(RuntimeError):
    """Some batches of a wave failed after their retries; the committed ones stay committed."""


# Set by the command line to advance its progress display; tasks run in this process's threads.
progress_hook: Callable[[int], None] | None = None


@task(name="migrate-batch", task_run_name="{wave}-batch-{batch_no}", cache_policy=NO_CACHE,
      persist_result=False, retries=2, retry_delay_seconds=5)
def migrate_batch_task(cfg: RunConfig, token: str, wave: str, run_id: uuid.UUID, batch_no: int,
                       case_ids: array[int]) -> dict[str, int]:
    """One batch, in one target transaction (transient DB faults retried inside with tenacity;
    the task's own retries cover anything else that kills an attempt)."""
    cfg = resolved_config(cfg)
    return migrate_batch(cfg, legacy_reference(cfg.legacy_url, token), wave, run_id, batch_no, list(case_ids))


def task_runner(max_workers: int, dask_address: str | None = None, dask_workers: int | None = None) -> Any:
    """Dask when asked (an existing cluster, or a local one of N processes), else threads."""
    if dask_address or dask_workers:
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": dask_workers, "processes": True,
                                              "threads_per_worker": 1, "dashboard_address": None})
    return ThreadPoolTaskRunner(max_workers=max_workers)


@flow(name="cutover-wave", flow_run_name="wave-{wave}-as-of-{cfg.as_of}", persist_result=False,
      validate_parameters=False)
def wave_flow(cfg: RunConfig, token: str, wave: str, max_workers: int = 1, dask_address: str | None = None,
              dask_workers: int | None = None, fixed: Cut | None = None) -> dict[str, int]:
    """Run or resume one wave: its batches as tasks, then its totals as a Prefect artifact. The
    configuration comes with passwords masked (Prefect stores parameters); batches put them back.
    With `fixed`, the wave's batch size and lanes are chosen (cut_wave) where it leaves them open;
    without, they are the configuration's."""
    failures = 0
    with task_runner(max_workers, dask_address, dask_workers) as runner:
        if fixed is not None:
            cfg = cut_wave(cfg, wave, fixed, running_lanes(runner, max_workers))
        run = start_wave(resolved_config(cfg), wave)
        todo = [(n, ids) for n, ids in enumerate(run.batches) if n not in run.committed]
        if progress_hook is not None and run.committed:
            progress_hook(sum(len(ids) for n, ids in enumerate(run.batches) if n in run.committed))
        # A bounded window of batches in flight: the runner (and Dask's scheduler in this process)
        # holds each submitted task's parameters and state until it is released, so submitting a
        # whole wave at once would make this process grow with the wave.
        window: deque[tuple[int, list[int], Any]] = deque()
        ahead = batches_ahead(runner, max_workers)
        resolved = resolved_config(cfg)

        def settle_next() -> int:
            # Batches settle in their order: once this one has, its ledger entries and those of
            # every batch before it can be appended while the later ones run.
            n, ids, future = window.popleft()
            failed = _settle(ids, future)
            append_settled(resolved, run, n)
            return failed

        for n, ids in todo:
            # The ids as one array, not a list: Prefect walks every element of a list parameter
            # several times per submission (looking for futures), in this process.
            window.append((n, ids, runner.submit(migrate_batch_task, parameters={
                "cfg": cfg, "token": token, "wave": wave, "run_id": run.run_id, "batch_no": n,
                "case_ids": array("q", ids)})))
            if len(window) > ahead:
                failures += settle_next()
        while window:
            failures += settle_next()
    totals = finish_wave(resolved_config(cfg), run, "failed" if failures else "completed")
    create_table_artifact(key=f"wave-{wave.replace('_', '-')}-totals",
                          table=[{"wave": wave, "batches": len(run.batches), **totals,
                                  "failed_batches": failures}],
                          description=f"Totals of wave {wave}")
    if cfg.report_dir:
        page = Path(cfg.report_dir).resolve() / f"wave-{wave}.html"
        create_link_artifact(key=f"wave-{wave.replace('_', '-')}-report", link=page.as_uri(),
                             link_text=f"Reconciliation report of wave {wave}",
                             description="Written by `cutover report`; open it from the machine that ran it.")
    if failures:
        raise WaveFailed(f"wave {wave}: {failures} of {len(todo)} batch(es) failed")
    return totals


def append_settled(cfg: RunConfig, run: WaveRun, batch_no: int) -> None:
    """Append the ledger entries of the wave's batches up to this settled one; if that fails, they
    wait for the wave's end, which appends whatever is left (a fault here never stops the wave)."""
    try:
        ledger_upto(cfg, run, batch_no)
    except Exception as exc:
        log.warning("wave %s: the ledger entries of batch %d wait for the wave's end (%s)", run.wave, batch_no,
                    fault_name(exc))


def running_lanes(runner: Any, max_workers: int) -> int:
    """How many batches run at once: the worker threads of the Dask cluster, or of this process."""
    client = getattr(runner, "client", None)
    return max(sum(client.nthreads().values()) if client is not None else max_workers, 1)


def batches_ahead(runner: Any, max_workers: int) -> int:
    """How many batches to keep submitted: two per lane and two spare, so no worker waits and
    nothing piles up."""
    return 2 * running_lanes(runner, max_workers) + 2


def _settle(ids: list[int], future: Any) -> int:
    """Wait for a batch; 1 if it failed after its retries, else 0 (and the progress moves)."""
    try:
        future.result()
    except Exception:
        return 1
    if progress_hook is not None:
        progress_hook(len(ids))
    return 0


def cutover_run_name() -> str:
    """The cutover flow run's name: its waves and its as-of date."""
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    waves = list(parameters["waves"])
    which = "all-waves" if waves == list(WAVE_ORDER) else "+".join(waves)
    return f"cutover-{which}-as-of-{parameters['cfg'].as_of}"


@flow(name="cutover", flow_run_name=cutover_run_name, persist_result=False, validate_parameters=False)
def cutover_flow(cfg: RunConfig, waves: Sequence[str], max_workers: int = 1, plan: bool = True,
                 dask_address: str | None = None, dask_workers: int | None = None,
                 fixed: Cut | None = None, token: str | None = None) -> dict[str, dict[str, int]]:
    """Plan (unless the caller just did), then run each wave in order as its own sub-flow (its
    batches cut as `fixed` says: see wave_flow). `token` keys the run's legacy reference in each
    process (the one reference_ahead read; None: a new one)."""
    if plan:
        prepare(resolved_config(cfg), cross_case=False)
    token = token or uuid.uuid4().hex
    return {wave: wave_flow(cfg, token, wave, max_workers, dask_address, dask_workers, fixed) for wave in waves}
