"""`cutover plan`, `run` and `status`: planning and running waves, and where they stand."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import functools
import json
import sys
import time
import uuid
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from core.credentials import masked_config, remember
from core.db import create_engine, safe_url
from core.errors import CutoverError
from core.process import freeze_imports
from core.settings import MIN_BATCH, Settings, choose_parallelism, load_settings
from cutover.as_of import choose_as_of, not_before, recorded_as_of, resync_changes
from cutover.console import was_interrupted
from cutover.guards import GuardError, guard_write, open_legacy, open_target_for_reading, survey_target
from cutover.hints import command_line
from cutover.progress import progress
from migration.plan import Plan
from migration.rules.waves import CATCH_UP, wave_order
from migration.run import RunConfig
from migration.target_schema import CUTOVER_FINDING, CUTOVER_PLAN

SCHEMA_WAIT_SECONDS = 60.0


def run_config(args: argparse.Namespace, as_of: dt.date | None = None) -> tuple[RunConfig, Settings]:
    """The run configuration from flags, CUTOVER_* variables and defaults (`as_of` before --as-of)."""
    settings = load_settings(legacy_url=getattr(args, "legacy", None), target_url=getattr(args, "target", None),
                             batch_size=getattr(args, "batch_size", None), lanes=getattr(args, "lanes", None))
    runners = {name: getattr(args, name, None) for name in ("threads", "workers", "dask_address")}
    if any(runners.values()):  # a flag says where batches run: CUTOVER_THREADS/WORKERS/DASK_ADDRESS step aside
        settings = settings.model_copy(update={**runners, "dask_address": runners["dask_address"] or ""})
    cfg = RunConfig(legacy_url=settings.legacy_url, target_url=settings.target_url,
                    as_of=as_of or args.as_of or dt.date.today(),
                    batch_size=settings.batch_size or MIN_BATCH, lanes=settings.lanes or 1,
                    appeal_window_days=settings.appeal_window_days, older_months=settings.older_case_months,
                    retry_attempts=settings.retry_attempts, retry_max_wait=settings.retry_max_wait_seconds,
                    report_dir=str(settings.data_dir / "reports"))
    return cfg, settings


def legacy_cases(legacy_url: str) -> int:
    """How many cases CID holds (the size of the work, for choosing where batches run)."""
    from legacy.schema import CASE_HDR

    with create_engine(legacy_url, read_only=True).connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(CASE_HDR)).scalar() or 0)


def recorded_plan(engine: Engine) -> dict[int, str]:
    """CASE_ID -> wave as recorded in the target (empty before the first run)."""
    if not sa.inspect(engine).has_table(CUTOVER_PLAN.name):
        return {}
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(CUTOVER_PLAN.c.legacy_case_id, CUTOVER_PLAN.c.wave)).all())


def _sign_on_interrupt(settings: Settings, cfg: RunConfig) -> None:
    """Sign what the interrupted run committed, so that its ledger verifies until it resumes: one
    attempt, as whoever pressed Ctrl-C waits; if it fails, `audit verify` names the entries no
    checkpoint covers and the resumed run signs them."""
    from cutover.audit_commands import write_checkpoint

    with contextlib.suppress(Exception):
        write_checkpoint(settings.model_copy(update={"retry_attempts": 1}), create_engine(cfg.target_url))


def plan(args: argparse.Namespace) -> int:
    """`cutover plan`: the waves with case counts and the exclusions; writes nothing."""
    from migration.plan import PlannedCase, classify_cases

    cfg, _ = run_config(args)
    legacy = open_legacy(cfg.legacy_url)
    recorded: dict[int, str] = {}
    surveyed = survey_target(cfg.target_url)
    if surveyed.has_cutover:  # the given target, or the default one when it exists
        target = open_target_for_reading(cfg.target_url)
        recorded = recorded_plan(target)
        recorded_date = recorded_as_of(target)
        cfg, _ = run_config(args, as_of=not_before(args.as_of, recorded_date) if args.as_of else recorded_date)
    result = Plan(as_of=cfg.as_of)
    by_record: Counter[str] = Counter()
    with legacy.connect() as conn:
        for case in result.counting(classify_cases(conn, cfg.as_of, appeal_window_days=cfg.appeal_window_days,
                                                   older_months=cfg.older_months)):
            if recorded and isinstance(case, PlannedCase):
                by_record[recorded.get(case.case_id, CATCH_UP)] += 1
    waves = by_record if recorded else result.wave_counts()
    payload = {
        "as_of": cfg.as_of.isoformat(), "in_flight": result.in_flight,
        "waves": [{"name": w, "cases": waves.get(w, 0)} for w in wave_order()],
        "excluded": dict(sorted(result.excluded_counts().items())), "excluded_total": result.excluded,
        "recorded_plan": bool(recorded),
    }
    if args.format == "json":
        print(json.dumps(payload, indent=1))
        return 0
    print(f"Plan as of {payload['as_of']}: {result.in_flight:,} cases in flight, {result.excluded:,} excluded")
    for wave in wave_order():
        note = " (cases that appear after the plan is recorded)" if wave == CATCH_UP else ""
        print(f"  wave {wave:<14} {waves.get(wave, 0):>9,}{note}")
    print("Excluded (counted, never migrated):")
    for reason, count in sorted(result.excluded_counts().items()):
        print(f"  {reason:<20} {count:>9,}")
    if not recorded:
        words = ["run", "--all", "--as-of", cfg.as_of.isoformat()]
        if surveyed.other_tables:
            words.append("--allow-other-tables")
        print("Nothing written. This records the plan in the target and runs it: "
              f"{command_line(words, legacy=args.legacy, target=args.target)}")
    return 0


def run(args: argparse.Namespace) -> int:
    """`cutover run`: plan, then Prefect flows, one per wave, a task per batch."""
    cfg, settings = run_config(args)
    if args.wave and args.wave not in wave_order():
        raise CutoverError(f"unknown wave {args.wave!r}; waves are: {', '.join(wave_order())}")
    surveyed = guard_write(cfg.legacy_url, cfg.target_url, allow_other_tables=args.allow_other_tables)
    cfg = settle_as_of(args, cfg, surveyed.has_cutover)
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    waves = list(wave_order()) if args.all else [args.wave]
    from flows.environment import Warmup, claim_local_server, flow_settings, prepare_prefect_environment
    from migration.run import prepare, release_lock

    holder = claim_target(cfg)  # a bad target, or another run's lock, fail fast
    remember(cfg.legacy_url, "legacy")  # the flows are given both URLs masked; their workers look here
    remember(cfg.target_url, "target")
    prepare_prefect_environment(settings.data_dir)
    local_server = claim_local_server()
    parallel = choose_parallelism(settings, cfg.target_url, legacy_cases(cfg.legacy_url))
    if not args.quiet:
        print(parallel.describe() + (f", {settings.batch_size:,} cases each" if settings.batch_size
                                     else ", their size chosen per wave"))
    # One local cluster for the whole run (its workers start once, not per wave); it and Prefect's
    # local server come up while the plan is recorded and Prefect loads here.
    from flows.references import reference_ahead

    token = uuid.uuid4().hex  # keys the run's legacy reference, read once ahead and kept in each batch process
    ahead = functools.partial(reference_ahead, masked_config(cfg), token)
    warmup: Warmup | None = None
    try:
        warmup = Warmup(local_workers=parallel.workers, local_server=local_server,
                        ahead=None if parallel.dask_address else ahead)
        prepare(cfg, cross_case=False)  # plan recorded before the flows start, so progress knows the total
        # Prefect loads here, after the planning: loaded beside it, it holds the planning back by seconds.
        from flows import cutover_flows
        from flows.batch_cut import Cut

        with create_engine(cfg.target_url).connect() as conn:
            total = int(conn.execute(sa.select(sa.func.count()).where(CUTOVER_PLAN.c.wave.in_(waves))).scalar() or 0)
        with progress("migrate cases", total, quiet=args.quiet) as advance:
            cutover_flows.progress_hook = advance
            try:
                dask_address = warmup.ready() or parallel.dask_address
                freeze_imports()  # this process now runs Dask's scheduler and Prefect's engine for a long time
                with flow_settings(local_server):
                    results = cutover_flows.cutover_flow(masked_config(cfg), waves, parallel.threads, plan=False,
                                                         dask_address=dask_address,
                                                         fixed=Cut(settings.batch_size, settings.lanes), token=token)
            except cutover_flows.WaveFailed as exc:
                from cutover.audit_commands import write_checkpoint

                write_checkpoint(settings, create_engine(cfg.target_url))  # a failed run's entries are signed too
                print(f"cutover: run did not complete: {exc}. Committed batches are kept; to resume: "
                      f"{run_again(args, cfg)}", file=sys.stderr)
                return 1
            except RuntimeError as exc:  # Prefect's own failures (its API unreachable, say): safe to show
                first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
                raise CutoverError(f"Prefect could not run the flows: {first}") from exc
        from cutover.audit_commands import write_checkpoint

        write_checkpoint(settings, create_engine(cfg.target_url))
    finally:
        if warmup is not None:
            warmup.close()
        if was_interrupted():  # after the workers stopped: nothing commits after the checkpoint
            _sign_on_interrupt(settings, cfg)
        release_lock(cfg, holder)
    for wave, totals in results.items():
        print(f"wave {wave:<14} migrated {totals['migrated']:>8,}  quarantined {totals['quarantined']:>6,}  "
              f"unchanged {totals['unchanged']:>8,}")
    quarantined = sum(t["quarantined"] for t in results.values())
    if quarantined:
        refused = refused_by_target(create_engine(cfg.target_url))
        report = command_line(["report", "--out", str(settings.data_dir / "reports")], legacy=args.legacy,
                              target=args.target)
        example = first_quarantined(create_engine(cfg.target_url))
        explain = command_line(["explain", example], target=args.target) if example else ""
        print(f"{quarantined:,} case(s) quarantined in this run"
              + (f", {refused:,} of them because the target refused a row (rule load.rejected)" if refused else "")
              + f". The worklists: {report}"
              + (f"; what to fix in one of them: {explain}" if explain else ""))
    print(f"target: {safe_url(cfg.target_url)}. Next, to prove nothing was lost: "
          f"{command_line(['reconcile'], legacy=args.legacy, target=args.target)}")
    return 0


def claim_target(cfg: RunConfig) -> str:
    """Bring the target schema up and take the run lock. Of runs starting together on a new
    target, those whose schema creation loses the race (PostgreSQL: a unique violation in its
    catalog; SQLite: a table that already exists) wait for the winner's schema, then meet its lock."""
    from migration.load import upgrade_target
    from migration.load.schema import current_revision, newest_shipped
    from migration.run import acquire_lock, engine_for

    engine = engine_for(cfg.target_url)
    try:
        upgrade_target(engine)
    except DBAPIError:
        # Another run is creating the schema (on SQLite table by table): wait for it to finish.
        deadline = time.monotonic() + SCHEMA_WAIT_SECONDS
        while current_revision(engine) != newest_shipped():
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return acquire_lock(cfg)


