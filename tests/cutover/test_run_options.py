"""`cutover run`'s defaults: where batches run and how waves are cut, chosen for the machine
unless a flag or a CUTOVER_* setting says; recorded in the run, so a resume cuts the same batches."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

import core.settings
from core.db import create_engine
from core.settings import (
    LOCAL_CLUSTER_MIN_CASES,
    MAX_BATCH,
    MIN_BATCH,
    Parallelism,
    batch_size_for,
    choose_parallelism,
)
from cutover.cli import build_parser
from cutover.run_commands import run_config
from flows.batch_cut import Cut, cut_wave
from migration.run import RunConfig, migrate_batch, prepare, start_wave
from migration.target_schema import CUTOVER_PLAN, CUTOVER_RUN
from reconciliation import reconcile
from tests.helpers import AS_OF, dump, generate, run_all

PG = "postgresql+psycopg://cutover@127.0.0.1:5432/target"


def _run_args(*flags: str) -> list[str]:
    return ["run", "--all", "--as-of", AS_OF.isoformat(), "--target", PG, *flags]


@pytest.mark.parametrize(("flags", "variables", "chosen"), [
    ([], {"CUTOVER_WORKERS": "3"}, Parallelism(workers=3)),
    (["--threads", "2"], {"CUTOVER_WORKERS": "3"}, Parallelism(threads=2)),
    (["--workers", "4"], {"CUTOVER_THREADS": "3", "CUTOVER_DASK_ADDRESS": "tcp://10.0.0.5:8786"},
     Parallelism(workers=4)),
    (["--dask-address", "tcp://10.0.0.6:8786"], {"CUTOVER_THREADS": "3"},
     Parallelism(dask_address="tcp://10.0.0.6:8786")),
])
def test_a_flag_that_says_where_batches_run_wins_over_every_setting_of_it(
        monkeypatch: pytest.MonkeyPatch, flags: list[str], variables: dict[str, str], chosen: Parallelism) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    cfg, settings = run_config(build_parser().parse_args(_run_args(*flags)))
    assert choose_parallelism(settings, cfg.target_url, LOCAL_CLUSTER_MIN_CASES, cores=2) == chosen


def test_the_help_gives_the_default_batch_size_s_bounds_the_run_chooses_between(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"a batch a lane, {MIN_BATCH:,} to {MAX_BATCH:,}]" in help_text
    assert batch_size_for(0, 2) == MIN_BATCH and batch_size_for(100 * MAX_BATCH, 2) == MAX_BATCH


def test_batch_size_and_lanes_are_fixed_by_flags_over_variables_else_left_open(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, settings = run_config(build_parser().parse_args(_run_args()))
    assert (settings.batch_size, settings.lanes) == (None, None)
    monkeypatch.setenv("CUTOVER_BATCH_SIZE", "800")
    monkeypatch.setenv("CUTOVER_LANES", "3")
    _, settings = run_config(build_parser().parse_args(_run_args()))
    assert (settings.batch_size, settings.lanes) == (800, 3)
    _, settings = run_config(build_parser().parse_args(_run_args("--batch-size", "1200", "--lanes", "4")))
    assert (settings.batch_size, settings.lanes) == (1200, 4)


def _biggest_wave(target: str) -> tuple[str, int]:
    with create_engine(target).connect() as conn:
        wave, cases = conn.execute(sa.select(CUTOVER_PLAN.c.wave, sa.func.count()).group_by(CUTOVER_PLAN.c.wave)
                                   .order_by(sa.func.count().desc()).limit(1)).one()
    return str(wave), int(cases)


def _runs(target: str, wave: str) -> list[tuple[str, int, int]]:
    with create_engine(target).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(CUTOVER_RUN.c.status, CUTOVER_RUN.c.batch_size,
                                                         CUTOVER_RUN.c.lanes).where(CUTOVER_RUN.c.wave == wave)
                                               .order_by(CUTOVER_RUN.c.started_at))]


def test_a_chosen_cut_is_recorded_and_a_resume_keeps_it_on_other_lanes(
        databases, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(core.settings, "MIN_BATCH", 10)  # a small CID then still gets a batch a lane
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 300, seed=7)
    cfg = RunConfig(legacy, target, AS_OF)
    reference, _ = prepare(cfg)
    wave, cases = _biggest_wave(target)
    first = cut_wave(cfg, wave, Cut(), lanes_running=2)
    batches = 2 * core.settings.BATCHES_PER_LANE
    assert (first.batch_size, first.lanes) == (math.ceil(cases / batches), 2)
    run = start_wave(first, wave)
    assert len(run.batches) == batches and _runs(target, wave) == [("running", first.batch_size, 2)]
    migrate_batch(first, reference, wave, run.run_id, 0, run.batches[0])  # then the run is interrupted

    again = cut_wave(cfg, wave, Cut(), lanes_running=3)  # resumed where three batches run at once
    assert (again.batch_size, again.lanes) == (first.batch_size, 2)
    resumed = start_wave(again, wave)
    assert resumed.resumed and resumed.run_id == run.run_id and resumed.batches == run.batches
    assert resumed.committed == {0}

    fixed = cut_wave(cfg, wave, Cut(batch_size=7), lanes_running=3)  # a batch size asked for: a new cut
    assert (fixed.batch_size, fixed.lanes) == (7, 3)
    assert not start_wave(fixed, wave).resumed
    assert _runs(target, wave) == [("abandoned", first.batch_size, 2), ("running", 7, 3)]


@pytest.mark.e2e
@pytest.mark.parametrize(("flags", "runs_on", "lanes"), [
    ([], "batches on 2 thread(s)", 2),  # a small CID: threads (a worker process costs more than it gains)
    (["--workers", "2"], "batches on a local Dask cluster of 2 process(es)", 2),
], ids=["defaults", "local-dask-workers"])
def test_run_all_cuts_each_wave_for_its_lanes_and_equals_a_fresh_run(pg_databases, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                     flags: list[str], runs_on: str,
                                                                     lanes: int) -> None:
    legacy, target, oracle = pg_databases.new("legacy"), pg_databases.new("target"), pg_databases.new("oracle")
    generate(legacy, 700, seed=23)
    env = {**os.environ, "CUTOVER_DATA_DIR": str(tmp_path / "data"), "PREFECT_HOME": str(tmp_path / "prefect")}
    for name in ("PREFECT_API_URL", "CUTOVER_BATCH_SIZE", "CUTOVER_LANES", "CUTOVER_THREADS", "CUTOVER_WORKERS",
                 "CUTOVER_DASK_ADDRESS"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "cutover.cli", "run", "--all", "--as-of", AS_OF.isoformat(),
                           "--legacy", legacy, "--target", target, *flags], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{runs_on}, their size chosen per wave" in done.stdout
    with create_engine(target).connect() as conn:
        planned = dict(conn.execute(sa.select(CUTOVER_PLAN.c.wave, sa.func.count())
                                    .group_by(CUTOVER_PLAN.c.wave)).all())
        runs = conn.execute(sa.select(CUTOVER_RUN.c.wave, CUTOVER_RUN.c.status, CUTOVER_RUN.c.batch_size,
                                      CUTOVER_RUN.c.lanes)).all()
    assert {r.wave for r in runs} >= set(planned) and {r.status for r in runs} == {"completed"}
    for run in runs:
        assert (run.batch_size, run.lanes) == (batch_size_for(planned.get(run.wave, 0), lanes), lanes)
    run_all(RunConfig(legacy, oracle, AS_OF))
    assert dump(target) == dump(oracle)
    assert reconcile(create_engine(legacy), create_engine(target), AS_OF).balanced
