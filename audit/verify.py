"""Verify the ledger: every entry canonical, typed, chained and hashed, its row's columns agreeing
with its body; every checkpoint of the log's origin signed by the expected key and matching the
Merkle root it claims; no entry beyond the last signed checkpoint. Names the first thing that diverges.

One pass over the entries, however many: it holds one hash per level of the Merkle tree, the
root at each checkpoint's size as the pass reaches it, and the report entries (the pack checks its
reports against them); the leaf hashes too only when asked (the pack's proofs need them)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.checkpoint import Checkpoint, NoteError, open_checkpoint, parse_text
from audit.entries import EntryError, canonical, check_body
from audit.keys import fingerprint, public_bytes
from audit.ledger import GENESIS, Entry
from audit.merkle import Frontier, leaf_hash
from audit.note import COSIGNATURE, Verifier, open_note, split


@dataclass
class Verification:
    """The outcome: ok, or the first failure (and the entry it names, when it names one)."""

    entries: int = 0
    checkpoints: int = 0
    failure: str | None = None
    entry: int | None = None
    kinds: Counter[str] = field(default_factory=Counter)
    reports: list[dict[str, Any]] = field(default_factory=list)
    latest: Checkpoint | None = None  # the verified checkpoint of the largest size
    signed_at: int | None = None  # when the latest was signed (POSIX seconds), if it says
    leaves: list[bytes] = field(default_factory=list)
    roots: dict[int, bytes] = field(default_factory=dict)  # size -> root of each verified checkpoint
    origin: str | None = None
    witness_name: str | None = None
    witnessed: Checkpoint | None = None  # the largest checkpoint the witness cosigned, if one was asked for
    witnessed_at: int | None = None

    @property
    def ok(self) -> bool:
        """Whether everything verified."""
        return self.failure is None


@dataclass(frozen=True)
class Witness:
    """A witness the auditor trusts: its key name and Ed25519 public key."""

    name: str
    key: Ed25519PublicKey


def _of_origin(notes: Sequence[str], origin: str) -> list[str]:
    """The notes whose checkpoint names `origin` (a note that does not parse is kept: it fails
    verification, named)."""
    kept = []
    for note in notes:
        try:
            if parse_text(split(note)[0]).origin != origin:
                continue
        except NoteError:
            pass
        kept.append(note)
    return kept


def verify_ledger(entries: Iterable[Entry], notes: Sequence[str], key: Ed25519PublicKey, expect_key: str | None,
                  origin: str, keep_leaves: bool = False, witness: Witness | None = None,
                  published: Sequence[str] = ()) -> Verification:
    """Check each entry and its link to the one before, then the key pin, each note's signature
    (the log's own `notes`, and those of its origin among checkpoints `published` elsewhere, of
    which there must be one if any are given), the Merkle root at each checkpoint's size, that the
    last checkpoint covers every entry and, given a witness, that the witness cosigned a verified
    checkpoint."""
    ours = _of_origin(published, origin)
    if published and not ours:
        return Verification(failure=f"the published checkpoints hold none of log {origin}")
    # One note kept in the log and published too is one note.
    notes = list(dict.fromkeys([*notes, *ours]))
    opened = [_open(note, key, origin) for note in notes]
    sizes = {c[0].size for c in opened if isinstance(c, tuple)}
    frontier = Frontier()
    roots = {0: frontier.root()} if 0 in sizes else {}
    result = Verification()
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        problem, body, leaf = _entry_problem(entry, expected_seq, prev)
        result.entries = expected_seq
        if problem:
            result.failure, result.entry = problem, expected_seq
            return result
        result.kinds[body["kind"]] += 1
        if body["kind"] == "report":
            result.reports.append(body)
        frontier.add(leaf)
        if keep_leaves:
            result.leaves.append(leaf)
        if frontier.size in sizes:
            roots[frontier.size] = frontier.root()
        prev = entry.leaf_hash
    if expect_key and fingerprint(key).lower() != expect_key.lower():
        result.failure = f"the signing key's fingerprint {fingerprint(key)} is not the expected {expect_key}"
        return result
    for number, item in enumerate(opened, start=1):
        if isinstance(item, str):
            result.failure = f"checkpoint {number}: {item}"
            return result
        checkpoint, signed_at = item
        if checkpoint.size > frontier.size:
            result.failure = (f"checkpoint {number} covers {checkpoint.size} entries but the ledger holds "
                              f"{frontier.size}: entries {frontier.size + 1} to {checkpoint.size} are missing")
            result.entry = frontier.size + 1
            return result
        if roots[checkpoint.size] != checkpoint.root:
            # Entries that pass their own checks carry no trusted hash: the checkpoint bounds the change.
            result.failure = (f"checkpoint {number} (size {checkpoint.size}): the Merkle root differs; "
                              f"the ledger was changed at or before entry {checkpoint.size}")
            result.entry = checkpoint.size
            return result
        result.roots[checkpoint.size] = checkpoint.root
        if result.latest is None or checkpoint.size >= result.latest.size:
            result.latest, result.signed_at = checkpoint, signed_at
    # One checkpoint kept in several places, or cosigned by others, is one checkpoint.
    result.checkpoints = len({item[0] for item in opened if isinstance(item, tuple)})
    covered = result.latest.size if result.latest else 0
    if frontier.size > covered:
        result.failure = (f"{frontier.size - covered} entries ({covered + 1} to {frontier.size}) lie beyond the last "
                          f"signed checkpoint (size {covered}); no signature covers them")
        result.entry = covered + 1
        return result
    if witness is not None:
        if public_bytes(witness.key) == public_bytes(key):
            result.failure = "the witness key given is the log's own key: a log does not witness itself"
            return result
        _check_witness(result, notes, opened, witness)
    return result


def _check_witness(result: Verification, notes: Sequence[str], opened: Sequence[tuple[Checkpoint, int | None] | str],
                   witness: Witness) -> None:
    """The largest verified checkpoint the witness cosigned; a cosignature of its key that fails
    fails verification, and so does a witness that cosigned none."""
    verifier = Verifier(witness.name, witness.key, COSIGNATURE)
    result.witness_name = witness.name
    for number, (note, item) in enumerate(zip(notes, opened, strict=True), start=1):
        assert isinstance(item, tuple)  # every note opened, or verification stopped before
        if not any(s.name == witness.name and s.key_id == verifier.key_id for s in split(note)[1]):
            continue
        try:
            _, verified = open_note(note, [verifier])
        except NoteError:
            result.failure = f"checkpoint {number}: the cosignature of witness {witness.name} does not verify"
            return
        checkpoint = item[0]
        if result.witnessed is None or checkpoint.size >= result.witnessed.size:
            result.witnessed, result.witnessed_at = checkpoint, verified[verifier.key_id]
    if result.witnessed is None:
        result.failure = f"no checkpoint carries a cosignature of witness {witness.name}"


def _open(note: str, key: Ed25519PublicKey, origin: str) -> tuple[Checkpoint, int | None] | str:
    """The checkpoint a signed note holds and when it was signed, or what is wrong with it."""
    try:
        return open_checkpoint(note, key, origin)
    except NoteError as exc:
        return str(exc)


def _entry_problem(entry: Entry, expected_seq: int, prev: str) -> tuple[str | None, dict[str, Any], bytes]:
    """(what is wrong with the entry or None, its body, its leaf hash)."""
    if entry.seq != expected_seq:
        return f"entry {expected_seq} is missing or out of place (entry {entry.seq} stands where it should)", {}, b""
    try:
        body = json.loads(entry.body)
    except ValueError:
        return f"entry {entry.seq}: the body is not JSON", {}, b""
    if not isinstance(body, dict):
        return f"entry {entry.seq}: the body is not a JSON object", {}, b""
    if canonical(body).decode() != entry.body:
        return f"entry {entry.seq}: the body is not in canonical form (re-serialised)", body, b""
    try:
        check_body(body)
    except EntryError as exc:
        return f"entry {entry.seq}: {exc}", body, b""
    if body.get("seq") != entry.seq:
        return f"entry {entry.seq}: the body says it is entry {body.get('seq')} (entries moved)", body, b""
    if entry.kind is not None and entry.kind != body["kind"]:
        return f"entry {entry.seq}: the row's kind column disagrees with its body (the row was changed)", body, b""
    if body.get("prev") != prev:
        return (f"entry {entry.seq}: its link to entry {entry.seq - 1} does not match (entry {entry.seq - 1} was "
                "changed, or an entry was removed, added or moved)", body, b"")
    leaf = leaf_hash(entry.body.encode())
    if leaf.hex() != entry.leaf_hash:
        return f"entry {entry.seq}: the stored hash does not match the body (the body was changed)", body, leaf
    return None, body, leaf