def settle_as_of(args: argparse.Namespace, cfg: RunConfig, has_cutover: bool) -> RunConfig:
    """The run's as-of date: the target's recorded one unless a later one is given (then first
    printed as what it changes); an earlier one, or none at all on a new target, is refused."""
    recorded = recorded_as_of(create_engine(cfg.target_url, read_only=True)) if has_cutover else None
    if args.as_of is None and recorded is None:
        today = run_again(args, dataclasses.replace(cfg, as_of=dt.date.today()))
        raise GuardError(f"the target has no recorded as-of date: give the day the cutover judges cases in flight "
                         f"on, today's say: {today}")
    as_of = choose_as_of(args.as_of, recorded)
    cfg = dataclasses.replace(cfg, as_of=as_of)
    if recorded is None or as_of == recorded:
        if not args.quiet:
            print(f"as of {as_of.isoformat()}" + (" (the target's recorded date)" if args.as_of is None else ""))
        return cfg
    if not args.all:
        # The recorded date is the target's, not a wave's: the other waves would stay judged on
        # the old one, holding cases the new date takes out of flight.
        whole = command_line(["run", "--all", "--as-of", as_of.isoformat()], legacy=args.legacy, target=args.target)
        raise GuardError(f"--as-of {as_of.isoformat()} moves the whole target on from {recorded.isoformat()}, "
                         f"so every wave runs at it: {whole}")
    leaving, joining = resync_changes(create_engine(cfg.legacy_url, read_only=True),
                                      create_engine(cfg.target_url, read_only=True), as_of,
                                      appeal_window_days=cfg.appeal_window_days, older_months=cfg.older_months)
    print(f"as of {as_of.isoformat()}, moved on from {recorded.isoformat()}: {leaving:,} planned case(s) leave "
          f"flight (excluded, removed from the target), {joining:,} case(s) join the {CATCH_UP} wave")
    return cfg


