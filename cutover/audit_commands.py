"""`cutover audit verify` and `audit export`, and the checkpoint written after runs and reports."""

from __future__ import annotations

import argparse
import sys

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cutover.errors import CutoverError
from cutover.settings import Settings, load_settings


def write_checkpoint(settings: Settings, engine: Engine) -> str:
    """Sign the ledger's current head; print and return the size and the key fingerprint."""
    from audit.keys import fingerprint, load_or_create_key
    from audit.ledger import write_checkpoint as write

    assert settings.signing_key is not None
    key = load_or_create_key(settings.signing_key)
    with engine.begin() as conn:
        checkpoint = write(conn, key, settings.ledger_origin, settings.checkpoints)
    line = (f"ledger checkpoint: {checkpoint.size:,} entries, signed by key {fingerprint(key.public_key())} "
            f"(pin it: cutover audit verify --expect-key ...)")
    print(line)
    return line


def audit_verify(args: argparse.Namespace) -> int:
    """`cutover audit verify`: exit 0 verified, 1 not (naming the first failure)."""
    from audit.pack import verify_pack

    if args.pack:
        result = verify_pack(args.pack, args.expect_key)
        what = f"evidence pack {args.pack}"
    else:
        result, what = _verify_target(args)
    if not result.ok:
        print(f"cutover: audit failed: {result.failure}", file=sys.stderr)
        return 1
    pinned = "" if args.expect_key else " (key not pinned: give --expect-key to check who signed)"
    print(f"{what}: verified, {result.entries:,} entries, {result.checkpoints} checkpoints{pinned}")
    return 0


def _verify_target(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from audit.keys import load_or_create_key, load_public_pem
    from audit.ledger import iter_entries, read_checkpoint_file
    from audit.verify import verify_ledger
    from cutover.guards import open_target_for_reading
    from migration.target_schema import CUTOVER_CHECKPOINT

    settings = load_settings(target_url=args.target)
    engine = open_target_for_reading(settings.target_url)
    if not sa.inspect(engine).has_table(CUTOVER_CHECKPOINT.name):
        raise CutoverError("the target has no ledger; run `cutover run` first")
    with engine.connect() as conn:
        stored = conn.execute(sa.select(CUTOVER_CHECKPOINT.c.note, CUTOVER_CHECKPOINT.c.public_key)
                              .order_by(CUTOVER_CHECKPOINT.c.checkpoint_id)).all()
        notes = [note for note, _ in stored]
        file = args.checkpoints or settings.checkpoints
        if file is not None and file.exists():
            notes += read_checkpoint_file(file)
        elif args.checkpoints:
            raise CutoverError(f"no checkpoints file at {args.checkpoints}")
        if not notes:
            raise CutoverError("the ledger has no checkpoint to verify against")
        if settings.signing_key is not None and settings.signing_key.exists():
            key = load_or_create_key(settings.signing_key).public_key()
        else:
            key = load_public_pem(stored[-1][1])
        # The checkpoints are read before the entries: one written meanwhile covers only entries
        # that already exist, so a run going on beside the audit cannot fail it.
        return verify_ledger(iter_entries(conn), notes, key, args.expect_key), "ledger"


def audit_export(args: argparse.Namespace) -> int:
    """`cutover audit export`: write the evidence pack."""
    from audit.keys import load_or_create_key
    from audit.pack import export_pack

    settings = load_settings(target_url=args.target)
    assert settings.signing_key is not None
    if not settings.signing_key.exists():
        raise CutoverError(f"no signing key at {settings.signing_key} (CUTOVER_SIGNING_KEY); the pack must be "
                           "signed by the key that signed the checkpoints")
    from audit.pack import EXPORT_STEPS
    from cutover.guards import open_target_for_reading
    from cutover.progress import progress

    engine = open_target_for_reading(settings.target_url)
    with engine.connect() as conn, progress("export steps", EXPORT_STEPS, quiet=args.quiet) as advance:
        counts = export_pack(conn, load_or_create_key(settings.signing_key), args.out, advance)
    print(f"evidence pack written to {args.out}: {counts['entries']:,} ledger entries, {counts['checkpoints']} "
          f"checkpoints, {counts['reports']} reports. Verify offline: cutover audit verify --pack {args.out}")
    return 0
