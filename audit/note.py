"""Signed notes (C2SP signed-note): parse, sign and open them as Go's sumdb/note does.

A note whose syntax is wrong is malformed and rejected whole; a signature line of an unknown key
is ignored; a signature of a known key that fails rejects the note."""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.keys import public_bytes

ED25519 = 0x01  # signature type of a plain Ed25519 note signature
COSIGNATURE = 0x04  # signature type of a timestamped Ed25519 cosignature (C2SP tlog-cosignature)
MAX_SIGNATURES = 100
DASH = "\u2014 "


class NoteError(ValueError):
    """A signed note that is malformed, or that no expected key signed."""


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key ID and the signature bytes after the ID."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The signature line, newline-terminated."""
        return f"{DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class Verifier:
    """A trusted key: its name, signature type and Ed25519 public key."""

    name: str
    key: Ed25519PublicKey
    kind: int = ED25519

    @property
    def key_id(self) -> bytes:
        """SHA-256(name || 0x0A || type || public key)[:4]."""
        return key_id(self.name, self.kind, self.key)


def key_id(name: str, kind: int, key: Ed25519PublicKey) -> bytes:
    """The signed-note key ID of a key name, signature type and Ed25519 public key."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public_bytes(key)).digest()[:4]


def valid_name(name: str) -> bool:
    """Key names are non-empty, with no Unicode space and no plus sign."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def split(note: str) -> tuple[str, list[Signature]]:
    """(text, signatures) of a note; raise NoteError("malformed note") on any syntax error."""
    if any(ord(c) < 0x20 and c != "\n" for c in note) or not note.endswith("\n"):
        raise NoteError("malformed note")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("malformed note")
    text, lines = note[:cut + 1], note[cut + 2:].removesuffix("\n").split("\n")
    if len(text.strip("\n")) == 0 or not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError("malformed note")
    signatures = []
    for line in lines:
        if not line.startswith(DASH):
            raise NoteError("malformed note")
        name, space, blob = line[len(DASH):].partition(" ")
        if not space or not valid_name(name) or " " in blob:
            raise NoteError("malformed note")
        try:
            raw = base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NoteError("malformed note") from exc
        if len(raw) < 5:
            raise NoteError("malformed note")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    return text, signatures


def sign_text(text: str, name: str, key: Ed25519PrivateKey) -> Signature:
    """The Ed25519 note signature of `text` by `key` under `name`."""
    return Signature(name, key_id(name, ED25519, key.public_key()), key.sign(text.encode()))


def cosign_text(text: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> Signature:
    """A timestamped Ed25519 cosignature (C2SP tlog-cosignature v1) of a checkpoint's text."""
    signed = cosigned_message(text, timestamp)
    return Signature(name, key_id(name, COSIGNATURE, key.public_key()),
                     struct.pack(">Q", timestamp) + key.sign(signed))


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a v1 cosignature signs: the header line, the time line, then the note text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def open_note(note: str, verifiers: Sequence[Verifier]) -> tuple[str, dict[bytes, int | None]]:
    """Check every signature of a known key; return the text and, per verified key ID, the
    cosignature's time (None for a plain signature). Raise NoteError when none verifies."""
    text, signatures = split(note)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: dict[bytes, int | None] = {}
    for sig in signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        try:
            if verifier.kind == COSIGNATURE:
                if len(sig.signature) != 72:
                    raise InvalidSignature
                stamp = struct.unpack(">Q", sig.signature[:8])[0]
                verifier.key.verify(sig.signature[8:], cosigned_message(text, stamp))
                verified[sig.key_id] = stamp
            else:
                verifier.key.verify(sig.signature, text.encode())
                verified.setdefault(sig.key_id, None)
        except InvalidSignature as exc:
            raise NoteError(f"invalid signature for key {sig.name}+{sig.key_id.hex()}") from exc
    if not verified:
        raise NoteError("note has no verifiable signatures")
    return text, verified


def decode(data: bytes) -> str:
    """A note's bytes as text; raise NoteError("malformed note") when they are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("malformed note") from exc
