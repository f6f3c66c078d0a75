"""The `cutover` command line: one entry point, a sub-command per job.

Exit codes: 0 success (reconcile: balanced), 1 reconcile unbalanced, audit failed, or a database
outage that outlasted the retries, 2 bad input or a database that cannot be used."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from core.errors import CutoverError
from cutover.arg_types import (
    bounded_int,
    existing_folder,
    file_path,
    fingerprint,
    folder,
    fraction,
    iso_date,
    new_folder,
)
from cutover.console import command_console, interrupted_line

DESCRIPTION = """\
Move in-flight cases from a CID-like legacy database to an Atlas-like case model, in waves,
and prove with reconciliation that nothing was lost.

Database URLs come from --legacy/--target, or CUTOVER_LEGACY_URL / CUTOVER_TARGET_URL,
defaulting to SQLite files under ./data/ (CUTOVER_DATA_DIR). Only `generate` and `churn` write
the legacy database (a synthetic one); every other command reads it read-only, and checks both
databases before it writes anything.

The as-of date is sticky: the first run needs --as-of; every later command keeps the date the
target recorded, a later --as-of re-syncs a live CID, an earlier one is refused.

Exit codes: 0 done (balanced, verified); 1 not balanced, tampered, or a database outage that
outlasted the retries (run the same command again); 2 bad input or a database that cannot be used."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"cutover: error: {message}", file=sys.stderr)
        sys.exit(2)


