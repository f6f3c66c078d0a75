"""`cutover audit verify`, `audit export` and `audit cosign`, and the checkpoint written after runs,
rollbacks and reports."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.db import create_engine
from core.dialects import dialect_of
from core.errors import CutoverError
from core.settings import Settings, load_settings


def write_checkpoint(settings: Settings, engine: Engine) -> str:
    """Sign the ledger's current head; print and return the size and the key fingerprint."""
    from audit.checkpoint import Checkpoint
    from audit.keys import fingerprint, load_or_create_key
    from audit.ledger import write_checkpoint as write
    from audit.origin import checkpoints_file, ensure_origin
    from cutover.hints import command_line
    from migration.retry import with_retries

    assert settings.signing_key is not None
    key = load_or_create_key(settings.signing_key)

    def sign() -> tuple[str, Checkpoint]:
        with engine.begin() as conn:
            origin = ensure_origin(conn, settings.log_origin or None)
            return origin, write(conn, key, origin, settings.checkpoints or checkpoints_file(settings.data_dir, origin))

    origin, checkpoint = with_retries(sign, settings.retry_attempts, settings.retry_max_wait_seconds,
                                      what="the ledger checkpoint")
    # The checkpoint is a writing command's last write.
    with contextlib.suppress(SQLAlchemyError):  # the fold is a convenience: a failure loses nothing
        dialect_of(engine).settle(engine)
    pinned = fingerprint(key.public_key())
    verify = command_line(["audit", "verify", "--expect-key", pinned], target=settings.target_url)
    line = (f"ledger checkpoint: {checkpoint.size:,} entries of log {origin}, signed by key {pinned}; an auditor "
            f"pins it: {verify}")
    print(line)
    return line


def audit_verify(args: argparse.Namespace) -> int:
    """`cutover audit verify`: exit 0 verified, 1 not (naming the first failure), 2 bad input."""
    if args.pack and args.target:
        raise CutoverError("give --pack or --target, not both: a pack is verified on its own")
    if args.pack:
        result, what = _verify_pack(args)
    else:
        result, what = _verify_target(args)
    if not result.ok:
        print(f"cutover: audit failed: {result.failure}", file=sys.stderr)
        return 1
    pinned = "" if args.expect_key or args.state else " (key not pinned: give --expect-key or --state)"
    signed = "" if result.signed_at is None else f", the last signed {_utc(result.signed_at)}"
    witnessed = ""
    if result.witnessed is not None:
        at = "" if result.witnessed_at is None else f" at {_utc(result.witnessed_at)}"
        witnessed = f", cosigned by witness {result.witness_name} up to size {result.witnessed.size:,}{at}"
    print(f"{what}: verified, {result.entries:,} entries, {result.checkpoints} checkpoints{signed}{witnessed}{pinned}")
    return 0


def _utc(seconds: int) -> str:
    import datetime as dt

    return f"{dt.datetime.fromtimestamp(seconds, dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


def _published(file: Path | None) -> list[str]:
    """The checkpoints in a file published elsewhere; a missing or malformed file is bad input."""
    if file is None:
        return []
    from audit.checkpoint import NoteError, parse_text
    from audit.ledger import read_checkpoint_file
    from audit.note import split

    notes = read_checkpoint_file(file)
    for note in notes:
        try:
            parse_text(split(note)[0])
        except NoteError as exc:
            raise CutoverError(f"{file} holds a malformed note: {exc}") from exc
    if not notes:
        raise CutoverError(f"{file} holds no checkpoint")
    return notes


