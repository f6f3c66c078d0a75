"""The auditor's own state, after Go's checksum-database client: per origin, the pinned key and the
largest checkpoint verified. A later checkpoint must be signed by that key and prove, by an RFC 9162
consistency proof from the recorded size, that it extends what was seen."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.checkpoint import Checkpoint
from audit.keys import fingerprint, public_bytes
from audit.merkle import consistency_proof, verify_consistency
from audit.origin import origin_slug
from core.errors import CutoverError


@dataclass(frozen=True)
class Seen:
    """What the auditor recorded for one origin."""

    origin: str
    key: str  # base64 of the raw Ed25519 public key
    size: int
    root: bytes


def state_file(folder: Path, origin: str) -> Path:
    """The file of one origin in an auditor's state folder."""
    return folder / f"{origin_slug(origin)}.json"


def load_seen(folder: Path, origin: str, allow_new: bool) -> Seen | None:
    """The record of `origin`, or None for a first sight; bad input (a file of another origin, a
    folder that knows only other origins unless `allow_new`) raises CutoverError."""
    if folder.exists() and not folder.is_dir():
        raise CutoverError(f"the auditor state {folder} is not a folder")
    file = state_file(folder, origin)
    if not file.exists():
        known = sorted(_origin_of(p) for p in folder.glob("*.json")) if folder.is_dir() else []
        if known and not allow_new:
            raise CutoverError(f"the auditor state {folder} follows other logs ({', '.join(known)}), not {origin}; "
                               "add --new-origin to start following it")
        return None
    data = _read(file)
    if data.get("origin") != origin:
        raise CutoverError(f"the auditor state file {file.name} belongs to another origin")
    try:
        return Seen(origin, str(data["key"]), int(data["size"]), base64.b64decode(data["root"], validate=True))
    except (KeyError, TypeError, ValueError) as exc:
        raise CutoverError(f"the auditor state file {file.name} does not parse") from exc


def check_extends(seen: Seen | None, latest: Checkpoint, key: Ed25519PublicKey, leaves: Sequence[bytes]) -> str | None:
    """What is wrong with `latest` given what the auditor saw before, or None when it extends it."""
    if seen is None:
        return None
    pinned = base64.b64decode(seen.key)
    if pinned != public_bytes(key):
        return (f"origin {seen.origin}: signed by key {fingerprint(key)}, not the key this auditor pinned "
                f"(size {seen.size} was verified with it)")
    if latest.size < seen.size:
        return (f"origin {seen.origin}: the latest checkpoint has size {latest.size}, smaller than size {seen.size} "
                "this auditor already verified (the ledger was truncated or restored from an older backup)")
    proof = consistency_proof(seen.size, leaves[:latest.size]) if seen.size else []
    if seen.size and not verify_consistency(seen.size, latest.size, seen.root, latest.root, proof):
        return (f"origin {seen.origin}: the checkpoint of size {latest.size} does not extend size {seen.size} this "
                "auditor verified (no consistency proof: the history was forked or rewritten)")
    return None


def record(folder: Path, latest: Checkpoint, key: Ed25519PublicKey) -> None:
    """Remember `latest` (and pin `key`) as the largest checkpoint verified for its origin."""
    folder.mkdir(parents=True, exist_ok=True)
    file = state_file(folder, latest.origin)
    data = {"origin": latest.origin, "key": base64.b64encode(public_bytes(key)).decode(), "size": latest.size,
            "root": base64.b64encode(latest.root).decode(), "verified_at": dt.datetime.now(dt.UTC).isoformat()}
    temporary = file.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write(json.dumps(data, indent=1) + "\n")
    temporary.replace(file)


def _read(file: Path) -> dict:  # type: ignore[type-arg]
    try:
        data = json.loads(file.read_text())
    except ValueError as exc:
        raise CutoverError(f"the auditor state file {file.name} does not parse") from exc
    if not isinstance(data, dict):
        raise CutoverError(f"the auditor state file {file.name} does not parse")
    return data


def _origin_of(file: Path) -> str:
    origin = _read(file).get("origin")
    return origin if isinstance(origin, str) else file.stem
