"""Verify the ledger: every entry canonical, typed, chained and hashed; every checkpoint signed by
the expected key and matching the Merkle root it claims. Names the first thing that diverges."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.checkpoint import NoteError, open_note
from audit.entries import EntryError, canonical, check_body
from audit.keys import fingerprint
from audit.ledger import GENESIS, KEY_NAME, Entry
from audit.merkle import leaf_hash, root


@dataclass
class Verification:
    """The outcome: ok, or the first failure (and the entry it names, when it names one)."""

    entries: int = 0
    checkpoints: int = 0
    failure: str | None = None
    entry: int | None = None
    bodies: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether everything verified."""
        return self.failure is None


def verify_entries(entries: Sequence[Entry]) -> tuple[Verification, list[bytes]]:
    """Check each entry and its link to the one before; return the leaves of the good prefix."""
    result = Verification(entries=len(entries))
    leaves: list[bytes] = []
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        problem = _entry_problem(entry, expected_seq, prev)
        if problem:
            result.failure, result.entry = problem, expected_seq
            return result, leaves
        body = json.loads(entry.body)
        result.bodies.append(body)
        leaves.append(leaf_hash(entry.body.encode()))
        prev = entry.leaf_hash
    return result, leaves


def _entry_problem(entry: Entry, expected_seq: int, prev: str) -> str | None:
    if entry.seq != expected_seq:
        return f"entry {expected_seq} is missing (the next stored entry is {entry.seq})"
    try:
        body = json.loads(entry.body)
    except ValueError:
        return f"entry {entry.seq}: the body is not JSON"
    if not isinstance(body, dict):
        return f"entry {entry.seq}: the body is not a JSON object"
    if canonical(body).decode() != entry.body:
        return f"entry {entry.seq}: the body is not in canonical form (re-serialised)"
    try:
        check_body(body)
    except EntryError as exc:
        return f"entry {entry.seq}: {exc}"
    if body.get("seq") != entry.seq:
        return f"entry {entry.seq}: the body says it is entry {body.get('seq')} (entries moved)"
    if body.get("prev") != prev:
        return f"entry {entry.seq}: it does not follow entry {entry.seq - 1} (an entry was removed, added or moved)"
    if leaf_hash(entry.body.encode()).hex() != entry.leaf_hash:
        return f"entry {entry.seq}: the stored hash does not match the body (the body was changed)"
    return None


def verify_checkpoints(result: Verification, leaves: list[bytes], notes: Sequence[str], key: Ed25519PublicKey,
                       expect_key: str | None, origin: str | None = None) -> Verification:
    """Check the key pin, each note's signature and the root at each checkpoint's size."""
    if result.failure:
        return result
    if expect_key and fingerprint(key).lower() != expect_key.lower():
        result.failure = f"the signing key's fingerprint {fingerprint(key)} is not the expected {expect_key}"
        return result
    for note in notes:
        result.checkpoints += 1
        try:
            checkpoint = open_note(note, key, KEY_NAME)
        except NoteError as exc:
            result.failure = f"checkpoint {result.checkpoints}: {exc}"
            return result
        if origin and checkpoint.origin != origin:
            result.failure = f"checkpoint {result.checkpoints}: origin {checkpoint.origin!r} is not {origin!r}"
            return result
        if checkpoint.size > len(leaves):
            result.failure = (f"checkpoint {result.checkpoints} covers {checkpoint.size} entries but the ledger holds "
                              f"{len(leaves)}: entries {len(leaves) + 1} to {checkpoint.size} are missing")
            result.entry = len(leaves) + 1
            return result
        if root(leaves[:checkpoint.size]) != checkpoint.root:
            # Entries that pass their own checks carry no trusted hash: the checkpoint bounds the change.
            result.failure = (f"checkpoint {result.checkpoints} (size {checkpoint.size}): the Merkle root differs; "
                              f"the ledger was changed at or before entry {checkpoint.size}")
            result.entry = checkpoint.size
            return result
    return result

