"""Ledger entry bodies: a closed set of typed fields, serialised as canonical JSON (RFC 8785).

Never names, birth dates, addresses, note text, nor a database error message: the field set
below has no place for them, and `make_body` refuses anything else."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import rfc8785

KINDS = frozenset({
    "plan", "run_started", "run_resumed", "run_finished", "batch_committed", "repair", "quarantine", "drop",
    "merge", "exclude", "rollback", "report",
})
# field -> accepted Python types
FIELDS: dict[str, tuple[type, ...]] = {
    "v": (int,), "seq": (int,), "prev": (str,), "kind": (str,), "run_id": (str,), "wave": (str,),
    "as_of": (str,), "batch_no": (int,), "first_case_id": (int,), "last_case_id": (int,),
    "legacy_case_id": (int,), "legacy_ref": (str,), "rule": (str,), "defect": (str,), "entity": (str,),
    "field": (str,), "legacy_key": (int,), "reason": (str,), "status": (str,), "counts": (dict,),
    "digest": (str,), "report": (str,), "software": (str,), "rules": (str,),
}
VERSION = 1


class EntryError(ValueError):
    """A ledger body outside the closed set of fields or types."""


def check_body(body: dict[str, Any]) -> None:
    """Refuse a body with an unknown field, a wrong type or an unknown kind."""
    # What a body holds is never echoed: a tampered body can hold anything, personal data included.
    for name, value in body.items():
        if name not in FIELDS:
            raise EntryError("a ledger field is not one an entry may hold")
        if value is not None and not isinstance(value, FIELDS[name]):
            raise EntryError(f"ledger field {name!r} has type {type(value).__name__}")
        if isinstance(value, bool):
            raise EntryError(f"ledger field {name!r} must not be a boolean")
    if body.get("kind") not in KINDS:
        raise EntryError("the ledger kind is not one of the known kinds")
    counts = body.get("counts") or {}
    if not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in counts.items()):
        raise EntryError("ledger counts must map names to whole numbers")


def make_body(kind: str, **fields: Any) -> dict[str, Any]:
    """A checked body (without seq and prev, which the ledger adds), dropping None fields."""
    body = {"v": VERSION, "kind": kind, **{k: v for k, v in fields.items() if v is not None}}
    check_body(body)
    return body


# Integers RFC 8785 writes as they are (ECMAScript numbers hold them exactly).
EXACT_INTEGER = 2**53 - 1


def canonical(body: dict[str, Any]) -> bytes:
    """RFC 8785 canonical JSON bytes of a body. A body of ASCII keys, texts and exact integers
    (every body the tool writes) goes through the standard library's C encoder, whose output for
    such values is RFC 8785's to the byte (the tests hold the two equal); any other by the rfc8785
    library, which given every body would take seconds of the run's own process at each wave's end at
    1,000,000 cases."""
    if _plain(body):
        with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate: the library's verdict stands
            return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return rfc8785.dumps(body)


def _plain(value: Any) -> bool:
    """Values whose standard JSON is RFC 8785's: texts, exact integers, booleans, null, and lists
    and objects of them with ASCII keys (RFC 8785 sorts keys by UTF-16 unit, Python by code point)."""
    if value is None or isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        return -EXACT_INTEGER <= value <= EXACT_INTEGER
    if isinstance(value, dict):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False
