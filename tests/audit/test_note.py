"""Signed notes, checkpoints and cosignatures against the published examples: Go's sumdb/note test
vectors (known keys) and the examples of the C2SP tlog-checkpoint and tlog-cosignature specs."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.checkpoint import Checkpoint, open_checkpoint, parse_text, sign
from audit.note import (
    COSIGNATURE,
    NoteError,
    Verifier,
    cosign_text,
    cosigned_message,
    decode,
    key_id,
    open_note,
    sign_text,
    split,
)

VECTORS = json.loads((Path(__file__).with_name("c2sp_vectors.json")).read_text())
NOTE = VECTORS["note"]


def _verifier(vkey: str) -> Verifier:
    """A Go verifier key (name+hash+base64(0x01 || public key)) as a Verifier, its hash checked."""
    name, hash_hex, blob = vkey.split("+", 2)
    raw = base64.b64decode(blob)
    assert raw[0] == 0x01
    verifier = Verifier(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
    assert verifier.key_id.hex() == hash_hex
    return verifier


def _signer() -> Ed25519PrivateKey:
    seed = base64.b64decode(NOTE["signer_key"].split("+", 4)[4])
    assert seed[0] == 0x01
    return Ed25519PrivateKey.from_private_bytes(seed[1:])


def test_signing_reproduces_gos_signature_byte_for_byte() -> None:
    assert sign_text(NOTE["text"], "PeterNeumann", _signer()).line() == NOTE["signature_line"]


def test_a_known_signature_verifies_and_an_unknown_signer_is_ignored() -> None:
    note = NOTE["text"] + "\n" + NOTE["signature_line"] + NOTE["other_signature_line"]
    peter, enoch = _verifier(NOTE["verifier_key"]), _verifier(NOTE["other_verifier_key"])
    text, verified = open_note(note, [peter])
    assert text == NOTE["text"] and list(verified) == [peter.key_id]
    _, both = open_note(note, [peter, enoch])
    assert set(both) == {peter.key_id, enoch.key_id}
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_note(note, [])


def test_a_failing_signature_of_a_known_key_rejects_the_note() -> None:
    sig = NOTE["signature_line"]
    with pytest.raises(NoteError, match="invalid signature for key PeterNeumann"):
        open_note(NOTE["text"] + "\n" + sig[:60] + "ABCD" + sig[60:], [_verifier(NOTE["verifier_key"])])


@pytest.mark.parametrize("template", NOTE["malformed"])
def test_gos_malformed_notes_are_rejected(template: str) -> None:
    sig = NOTE["signature_line"]
    note = template.format(text=NOTE["text"], sig=sig, sig_without_newline=sig[:-1], sig_101_times=sig * 101)
    with pytest.raises(NoteError, match="malformed note"):
        open_note(note, [_verifier(NOTE["verifier_key"])])


def test_bytes_that_are_not_utf8_are_a_malformed_note() -> None:
    with pytest.raises(NoteError, match="malformed note"):
        decode(b"\xff" + (NOTE["text"] + "\n" + NOTE["signature_line"]).encode())


def test_the_spec_checkpoint_parses_and_its_cosignature_has_the_spec_time() -> None:
    example = VECTORS["checkpoint"]
    text, signatures = split(example["note"])
    checkpoint = parse_text(text)
    assert (checkpoint.origin, checkpoint.size, len(checkpoint.root)) == (example["origin"], example["size"], 32)
    witness = signatures[1]
    assert witness.name == "witness.example.com/w1" and len(witness.signature) == 8 + 64
    stamp = struct.unpack(">Q", witness.signature[:8])[0]
    assert stamp == example["cosignature_time"]
    assert cosigned_message(text, stamp).decode() == example["cosigned_message"]


def test_our_checkpoints_use_the_origin_as_key_name_and_carry_a_time() -> None:
    key = Ed25519PrivateKey.generate()
    checkpoint = Checkpoint("cutover.local/one", 7, bytes(range(32)))
    note = sign(checkpoint, key, timestamp=1_700_000_000)
    _, signatures = split(note)
    assert {s.name for s in signatures} == {"cutover.local/one"}
    assert open_checkpoint(note, key.public_key(), "cutover.local/one") == (checkpoint, 1_700_000_000)
    with pytest.raises(NoteError):
        open_checkpoint(note, key.public_key(), "cutover.local/other")
    with pytest.raises(NoteError, match="not signed by the expected key"):
        open_checkpoint(note, Ed25519PrivateKey.generate().public_key(), "cutover.local/one")


def test_a_cosignature_verifies_with_the_witness_key_and_binds_its_time() -> None:
    log, witness = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    note = sign(Checkpoint("cutover.local/one", 3, bytes(32)), log)
    text, _ = split(note)
    line = cosign_text(text, "witness.local/w", witness, 1_700_000_123).line()
    verifier = Verifier("witness.local/w", witness.public_key(), COSIGNATURE)
    _, verified = open_note(note + line, [verifier])
    assert verified == {key_id("witness.local/w", COSIGNATURE, witness.public_key()): 1_700_000_123}
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[11] ^= 1  # another time under the same signature
    forged = f"\u2014 witness.local/w {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(note + forged, [verifier])
