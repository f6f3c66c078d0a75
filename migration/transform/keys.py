"""Target keys: UUIDv5 derived from legacy keys, so every re-run produces the same keys."""

from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("5f1c3a52-8d0e-4c55-9a7e-2b8d6c4e9f10")


def key(entity: str, *legacy: object) -> uuid.UUID:
    """The target key of an entity from its legacy key parts (uuid5 in NAMESPACE of `entity/part/...`)."""
    return uuid.uuid5(NAMESPACE, "/".join([entity, *map(str, legacy)]))


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