def run_again(args: argparse.Namespace, cfg: RunConfig) -> str:
    """The whole command that runs this again, with the as-of date it used."""
    words = ["run", *(["--all"] if args.all else ["--wave", args.wave]), "--as-of", cfg.as_of.isoformat()]
    for flag, value in (("--batch-size", args.batch_size), ("--lanes", args.lanes)):
        if value is not None:
            words += [flag, str(value)]
    return command_line(words, legacy=args.legacy, target=args.target)


def first_quarantined(engine: Engine) -> str | None:
    """The CASE_REF of the lowest quarantined case, to show `explain` with a reference that works."""
    from migration.target_schema import CUTOVER_CASE

    with engine.connect() as conn:
        ref = conn.execute(sa.select(CUTOVER_CASE.c.legacy_ref).where(CUTOVER_CASE.c.state == "quarantined",
                                                                      CUTOVER_CASE.c.legacy_ref.is_not(None))
                           .order_by(CUTOVER_CASE.c.legacy_case_id).limit(1)).scalar()
    return str(ref) if ref is not None else None


def refused_by_target(engine: Engine) -> int:
    """Cases now quarantined because the target refused one of their rows."""
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count(sa.distinct(CUTOVER_FINDING.c.legacy_case_id)))
                                .where(CUTOVER_FINDING.c.rule == "load.rejected")).scalar() or 0)


