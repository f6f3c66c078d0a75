"""`cutover status`: where each wave stands, what changed in CID since it migrated, and whether its
last run is running, done or was interrupted."""

from __future__ import annotations

import argparse
import json
import os
import socket
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from core.db import DatabaseError, safe_url
from core.errors import CutoverError
from core.settings import Settings, load_settings
from cutover.as_of import recorded_as_of
from cutover.guards import open_legacy, open_target_for_reading
from cutover.hints import command_line
from migration.rules.waves import wave_order
from migration.target_schema import CUTOVER_CASE, CUTOVER_LOCK, CUTOVER_PLAN, CUTOVER_RUN

COUNTED = ("planned", "migrated", "quarantined", "excluded_since_plan", "pending")


def status(args: argparse.Namespace) -> int:
    """`cutover status`: per wave, planned = migrated + quarantined + excluded since the plan + pending,
    the cases changed in CID since they migrated, and the last run."""
    settings = load_settings(target_url=args.target, legacy_url=args.legacy)
    engine = open_target_for_reading(settings.target_url)
    if not sa.inspect(engine).has_table(CUTOVER_PLAN.name):
        raise CutoverError("the target has no cutover yet; run `cutover run` first")
    as_of = recorded_as_of(engine)
    with engine.connect() as conn:
        rows = wave_rows(conn, args)
    changed = changed_by_wave(settings, engine, required=args.legacy is not None)
    for row in rows:
        row["changed_in_cid_since"] = None if changed is None else changed.get(row["wave"], 0)
    if args.format == "json":
        print(json.dumps(rows, indent=1))
        return 0
    print(f"as of {as_of.isoformat() if as_of else '-'} (the target's recorded date)")
    _print_table(rows)
    if changed is None:
        print(f"changed: - (CID cannot be read at {safe_url(settings.legacy_url)}, so the cases changed there "
              "since they migrated are not counted)")
    return 0


def wave_rows(conn: Connection, args: argparse.Namespace | None = None) -> list[dict[str, Any]]:
    """One row per wave: its counts, which add up, and its last run with the run's true state."""
    planned: Counter[str] = Counter(dict(conn.execute(sa.select(CUTOVER_PLAN.c.wave, sa.func.count())
                                        .group_by(CUTOVER_PLAN.c.wave)).all()))
    states: Counter[tuple[str, str]] = Counter()
    for wave, state, count in conn.execute(sa.select(CUTOVER_CASE.c.wave, CUTOVER_CASE.c.state, sa.func.count())
                                           .group_by(CUTOVER_CASE.c.wave, CUTOVER_CASE.c.state)):
        states[(wave, state)] = count
    last: dict[str, RowMapping] = {}
    for recorded in conn.execute(sa.select(CUTOVER_RUN).order_by(CUTOVER_RUN.c.started_at)).mappings():
        last[recorded["wave"]] = recorded
    lock = conn.execute(sa.select(CUTOVER_LOCK.c.holder).where(CUTOVER_LOCK.c.name == "run")).scalar()
    rows = []
    for wave in wave_order():
        counts = {"planned": planned[wave], "migrated": states[(wave, "migrated")],
                  "quarantined": states[(wave, "quarantined")], "excluded_since_plan": states[(wave, "excluded")]}
        counts["pending"] = counts["planned"] - counts["migrated"] - counts["quarantined"] - counts[
            "excluded_since_plan"]
        run = last.get(wave)
        state = run_state(run["status"], lock) if run else None
        rows.append({"wave": wave, **counts,
                     "last_run": run["started_at"].isoformat() if run else None,
                     "last_run_as_of": run["as_of"].isoformat() if run else None,
                     "last_run_status": state,
                     "resume": resume_command(run, args) if run and state == "interrupted" else None})
    return rows


def run_state(recorded: str, lock_holder: str | None) -> str:
    """A run recorded as running is `interrupted` when no live process holds the run lock (the
    process that ran it was stopped: the same command resumes it)."""
    if recorded != "running":
        return recorded
    return "running" if lock_holder is not None and _holder_alive(lock_holder) else "interrupted"


def resume_command(run: RowMapping, args: argparse.Namespace | None = None) -> str:
    """The whole command that resumes an interrupted run: its wave, as-of date, batch cut and the
    databases given on this command line."""
    words = ["run", "--wave", run["wave"], "--as-of", run["as_of"].isoformat(), "--batch-size", str(run["batch_size"])]
    if run["lanes"]:
        words += ["--lanes", str(run["lanes"])]
    return command_line(words, legacy=getattr(args, "legacy", None), target=getattr(args, "target", None))


def _holder_alive(holder: str) -> bool:
    """Whether the lock's holder (`host:pid`) still runs; a holder on another host is taken as alive."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def changed_by_wave(settings: Settings, target: Engine, *, required: bool = False) -> dict[str, int] | None:
    """Per wave, migrated cases whose rows in CID no longer match the fingerprint taken when they
    migrated (CID fingerprints them all in one pass); None when CID cannot be read, unless it was
    named on the command line (`required`): then its fault is the command's."""
    from reconciliation.changes import changed_since_migration

    try:
        legacy = open_legacy(settings.legacy_url)
    except DatabaseError:
        if required:
            raise
        return None
    with legacy.connect() as source, target.connect() as conn:
        changed = changed_since_migration(source, conn)
        if not changed:
            return {}
        wave_of = dict(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.wave)
                                    .where(CUTOVER_CASE.c.state == "migrated")).all())
    return dict(Counter(wave_of[case_id] for case_id in changed))


def _print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'wave':<14} {'planned':>9} {'migrated':>9} {'quarant.':>9} {'excluded':>9} {'pending':>9} "
          f"{'changed':>8}  last run")
    for r in rows:
        changed = "-" if r["changed_in_cid_since"] is None else f"{r['changed_in_cid_since']:,}"
        last = f"{r['last_run']} as of {r['last_run_as_of']} {r['last_run_status']}" if r["last_run"] else "-"
        print(f"{r['wave']:<14} {r['planned']:>9,} {r['migrated']:>9,} {r['quarantined']:>9,} "
              f"{r['excluded_since_plan']:>9,} {r['pending']:>9,} {changed:>8}  {last}")
    totals = {c: sum(r[c] for r in rows) for c in COUNTED}
    print(f"{'all waves':<14} {totals['planned']:>9,} {totals['migrated']:>9,} {totals['quarantined']:>9,} "
          f"{totals['excluded_since_plan']:>9,} {totals['pending']:>9,}")
    print("planned = migrated + quarantined + excluded (left flight since the plan) + pending. changed: migrated "
          "cases whose rows in CID differ from what was migrated (by fingerprint, silent updates included); "
          "running the wave again re-syncs them.")
    for r in rows:
        if r["resume"]:
            print(f"wave {r['wave']} was interrupted; to resume it: {r['resume']}")
