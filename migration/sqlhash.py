"""Hashes computed inside the databases, in SQL both engines run (SQLite gets the functions
PostgreSQL has built in, core/dialects/sqlite.py): the migration's load digests and the row
hashes its legacy fingerprints total. Reconciliation recomputes both by its own code
(reconciliation/hashing.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.dialects import dialect_of

FIELD_HASH_CHARS = 8
NULL_TEXT = "\u2400"  # the SYMBOL FOR NULL: no text value of CID is this one character
MASK28 = 0xFFFFFFF


def field_hash_int(conn: Connection, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A 32-bit non-negative hash of a text value, computed by the connection's backend
    (core/dialects: hashtextextended on PostgreSQL, md5's first 32 bits on SQLite)."""
    return dialect_of(conn).field_hash_int(text)


def hex8(conn: Connection, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A 32-bit field hash as its FIELD_HASH_CHARS hex digits."""
    return dialect_of(conn).hex8(value)


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
