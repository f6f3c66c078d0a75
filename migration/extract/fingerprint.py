"""Fingerprints of legacy cases: every row of a case (header, child rows, persons and addresses
through its parties) hashed by CID's own database and totalled per case, so a row changed
without LAST_UPD_TS moving changes the fingerprint. A batch reads each row's hash with the row
itself and totals them in its frames; reconciliation totals the same hashes in SQL by its own
code (reconciliation/hashing.py), and the two agree."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.dialects import dialect_of
from legacy.schema import (
    ADDRESS,
    APPOINTMENT,
    CASE_FLAG,
    CASE_HDR,
    CASE_NOTE,
    CASE_PERSON,
    DECISION,
    PERSON,
    UNHCR_REFERRAL,
)
from migration.sqlhash import MASK28, NULL_TEXT

# One 64-bit hash of each row, cut into slices of 28, 28 and 8 bits, summed per case: 64 bits,
# order-free, overflow-free: a changed case keeps its fingerprint about once in 2**64. (A second
# hash under another seed would add a quarter to the fingerprints' time for bits not needed.)
SEED = 0
CASE_KEYED = (CASE_HDR, CASE_PERSON, APPOINTMENT, CASE_NOTE, DECISION, CASE_FLAG, UNHCR_REFERRAL)


def row_hash(conn: Connection, table: sa.Table) -> sa.ColumnElement[Any]:
    """A 64-bit hash of the whole row. PostgreSQL hashes the row itself with each column type's own
    hash (hash_record_extended, PostgreSQL 14+: a third of the cost of md5 over the row's text);
    elsewhere every column as `length:text` (NULL as its own symbol), so no edit can hide at a
    boundary, hashed by the function cutover registers (core/dialects)."""
    return dialect_of(conn).row_hash64(conn, table, SEED, NULL_TEXT)


def frame_fingerprints(frames: Mapping[str, pl.DataFrame], hashed: str) -> dict[int, str]:
    """CASE_ID -> fingerprint of every case of a batch's frames (CID's tables, each row with its
    `row_hash` in the column `hashed`; ADDRESS: those of every person a party names): per part
    `count:sum:sum:sum` of the hash's slices (0 for none), the parts joined by `/`, as md5 hex."""
    parties = frames[CASE_PERSON.name].select("CASE_ID", "PERSON_ID")
    through_parties = [parties.join(frames[t.name].select("PERSON_ID", hashed), on="PERSON_ID", how="inner")
                       for t in (PERSON, ADDRESS)]
    parts = [frames[t.name].select("CASE_ID", hashed) for t in CASE_KEYED] + through_parties
    h = pl.col(hashed)
    texts = frames[CASE_HDR.name].select("CASE_ID")
    for n, part in enumerate(parts):
        # Slices of 28, 28 and 8 bits, as reconciliation cuts them in SQL (where `>>` on a signed
        # 64-bit hash is an arithmetic shift: floor division here).
        totals = part.group_by("CASE_ID").agg(pl.concat_str(
            [pl.len(), (h & MASK28).sum(), ((h // (1 << 28)) & MASK28).sum(), ((h // (1 << 56)) & 0xFF).sum()],
            separator=":").alias(f"p{n}"))
        texts = texts.join(totals, on="CASE_ID", how="left", maintain_order="left")
    joined = texts.select("CASE_ID", pl.concat_str([pl.col(f"p{n}").fill_null("0") for n in range(len(parts))],
                                                   separator="/").alias("text"))
    return {int(cid): hashlib.md5(text.encode()).hexdigest() for cid, text in joined.iter_rows()}
