"""Checkpoints in the C2SP tlog-checkpoint format, as signed notes whose key name is the origin.

Each checkpoint carries two lines by the log's key: its Ed25519 note signature and a timestamped
cosignature (C2SP tlog-cosignature), which records when it was signed."""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.note import COSIGNATURE, ED25519, NoteError, Verifier, cosign_text, key_id, open_note, sign_text

__all__ = ["Checkpoint", "NoteError", "open_checkpoint", "parse_text", "sign"]


@dataclass(frozen=True)
class Checkpoint:
    """Origin, tree size and root hash of a log at one moment."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        """The checkpoint text that is signed."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_text(text: str) -> Checkpoint:
    """The checkpoint a note text holds; raise NoteError when it is not a checkpoint."""
    lines = text.removesuffix("\n").split("\n")
    if len(lines) < 3 or not all(lines):
        raise NoteError("the checkpoint has fewer than three lines")
    origin, size, root = lines[:3]
    if not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError("the checkpoint's size is not a decimal number")
    try:
        digest = base64.b64decode(root, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("the checkpoint's root hash is not base64") from exc
    if len(digest) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    return Checkpoint(origin, int(size), digest)


def sign(checkpoint: Checkpoint, key: Ed25519PrivateKey, timestamp: int | None = None) -> str:
    """The signed note of a checkpoint: the log's signature and its timestamped cosignature."""
    text = checkpoint.body()
    stamp = int(time.time()) if timestamp is None else timestamp
    return (text + "\n" + sign_text(text, checkpoint.origin, key).line()
            + cosign_text(text, checkpoint.origin, key, stamp).line())


def open_checkpoint(note: str, key: Ed25519PublicKey, origin: str) -> tuple[Checkpoint, int | None]:
    """Verify a checkpoint of `origin` signed by `key`; return it and the time it was signed."""
    try:
        text, verified = open_note(note, [Verifier(origin, key, ED25519), Verifier(origin, key, COSIGNATURE)])
    except NoteError as exc:
        if str(exc) == "note has no verifiable signatures":
            raise NoteError("the checkpoint is not signed by the expected key") from exc
        raise
    if key_id(origin, ED25519, key) not in verified:
        raise NoteError("the checkpoint is not signed by the expected key")
    checkpoint = parse_text(text)
    if checkpoint.origin != origin:
        raise NoteError(f"the checkpoint's origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint, verified.get(key_id(origin, COSIGNATURE, key))
