"""The ledger: append entries (hash-chained, canonical JSON), read them, write signed checkpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from audit.checkpoint import Checkpoint, sign
from audit.entries import canonical, check_body
from audit.keys import fingerprint, public_pem
from audit.merkle import leaf_hash, streamed_root
from audit.origin import ensure_origin
from core.dialects import dialect_of
from migration.target_schema import CUTOVER_CHECKPOINT, CUTOVER_LEDGER

GENESIS = "0" * 64
APPEND_LOCK = 0x6375746F766572  # the advisory lock key that serialises appends ("cutover")


@dataclass(frozen=True)
class Entry:
    """One stored ledger entry."""

    seq: int
    body: str
    leaf_hash: str
    kind: str | None = None  # the row's own kind column (a pack's file holds only bodies)


def append(conn: Connection, bodies: Sequence[dict[str, Any]]) -> int:
    """Append bodies in order, each chained to the one before; return the new tree size."""
    dialect_of(conn).append_lock(conn, APPEND_LOCK)
    last = conn.execute(sa.select(CUTOVER_LEDGER.c.seq, CUTOVER_LEDGER.c.leaf_hash)
                        .order_by(CUTOVER_LEDGER.c.seq.desc()).limit(1)).first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    if not last:
        from core.settings import load_settings

        ensure_origin(conn, load_settings().log_origin or None)  # the log's identity is born with its first entry
    rows = []
    for body in bodies:
        seq += 1
        full = {**body, "seq": seq, "prev": prev}
        check_body(full)
        data = canonical(full)
        prev = leaf_hash(data).hex()
        rows.append({"seq": seq, "kind": full["kind"], "body": data.decode(), "leaf_hash": prev})
    if rows:
        dialect_of(conn).copy_rows(conn, CUTOVER_LEDGER, ("seq", "kind", "body", "leaf_hash"), rows)
    return seq


def iter_entries(conn: Connection) -> Iterator[Entry]:
    """Every entry in sequence order, streamed (a million-case cutover has millions)."""
    stmt = sa.select(CUTOVER_LEDGER.c.seq, CUTOVER_LEDGER.c.body, CUTOVER_LEDGER.c.leaf_hash,
                     CUTOVER_LEDGER.c.kind).order_by(CUTOVER_LEDGER.c.seq)
    for row in conn.execute(stmt, execution_options={"yield_per": 20000}):
        yield Entry(*row)


def write_checkpoint(conn: Connection, key: Ed25519PrivateKey, origin: str | None, file: Path | None) -> Checkpoint:
    """Sign the current tree head under the target's origin (created from `origin` if it has none),
    store it in the target and append it to the file outside it."""
    log = ensure_origin(conn, origin)
    size, head = streamed_root(leaf_hash(e.body.encode()) for e in iter_entries(conn))
    checkpoint = Checkpoint(log, size, head)
    note = sign(checkpoint, key)
    public = key.public_key()
    conn.execute(CUTOVER_CHECKPOINT.insert().values(size=checkpoint.size, root=checkpoint.root.hex(), note=note,
                                                    key_fingerprint=fingerprint(public),
                                                    public_key=public_pem(public)))
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("a") as handle:
            handle.write(json.dumps({"size": checkpoint.size, "note": note}) + "\n")
    return checkpoint


def read_checkpoint_file(path: Path) -> list[str]:
    """The signed notes appended to a checkpoints file."""
    from core.errors import CutoverError

    try:
        return [str(json.loads(line)["note"]) for line in path.read_text().splitlines() if line.strip()]
    except FileNotFoundError as exc:
        raise CutoverError(f"no checkpoints file at {path}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise CutoverError(f"{path} is not a checkpoints file (one JSON object with a note per line)") from exc
