"""`cutover reconcile` and `explain`: the proof that nothing was lost, and the story of a case."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import sqlalchemy as sa

from core.db import create_engine
from core.errors import CutoverError
from core.settings import load_settings
from cutover.as_of import not_before, recorded_as_of, wave_as_of
from cutover.guards import guard_write, open_legacy, open_target_for_reading
from cutover.progress import progress
from migration.target_schema import CUTOVER_PLAN, CUTOVER_RUN
from reconciliation import STEPS


def _as_of(engine: sa.Engine, given: dt.date | None, wave: str | None = None) -> dt.date:
    """The as-of date: given (never before the date the wave, or the target, last ran at), else
    the wave's, else the newest run's, else the recorded plan's."""
    ran = wave_as_of(engine, wave) if wave is not None else None
    if given:
        if ran is not None:
            return not_before(given, ran, f"the date wave {wave} last ran at")
        return not_before(given, recorded_as_of(engine))
    if ran is not None:
        return ran
    if sa.inspect(engine).has_table(CUTOVER_RUN.name):
        with engine.connect() as conn:
            latest = conn.execute(sa.select(CUTOVER_RUN.c.as_of).order_by(CUTOVER_RUN.c.started_at.desc())
                                  .limit(1)).scalar()
            latest = latest or conn.execute(sa.select(sa.func.max(CUTOVER_PLAN.c.as_of))).scalar()
        if latest:
            return latest
    raise CutoverError("the target holds no cutover run; give --as-of or run `cutover run` first")


def reconcile(args: argparse.Namespace) -> int:
    """`cutover reconcile`: exit 0 when balanced, 1 when not."""
    from migration.rules.waves import WAVE_ORDER
    from reconciliation import reconcile as run_reconcile

    settings = load_settings(legacy_url=args.legacy, target_url=args.target)
    if args.wave and args.wave not in WAVE_ORDER:
        raise CutoverError(f"unknown wave {args.wave!r}; waves are: {', '.join(WAVE_ORDER)}")
    legacy = open_legacy(settings.legacy_url)
    target = open_target_for_reading(settings.target_url)
    as_of = _as_of(target, args.as_of, args.wave)
    with progress("reconcile steps", STEPS, quiet=args.quiet) as advance:
        result = run_reconcile(legacy, target, as_of, wave=args.wave, appeal_window_days=settings.appeal_window_days,
                               progress=advance)
    payload = {"as_of": as_of.isoformat(), "wave": args.wave, **result.as_dict()}
    text = json.dumps(payload, indent=1) if args.format == "json" else _text(payload)
    if args.out:
        from audit.reports import record_report, report_bytes
        from cutover.audit_commands import write_checkpoint

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(report_bytes(payload) if args.format == "json" else (text + "\n").encode())
        ledger = create_engine(settings.target_url)
        with ledger.begin() as conn:
            record_report(conn, f"reconciliation-{args.wave or 'all'}.json", payload)
        print(f"reconciliation written to {args.out} ({'balanced' if result.balanced else 'NOT balanced'})")
        write_checkpoint(settings, ledger)
    else:
        print(text)
    return 0 if result.balanced else 1


def _text(payload: dict) -> str:
    t = payload["totals"]
    lines = [
        f"Reconciliation as of {payload['as_of']}{' (wave ' + payload['wave'] + ')' if payload['wave'] else ''}: "
        f"{'BALANCED' if payload['balanced'] else 'NOT BALANCED'}",
        f"  in flight {t['in_flight']:,} = migrated {t['migrated']:,} + quarantined {t['quarantined']:,} "
        f"+ pending {t['pending']:,} + unexplained {t['unexplained']:,}   (excluded beside: {t['excluded']:,})",
        "  by wave:",
    ]
    for w in payload["waves"]:
        lines.append(f"    {w['name']:<14} in flight {w['in_flight']:>8,}  migrated {w['migrated']:>8,}  "
                     f"quarantined {w['quarantined']:>6,}  pending {w['pending']:>8,}  "
                     f"unexplained {w['unexplained']:>4,}")
    lines.append("  child rows of migrated cases (legacy = target + dropped + merged):")
    for e in payload["entities"]:
        lines.append(f"    {e['entity']:<22} {e['legacy']:>9,} = {e['target']:>9,} + {e['dropped']:>6,} + "
                     f"{e['merged']:>5,}  {'ok' if e['balanced'] else 'DIFFERS'}")
    if payload["discrepancies"]:
        lines.append(f"  discrepancies: {len(payload['discrepancies']):,} (first 20)")
        for d in payload["discrepancies"][:20]:
            lines.append(f"    {d['kind']:<22} {d['entity']:<14} key {d['legacy_key']} case {d['legacy_case_id']} "
                         f"field {d['field'] or '-'}")
    return "\n".join(lines)