class _handler:  # noqa: N801 - used like a function in the command table
    """A command's handler, imported when the command runs, so each command loads only what it uses."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def resolve(self) -> Callable[[argparse.Namespace], int | None]:
        """The handler function itself."""
        return getattr(importlib.import_module(f"cutover.{self.module}"), self.name)  # type: ignore[no-any-return]

    def __call__(self, args: argparse.Namespace) -> int | None:
        return self.resolve()(args)


def _add_legacy(p: argparse.ArgumentParser) -> None:
    p.add_argument("--legacy", metavar="URL", help="legacy (CID) database URL [CUTOVER_LEGACY_URL]")


def _add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", metavar="URL", help="target (Atlas) database URL [CUTOVER_TARGET_URL]")


def _add_rules(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules", metavar="PATH", type=Path,
                   help="a rules folder or file replacing the shipped rules files [CUTOVER_RULES]")
def _add_allow_other_tables(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-other-tables", action="store_true",
                   help="put the cutover's tables into a target that holds another application's tables")


def _add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


def _command(
    sub: argparse._SubParsersAction, common: argparse.ArgumentParser, name: str, **kwargs: Any
) -> argparse.ArgumentParser:
    return sub.add_parser(name, parents=[common], **kwargs)


def _add_state(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument("--state", type=Path, required=required,
                   help="the auditor's own state folder: per log, the pinned key and the largest checkpoint seen")
    p.add_argument("--new-origin", action="store_true", help="start following a log the state folder does not know")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = _Parser(prog="cutover", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    from core.settings import MAX_BATCH, MIN_BATCH  # imported by every command's run anyway
    from cutover import __version__

    parser.add_argument("--version", action="version", version=f"cutover {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="print errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = _command(
        sub,
        common,
        "generate",
        help="fill a legacy database with synthetic CID data",
        description="Generate a CID-like legacy database with realistic cases and injected defects.",
    )
    _add_legacy(p)
    p.add_argument("--cases", type=bounded_int(1, 5_000_000), required=True, help="number of cases (1 to 5,000,000)")
    p.add_argument("--seed", type=int, default=1, help="random seed: same seed and N give the same rows (default 1)")
    p.add_argument("--manifest", type=Path, help="write the injected-defect manifest (JSON) here")
    p.add_argument("--as-of", type=iso_date, default=dt.date.today(), help="the date the data is as of (default today)")
    p.add_argument("--in-flight", type=fraction, default=0.6, help="share of cases in flight (default 0.6)")
    p.add_argument("--defect-rate-scale", type=float, default=1.0, help="multiply every defect rate (default 1)")
    p.add_argument("--workers", type=bounded_int(1, 64), default=2, help="generator processes (default 2)")
    p.add_argument("--replace", action="store_true", help="drop and recreate a legacy database that holds data")
    p.set_defaults(handler=_handler("commands", "generate"))

    p = _command(
        sub,
        common,
        "churn",
        help="apply one simulated day of caseworking to a legacy database",
        description="Change a share of cases as a day of caseworking would; a share of the "
        "updated rows keep their old LAST_UPD_TS (silent updates).",
    )
    _add_legacy(p)
    p.add_argument("--seed", type=int, required=True, help="random seed of the day")
    p.add_argument("--fraction", type=fraction, default=0.02, help="share of live cases changed (default 0.02)")
    p.add_argument("--manifest", type=Path, help="write what changed (JSON) here")
    p.set_defaults(handler=_handler("commands", "churn"))

    p = _command(sub, common, "init-target", help="create or upgrade the target schema (Alembic)")
    _add_target(p)
    _add_allow_other_tables(p)
    p.set_defaults(handler=_handler("commands", "init_target"))

    p = _command(
        sub,
        common,
        "plan",
        help="show the waves and the excluded cases as of a date (writes nothing)",
        description="Classify every CID case as in flight or excluded as of a date and give each "
        "in-flight case its wave (first matching cohort). Writes nothing.",
    )
    _add_legacy(p)
    _add_target(p)
    p.add_argument("--as-of", type=iso_date,
                   help="the as-of date (default: the --target's recorded one, else today)")
    _add_format(p)
    _add_rules(p)
    p.set_defaults(handler=_handler("run_commands", "plan"))

    p = _command(
        sub,
        common,
        "run",
        help="migrate one wave or all waves (Prefect flows)",
        description="Run waves as Prefect flows, a task per batch; locally with no server, or on "
        "the server named by PREFECT_API_URL. Re-running resumes and re-syncs.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--wave", help="the wave to run")
    which.add_argument("--all", action="store_true", help="every wave, in order")
    _add_legacy(p)
    _add_target(p)
    p.add_argument("--as-of", type=iso_date,
                   help="the as-of date (default: the target's recorded one; required on a new target). A later "
                   "date re-syncs a live CID (printed first: cases leaving flight, cases joining catch-up); "
                   "an earlier one is refused")
    p.add_argument("--dry-run", action="store_true",
                   help="check both databases and show the as-of date and what it changes; write nothing")
    _add_allow_other_tables(p)
    p.add_argument("--batch-size", type=bounded_int(1, 100_000),
                   help="cases per batch [CUTOVER_BATCH_SIZE; default: chosen per wave, a batch a lane, "
                   f"{MIN_BATCH:,} to {MAX_BATCH:,}]")
    p.add_argument("--lanes", type=bounded_int(1, 64),
                   help="batches that run at once: each wave is cut into a multiple of this many batches of "
                   "even sizes, so that none runs on alone at a wave's end [CUTOVER_LANES; default: the threads "
                   "or workers]. An interrupted run resumes with the batch size and lanes it recorded")
    runner = p.add_mutually_exclusive_group()
    runner.add_argument("--threads", type=bounded_int(1, 64),
                        help="run the batches on N threads of this process [CUTOVER_THREADS]")
    runner.add_argument("--dask-address", metavar="tcp://HOST:PORT",
                        help="run the batches on this Dask cluster (prefect-dask) [CUTOVER_DASK_ADDRESS]")
    runner.add_argument("--workers", type=bounded_int(1, 64),
                   help="run the batches on a local Dask cluster of N processes [CUTOVER_WORKERS]. With none of "
                   "these three: one thread on SQLite; on PostgreSQL a process per core (up to 8) for a CID of "
                   "50,000 cases or more on 2+ cores, else two threads")
    _add_rules(p)
    p.set_defaults(handler=_handler("run_commands", "run"))

    p = _command(sub, common, "rollback", help="remove a wave's cases from the target (one transaction)",
                 description="Remove every case of a wave and all its rows from the target in one transaction, "
                 "dependent rows first; persons shared with another wave's case stay. The wave can run again.")
    p.add_argument("--wave", required=True, help="the wave to roll back")
    _add_target(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=_handler("run_commands", "rollback"))

    p = _command(sub, common, "status", help="where each wave stands (planned, migrated, quarantined, pending)")
    _add_target(p)
    _add_legacy(p)
    _add_format(p)
    p.set_defaults(handler=_handler("status_commands", "status"))

    p = _command(
        sub, common, "reconcile", help="prove from both databases that nothing was lost (exit 1 if not)",
        description="Work out, with its own queries of CID and of the target, that in flight = migrated + "
        "quarantined + pending per wave, and that every child row of a migrated case is in the target, "
        "dropped or merged with a record. Exit 0 balanced, 1 not balanced, 2 error.",
    )
    _add_legacy(p)
    _add_target(p)
    p.add_argument("--wave", help="reconcile one wave only")
    p.add_argument("--as-of", type=iso_date, help="as-of date (default: the newest run's)")
    _add_format(p)
    p.add_argument("--out", type=file_path, help="write the report to this file instead of standard output, and "
                   "record it in the ledger")
    _add_rules(p)
    p.set_defaults(handler=_handler("report_commands", "reconcile"))

    p = _command(sub, common, "report", help="the reconciliation as HTML pages per wave, with quarantine worklists",
                 description="Write index.html and one self-contained page per wave (totals, conservation, "
                 "charts, discrepancies, the quarantine worklist; no personal data), worklist-WAVE.csv and "
                 "reconciliation.json; record them in the ledger. Exit 0 balanced, 1 not.")
    _add_legacy(p)
    _add_target(p)
    p.add_argument("--out", type=folder, required=True, help="folder for the report")
    p.add_argument("--wave", help="one wave only")
    p.add_argument("--as-of", type=iso_date, help="as-of date (default: the newest run's)")
    _add_rules(p)
    p.set_defaults(handler=_handler("report_commands", "report"))

    p = _command(sub, common, "explain", help="what the cutover did with given cases (by CID reference)")
    p.add_argument("refs", nargs="*", metavar="CASE_REF", help="case references as stored in CID")
    p.add_argument("--refs-file", type=Path, help="a file of case references, one per line")
    _add_target(p)
    _add_format(p)
    p.set_defaults(handler=_handler("report_commands", "explain"))

    p = _command(sub, common, "ui", help="start the Prefect UI on loopback (prefect server start)")
    p.add_argument("--port", type=bounded_int(1024, 65535), default=4200, help="port (default 4200)")
    p.set_defaults(handler=_handler("run_commands", "ui"))

    audit = _command(sub, common, "audit", help="verify the ledger or an evidence pack; export the pack")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", parser_class=_Parser)
    audit_sub.required = True
    p = _command(audit_sub, common, "verify", help="verify the ledger (--target) or a pack (--pack), offline",
                 description="Recompute the Merkle tree from the stored entries, check every entry's form and "
                 "chain and every signed checkpoint; name the first thing that diverges. Exit 0 verified, 1 not.")
    _add_target(p)
    p.add_argument("--pack", type=existing_folder, help="verify this evidence pack instead (no database needed)")
    p.add_argument("--checkpoints", type=Path, help="checkpoints file kept outside the database [CUTOVER_CHECKPOINTS]")
    p.add_argument("--expect-key", metavar="FPR", type=fingerprint,
                   help="the signing key's SHA-256 fingerprint to insist on")
    p.add_argument("--witness-key", metavar="PEM", type=Path,
                   help="insist on a cosignature by this witness's Ed25519 key (its public or private PEM)")
    p.add_argument("--witness-name", metavar="NAME",
                   help="the witness's key name (default: witness.local/ and its key fingerprint, as cosign names it)")
    _add_state(p)
    p.set_defaults(handler=_handler("audit_commands", "audit_verify"))
    p = _command(audit_sub, common, "export", help="write the evidence pack (BagIt, signed)")
    _add_target(p)
    p.add_argument("--out", type=new_folder, required=True, help="a new folder for the pack")
    p.set_defaults(handler=_handler("audit_commands", "audit_export"))
    p = _command(audit_sub, common, "cosign", help="verify a pack against your state, then cosign its checkpoint",
                 description="As a witness: verify the pack as `audit verify --state` does, then add a timestamped "
                 "cosignature (C2SP tlog-cosignature) to its latest checkpoint. Exit 0 cosigned, 1 not verified.")
    p.add_argument("--pack", type=Path, required=True, help="the evidence pack to cosign")
    p.add_argument("--key", type=Path, required=True, help="the witness's Ed25519 private key (PEM)")
    p.add_argument("--name", help="the witness's key name (default: witness.local/ and its key fingerprint)")
    p.add_argument("--checkpoints", type=Path, help="checkpoints published elsewhere, checked too")
    _add_state(p, required=True)
    p.set_defaults(handler=_handler("audit_commands", "audit_cosign"))

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        from core.log import setup_logging
        from core.settings import load_settings

        # Puts the rules in force for this process and, through CUTOVER_RULES, the workers it starts.
        setup_logging(load_settings(rules=getattr(args, "rules", None)).log_level)
        with command_console(args.quiet):
            return int(args.handler(args) or 0)
    except CutoverError as exc:
        if _is_outage(exc):
            print(_outage_line(args.command), file=sys.stderr)
            return 1
        print(f"cutover: error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        # The driver's message can echo row values (personal data): name the fault, not the text.
        if _is_outage(exc):
            print(_outage_line(args.command), file=sys.stderr)
            return 1
        print(f"cutover: error: {_database_fault(exc)} during `{args.command}`", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cutover: {interrupted_line(sys.argv[1:] if argv is None else argv)}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`cutover reconcile | head`): stop quietly, as `cat`
        # does, and keep Python from failing again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if not _is_outage(exc):
            raise
        print(_outage_line(args.command), file=sys.stderr)
        return 1


def _is_outage(exc: BaseException) -> bool:
    """A database that stayed unreachable through the retries (the retry layer's OutageError, or
    a connection that broke)."""
    from sqlalchemy.exc import DBAPIError

    from migration.retry import OutageError

    return isinstance(exc, OutageError) or (isinstance(exc, DBAPIError) and bool(exc.connection_invalidated))


def _outage_line(command: str) -> str:
    return (f"cutover: error: the database went away during `{command}` and stayed away through the retries; "
            "committed work is kept: run the same command again")


def _database_fault(exc: SQLAlchemyError) -> str:
    """`database error KIND (SQLSTATE nnnnn, table t)`: what failed and where, never the data."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None)
    table = getattr(getattr(orig, "diag", None), "table_name", None)
    where = ", ".join(part for part in (f"SQLSTATE {code}" if code else "", f"table {table}" if table else "") if part)
    return f"database error {type(exc).__name__}{f' ({where})' if where else ''}"


if __name__ == "__main__":
    sys.exit(main())
