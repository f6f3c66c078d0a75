"""Target keys: UUIDv5 derived from legacy keys, so every re-run produces the same keys."""

from __future__ import annotations

import hashlib
import uuid

NAMESPACE = uuid.UUID("5f1c3a52-8d0e-4c55-9a7e-2b8d6c4e9f10")
_NAMESPACE_BYTES = NAMESPACE.bytes


def key(entity: str, *legacy: object) -> uuid.UUID:
    """The target key of an entity from its legacy key parts (uuid5 in NAMESPACE of `entity/part/...`)."""
    return uuid.uuid5(NAMESPACE, "/".join([entity, *map(str, legacy)]))


def name_digest(name: str) -> bytes:
    """SHA-1 over NAMESPACE and the name: the bytes uuid5 takes its first 16 from (RFC 9562)."""
    return hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()


def key_text(name: str) -> str:
    """The canonical text of uuid5(NAMESPACE, name), without building a UUID object (RFC 9562:
    the first 16 bytes of SHA-1 over namespace and name, version 5 and the RFC variant set)."""
    digest = bytearray(name_digest(name)[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def normalised_ho_ref(ho_ref: str | None) -> str | None:
    """A Home Office reference with spaces removed and upper-cased, or None when empty."""
    if ho_ref is None:
        return None
    value = "".join(ho_ref.split()).upper()
    return value or None


def person_key(person_id: int, ho_ref: str | None) -> uuid.UUID:
    """One person per human: keyed by Home Office reference when CID has one, else by PERSON_ID."""
    ho = normalised_ho_ref(ho_ref)
    return key("person", "ho", ho) if ho else key("person", "id", person_id)


def person_key_text(person_id: int, ho_ref: str | None) -> str:
    """`person_key` as canonical text."""
    ho = normalised_ho_ref(ho_ref)
    return key_text(f"person/ho/{ho}" if ho else f"person/id/{person_id}")