def _witness(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The witness to insist on (--witness-key, --witness-name), or None."""
    path = getattr(args, "witness_key", None)
    if path is None:
        if getattr(args, "witness_name", None):
            raise CutoverError("--witness-name needs --witness-key")
        return None
    from audit.keys import fingerprint, load_any_public_key
    from audit.note import valid_name
    from audit.verify import Witness

    key = load_any_public_key(path)
    name = args.witness_name or f"witness.local/{fingerprint(key)[:16]}"
    if not valid_name(name):
        raise CutoverError("--witness-name is not a key name (no spaces, no plus sign)")
    return Witness(name, key)


def _verify_pack(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from audit.pack import pack_key, verify_pack

    published, witness = _published(args.checkpoints), _witness(args)
    result = verify_pack(args.pack, args.expect_key, published, witness)
    if result.ok and result.origin is not None:
        _hold_to_state(args, result, _seen(args, result.origin), pack_key(args.pack))
    return result, f"evidence pack {args.pack} (log {result.origin})"


def _seen(args: argparse.Namespace, origin: str):  # type: ignore[no-untyped-def]
    from audit.state import load_seen

    return load_seen(args.state, origin, args.new_origin) if args.state else None


def _hold_to_state(args: argparse.Namespace, result, seen, key) -> None:  # type: ignore[no-untyped-def]
    """Check a verified ledger against the auditor's state, and record it there when it extends it."""
    if not args.state or not result.ok or result.latest is None:
        return
    from audit.state import check_extends, record

    result.failure = check_extends(seen, result.latest, key, result.leaves)
    if result.ok:
        record(args.state, result.latest, key)


def _verify_target(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from audit.keys import load_or_create_key, load_public_pem
    from audit.ledger import iter_entries
    from audit.origin import checkpoints_file, read_origin
    from audit.verify import Verification, verify_ledger
    from cutover.guards import open_target_for_reading
    from migration.target_schema import CUTOVER_CHECKPOINT, CUTOVER_LEDGER

    settings = load_settings(target_url=args.target)
    engine = open_target_for_reading(settings.target_url)
    if not sa.inspect(engine).has_table(CUTOVER_CHECKPOINT.name):
        raise CutoverError("the target has no ledger; run `cutover run` first")
    witness = _witness(args)
    given = args.checkpoints or settings.checkpoints
    published = _published(given)
    with engine.connect() as conn:
        origin = read_origin(conn)
        stored = conn.execute(sa.select(CUTOVER_CHECKPOINT.c.note, CUTOVER_CHECKPOINT.c.public_key)
                              .order_by(CUTOVER_CHECKPOINT.c.checkpoint_id)).all()
        held = conn.execute(sa.select(sa.func.count()).select_from(CUTOVER_LEDGER)).scalar() or 0
        kept = checkpoints_file(settings.data_dir, origin) if origin is not None else None
        # The checkpoints kept outside the target: the file given, else this log's own file.
        outside = published if given else _published(kept) if kept is not None and kept.exists() else []
        if not held and not stored:
            if outside:  # a log signed outside the target that the target no longer holds at all
                return Verification(failure=f"the target holds no ledger entry, yet {len(outside)} signed "
                                            "checkpoint(s) of a log are kept outside it: its ledger was emptied"), \
                    "ledger"
            raise CutoverError("the ledger has no checkpoint to verify against; run `cutover run` first")
        if origin is None or not stored:
            # Entries that no checkpoint, or no log, stands for: the records that sign them were removed.
            gone = "no log record" if origin is None else "no checkpoint"
            return Verification(entries=held, failure=f"the target holds {held:,} ledger entries and {gone}: "
                                                      "nothing signed covers them (removed, or never signed)"), "ledger"
        seen = _seen(args, origin)
        if settings.signing_key is not None and settings.signing_key.exists():
            key = load_or_create_key(settings.signing_key).public_key()
        else:
            key = load_public_pem(stored[-1][1])
        # The checkpoints are read before the entries: one written meanwhile covers only entries
        # that already exist, so a run going on beside the audit cannot fail it.
        result = verify_ledger(iter_entries(conn), [note for note, _ in stored], key, args.expect_key, origin,
                               keep_leaves=bool(args.state), witness=witness, published=outside)
    _hold_to_state(args, result, seen, key)
    return result, f"ledger of log {origin}"


def audit_export(args: argparse.Namespace) -> int:
    """`cutover audit export`: sign a fresh checkpoint of the whole ledger, then write the evidence pack."""
    from audit.keys import load_or_create_key
    from audit.pack import EXPORT_STEPS, export_pack
    from cutover.progress import progress

    settings = load_settings(target_url=args.target)
    assert settings.signing_key is not None
    if not settings.signing_key.exists():
        raise CutoverError(f"no signing key at {settings.signing_key} (CUTOVER_SIGNING_KEY); the pack must be "
                           "signed by the key that signed the checkpoints")
    from cutover.guards import guard_write

    guard_write(None, settings.target_url, allow_other_tables=True)  # a target this version knows, checked first
    engine = create_engine(settings.target_url)
    _warn_of_uncovered(engine)
    write_checkpoint(settings, engine)
    with engine.connect() as conn, progress("export steps", EXPORT_STEPS, quiet=args.quiet) as advance:
        counts = export_pack(conn, load_or_create_key(settings.signing_key), args.out, advance)
    print(f"evidence pack written to {args.out}: {counts['entries']:,} ledger entries, {counts['checkpoints']} "
          f"checkpoints, {counts['reports']} reports. Verify offline: cutover audit verify --pack {args.out}")
    return 0


def _warn_of_uncovered(engine: Engine) -> None:
    """Say how many entries the export's fresh checkpoint signs for the first time."""
    from migration.target_schema import CUTOVER_CHECKPOINT, CUTOVER_LEDGER

    with engine.connect() as conn:
        covered = conn.execute(sa.select(sa.func.max(CUTOVER_CHECKPOINT.c.size))).scalar() or 0
        size = conn.execute(sa.select(sa.func.max(CUTOVER_LEDGER.c.seq))).scalar() or 0
    if size > covered:
        print(f"cutover: note: {size - covered} ledger entries after the last checkpoint (size {covered}) are signed "
              "now; if no run, rollback or report wrote them, stop and run `cutover audit verify --target`",
              file=sys.stderr)


def audit_cosign(args: argparse.Namespace) -> int:
    """`cutover audit cosign`: verify a pack against the state, then add a witness's timestamped
    cosignature to its latest checkpoint (written to the state folder and printed)."""
    from audit.checkpoint import parse_text
    from audit.keys import fingerprint, load_or_create_key
    from audit.note import cosign_text, split
    from audit.state import state_file

    if not args.key.exists():
        raise CutoverError(f"no witness key at {args.key}")
    witness = load_or_create_key(args.key)
    args.expect_key = getattr(args, "expect_key", None)
    if not args.pack.is_dir():
        raise CutoverError(f"no evidence pack at {args.pack}")
    result, _ = _verify_pack(args)
    if not result.ok or result.latest is None:
        print(f"cutover: audit failed: {result.failure}", file=sys.stderr)
        return 1
    import json

    notes = [json.loads(line)["note"] for line in (args.pack / "data" / "checkpoints.jsonl").read_text().splitlines()
             if line]
    note = next(n for n in reversed(notes) if parse_text(split(n)[0]) == result.latest)
    name = args.name or f"witness.local/{fingerprint(witness.public_key())[:16]}"
    cosigned = note + cosign_text(split(note)[0], name, witness, int(time.time())).line()
    out = state_file(args.state, result.latest.origin).with_suffix(".cosigned")
    with out.open("a") as handle:
        handle.write(json.dumps({"note": cosigned}) + "\n")
    print(cosigned, end="")
    return 0