def rollback(args: argparse.Namespace) -> int:
    """`cutover rollback`: remove a wave's cases from the target in one transaction."""
    from migration.rollback import rollback_wave
    from migration.run import RunConfig, acquire_lock, release_lock

    settings = load_settings(target_url=args.target)
    if args.wave not in wave_order():
        raise CutoverError(f"unknown wave {args.wave!r}; waves are: {', '.join(wave_order())}")
    surveyed = guard_write(None, settings.target_url)
    if not surveyed.has_cutover:
        raise CutoverError("the target has no cutover yet; nothing to roll back")
    engine = create_engine(settings.target_url)
    as_of = recorded_as_of(engine)
    if not args.yes:
        if not sys.stdin.isatty():
            confirmed = command_line(["rollback", "--wave", args.wave, "--yes"], target=args.target)
            raise CutoverError(f"rolling back wave {args.wave} removes its cases from the target; to do it: "
                               f"{confirmed}")
        try:
            answer = input(f"Remove every case of wave {args.wave} from {safe_url(settings.target_url)}? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            raise CutoverError(f"nothing rolled back: wave {args.wave} stays as it is")
    cfg = RunConfig(legacy_url="", target_url=settings.target_url, as_of=dt.date.today())
    holder = acquire_lock(cfg)
    try:
        with engine.begin() as conn:
            counts = rollback_wave(conn, args.wave)
        from cutover.audit_commands import write_checkpoint

        write_checkpoint(settings, engine)
    finally:
        release_lock(cfg, holder)
    again = ["run", "--wave", args.wave, *(["--as-of", as_of.isoformat()] if as_of else [])]
    print(f"wave {args.wave} rolled back: {counts['cases_removed']:,} cases removed from the target, "
          f"{counts['runs_rolled_back']} run(s) marked rolled back; to run it again: "
          f"{command_line(again, target=args.target)}")
    return 0


def ui(args: argparse.Namespace) -> int:
    """`cutover ui`: start Prefect's server and UI on loopback, in the foreground."""
    import subprocess

    from flows.environment import prepare_prefect_environment

    settings = load_settings()
    prepare_prefect_environment(settings.data_dir)
    url = f"http://127.0.0.1:{args.port}"
    print(f"Prefect UI on {url} (Ctrl-C stops it). In another shell: export PREFECT_API_URL={url}/api "
          "and every `cutover run` shows there, a flow run per wave and a task run per batch.")
    try:
        return subprocess.call([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                "--port", str(args.port)])
    except KeyboardInterrupt:
        return 0
