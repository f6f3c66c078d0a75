"""What each sub-command does: read settings, open databases, call the stage, print the result."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from core.db import create_engine, safe_url
from core.errors import CutoverError
from core.settings import load_settings
from cutover.guards import guard_write, open_legacy
from cutover.hints import command_line
from cutover.progress import progress


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
    open_legacy(settings.legacy_url).dispose()  # checked read-only before the day's writes
    engine = create_engine(settings.legacy_url, must_exist=True)
    result = apply_churn(engine, args.seed, args.fraction, args.manifest)
    summary = result.manifest(args.seed)
    print(f"churn day {summary['day']}: {summary['cases']:,} cases touched, "
          f"{len(summary['new_cases']):,} new, {len(summary['defects']['silent_update']):,} silent updates")
    print(json.dumps({k: len(v) for k, v in summary["changes"].items()}))
    day = dt.date.fromisoformat(summary["day"])
    recorded = _recorded_as_of(settings.target_url)
    follow = max(day, recorded) if recorded else day  # the as-of date never moves backwards
    print(f"CID is now as of {summary['day']}; to follow it: "
          f"{command_line(['run', '--all', '--as-of', follow.isoformat()], legacy=args.legacy)}")
    return 0


def _recorded_as_of(target_url: str) -> dt.date | None:
    """The default target's recorded as-of date, when that target exists and holds a cutover."""
    from cutover.as_of import recorded_as_of
    from cutover.guards import open_target_for_reading, survey_target

    try:
        if not survey_target(target_url).has_cutover:
            return None
        return recorded_as_of(open_target_for_reading(target_url))
    except CutoverError:
        return None  # no usable target to follow: the day of CID alone


def init_target(args: argparse.Namespace) -> int:
    """`cutover init-target`."""
    from migration.load.schema import upgrade_target

    settings = load_settings(target_url=args.target)
    guard_write(None, settings.target_url, allow_other_tables=args.allow_other_tables)
    engine = create_engine(settings.target_url)
    revision = upgrade_target(engine)
    from audit.origin import ensure_origin
    from audit.privileges import ledger_guard_warning

    with engine.begin() as conn:
        origin = ensure_origin(conn, settings.log_origin or None)
        warning = ledger_guard_warning(conn)
    print(f"target schema at revision {revision}, ledger log {origin}: {safe_url(settings.target_url)}")
    if warning:
        print(warning, file=sys.stderr)
    return 0

