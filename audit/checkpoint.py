"""Checkpoints in the C2SP tlog-checkpoint format, as signed notes (C2SP signed-note, Ed25519)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.keys import public_bytes

SEPARATOR = "\n\u2014 "  # a blank line, then an em dash and a space start each signature line


@dataclass(frozen=True)
class Checkpoint:
    """Origin, tree size and root hash of the ledger at one moment."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        """The checkpoint text that is signed."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def key_id(name: str, key: Ed25519PublicKey) -> bytes:
    """The signed-note key hash: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key)."""
    return hashlib.sha256(name.encode() + b"\n\x01" + public_bytes(key)).digest()[:4]


def sign(checkpoint: Checkpoint, key: Ed25519PrivateKey, name: str) -> str:
    """The signed note of a checkpoint."""
    signature = key.sign(checkpoint.body().encode())
    blob = base64.b64encode(key_id(name, key.public_key()) + signature).decode()
    return f"{checkpoint.body()}\n\u2014 {name} {blob}\n"


class NoteError(ValueError):
    """A signed note that does not parse or whose signature does not verify."""


def open_note(note: str, key: Ed25519PublicKey, name: str) -> Checkpoint:
    """Verify a signed note with the key and return its checkpoint; raise NoteError if it fails."""
    body, sep, signatures = note.partition(SEPARATOR)
    if not sep or not body.endswith("\n"):
        raise NoteError("the note has no signature")
    lines = body.split("\n")
    if len(lines) < 4:
        raise NoteError("the checkpoint has fewer than three lines")
    try:
        checkpoint = Checkpoint(lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True))
    except ValueError as exc:
        raise NoteError("the checkpoint's size or root does not parse") from exc
    for line in signatures.strip().split("\n"):
        signer, _, blob = line.removeprefix("\u2014 ").partition(" ")
        raw = base64.b64decode(blob)
        if signer != name or raw[:4] != key_id(name, key):
            continue
        try:
            key.verify(raw[4:], body.encode())
        except InvalidSignature as exc:
            raise NoteError("the checkpoint signature does not verify with the expected key") from exc
        return checkpoint
    raise NoteError("the checkpoint is not signed by the expected key")
