"""Target keys derived from legacy keys, so every re-run produces the same keys.

A key is named `entity/part/...` by its legacy key parts. When the first part is a legacy row id
(1 to ORDERED_DIGITS decimal digits), the key is an RFC 9562 UUIDv8 whose first ORDERED_DIGITS hex
digits are that id's decimal digits, zero-padded, and whose other bits are those uuid5 of the
name would have: keys sort as their legacy ids do, so the rows of a batch (consecutive legacy ids)
land side by side in the target's indexes instead of anywhere in them. Any other name (a person
keyed by a Home Office reference, a run) gives uuid5 of the name in NAMESPACE."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable

NAMESPACE = uuid.UUID("5f1c3a52-8d0e-4c55-9a7e-2b8d6c4e9f10")
_NAMESPACE_BYTES = NAMESPACE.bytes
ORDERED_DIGITS = 12
# A legacy row id, as the part after a name's entity (the Polars form, transform/columns.py, reads it too).
ROW_ID = rf"[0-9]{{1,{ORDERED_DIGITS}}}"
_ROW_ID = re.compile(ROW_ID)
# The hex digit of a UUID's variant nibble, by the digit SHA-1 gave there: the RFC variant (10xx)
# over its two low bits.
VARIANT_DIGITS = {d: "89ab"[int(d, 16) & 0x3] for d in "0123456789abcdef"}


def key(entity: str, *legacy: object) -> uuid.UUID:
    """The target key of an entity from its legacy key parts (see the module's docstring)."""
    return uuid.UUID(key_text("/".join([entity, *map(str, legacy)])))


def name_digest(name: str) -> bytes:
    """SHA-1 over NAMESPACE and the name: the bytes uuid5 takes its first 16 from (RFC 9562)."""
    return hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()


def name_digests(names: Iterable[bytes | None]) -> list[bytes | None]:
    """name_digest of each name given as UTF-8 bytes (None stays None), NAMESPACE hashed once."""
    start = hashlib.sha1(_NAMESPACE_BYTES)
    digests: list[bytes | None] = []
    for name in names:
        if name is None:
            digests.append(None)
            continue
        state = start.copy()
        state.update(name)
        digests.append(state.digest())
    return digests


def key_text(name: str) -> str:
    """The canonical text of the key of `name`, without building a UUID object."""
    h = name_digest(name)[:16].hex()
    first = name.split("/", 2)[1] if "/" in name else ""
    if _ROW_ID.fullmatch(first):
        head, version = first.zfill(ORDERED_DIGITS), "8"
    else:
        head, version = h[:12], "5"
    return f"{head[:8]}-{head[8:12]}-{version}{h[13:16]}-{VARIANT_DIGITS[h[16]]}{h[17:20]}-{h[20:]}"


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