def explain(args: argparse.Namespace) -> int:
    """`cutover explain`: what happened to each case; exit 1 if a reference is unknown."""
    from reconciliation.explain import explain_cases

    refs = list(args.refs)
    if args.refs_file:
        try:
            refs += [line.strip() for line in Path(args.refs_file).read_text().splitlines() if line.strip()]
        except OSError as exc:
            raise CutoverError(f"cannot read --refs-file {args.refs_file}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise CutoverError(f"--refs-file {args.refs_file} is not a text file of case references") from exc
    if not refs:
        raise CutoverError("give case references, or --refs-file FILE")
    settings = load_settings(target_url=args.target)
    engine = open_target_for_reading(settings.target_url)
    if not sa.inspect(engine).has_table(CUTOVER_PLAN.name):
        raise CutoverError("the target has no cutover yet; run `cutover run` first")
    with engine.connect() as conn:
        entries, unknown = explain_cases(conn, refs)
    if args.format == "json":
        print(json.dumps(entries, indent=1))
    else:
        for e in entries:
            excluded = f", excluded: {e['excluded_reason']}" if e["excluded_reason"] else ""
            print(f"{e['legacy_ref']}: {e['state']}, wave {e['wave'] or '-'}, unit {e['owning_unit'] or '-'}, "
                  f"next task {e['next_task'] or '-'}{excluded}")
            for a in e["actions"]:
                print(f"  {a['kind']:<10} {a['rule']:<32} {a['entity']}.{a['field'] or '*'} "
                      f"defect {a['defect'] or '-'}: {a['reason'] or ''}")
    if unknown:
        print(f"cutover: {len(unknown)} reference(s) unknown to the cutover: {', '.join(unknown[:10])}",
              file=sys.stderr)
        return 1
    return 0


def report(args: argparse.Namespace) -> int:
    """`cutover report`: HTML pages per wave and an index, worklists, JSON; recorded in the ledger."""
    from audit.reports import record_document, record_report
    from cutover.audit_commands import write_checkpoint
    from migration.load import upgrade_target
    from migration.rules.waves import wave_order
    from reconciliation import reconcile as run_reconcile
    from reconciliation.report import render_reports

    settings = load_settings(legacy_url=args.legacy, target_url=args.target)
    if args.wave and args.wave not in wave_order():
        raise CutoverError(f"unknown wave {args.wave!r}; waves are: {', '.join(wave_order())}")
    guard_write(settings.legacy_url, settings.target_url, allow_other_tables=True)
    legacy = open_legacy(settings.legacy_url)
    target = create_engine(settings.target_url)
    as_of = _as_of(target, args.as_of)  # refused before the schema is brought up to date
    upgrade_target(target)
    with progress("reconcile steps", STEPS, quiet=args.quiet) as advance:
        result = run_reconcile(legacy, target, as_of, appeal_window_days=settings.appeal_window_days,
                               progress=advance)
    waves = [args.wave] if args.wave else list(wave_order())
    with target.begin() as conn, legacy.connect() as legacy_conn:
        pages = render_reports(conn, legacy_conn, result, as_of, args.out, waves)
        payload = {"as_of": as_of.isoformat(), "wave": None, **result.as_dict()}
        (args.out / "reconciliation.json").write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
        record_report(conn, "reconciliation-all.json", payload)
        for name, html in pages.items():
            record_document(conn, name, html.encode(), {})
    print(f"report written to {args.out / 'index.html'} ({len(pages) - 1} wave pages, worklists as CSV); "
          f"{'balanced' if result.balanced else 'NOT balanced'}")
    write_checkpoint(settings, target)
    return 0 if result.balanced else 1
