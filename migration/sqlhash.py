"""Hashes computed inside the databases, in SQL both engines run (SQLite gets the functions
PostgreSQL has built in): the migration's load digests and legacy fingerprints. Reconciliation
recomputes both by its own code (reconciliation/hashing.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

FIELD_HASH_CHARS = 8
NULL_TEXT = "\u2400"  # the SYMBOL FOR NULL: no text value of CID is this one character
MASK28 = 0xFFFFFFF


def hash64(text: str | None, seed: int) -> int | None:
    """A signed 64-bit hash of a text under a seed (SQLite's stand-in for PostgreSQL's own)."""
    if text is None:
        return None
    digest = hashlib.blake2b(str(text).encode(), digest_size=8, salt=seed.to_bytes(16, "little")).digest()
    return int.from_bytes(digest, "little", signed=True)


def sqlite_functions(dbapi_conn: Any) -> None:
    """md5, a text's 32-bit field hash and a 64-bit hash, for SQLite (PostgreSQL has its own)."""
    dbapi_conn.create_function("md5", 1, lambda s: None if s is None else hashlib.md5(str(s).encode()).hexdigest(),
                               deterministic=True)
    dbapi_conn.create_function("cutover_h32", 1, h32, deterministic=True)
    dbapi_conn.create_function("cutover_hash64", 2, hash64, deterministic=True)


def h32(text: str | None) -> int | None:
    """SQLite's 32-bit field hash: the first 8 hex digits of the text's md5, as an integer."""
    return None if text is None else int(hashlib.md5(str(text).encode()).hexdigest()[:FIELD_HASH_CHARS], 16)


def slices64(hashed: sa.ColumnElement[Any]) -> list[sa.ColumnElement[Any]]:
    """A 64-bit hash cut into non-negative slices of 28, 28 and 8 bits, so SUM() never overflows
    and no bit is lost."""
    def bits(shift: int, mask: int) -> sa.ColumnElement[Any]:
        moved = hashed.op(">>")(sa.literal_column(str(shift))) if shift else hashed
        return moved.op("&")(mask)
    return [bits(0, MASK28), bits(28, MASK28), bits(56, 0xFF)]


def field_hash_int(conn: Connection, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A 32-bit non-negative hash of a text value. On PostgreSQL, the low 32 bits of
    hashtextextended (the hash its hash partitioning relies on, so stable across upgrades): an
    eighth of md5's cost per field. SQLite uses md5's first 32 bits."""
    if conn.dialect.name == "postgresql":
        return sa.func.hashtextextended(text, 0).op("&")(sa.literal(0xFFFFFFFF, sa.BigInteger))
    return sa.func.cutover_h32(text, type_=sa.BigInteger)


def hex8(conn: Connection, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A 32-bit field hash as its FIELD_HASH_CHARS hex digits."""
    if conn.dialect.name == "postgresql":
        return sa.func.lpad(sa.func.to_hex(value), FIELD_HASH_CHARS, "0")
    return sa.func.printf("%08x", value)


def row_h28(field_ints: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[Any]:
    """A row's 28-bit total: its field hashes weighted by position (odd weights, so a value moved
    to another column changes it), masked so SUM() over any table never overflows. Integer
    arithmetic only: reconciliation's integrity totals at half their cost with an md5 per row."""
    total = field_ints[0]
    for position, value in enumerate(field_ints[1:], start=1):
        total = total + value * sa.literal(2 * position + 1, sa.BigInteger)
    return total.op("&")(sa.literal(MASK28, sa.BigInteger))


def row_h28_of(field_hashes: str) -> int:
    """row_h28 worked out from a row's recorded field hashes (hex), as the SQL computes it."""
    digits = FIELD_HASH_CHARS
    values = [int(field_hashes[i:i + digits], 16) for i in range(0, len(field_hashes), digits)]
    return sum(v * (2 * n + 1) for n, v in enumerate(values)) & MASK28
