"""Fingerprints of legacy cases: every row of a case (header, child rows, persons and addresses
through its parties) hashed by CID's own database and totalled per case, so a row changed
without LAST_UPD_TS moving changes the fingerprint. A batch reads each row's hash with the row
itself and totals them in its frames (`frame_fingerprints`); `fingerprint_query` totals them in
SQL, for a batch of cases or for all of them in one pass, to the same value."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import key_list
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
from migration.sqlhash import MASK28, NULL_TEXT, slices64

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


def _joined(parts: list[Any], separator: str) -> sa.ColumnElement[str]:
    """The parts' texts joined by a separator, in SQL."""
    text: sa.ColumnElement[str] = sa.cast(parts[0], sa.Text)
    for part in parts[1:]:
        text = text.concat(separator).concat(sa.cast(part, sa.Text))
    return text


def _totals(conn: Connection, case_id: sa.ColumnElement[Any], table: sa.Table, joined: sa.FromClause,
            where: list[sa.ColumnElement[bool]]) -> sa.Subquery:
    """Per case: the count of the table's rows and the sums of their hash slices."""
    # OFFSET 0 keeps the planner from inlining the hashes into each sum (it would hash twice as often).
    hashed = row_hash(conn, table).label("h")
    rows = sa.select(case_id.label("case_id"), hashed).select_from(joined).where(*where).offset(0).subquery()
    sums = [sa.func.sum(part) for part in slices64(rows.c.h)]
    total = _joined([sa.func.count(), *sums], ":")
    return sa.select(rows.c.case_id, total.label("total")).group_by(rows.c.case_id).subquery()


def fingerprint_query(conn: Connection, case_ids: Sequence[int] | None = None,
                      person_ids: Sequence[int] | None = None, among: sa.FromClause | None = None) -> sa.Select[Any]:
    """SELECT CASE_ID, fingerprint (32 hex digits) for these cases, or those in `among` (a table
    of case_id), or every case, in key order. Given the batch's PERSON_IDs too, persons and
    addresses are read by index, never scanned."""
    chosen = None if among is None else sa.select(among.c.case_id).cte("chosen")

    def only(column: sa.ColumnElement[Any], keys: Sequence[int] | None = case_ids) -> list[sa.ColumnElement[bool]]:
        return [] if keys is None else [key_list(conn, column, keys)]

    def among_chosen(source: sa.FromClause, column: sa.ColumnElement[Any]) -> sa.FromClause:
        # A join, not IN: the chosen cases are distinct, and IN would de-duplicate them again
        # for every table (1,000,000 cases: 0.3 s a table).
        return source if chosen is None else source.join(chosen, chosen.c.case_id == column)

    parts = [_totals(conn, t.c.CASE_ID, t, among_chosen(t, t.c.CASE_ID), only(t.c.CASE_ID)) for t in CASE_KEYED]
    parties = among_chosen(CASE_PERSON, CASE_PERSON.c.CASE_ID)
    parts.append(_totals(conn, CASE_PERSON.c.CASE_ID, PERSON,
                         parties.join(PERSON, PERSON.c.PERSON_ID == CASE_PERSON.c.PERSON_ID),
                         only(CASE_PERSON.c.CASE_ID) + only(PERSON.c.PERSON_ID, person_ids)))
    parts.append(_totals(conn, CASE_PERSON.c.CASE_ID, ADDRESS,
                         parties.join(ADDRESS, ADDRESS.c.PERSON_ID == CASE_PERSON.c.PERSON_ID),
                         only(CASE_PERSON.c.CASE_ID) + only(ADDRESS.c.PERSON_ID, person_ids)))
    joined: sa.FromClause = among_chosen(CASE_HDR, CASE_HDR.c.CASE_ID)
    for part in parts:
        joined = joined.outerjoin(part, part.c.case_id == CASE_HDR.c.CASE_ID)
    text = _joined([sa.func.coalesce(p.c.total, "0") for p in parts], "/")
    return (sa.select(CASE_HDR.c.CASE_ID, sa.func.md5(text).label("fingerprint")).select_from(joined)
            .where(*only(CASE_HDR.c.CASE_ID)).order_by(CASE_HDR.c.CASE_ID))


def case_fingerprints(conn: Connection, case_ids: Sequence[int], person_ids: Sequence[int]) -> dict[int, str]:
    """CASE_ID -> fingerprint for these cases, whose parties name these PERSON_IDs (missing cases
    are absent)."""
    if not case_ids:
        return {}
    return {int(cid): fp for cid, fp in conn.execute(fingerprint_query(conn, case_ids, person_ids))}


def all_fingerprints(conn: Connection, among: sa.FromClause | None = None) -> Iterator[tuple[int, str]]:
    """(CASE_ID, fingerprint) of every CID case, or of those in `among` (a table of case_id), in
    key order, streamed."""
    query = fingerprint_query(conn, among=among)
    for cid, fp in conn.execute(query, execution_options={"yield_per": 20_000}):
        yield int(cid), fp


def frame_fingerprints(frames: Mapping[str, pl.DataFrame], hashed: str) -> dict[int, str]:
    """CASE_ID -> fingerprint of every case of a batch's frames (CID's tables, each row with its
    `row_hash` in the column `hashed`), as fingerprint_query computes it over the same rows."""
    parties = frames[CASE_PERSON.name].select("CASE_ID", "PERSON_ID")
    through_parties = [parties.join(frames[t.name].select("PERSON_ID", hashed), on="PERSON_ID", how="inner")
                       for t in (PERSON, ADDRESS)]
    parts = [frames[t.name].select("CASE_ID", hashed) for t in CASE_KEYED] + through_parties
    h = pl.col(hashed)
    texts = frames[CASE_HDR.name].select("CASE_ID")
    for n, part in enumerate(parts):
        # The slices of fingerprint_query's SQL (migration.sqlhash.slices64): floor division is
        # the arithmetic shift SQL's `>>` is on a signed 64-bit hash.
        totals = part.group_by("CASE_ID").agg(pl.concat_str(
            [pl.len(), (h & MASK28).sum(), ((h // (1 << 28)) & MASK28).sum(), ((h // (1 << 56)) & 0xFF).sum()],
            separator=":").alias(f"p{n}"))
        texts = texts.join(totals, on="CASE_ID", how="left", maintain_order="left")
    joined = texts.select("CASE_ID", pl.concat_str([pl.col(f"p{n}").fill_null("0") for n in range(len(parts))],
                                                   separator="/").alias("text"))
    return {int(cid): hashlib.md5(text.encode()).hexdigest() for cid, text in joined.iter_rows()}
