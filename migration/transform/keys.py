"""Target keys: UUIDv5 derived from legacy keys, so every re-run produces the same keys."""

from __future__ import annotations

import hashlib
import uuid

NAMESPACE = uuid.UUID("5f1c3a52-8d0e-4c55-9a7e-2b8d6c4e9f10")
# uuid.uuid5 by its RFC 4122 definition (SHA-1 of namespace and name, version 5, RFC variant),
# without re-hashing the namespace or validating a UUID built from our own 128 bits: a batch
# makes ~15 keys a case, and this halves their cost. tests/migration/test_keys.py holds it to uuid5.
_NAMESPACE_SHA1 = hashlib.sha1(NAMESPACE.bytes)
_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_VERSION_5 = (5 << 76) | (0x8000 << 48)
_new_uuid = object.__new__
_set = object.__setattr__


def key(entity: str, *legacy: object) -> uuid.UUID:
    """The target key of an entity from its legacy key parts (uuid5 in NAMESPACE of `entity/part/...`)."""
    sha = _NAMESPACE_SHA1.copy()
    sha.update("/".join([entity, *map(str, legacy)]).encode())
    value = _new_uuid(uuid.UUID)
    _set(value, "int", (int.from_bytes(sha.digest()[:16], "big") & _KEEP) | _VERSION_5)
    _set(value, "is_safe", uuid.SafeUUID.unknown)
    return value


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
