"""Hashes computed inside the databases, in SQL both engines run (SQLite gets the functions
PostgreSQL has built in): the load's digests, the legacy fingerprints and reconciliation share them."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
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
    """md5 and a 31-bit integer of a hex digest, for SQLite (PostgreSQL has its own)."""
    dbapi_conn.create_function("md5", 1, lambda s: None if s is None else hashlib.md5(str(s).encode()).hexdigest(),
                               deterministic=True)
    dbapi_conn.create_function("cutover_h28", 1, lambda h: None if h is None else int(h[:7], 16),
                               deterministic=True)
    dbapi_conn.create_function("cutover_hash64", 2, hash64, deterministic=True)


def slices28(hashes: tuple[sa.ColumnElement, sa.ColumnElement]) -> list[sa.ColumnElement]:
    """Four non-negative 28-bit slices of two 64-bit hashes (112 bits), so SUM() never overflows."""
    out: list[sa.ColumnElement] = []
    for h in hashes:
        out.append(h.op("&")(MASK28))
        out.append(h.op(">>")(sa.literal_column("32")).op("&")(MASK28))
    return out


def h28(conn: Connection, hex_digest: sa.ColumnElement) -> sa.ColumnElement:
    """A non-negative 28-bit integer from a hex digest's first 7 digits, so SUM() never overflows."""
    if conn.dialect.name == "postgresql":
        bits = sa.cast(sa.literal("x") + sa.func.substr(hex_digest, 1, 7), postgresql.BIT(28))
        return sa.cast(bits, sa.Integer)
    return sa.func.cutover_h28(hex_digest)


def field_hash(conn: Connection, text: sa.ColumnElement) -> sa.ColumnElement:
    """An 8-hex-digit hash of a text value. On PostgreSQL, the low 32 bits of hashtextextended (the
    hash its hash partitioning relies on, so stable across upgrades): an eighth of md5's cost per
    field. SQLite uses md5."""
    if conn.dialect.name == "postgresql":
        low = sa.func.hashtextextended(text, 0).op("&")(sa.literal(0xFFFFFFFF, sa.BigInteger))
        return sa.func.lpad(sa.func.to_hex(low), FIELD_HASH_CHARS, "0")
    return sa.func.substr(sa.func.md5(text), 1, FIELD_HASH_CHARS)
