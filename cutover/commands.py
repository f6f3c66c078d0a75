"""What each sub-command does: read settings, open databases, call the stage, print the result."""

from __future__ import annotations

import argparse
import json
from collections import Counter

from cutover.db import create_engine, safe_url
from cutover.errors import CutoverError
from cutover.progress import progress
from cutover.settings import Settings, load_settings
from migration.run import RunConfig


def generate(args: argparse.Namespace) -> int:
    """`cutover generate`."""
    from legacy.generate import generate_legacy
    from legacy.generator import DEFAULT_DEFECT_RATES, GeneratorConfig

    settings = load_settings(legacy_url=args.legacy)
    engine = create_engine(settings.legacy_url)
    rates = {k: min(1.0, v * args.defect_rate_scale) for k, v in DEFAULT_DEFECT_RATES.items()}
    config = GeneratorConfig(seed=args.seed, cases=args.cases, as_of=args.as_of,
                             in_flight_ratio=args.in_flight, defect_rates=rates)
    with progress("generate cases", args.cases, quiet=args.quiet) as advance:
        result = generate_legacy(engine, config, replace=args.replace, manifest=args.manifest,
                                 workers=args.workers, progress=advance)
    print(f"legacy database: {safe_url(settings.legacy_url)}")
    print(f"cases: {result.cases:,} (seed {args.seed}, as of {args.as_of.isoformat()})")
    for table, count in result.rows.items():
        print(f"  {table:<15} {count:>10,} rows")
    print(f"defects injected: {sum(len(set(v)) for v in result.defects.values()):,} case marks "
          f"over {len(result.defects)} identifiers")
    if args.manifest:
        print(f"manifest: {args.manifest}")
    return 0


def churn(args: argparse.Namespace) -> int:
    """`cutover churn`."""
    from legacy.churn import apply_churn

    settings = load_settings(legacy_url=args.legacy)
    engine = create_engine(settings.legacy_url, must_exist=True)
    result = apply_churn(engine, args.seed, args.fraction, args.manifest)
    summary = result.manifest(args.seed)
    print(f"churn day {summary['day']}: {summary['cases']:,} cases touched, "
          f"{len(summary['new_cases']):,} new, {len(summary['defects']['silent_update']):,} silent updates")
    print(json.dumps({k: len(v) for k, v in summary["changes"].items()}))
    return 0


def init_target(args: argparse.Namespace) -> int:
    """`cutover init-target`."""
    from migration.load.schema import upgrade_target

    settings = load_settings(target_url=args.target)
    revision = upgrade_target(create_engine(settings.target_url))
    print(f"target schema at revision {revision}: {safe_url(settings.target_url)}")
    return 0


def _run_config(args: argparse.Namespace) -> tuple[RunConfig, Settings]:
    settings = load_settings(legacy_url=args.legacy, target_url=getattr(args, "target", None),
                             batch_size=getattr(args, "batch_size", None))
    cfg = RunConfig(legacy_url=settings.legacy_url, target_url=settings.target_url, as_of=args.as_of,
                    batch_size=settings.batch_size, appeal_window_days=settings.appeal_window_days,
                    older_months=settings.older_case_months, retry_attempts=settings.retry_attempts,
                    retry_max_wait=settings.retry_max_wait_seconds)
    return cfg, settings


def plan(args: argparse.Namespace) -> int:
    """`cutover plan`: the waves with case counts and the exclusions; writes nothing."""
    from migration.plan import build_plan
    from migration.rules.waves import CATCH_UP, WAVE_ORDER

    cfg, _ = _run_config(args)
    with create_engine(cfg.legacy_url, must_exist=True).connect() as conn:
        result = build_plan(conn, cfg.as_of, appeal_window_days=cfg.appeal_window_days,
                            older_months=cfg.older_months)
    recorded: dict[str, int] = {}
    if args.target:
        recorded = _recorded_plan(create_engine(cfg.target_url))
    waves = result.wave_counts()
    if recorded:
        waves = _with_catch_up(result, recorded)
    payload = {
        "as_of": cfg.as_of.isoformat(), "in_flight": len(result.cases),
        "waves": [{"name": w, "cases": waves.get(w, 0)} for w in WAVE_ORDER],
        "excluded": dict(sorted(result.excluded_counts().items())), "excluded_total": len(result.excluded),
        "recorded_plan": bool(recorded),
    }
    if args.format == "json":
        print(json.dumps(payload, indent=1))
        return 0
    print(f"Plan as of {payload['as_of']}: {payload['in_flight']:,} cases in flight, "
          f"{payload['excluded_total']:,} excluded")
    for wave in payload["waves"]:
        note = " (cases that appear after the plan is recorded)" if wave["name"] == CATCH_UP else ""
        print(f"  wave {wave['name']:<14} {wave['cases']:>9,}{note}")
    print("Excluded (counted, never migrated):")
    for reason, count in payload["excluded"].items():
        print(f"  {reason:<20} {count:>9,}")
    if not recorded:
        print("Nothing written. `cutover run` records this plan in the target the first time it runs.")
    return 0


def _recorded_plan(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from migration.target_schema import CUTOVER_PLAN

    if not sa.inspect(engine).has_table(CUTOVER_PLAN.name):
        return {}
    with engine.connect() as conn:
        return {str(cid): wave for cid, wave in conn.execute(sa.select(CUTOVER_PLAN.c.legacy_case_id,
                                                                       CUTOVER_PLAN.c.wave))}


def _with_catch_up(result, recorded: dict[str, str]) -> Counter:  # type: ignore[no-untyped-def]
    from migration.rules.waves import CATCH_UP

    counts: Counter = Counter()
    for case in result.cases:
        counts[recorded.get(str(case.case_id), CATCH_UP)] += 1
    return counts


def run(args: argparse.Namespace) -> int:
    """`cutover run`: Prefect flows, one per wave, a task per batch."""
    from migration.rules.waves import WAVE_ORDER

    cfg, settings = _run_config(args)
    if args.wave and args.wave not in WAVE_ORDER:
        raise CutoverError(f"unknown wave {args.wave!r}; waves are: {', '.join(WAVE_ORDER)}")
    create_engine(cfg.legacy_url, must_exist=True)
    create_engine(cfg.target_url)
    waves = list(WAVE_ORDER) if args.all else [args.wave]
    from flows.environment import prepare_prefect_environment

    prepare_prefect_environment(settings.data_dir)
    from flows import cutover_flows
    from migration.load import upgrade_target
    from migration.run import acquire_lock, release_lock

    upgrade_target(create_engine(cfg.target_url))
    workers = args.workers or (1 if cfg.target_url.startswith("sqlite") else settings.max_workers)
    holder = acquire_lock(cfg)
    try:
        total = _cases_in(cfg, waves)
        with progress("migrate cases", total, quiet=args.quiet) as advance:
            cutover_flows.progress_hook = advance
            results = cutover_flows.cutover_flow(cfg, waves, workers)
    finally:
        cutover_flows.progress_hook = None
        release_lock(cfg, holder)
    for wave, totals in results.items():
        print(f"wave {wave:<14} migrated {totals['migrated']:>8,}  quarantined {totals['quarantined']:>6,}  "
              f"unchanged {totals['unchanged']:>8,}")
    print(f"target: {safe_url(cfg.target_url)}. Next: `cutover reconcile` to prove nothing was lost.")
    return 0


def _cases_in(cfg: RunConfig, waves: list[str]) -> int:
    """Cases the recorded plan holds for these waves (0 before the first run records it)."""
    recorded = _recorded_plan(create_engine(cfg.target_url))
    return sum(1 for wave in recorded.values() if wave in waves)
